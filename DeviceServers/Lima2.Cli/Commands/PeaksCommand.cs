using System.CommandLine;
using System.Diagnostics;
using System.IO.Compression;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Hdf5.Native;
using Lima2.PeakFinding;

namespace Lima2.Cli.Commands;

/// <summary>
/// <c>lima2 peaks</c>: Bragg peaks of the frames of a file, with a pyFAI PONI geometry, an optional mask and the
/// SMX <c>fai</c> parameters, written as CSV (frame, then the oracle CSV columns). <c>lima2 peaks bench</c>
/// times the finder against pyFAI's OCL_PeakFinder on the same frame.
/// </summary>
public static class PeaksCommand
{
    internal static readonly Argument<FileInfo> FramesArg = new("frames")
    {
        Description = "frames: HDF5 (.h5/.hdf5/.nxs, with --dataset), .npy (2-D or 3-D stack), or raw .bin/.bin.gz with --shape and --dtype",
    };
    internal static readonly Option<FileInfo> PoniOpt = new("--poni") { Description = "pyFAI PONI geometry file", Required = true };
    internal static readonly Option<FileInfo?> MaskOpt = new("--mask") { Description = "mask, 1 = masked: .npy, or raw uint8 .bin/.bin.gz" };
    internal static readonly Option<string?> ParamsOpt = new("--params") { Description = "SMX fai parameters: a JSON file or inline JSON" };
    internal static readonly Option<string?> ShapeOpt = new("--shape") { Description = "HxW of raw frames, e.g. 2167x2070" };
    internal static readonly Option<string> DtypeOpt = new("--dtype") { Description = "pixel type of raw frames: uint8 int8 uint16 int16 uint32 int32 float32", DefaultValueFactory = _ => "int32" };
    internal static readonly Option<string> DatasetOpt = new("--dataset") { Description = "dataset of frames (N, H, W) or (H, W) inside an HDF5 file", DefaultValueFactory = _ => "/entry_0000/measurement/data" };
    internal static readonly Option<string> BackendOpt = new("--backend") { Description = "auto, opencl or reference", DefaultValueFactory = _ => "auto" };
    internal static readonly Option<int> PlatformOpt = new("--platform") { Description = "OpenCL platform index", DefaultValueFactory = _ => 0 };
    internal static readonly Option<int> DeviceOpt = new("--device") { Description = "OpenCL device index", DefaultValueFactory = _ => 0 };
    internal static readonly Option<bool> NoFallbackOpt = new("--no-cpu-fallback") { Description = "fail instead of falling back to an OpenCL CPU device" };
    private static readonly Option<FileInfo?> OutOpt = new("--output", "-o") { Description = "CSV file (default: standard output)" };

    public static Command Create()
    {
        var command = new Command("peaks", "find Bragg peaks in frames from a file (pyFAI peakfinder8 algorithm)");
        command.Arguments.Add(FramesArg);
        foreach (var o in new Option[] { PoniOpt, MaskOpt, ParamsOpt, ShapeOpt, DtypeOpt, DatasetOpt, BackendOpt, PlatformOpt, DeviceOpt, NoFallbackOpt, OutOpt })
            command.Options.Add(o);
        command.SetAction(Run);
        command.Subcommands.Add(PeaksBench.Create());
        var devices = new Command("devices", "list the OpenCL platforms and devices (indices for --platform/--device and the gpu block)");
        devices.SetAction(_ => ListDevices());
        command.Subcommands.Add(devices);
        return command;
    }

    private static int ListDevices()
    {
        var platforms = Lima2.OpenCL.ClPlatform.All();
        if (platforms.Count == 0)
            Console.WriteLine("no OpenCL platform (is an ICD installed, e.g. pocl-opencl-icd?)");
        foreach (var p in platforms)
        {
            Console.WriteLine($"platform {p.Index}: {p.Name} ({p.Vendor}, {p.Version})");
            foreach (var d in p.Devices())
                Console.WriteLine($"  device {d.Index}: {d.Name} [{d.Type}] {d.ComputeUnits} CU, {d.GlobalMemory / (1 << 20)} MiB, " +
                    $"max work-group {d.MaxWorkGroupSize}, {(d.SupportsDouble ? "fp64" : "no fp64")}, {d.Version}, driver {d.DriverVersion}");
        }
        return 0;
    }

