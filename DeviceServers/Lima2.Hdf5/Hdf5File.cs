using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.Hdf5.Native;
using Microsoft.Win32.SafeHandles;

namespace Lima2.Hdf5;

/// <summary>How the chunks of a frame dataset are compressed (the filter declared on the dataset).</summary>
public enum ChunkFilter
{
    None,

    /// <summary>HDF5's deflate filter (zlib streams).</summary>
    Deflate,

    /// <summary>The bitshuffle filter 32008 with LZ4 (readers need the plugin, e.g. Debian's hdf5-filter-plugin).</summary>
    BitshuffleLz4,
}

/// <summary>One source of a virtual frame dataset: its frames land at <c>Start</c>, <c>Start+Stride</c>, ...</summary>
/// <param name="FileName">the source file, relative to the virtual dataset's file (resolved by HDF5 from its folder)</param>
public sealed record VirtualSource(string FileName, string DatasetPath, long Frames, long Start, long Stride);

/// <summary>
/// An HDF5 file, addressed with absolute object paths (<c>/entry_0000/instrument/detector/data</c>);
/// intermediate groups are created as needed.
/// </summary>
public sealed unsafe class Hdf5File : IDisposable
{
    /// <summary>The bitshuffle filter's registered HDF5 id, and the <c>cd_values</c> readers need: automatic block size, LZ4.</summary>
    private const int BitshuffleFilterId = 32008;

    private static readonly uint[] BitshuffleFilterParameters = [0, 2];

    /// <summary>Disk space is reserved this far ahead of the end of a file that grows (see <see cref="ReserveAhead"/>).</summary>
    private const long ReserveStep = 64L << 20;

    private readonly FileHandle _file;

    /// <summary>Our own descriptor of a file created under a saving root (HDF5 has its own): reserves and trims space.</summary>
    private readonly SafeFileHandle? _descriptor;

    private bool _reserves;
    private long _reservedEnd;

    private Hdf5File(FileHandle file, string path, SafeFileHandle? descriptor)
    {
        _file = file;
        Path = path;
        _descriptor = descriptor;
        _reserves = descriptor is not null && !FileSpace.InMemory(descriptor);
    }

    public string Path { get; }

    /// <summary>Creates a file; an existing one is truncated when <paramref name="overwrite"/>, an error otherwise.</summary>
    public static Hdf5File Create(string path, bool overwrite)
    {
        H5.Enter();
        if (!overwrite && File.Exists(path))
            throw new IOException($"{path} already exists (file_exists_policy abort)");
        return Create(path, overwrite ? H5.AccessTruncate : H5.AccessExclusive, path);
    }

    /// <summary>
    /// Creates file <paramref name="fileName"/> in <paramref name="basePath"/> under the saving root, immune to a
    /// folder swapped for a link at any time (see <see cref="SavingRoot"/>).
    /// </summary>
    /// <remarks>
    /// libhdf5 1.10's sec2 driver opens files by name and has no way to take a descriptor. The root creates the
    /// file and hands back its descriptor; HDF5 is given <c>/proc/self/fd/N</c>, a magic link the kernel resolves to
    /// that descriptor's file itself, not by a path lookup, so nothing done to the folders since can redirect it.
    /// HDF5 opens its own descriptor there (truncating the file just created, empty anyway); ours is closed after.
    /// </remarks>
    public static Hdf5File Create(SavingRoot root, string basePath, string fileName, bool overwrite)
    {
        H5.Enter();
        var created = root.CreateFile(basePath, fileName, overwrite, out var path);
        try
        {
            return Create($"/proc/self/fd/{created.DangerousGetHandle()}", H5.AccessTruncate, path, created);
        }
        catch
        {
            created.Dispose();
            throw;
        }
    }

