using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Hdf5;
using Lima2.Hdf5.Native;

namespace Lima2.Acquisition.Saving;

/// <summary>
/// Saves one receiver's frames: files <c>{base_path}/{filename_format}</c> rolling over every
/// <c>nb_frames_per_file</c>, frame <c>ReceiverIndex</c> at row <c>ReceiverIndex % nb_frames_per_file</c> of file
/// <c>start_number + ReceiverIndex / nb_frames_per_file</c>, one chunk per frame written with direct chunk write.
/// </summary>
/// <remarks>
/// A graph branch like any other: bshuf_lz4 and zip chunks are compressed in <see cref="Compute"/>, up to
/// <see cref="SinkOptions.Parallelism"/> frames at once, and written in <see cref="CommitAsync"/> in receiver order; a
/// frame that arrived as a bitshuffle/LZ4 chunk (DECTRIS) is written as it came. Outside a graph,
/// <see cref="WriteAsync"/> does both for one frame. Every failure (full disk, existing file with policy abort, ...)
/// is thrown: nothing is dropped silently.
/// </remarks>
public sealed class Hdf5FrameSink : FrameConsumer<Hdf5FrameSink.Chunk>, IAsyncDisposable
{
    private readonly SavingParams _saving;
    private readonly FrameInfo _frame;
    private readonly SavingRoot _root;
    private readonly string _folder;
    private readonly ChunkFilter _filter;
    private readonly int _parallelism;
    private readonly int _zipLevel;
    private readonly NxmxFacts _facts;
    private readonly long? _expectedFrames;
    private readonly FramePool? _chunks;

    private Hdf5File? _file;
    private Hdf5Dataset? _dataset;
    private long _fileIndex = -1;
    private long _rowsWritten;
    private long _framesWritten;
    private long _bytesWritten;
    private int _filesCreated;

    /// <param name="name">the saving channel (<c>saving</c>, <c>saving_dense</c>): the graph counts saved frames under it</param>
    public Hdf5FrameSink(SavingParams saving, FrameInfo frame, SavingRoot root, SinkOptions? options = null, string name = "saving")
        : base(name)
    {
        options ??= new SinkOptions();
        _saving = saving;
        _frame = frame;
        _root = root;
        _folder = root.ResolveDirectory(saving.BasePath);
        _filter = Filter(saving);
        _parallelism = Math.Max(1, options.Parallelism);
        _zipLevel = options.ZipLevel;
        _facts = options.Facts ?? new NxmxFacts(null, DateTimeOffset.UtcNow);
        _expectedFrames = options.ExpectedFrames;
        if (ChunkBytes(_filter, frame) is var bound and > 0)
            _chunks = new FramePool(bound, (long)bound * ChunkBuffers(_parallelism));
        // The first file is created now so that a wrong path or an existing file stops the run before it starts.
        OpenFile(0);
    }

    /// <summary>
    /// Most bytes the sink holds for compressed chunks (one per frame compressed at once, plus one waiting for its
    /// write; a compression waits for a free one), outside the frame pool: a receiver counts them in its memory cap.
    /// </summary>
    public static long BufferBytes(SavingParams saving, FrameInfo frame, SinkOptions options) =>
        (long)ChunkBytes(Filter(saving), frame) * ChunkBuffers(Math.Max(1, options.Parallelism));

    private static ChunkFilter Filter(SavingParams saving) => saving.Compression switch
    {
        SavingCompression.Zip => ChunkFilter.Deflate,
        SavingCompression.BshufLz4 => ChunkFilter.BitshuffleLz4,
        _ => ChunkFilter.None,
    };

    private static int ChunkBytes(ChunkFilter filter, FrameInfo frame) => filter switch
    {
        ChunkFilter.Deflate => Zlib.CompressBound(frame.ByteSize),
        ChunkFilter.BitshuffleLz4 => BitshuffleLz4.MaxEncodedLength(frame.ByteSize, frame.PixelType.SizeOf()),
        _ => 0,
    };

    private static int ChunkBuffers(int parallelism) => parallelism + 1;

    /// <summary>Frames written to disk so far.</summary>
    public long FramesWritten => Interlocked.Read(ref _framesWritten);

    /// <summary>Chunk bytes written so far (compressed size).</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public int FilesCreated => Volatile.Read(ref _filesCreated);

    /// <summary>The folder the files go to, resolved inside the saving root.</summary>
    public string Folder => _folder;

    public string FilePath(long fileIndex) => _root.PathOf(_saving.BasePath, FileName(fileIndex));

    private string FileName(long fileIndex) => FilenameFormat.Render(_saving, checked(_saving.StartNumber + (int)fileIndex));

    public override int MaxDegreeOfParallelism => _parallelism;

    /// <summary>One frame inside per chunk buffer, so that a compression never waits for a chunk.</summary>
    public override int? BranchCapacity => ChunkBuffers(_parallelism);