    private static int Run(ParseResult r)
    {
        try
        {
            using var opened = OpenFrames(r) as IDisposable;
            var frames = (IFrameSource)opened!;
            var count = (int)(frames.Count ?? 1);
            var (model, fai) = BuildModel(r, frames.Info);
            using var finder = PeakFinder.Create(model, frames.Info.PixelType, Options(r));
            Console.Error.WriteLine($"{count} frame(s) {frames.Info}, {model.NbBins} bins, {finder.Description}");
            var output = r.GetValue(OutOpt);
            using var writer = new CsvPeakWriter(output is null ? Console.Out : new StreamWriter(output.FullName));
            writer.Begin(SparseLayout.Of(model));
            var watch = Stopwatch.StartNew();
            long peaks = 0, hits = 0;
            for (var i = 0; i < count; i++)
            {
                using var frame = ReadFrame(frames, i);
                var result = finder.Process(frame);
                peaks += result.NbPeaks;
                if (result.IsHit) hits++;
                writer.Write(result);
            }
            writer.Complete();
            Console.Error.WriteLine($"{count} frame(s), {hits} hit(s) (min_nb_peaks {fai.MinNbPeaks}), {peaks} peak(s), {watch.Elapsed.TotalMilliseconds / count:F1} ms/frame");
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or FormatException or NotSupportedException or Lima2.OpenCL.OpenClException or Hdf5Exception or InvalidDataException)
        {
            Console.Error.WriteLine($"lima2 peaks: {e.Message}");
            return 2;
        }
    }

    internal static PeakFinderOptions Options(ParseResult r, string? backend = null) => new()
    {
        Backend = (backend ?? r.GetValue(BackendOpt)) switch
        {
            "auto" => PeakFinderBackend.Auto,
            "opencl" => PeakFinderBackend.OpenCl,
            "reference" => PeakFinderBackend.Reference,
            var b => throw new ArgumentException($"--backend: '{b}' is not auto, opencl or reference"),
        },
        Gpu = new GpuParams { PlatformIdx = r.GetValue(PlatformOpt), DeviceIdx = r.GetValue(DeviceOpt), OclCpuFallbackEnabled = !r.GetValue(NoFallbackOpt) },
    };

    internal static (PeakFinderModel, FaiParams) BuildModel(ParseResult r, FrameInfo info)
    {
        var fai = ReadParams(r.GetValue(ParamsOpt));
        var geometry = Geometry.FromPoniFile(r.GetValue(PoniOpt)!.FullName);
        var maskFile = r.GetValue(MaskOpt)?.FullName;
        var mask = maskFile is null ? null : ReadMask(maskFile, info);
        return (PeakFinderModel.Load(info.Width, info.Height, fai, geometry, null, mask), fai);
    }

    internal static FaiParams ReadParams(string? text)
    {
        if (text is null)
            return new FaiParams();
        var json = text.TrimStart().StartsWith('{') ? text
            : File.Exists(text) ? File.ReadAllText(text) : throw new FileNotFoundException($"--params: no file {text}");
        return FaiParams.Parse(json);
    }