    private static Hdf5File Create(string name, uint flags, string path, SafeFileHandle? descriptor = null)
    {
        using var fapl = new PropertyListHandle(H5.H5Pcreate(H5.FileAccess), "H5Pcreate(file access)");
        // 1.10 object headers: needed by virtual datasets, and readable by every HDF5 ≥ 1.10 (h5py, silx, ...).
        H5.Check(H5.H5Pset_libver_bounds(fapl.Id, H5.LibverV110, H5.LibverV110), "H5Pset_libver_bounds");
        return Opened(new FileHandle(H5.H5Fcreate(name, flags, H5.Default, fapl.Id), $"create {path}"), path, descriptor);
    }

    public static Hdf5File OpenReadOnly(string path)
    {
        H5.Enter();
        return Opened(new FileHandle(H5.H5Fopen(path, H5.AccessReadOnly, H5.Default), $"open {path}"), path);
    }

    /// <summary>
    /// Opens for reading the file <paramref name="opened"/> is a descriptor of (opened beneath a root, see
    /// <see cref="SavingRoot.OpenRead"/>), by <c>/proc/self/fd/N</c> as <see cref="Create(SavingRoot, string, string, bool)"/> does.
    /// </summary>
    /// <param name="path">the file's path, for messages</param>
    public static Hdf5File OpenReadOnly(SafeFileHandle opened, string path)
    {
        H5.Enter();
        return Opened(new FileHandle(H5.H5Fopen($"/proc/self/fd/{opened.DangerousGetHandle()}", H5.AccessReadOnly, H5.Default), $"open {path}"), path);
    }