    /// <summary>Compresses the frame's pixels into a chunk, unless it is written as it is (no filter, or bytes that came bitshuffle/LZ4).</summary>
    public override Chunk Compute(Frame frame)
    {
        if (frame.Info != _frame)
            throw new ArgumentException($"frame {frame.Index} is {frame.Info}, this saving channel was prepared for {_frame}");
        var passThrough = frame.Encoding == FrameEncoding.BitshuffleLz4 && !frame.EncodedData.IsEmpty;
        if (_filter == ChunkFilter.None || (_filter == ChunkFilter.BitshuffleLz4 && passThrough))
            return default;
        var buffer = _chunks!.Rent();
        try
        {
            var pixels = frame.Data.Span;
            var length = _filter == ChunkFilter.Deflate
                ? Zlib.Compress(pixels, buffer.Span, _zipLevel)
                : BitshuffleLz4.Encode(pixels, buffer.Span, frame.Info.PixelType.SizeOf());
            return new Chunk(buffer, length);
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>Writes the frame's chunk at its row (opening the next file when the frame belongs to it).</summary>
    public override ValueTask CommitAsync(Frame frame, Chunk chunk, CancellationToken cancellationToken)
    {
        using (chunk.Buffer)
        {
            var bytes = chunk.Buffer.IsEmpty
                ? (_filter == ChunkFilter.BitshuffleLz4 ? frame.EncodedData : frame.Data)
                : chunk.Buffer.Memory[..chunk.Length];
            OnDisk(() => WriteChunk(frame, bytes.Span));
        }
        return default;
    }

    /// <summary>Saves one frame outside a graph (master-file tests, accumulated frames, the bench): compress, then write.</summary>
    public async ValueTask WriteAsync(Frame frame, CancellationToken cancellationToken) =>
        await CommitAsync(frame, Compute(frame), cancellationToken).ConfigureAwait(false);

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        var planned = _expectedFrames is { } expected ? Math.Clamp(expected - _fileIndex * _saving.NbFramesPerFile, 0, _saving.NbFramesPerFile) : 0;
        OnDisk(() => CloseFile(planned));
        return default;
    }

    /// <summary>Runs a write; a full disk becomes <see cref="DiskFullException"/> naming the folder.</summary>
    private void OnDisk(Action write)
    {
        try
        {
            write();
        }
        catch (Hdf5Exception e) when (e.Message.Contains("No space left on device", StringComparison.Ordinal))
        {
            throw new DiskFullException(_folder, e);
        }
    }

    public ValueTask DisposeAsync()
    {
        _dataset?.Dispose();
        _file?.Dispose();
        _chunks?.Dispose();
        return default;
    }

    private void WriteChunk(Frame frame, ReadOnlySpan<byte> chunk)
    {
        var perFile = _saving.NbFramesPerFile;
        var fileIndex = frame.ReceiverIndex / perFile;
        var row = frame.ReceiverIndex % perFile;
        if (fileIndex != _fileIndex)
        {
            if (fileIndex < _fileIndex)
                throw new InvalidOperationException($"frame {frame.Index} (receiver frame {frame.ReceiverIndex}) came after file {_fileIndex} was closed");
            CloseFile(perFile);
            OpenFile(fileIndex);
        }
        var dataset = _dataset!;
        if (row >= dataset.Frames)
            dataset.SetFrames(Math.Min(perFile, Math.Max(row + 1, 2 * dataset.Frames)));
        _file!.ReserveAhead(chunk.Length);
        dataset.WriteChunk(row, chunk);
        // Written frames are not read back: recycle their page cache (see Hdf5File.ReleaseWrittenPages).
        _file!.ReleaseWrittenPages();
        _rowsWritten = Math.Max(_rowsWritten, row + 1);
        Interlocked.Increment(ref _framesWritten);
        Interlocked.Add(ref _bytesWritten, chunk.Length);
    }

    private void OpenFile(long fileIndex)
    {
        var file = Hdf5File.Create(_root, _saving.BasePath, FileName(fileIndex), _saving.FileExistsPolicy == FileExistsPolicy.Overwrite);
        try
        {
            NexusLayout.CreateGroups(file, _saving, _frame, _facts);
            _dataset = file.CreateFrameDataset(NexusLayout.FramesPath, _frame, _filter);
            NexusLayout.Link(file, _saving);
        }
        catch
        {
            _dataset?.Dispose();
            _dataset = null;
            file.Dispose();
            throw;
        }
        _file = file;
        _fileIndex = fileIndex;
        _rowsWritten = 0;
        Interlocked.Increment(ref _filesCreated);
    }

    /// <summary>
    /// Closes the current file with at least <paramref name="rows"/> rows: frames lost on the way keep their place
    /// (read as 0), so the files and the master file's mapping stay aligned on the receiver's frame numbers.
    /// </summary>
    private void CloseFile(long rows)
    {
        if (_file is null)
            return;
        var (file, dataset) = (_file, _dataset!);
        _file = null;
        _dataset = null;
        try
        {
            var extent = Math.Max(rows, _rowsWritten);
            if (dataset.Frames != extent)
                dataset.SetFrames(extent);
        }
        finally
        {
            dataset.Dispose();
        }
        try
        {
            NexusLayout.WriteEndTime(file, DateTimeOffset.UtcNow);
            file.Close();
        }
        finally
        {
            file.Dispose();
        }
    }

    /// <summary>A frame's compressed bytes from the sink's chunk pool; empty when the frame is written as it is.</summary>
    public readonly record struct Chunk(PooledBuffer Buffer, int Length);
}

/// <summary>The saving folder's file system is full (ENOSPC); the inner exception is libhdf5's error.</summary>
public sealed class DiskFullException(string folder, Exception error) : IOException($"disk full: {folder}", error)
{
    public string Folder { get; } = folder;
}

/// <summary>How a saving sink uses the machine.</summary>
/// <param name="Parallelism">frames compressed at once (bounded: one chunk buffer each)</param>
/// <param name="ZipLevel">zlib level for compression zip (1 fastest … 9 smallest)</param>
/// <param name="ExpectedFrames">frames this receiver should get, when known: the last file is sized for them</param>
/// <param name="Facts">the NXmx facts written in every file (detector facts from the channel's <c>ChannelStart.Metadata</c>
/// and the acquisition, the run's start); null: all unknown, started when the sink was made</param>
public sealed record SinkOptions(int Parallelism = 2, int ZipLevel = 1, long? ExpectedFrames = null, NxmxFacts? Facts = null);