    private static byte[] ReadMask(string path, FrameInfo info)
    {
        byte[] mask;
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var array = NpyFile.Read(path);
            // a transposed mask has the right size: only its shape tells
            if (array.Shape is not [var rows, var columns] || rows != info.Height || columns != info.Width)
                throw new ArgumentException($"mask {path} has shape ({string.Join(", ", array.Shape)}), the frames have shape ({info.Height}, {info.Width})");
            mask = array.ToDoubles().Select(v => v != 0 ? (byte)1 : (byte)0).ToArray();
        }
        else
            mask = RawFrameSource.ReadAllBytes(path);
        if (mask.Length != info.PixelCount)
            throw new ArgumentException($"mask {path} has {mask.Length} values, the frames have {info.Height}x{info.Width} = {info.PixelCount} pixels");
        return mask;
    }

    /// <summary>Frame <paramref name="index"/> of a source, in a buffer of its own (owned by the caller).</summary>
    internal static Frame ReadFrame(IFrameSource source, long index)
    {
        var bytes = GC.AllocateUninitializedArray<byte>(source.Info.ByteSize, pinned: true);
        source.Render(index, bytes);
        return new Frame(PooledBuffer.Unpooled(bytes), source.Info, index, index);
    }

    /// <summary>The frames named on the command line. HDF5 plugs in here as one more <see cref="IFrameSource"/>.</summary>
    /// <remarks>Every source returned is also <see cref="IDisposable"/>.</remarks>
    internal static IFrameSource OpenFrames(ParseResult r)
    {
        var file = r.GetValue(FramesArg)!;
        if (!file.Exists)
            throw new FileNotFoundException($"no frames file {file.FullName}");
        var name = file.Name.ToLowerInvariant();
        if (name.EndsWith(".h5") || name.EndsWith(".hdf5") || name.EndsWith(".nxs"))
            return Hdf5FrameSource.Open(file.FullName, r.GetValue(DatasetOpt)!);
        if (name.EndsWith(".npy"))
            return new NpyFrameSource(file.FullName);
        var shape = r.GetValue(ShapeOpt) ?? throw new ArgumentException($"{file.Name}: raw frames need --shape HxW");
        var dims = shape.Split('x', 'X', ',');
        if (dims.Length != 2 || !int.TryParse(dims[0], out var h) || !int.TryParse(dims[1], out var w) || h <= 0 || w <= 0)
            throw new ArgumentException($"--shape: '{shape}' is not HxW");
        return new RawFrameSource(file.FullName, new FrameInfo(w, h, ParseDtype(r.GetValue(DtypeOpt)!)));
    }

    private static PixelType ParseDtype(string dtype) =>
        PixelTypes.TryParseDtypeName(dtype, out var type) || PixelTypes.TryParseLimaName(dtype, out type)
            ? type
            : throw new ArgumentException($"--dtype: unknown pixel type '{dtype}'");
}

/// <summary>Raw little-endian frames back to back, optionally gzip-compressed (read whole).</summary>
public sealed class RawFrameSource : IFrameSource, IDisposable
{
    private readonly byte[] _bytes;

    public RawFrameSource(string path, FrameInfo info)
    {
        Info = info;
        _bytes = ReadAllBytes(path);
        if (_bytes.Length == 0 || _bytes.Length % info.ByteSize != 0)
            throw new ArgumentException($"{path}: {_bytes.Length} bytes is not a whole number of {info} frames ({info.ByteSize} bytes each)");
        Count = _bytes.Length / info.ByteSize;
    }

    public FrameInfo Info { get; }

    public long? Count { get; }

    public void Render(long index, Span<byte> destination) => _bytes.AsSpan(checked((int)index * Info.ByteSize), Info.ByteSize).CopyTo(destination);

    public void Dispose()
    {
    }

    internal static byte[] ReadAllBytes(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"no file {path}", path);
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            return File.ReadAllBytes(path);
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }
}

/// <summary>A numpy .npy file holding one frame (H, W) or a stack (N, H, W).</summary>
public sealed class NpyFrameSource : IFrameSource, IDisposable
{
    private readonly NpyFile.NpyArray _array;

    public NpyFrameSource(string path)
    {
        _array = NpyFile.Read(path);
        var s = _array.Shape;
        var type = Enum.GetValues<PixelType>().Cast<PixelType?>().FirstOrDefault(t => t!.Value.ToNumpy()[1..] == _array.Dtype[1..]) // numpy writes |u1, PixelType says <u1
            ?? throw new NotSupportedException($"{path}: dtype {_array.Dtype} is not a frame pixel type");
        (Count, Info) = s.Length switch
        {
            2 => (1L, new FrameInfo(s[1], s[0], type)),
            3 => ((long)s[0], new FrameInfo(s[2], s[1], type)),
            _ => throw new ArgumentException($"{path}: shape ({string.Join(", ", s)}) is neither a frame nor a stack of frames"),
        };
    }

    public FrameInfo Info { get; }

    public long? Count { get; }

    public void Render(long index, Span<byte> destination) => _array.Data.AsSpan(checked((int)index * Info.ByteSize), Info.ByteSize).CopyTo(destination);

    public void Dispose()
    {
    }
}