    private static Hdf5File Opened(FileHandle file, string path, SafeFileHandle? descriptor = null)
    {
        try
        {
            H5.CloseOnExec(file.Id, path);
            return new Hdf5File(file, path, descriptor);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    internal long Id => _file.Id;

    /// <summary>
    /// Starts writeback of what was written so far and drops the pages already on disk from the page cache (for
    /// files written once, frame by frame): the next writes reuse those pages. Advisory; false when the kernel refused.
    /// </summary>
    public bool ReleaseWrittenPages()
    {
        H5.Enter();
        return H5.TryGetDescriptor(Id, out var descriptor) && PageCache.ReleaseWritten(descriptor);
    }

    /// <summary>
    /// Before a write of <paramref name="bytes"/> at the end of the file: reserves disk blocks 64 MiB at a time ahead
    /// of that end (fallocate, the file's size unchanged), so that the filesystem allocates one extent per 64 MiB
    /// instead of one delayed allocation per chunk (ext4, `lima2-bench costs`, alternated runs: the direct chunk write
    /// of a 2.7 MB bslz4 chunk 0.38–0.41 → 0.34–0.36 ms of thread CPU, a raw 8 MB frame 1.10–1.16 → 0.90–1.00 ms).
    /// Given back when the file is closed. Only for files created under a saving root, and not on tmpfs, where it
    /// allocates and zeroes RAM pages ahead for the same CPU in total. A refusal (disk full, no support) stops it for
    /// this file: the writes go on as before.
    /// </summary>
    public void ReserveAhead(long bytes)
    {
        if (!_reserves)
            return;
        H5.Enter();
        ulong size;
        H5.Check(H5.H5Fget_filesize(Id, &size), $"{Path}: size");
        var end = (long)size + bytes;
        if (end <= _reservedEnd)
            return;
        var from = Math.Max((long)size, _reservedEnd);
        var length = Math.Max(ReserveStep, end - from);
        _reserves = FileSpace.Reserve(_descriptor!, from, length);
        if (_reserves)
            _reservedEnd = from + length;
    }

    public bool Exists(string path)
    {
        H5.Enter();
        return H5.Check(H5.H5Lexists(Id, path, H5.Default), $"{Path}: check {path}") > 0;
    }

    /// <summary>Creates a group (and its parents) with a NeXus class.</summary>
    public void CreateGroup(string path, string? nxClass = null)
    {
        H5.Enter();
        using var lcpl = IntermediateGroups();
        using (new GroupHandle(H5.H5Gcreate2(Id, path, lcpl.Id, H5.Default, H5.Default), $"{Path}: create group {path}"))
        {
        }
        if (nxClass is not null)
            SetAttribute(path, "NX_class", nxClass);
    }

    /// <summary>A variable-length UTF-8 string attribute (h5py reads it as <c>str</c>).</summary>
    public void SetAttribute(string objectPath, string name, string value) => SetAttribute(objectPath, name, [value], scalar: true);

    /// <summary>An array of variable-length UTF-8 strings (NeXus <c>@axes</c>).</summary>
    public void SetAttribute(string objectPath, string name, string[] values) => SetAttribute(objectPath, name, values, scalar: false);

    private void SetAttribute(string objectPath, string name, string[] values, bool scalar)
    {
        H5.Enter();
        using var type = new TypeHandle(H5.H5Tcopy(H5.StringType), "H5Tcopy");
        H5.Check(H5.H5Tset_size(type.Id, H5.VariableSize), "H5Tset_size");
        H5.Check(H5.H5Tset_cset(type.Id, H5.CharsetUtf8), "H5Tset_cset");
        var count = (ulong)values.Length;
        using var space = new SpaceHandle(scalar ? H5.H5Screate(H5.ScalarSpace) : H5.H5Screate_simple(1, &count, null), "H5Screate");
        using var attribute = new AttributeHandle(
            H5.H5Acreate_by_name(Id, objectPath, name, type.Id, space.Id, H5.Default, H5.Default, H5.Default),
            $"{Path}: create attribute {objectPath}@{name}");
        var texts = new nint[values.Length];
        try
        {
            for (var i = 0; i < values.Length; i++)
                texts[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
            fixed (nint* data = texts)
                H5.Check(H5.H5Awrite(attribute.Id, type.Id, data), $"{Path}: write attribute {objectPath}@{name}");
        }
        finally
        {
            foreach (var text in texts)
                Marshal.FreeCoTaskMem(text);
        }
    }

    /// <summary>A one-dimensional numeric attribute (NeXus <c>@vector</c>, <c>@offset</c>).</summary>
    public void SetAttribute<T>(string objectPath, string name, ReadOnlySpan<T> values) where T : unmanaged
    {
        H5.Enter();
        var count = (ulong)values.Length;
        using var space = new SpaceHandle(H5.H5Screate_simple(1, &count, null), "H5Screate_simple");
        using var attribute = new AttributeHandle(
            H5.H5Acreate_by_name(Id, objectPath, name, H5.TypeOf<T>(), space.Id, H5.Default, H5.Default, H5.Default),
            $"{Path}: create attribute {objectPath}@{name}");
        fixed (T* data = values)
            H5.Check(H5.H5Awrite(attribute.Id, H5.TypeOf<T>(), data), $"{Path}: write attribute {objectPath}@{name}");
    }

    /// <summary>A scalar variable-length UTF-8 string dataset (h5py reads it as <c>bytes</c>, NeXus as a string field).</summary>
    public void WriteString(string path, string value)
    {
        H5.Enter();
        using var type = new TypeHandle(H5.H5Tcopy(H5.StringType), "H5Tcopy");
        H5.Check(H5.H5Tset_size(type.Id, H5.VariableSize), "H5Tset_size");
        H5.Check(H5.H5Tset_cset(type.Id, H5.CharsetUtf8), "H5Tset_cset");
        using var space = new SpaceHandle(H5.H5Screate(H5.ScalarSpace), "H5Screate");
        using var lcpl = IntermediateGroups();
        using var dataset = new DatasetHandle(H5.H5Dcreate2(Id, path, type.Id, space.Id, lcpl.Id, H5.Default, H5.Default),
            $"{Path}: create dataset {path}");
        var text = Marshal.StringToCoTaskMemUTF8(value);
        try
        {
            H5.Check(H5.H5Dwrite(dataset.Id, type.Id, H5.Default, H5.Default, H5.Default, &text), $"{Path}: write {path}");
        }
        finally
        {
            Marshal.FreeCoTaskMem(text);
        }
    }

    /// <summary>A soft link <paramref name="linkPath"/> → <paramref name="target"/> (parents created).</summary>
    public void CreateSoftLink(string target, string linkPath)
    {
        H5.Enter();
        using var lcpl = IntermediateGroups();
        H5.Check(H5.H5Lcreate_soft(target, Id, linkPath, lcpl.Id, H5.Default), $"{Path}: link {linkPath} -> {target}");
    }

    /// <summary>
    /// A dataset of frames (N, H, W), extendible on axis 0, one frame per chunk (1, H, W), with
    /// <paramref name="filter"/> declared so that readers decode the chunks.
    /// </summary>
    public Hdf5Dataset CreateFrameDataset(string path, FrameInfo frame, ChunkFilter filter, int deflateLevel = 1)
    {
        H5.Enter();
        var dims = stackalloc ulong[] { 0, (ulong)frame.Height, (ulong)frame.Width };
        var maxDims = stackalloc ulong[] { H5.Unlimited, (ulong)frame.Height, (ulong)frame.Width };
        var chunk = stackalloc ulong[] { 1, (ulong)frame.Height, (ulong)frame.Width };
        using var space = new SpaceHandle(H5.H5Screate_simple(3, dims, maxDims), "H5Screate_simple");
        using var dcpl = new PropertyListHandle(H5.H5Pcreate(H5.DatasetCreate), "H5Pcreate(dataset create)");
        H5.Check(H5.H5Pset_chunk(dcpl.Id, 3, chunk), "H5Pset_chunk");
        SetFilter(dcpl, filter, deflateLevel);
        using var lcpl = IntermediateGroups();
        var dataset = new DatasetHandle(
            H5.H5Dcreate2(Id, path, H5.TypeOf(frame.PixelType), space.Id, lcpl.Id, dcpl.Id, H5.Default),
            $"{Path}: create dataset {path}");
        return new Hdf5Dataset(dataset, this, path, frame, 0);
    }

    /// <summary>
    /// A series of rows appended over time (<see cref="Hdf5Series{T}"/>): shape (N) when <paramref name="rowWidth"/>
    /// is 0, (N, rowWidth) otherwise; chunks of <paramref name="chunkRows"/> rows, compressed by <paramref name="filter"/>
    /// in libhdf5's filter pipeline (bitshuffle needs the plugin at write time too).
    /// </summary>
    public Hdf5Series<T> CreateSeries<T>(string path, int rowWidth, int chunkRows, ChunkFilter filter = ChunkFilter.None,
        int deflateLevel = 1) where T : unmanaged
    {
        H5.Enter();
        ArgumentOutOfRangeException.ThrowIfNegative(rowWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkRows);
        var rank = rowWidth == 0 ? 1 : 2;
        var dims = stackalloc ulong[] { 0, (ulong)rowWidth };
        var maxDims = stackalloc ulong[] { H5.Unlimited, (ulong)rowWidth };
        var chunk = stackalloc ulong[] { (ulong)chunkRows, (ulong)Math.Max(1, rowWidth) };
        using var space = new SpaceHandle(H5.H5Screate_simple(rank, dims, maxDims), "H5Screate_simple");
        using var dcpl = new PropertyListHandle(H5.H5Pcreate(H5.DatasetCreate), "H5Pcreate(dataset create)");
        H5.Check(H5.H5Pset_chunk(dcpl.Id, rank, chunk), "H5Pset_chunk");
        SetFilter(dcpl, filter, deflateLevel);
        using var lcpl = IntermediateGroups();
        var dataset = new DatasetHandle(H5.H5Dcreate2(Id, path, H5.TypeOf<T>(), space.Id, lcpl.Id, dcpl.Id, H5.Default),
            $"{Path}: create dataset {path}");
        return new Hdf5Series<T>(dataset, this, path, rowWidth);
    }

    /// <summary>
    /// A fixed dataset of <paramref name="shape"/> (row-major, empty shape: a scalar) holding <paramref name="values"/>,
    /// contiguous, for what is written once (axes, masks, parameters).
    /// </summary>
    public void WriteArray<T>(string path, ReadOnlySpan<T> values, params ReadOnlySpan<long> shape) where T : unmanaged
    {
        H5.Enter();
        long count = 1;
        foreach (var n in shape)
            count *= n;
        if (count != values.Length)
            throw new ArgumentException($"{Path}:{path}: {values.Length} values for shape ({string.Join(", ", shape.ToArray())})");
        var dims = stackalloc ulong[Math.Max(1, shape.Length)];
        for (var i = 0; i < shape.Length; i++)
            dims[i] = (ulong)shape[i];
        using var space = new SpaceHandle(shape.Length == 0 ? H5.H5Screate(H5.ScalarSpace) : H5.H5Screate_simple(shape.Length, dims, null),
            "H5Screate");
        using var lcpl = IntermediateGroups();
        using var dataset = new DatasetHandle(H5.H5Dcreate2(Id, path, H5.TypeOf<T>(), space.Id, lcpl.Id, H5.Default, H5.Default),
            $"{Path}: create dataset {path}");
        if (values.IsEmpty)
            return;
        fixed (T* data = values)
            H5.Check(H5.H5Dwrite(dataset.Id, H5.TypeOf<T>(), H5.Default, H5.Default, H5.Default, data), $"{Path}: write {path}");
    }

    /// <summary>
    /// A fixed 2-D dataset (<paramref name="height"/>, <paramref name="width"/>) of <typeparamref name="T"/> with the
    /// deflate filter, written from <paramref name="chunks"/> as they are (direct chunk writes): bands of
    /// <paramref name="chunkRows"/> rows, the last one padded to them, each a zlib stream. For what every file of a
    /// run carries the same (a pixel mask): compressed once, written cheaply in each file.
    /// </summary>
    public void WriteDeflatedArray<T>(string path, int height, int width, int chunkRows, IReadOnlyList<byte[]> chunks) where T : unmanaged
    {
        H5.Enter();
        if (chunks.Count != (height + chunkRows - 1) / chunkRows)
            throw new ArgumentException($"{Path}:{path}: {chunks.Count} chunks of {chunkRows} rows for {height} rows", nameof(chunks));
        var dims = stackalloc ulong[] { (ulong)height, (ulong)width };
        var chunk = stackalloc ulong[] { (ulong)chunkRows, (ulong)width };
        using var space = new SpaceHandle(H5.H5Screate_simple(2, dims, null), "H5Screate_simple");
        using var dcpl = new PropertyListHandle(H5.H5Pcreate(H5.DatasetCreate), "H5Pcreate(dataset create)");
        H5.Check(H5.H5Pset_chunk(dcpl.Id, 2, chunk), "H5Pset_chunk");
        SetFilter(dcpl, ChunkFilter.Deflate, 1);
        using var lcpl = IntermediateGroups();
        using var dataset = new DatasetHandle(H5.H5Dcreate2(Id, path, H5.TypeOf<T>(), space.Id, lcpl.Id, dcpl.Id, H5.Default),
            $"{Path}: create dataset {path}");
        var offset = stackalloc ulong[] { 0, 0 };
        for (var band = 0; band < chunks.Count; band++)
        {
            offset[0] = (ulong)(band * chunkRows);
            fixed (byte* data = chunks[band])
                H5.Check(H5.H5Dwrite_chunk(dataset.Id, H5.Default, 0, offset, (nuint)chunks[band].Length, data),
                    $"{Path}: write chunk {band} of {path}");
        }
    }

    /// <summary>Opens a dataset of frames (N, H, W) or of one frame (H, W).</summary>
    public Hdf5Dataset OpenFrameDataset(string path)
    {
        H5.Enter();
        var dataset = new DatasetHandle(H5.H5Dopen2(Id, path, H5.Default), $"{Path}: open {path}");
        try
        {
            using var space = new SpaceHandle(H5.H5Dget_space(dataset.Id), "H5Dget_space");
            var rank = (int)H5.Check(H5.H5Sget_simple_extent_ndims(space.Id), "H5Sget_simple_extent_ndims");
            if (rank is not (2 or 3))
                throw new Hdf5Exception($"{Path}:{path} has {rank} dimensions, frames are (N, H, W) or (H, W)");
            var dims = stackalloc ulong[3];
            H5.Check(H5.H5Sget_simple_extent_dims(space.Id, dims, null), "H5Sget_simple_extent_dims");
            using var type = new TypeHandle(H5.H5Dget_type(dataset.Id), "H5Dget_type");
            var pixel = PixelTypeOf(type.Id, path);
            var frames = rank == 3 ? (long)dims[0] : 1;
            var (height, width) = rank == 3 ? (dims[1], dims[2]) : (dims[0], dims[1]);
            return new Hdf5Dataset(dataset, this, path, new FrameInfo((int)width, (int)height, pixel), frames, rank);
        }
        catch
        {
            dataset.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a whole dataset of numbers as doubles, row-major: integers and floats of any size (libhdf5 converts
    /// them), and enums over integers such as h5py's <c>bool</c> (their integer values).
    /// </summary>
    /// <exception cref="Hdf5Exception">no dataset at <paramref name="path"/>, or its values are not numbers.</exception>
    public (long[] Shape, double[] Values) ReadNumbers(string path)
    {
        const int integer = 0, floating = 1, enumeration = 8;
        H5.Enter();
        CheckDataset(path);
        using var dataset = new DatasetHandle(H5.H5Dopen2(Id, path, H5.Default), $"{Path}:{path} is not a dataset");
        using var space = new SpaceHandle(H5.H5Dget_space(dataset.Id), "H5Dget_space");
        var rank = (int)H5.Check(H5.H5Sget_simple_extent_ndims(space.Id), "H5Sget_simple_extent_ndims");
        var dims = stackalloc ulong[Math.Max(1, rank)];
        H5.Check(H5.H5Sget_simple_extent_dims(space.Id, dims, null), "H5Sget_simple_extent_dims");
        var shape = new long[rank];
        for (var i = 0; i < rank; i++)
            shape[i] = (long)dims[i];
        var values = new double[checked((int)shape.Aggregate(1L, (a, b) => a * b))];
        using var type = new TypeHandle(H5.H5Dget_type(dataset.Id), "H5Dget_type");
        switch (H5.H5Tget_class(type.Id))
        {
            case integer or floating:
                fixed (double* data = values)
                    H5.Check(H5.H5Dread(dataset.Id, H5.TypeOf<double>(), H5.Default, H5.Default, H5.Default, data),
                        $"{Path}: read {path}");
                break;
            case enumeration:
                ReadEnumValues(dataset, type, path, values);
                break;
            case var other:
                throw new Hdf5Exception($"{Path}:{path} holds {ClassName(other)}, not numbers");
        }
        return (shape, values);
    }

    /// <summary>libhdf5 converts no enum to a number: read the enum in memory order, then its integers.</summary>
    private void ReadEnumValues(DatasetHandle dataset, TypeHandle type, string path, double[] values)
    {
        using var native = new TypeHandle(H5.H5Tget_native_type(type.Id, 0 /* H5T_DIR_DEFAULT */), "H5Tget_native_type");
        using var integer = new TypeHandle(H5.H5Tget_super(native.Id), "H5Tget_super");
        var size = (int)H5.H5Tget_size(integer.Id);
        var signed = H5.H5Tget_sign(integer.Id) == 1;
        if (size is not (1 or 2 or 4 or 8))
            throw new Hdf5Exception($"{Path}:{path} holds {size}-byte enums, not numbers");
        var raw = new byte[values.Length * size];
        fixed (byte* data = raw)
            H5.Check(H5.H5Dread(dataset.Id, native.Id, H5.Default, H5.Default, H5.Default, data), $"{Path}: read {path}");
        for (var i = 0; i < values.Length; i++)
        {
            var bytes = raw.AsSpan(i * size, size);
            values[i] = (size, signed) switch
            {
                (1, false) => bytes[0],
                (1, true) => (sbyte)bytes[0],
                (2, false) => MemoryMarshal.Read<ushort>(bytes),
                (2, true) => MemoryMarshal.Read<short>(bytes),
                (4, false) => MemoryMarshal.Read<uint>(bytes),
                (4, true) => MemoryMarshal.Read<int>(bytes),
                (_, false) => MemoryMarshal.Read<ulong>(bytes),
                _ => MemoryMarshal.Read<long>(bytes),
            };
        }
    }

    /// <summary>Says which part of <paramref name="path"/> is missing, rather than libhdf5's error stack.</summary>
    private void CheckDataset(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
            throw new Hdf5Exception($"{Path}: '{path}' names no dataset");
        var walked = "";
        for (var i = 0; i < parts.Length; i++)
        {
            walked += "/" + parts[i];
            if (H5.Check(H5.H5Lexists(Id, walked, H5.Default), $"{Path}: check {walked}") <= 0)
                throw new Hdf5Exception(i == parts.Length - 1
                    ? $"{Path} has no dataset {path}"
                    : $"{Path} has no dataset {path} (there is no {walked})");
        }
    }

    private static string ClassName(int typeClass) => typeClass switch
    {
        2 => "times",
        3 => "strings",
        4 => "bitfields",
        5 => "opaque values",
        6 => "compound records",
        7 => "references",
        9 => "variable-length sequences",
        10 => "arrays",
        _ => $"values of type class {typeClass}",
    };

    /// <summary>
    /// A virtual dataset of <paramref name="frames"/> frames interleaving <paramref name="sources"/> (each a frame
    /// dataset of the same geometry): source frame k goes to virtual frame <c>Start + k·Stride</c>. Frames no
    /// source has read as 0, and so do sources whose file is missing; a source file that exists must hold at least the
    /// frames mapped from it (libhdf5 1.10 refuses to read the dataset otherwise), and may hold more.
    /// </summary>
    public void CreateVirtualFrameDataset(string path, FrameInfo frame, long frames, IEnumerable<VirtualSource> sources)
    {
        H5.Enter();
        var dims = stackalloc ulong[] { (ulong)frames, (ulong)frame.Height, (ulong)frame.Width };
        using var space = new SpaceHandle(H5.H5Screate_simple(3, dims, null), "H5Screate_simple");
        using var dcpl = VirtualFramesProperties(frame);
        var sourceDims = stackalloc ulong[3];
        var start = stackalloc ulong[3];
        var stride = stackalloc ulong[3];
        var count = stackalloc ulong[3];
        var block = stackalloc ulong[] { 1, (ulong)frame.Height, (ulong)frame.Width };
        foreach (var source in sources)
        {
            if (source.Frames <= 0)
                continue;
            if (source.Start < 0 || source.Stride <= 0 || source.Start + (source.Frames - 1) * source.Stride >= frames)
                throw new ArgumentOutOfRangeException(nameof(sources), source, $"does not fit {frames} frames");
            (sourceDims[0], sourceDims[1], sourceDims[2]) = ((ulong)source.Frames, (ulong)frame.Height, (ulong)frame.Width);
            using var sourceSpace = new SpaceHandle(H5.H5Screate_simple(3, sourceDims, null), "H5Screate_simple");
            // the source's first Frames rows, not all of it: a stopped run's last file can have rows past its last
            // frame (sized for the frames planned), and a source selected whole would be read at its own extent
            (start[0], start[1], start[2]) = (0, 0, 0);
            H5.Check(H5.H5Sselect_hyperslab(sourceSpace.Id, H5.SelectSet, start, null, sourceDims, null), "H5Sselect_hyperslab(source)");
            using var selection = new SpaceHandle(H5.H5Screate_simple(3, dims, null), "H5Screate_simple");
            (start[0], start[1], start[2]) = ((ulong)source.Start, 0, 0);
            (stride[0], stride[1], stride[2]) = ((ulong)source.Stride, 1, 1);
            (count[0], count[1], count[2]) = ((ulong)source.Frames, 1, 1);
            H5.Check(H5.H5Sselect_hyperslab(selection.Id, H5.SelectSet, start, stride, count, block), "H5Sselect_hyperslab");
            H5.Check(H5.H5Pset_virtual(dcpl.Id, selection.Id, source.FileName, source.DatasetPath, sourceSpace.Id),
                $"H5Pset_virtual({source.FileName}:{source.DatasetPath})");
        }
        CreateVirtualDataset(path, frame, space, dcpl);
    }

    /// <summary>The creation properties of a virtual dataset of frames: pixels that no source maps read 0.</summary>
    internal static PropertyListHandle VirtualFramesProperties(FrameInfo frame)
    {
        var dcpl = new PropertyListHandle(H5.H5Pcreate(H5.DatasetCreate), "H5Pcreate(dataset create)");
        try
        {
            var fill = stackalloc byte[8];
            H5.Check(H5.H5Pset_fill_value(dcpl.Id, H5.TypeOf(frame.PixelType), fill), "H5Pset_fill_value");
            return dcpl;
        }
        catch
        {
            dcpl.Dispose();
            throw;
        }
    }

    /// <summary>Creates the virtual dataset <paramref name="path"/> (and its groups) of the mappings in <paramref name="dcpl"/>.</summary>
    internal void CreateVirtualDataset(string path, FrameInfo frame, SpaceHandle space, PropertyListHandle dcpl)
    {
        using var lcpl = IntermediateGroups();
        using (new DatasetHandle(
            H5.H5Dcreate2(Id, path, H5.TypeOf(frame.PixelType), space.Id, lcpl.Id, dcpl.Id, H5.Default),
            $"{Path}: create virtual dataset {path}"))
        {
        }
    }

    /// <summary>Writes what is buffered to the disk.</summary>
    public void Flush()
    {
        H5.Enter();
        H5.Check(H5.H5Fflush(Id, 0), $"{Path}: flush");
    }

    /// <summary>Closes the file and reports a failure (a full disk shows here if not before).</summary>
    public void Close()
    {
        H5.Enter();
        _file.Close($"{Path}: close");
        CloseDescriptor();
    }

    public void Dispose()
    {
        _file.Dispose();
        CloseDescriptor();
    }

    /// <summary>Once HDF5 has closed the file (its last writes may land past the old end): gives back the space reserved past its end.</summary>
    private void CloseDescriptor()
    {
        if (_descriptor is null || _descriptor.IsClosed)
            return;
        if (_reservedEnd > 0)
            FileSpace.TrimToSize(_descriptor);
        _descriptor.Dispose();
    }

    private static void SetFilter(PropertyListHandle dcpl, ChunkFilter filter, int deflateLevel)
    {
        switch (filter)
        {
            case ChunkFilter.Deflate:
                H5.Check(H5.H5Pset_deflate(dcpl.Id, (uint)deflateLevel), "H5Pset_deflate");
                break;
            case ChunkFilter.BitshuffleLz4:
                fixed (uint* values = BitshuffleFilterParameters)
                    H5.Check(H5.H5Pset_filter(dcpl.Id, BitshuffleFilterId, H5.FilterOptional,
                        (nuint)BitshuffleFilterParameters.Length, values), "H5Pset_filter(bitshuffle)");
                break;
        }
    }

    private static PropertyListHandle IntermediateGroups()
    {
        var lcpl = new PropertyListHandle(H5.H5Pcreate(H5.LinkCreate), "H5Pcreate(link create)");
        H5.Check(H5.H5Pset_create_intermediate_group(lcpl.Id, 1), "H5Pset_create_intermediate_group");
        return lcpl;
    }

    private PixelType PixelTypeOf(long type, string path)
    {
        const int integer = 0, floating = 1;
        var size = (int)H5.H5Tget_size(type);
        var signed = H5.H5Tget_sign(type) == 1;
        return (H5.H5Tget_class(type), size, signed) switch
        {
            (integer, 1, false) => PixelType.Gray8,
            (integer, 1, true) => PixelType.Gray8s,
            (integer, 2, false) => PixelType.Gray16,
            (integer, 2, true) => PixelType.Gray16s,
            (integer, 4, false) => PixelType.Gray32,
            (integer, 4, true) => PixelType.Gray32s,
            (floating, 4, _) => PixelType.Gray32f,
            (floating, 8, _) => PixelType.Gray64f,
            var other => throw new Hdf5Exception($"{Path}:{path} has pixels of {other.Item2} bytes that are no pixel type"),
        };
    }
}
