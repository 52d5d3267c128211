using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Lima2.Acquisition.Saving;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Processing;
using Lima2.Detectors.Simulator;
using Lima2.Hdf5;

namespace Lima2.Bench;

/// <summary>
/// <c>lima2-bench costs</c>: what one frame costs on the receive path, each step alone on this thread: decode, the copy
/// of the compressed bytes kept for pass-through, a raw frame's one copy, ROI statistics (the bench's two ROIs in one
/// pass, as the roi_statistics node measures them), the saving sink's write of a bslz4 chunk and of a raw frame, and
/// beside them a plain <c>pwrite</c> of the same bytes (the page-cache floor the HDF5 writes are measured against).
/// </summary>
internal static partial class FrameCosts
{
    public static Command Create()
    {
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 2048 };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 2048 };
        var folder = new Option<string>("--folder") { Description = "where the files are written (on the disk under test)", DefaultValueFactory = _ => "/var/tmp/lima2-bench" };
        var rounds = new Option<int>("--rounds") { Description = "timed frames per step", DefaultValueFactory = _ => 41 };
        var bytes = new Option<int>("--pixel-bytes") { Description = "2 or 4 (uint16, uint32 frames)", DefaultValueFactory = _ => 2 };
        var command = new Command("costs", "time each per-frame step of the receive path on one thread (decode, copies, ROI statistics, HDF5 writes)");
        foreach (var option in new Option[] { width, height, folder, rounds, bytes })
            command.Options.Add(option);
        command.SetAction(result =>
        {
            var pixelType = result.GetValue(bytes) switch
            {
                2 => PixelType.Gray16, 4 => PixelType.Gray32,
                var other => throw new ArgumentException($"--pixel-bytes {other}: 2 or 4"),
            };
            var info = new FrameInfo(result.GetValue(width), result.GetValue(height), pixelType);
            var root = result.GetValue(folder)!;
            Directory.CreateDirectory(root);
            var loadBefore = LoadAverage();
            var costs = Measure(info, root, result.GetValue(rounds));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{info} frame, one thread, median of {result.GetValue(rounds)} (after one warm-up), files in {root}; load average {loadBefore} before, {LoadAverage()} after."));
            Console.WriteLine("| step | ms per frame, wall | ms per frame, thread CPU |");
            Console.WriteLine("|---|---|---|");
            foreach (var (name, cost) in costs)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {cost.Wall:F3} | {cost.Cpu:F3} |"));
            return 0;
        });
        return command;
    }

    /// <summary>Median milliseconds of each step on frame 0 of the diffraction simulator.</summary>
    public static List<(string Name, Cost Milliseconds)> Measure(FrameInfo info, string root, int rounds = 15)
    {
        var source = FrameGenerator.Create(new GeneratorParams
        {
            Type = GeneratorType.Diffraction, Width = info.Width, Height = info.Height, PixelType = info.PixelType,
        });
        var elemSize = info.PixelType.SizeOf();
        var pixels = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        source.Render(0, pixels);
        var chunk = GC.AllocateUninitializedArray<byte>(BitshuffleLz4.MaxEncodedLength(info.ByteSize, elemSize), pinned: true);
        var length = BitshuffleLz4.Encode(pixels, chunk, elemSize);
        var target = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        var rois = new RoiSet(
        [
            PixelRegion.Rectangle(100, 100, 200, 200, info.Width, info.Height),
            PixelRegion.Rectangle(0, 0, info.Width, info.Height, info.Width, info.Height),
        ]);
        var stats = new RoiStats[rois.Regions.Count];
        using var frame = new Frame(PooledBuffer.Unpooled(pixels), info, 0, 0);
        var costs = new List<(string, Cost)>
        {
            ("bslz4 decode", Median(rounds, () => BitshuffleLz4.Decode(chunk.AsSpan(0, length), target, elemSize))),
            ("copy of the bslz4 bytes", Median(rounds, () => chunk.AsSpan(0, length).CopyTo(target))),
            ("copy of a raw frame", Median(rounds, () => pixels.AsSpan().CopyTo(target))),
            ("ROI statistics (2 ROIs, one pass)", Median(rounds, () => rois.Measure(frame, stats))),
            ("HDF5 direct chunk write of the bslz4 chunk", SinkWrite(info, root, rounds, SavingCompression.BshufLz4, pixels, chunk, length)),
            ("pwrite of the bslz4 chunk (page-cache floor)", PlainWrite(root, rounds, chunk.AsSpan(0, length).ToArray())),
            ("HDF5 write of a raw frame", SinkWrite(info, root, rounds, SavingCompression.None, pixels, chunk, length)),
            ("pwrite of a raw frame (page-cache floor)", PlainWrite(root, rounds, pixels)),
        };
        Directory.Delete(Path.Combine(root, "costs"), recursive: true);
        return costs;
    }

    /// <summary>The saving sink's write of one frame: a bslz4 chunk passed through, or raw pixels; pages released as a run does.</summary>
    private static Cost SinkWrite(FrameInfo info, string root, int rounds, SavingCompression compression, byte[] pixels, byte[] chunk, int length)
    {
        var saving = new SavingParams
        {
            Enabled = true, BasePath = "costs", FilenamePrefix = $"costs_{ParamsJson.EnumName(compression)}", NbFramesPerFile = 1000,
            Compression = compression, FileExistsPolicy = FileExistsPolicy.Overwrite,
        };
        var sink = new Hdf5FrameSink(saving, info, new SavingRoot(root));
        var encoded = PooledBuffer.Unpooled(chunk);
        var index = 0;
        var milliseconds = Median(rounds, () =>
        {
            using var written = new Frame(PooledBuffer.Unpooled(pixels), info, index, index);
            if (compression == SavingCompression.BshufLz4)
                written.AttachEncoded(FrameEncoding.BitshuffleLz4, encoded.Memory[..length], encoded);
            index++;
            sink.WriteAsync(written, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        });
        sink.CompleteAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        sink.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return milliseconds;
    }

    /// <summary>The same bytes appended to a plain file, with the same page release as the sink's.</summary>
    private static Cost PlainWrite(string root, int rounds, byte[] bytes)
    {
        var path = Path.Combine(root, "costs", $"plain_{bytes.Length}.bin");
        using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        long offset = 0;
        return Median(rounds, () =>
        {
            RandomAccess.Write(file, bytes, offset);
            offset += bytes.Length;
            PageCache.ReleaseWritten(file);
        });
    }

    /// <summary>
    /// Median wall time and median CPU time of this thread over <paramref name="rounds"/> runs after one warm-up, in
    /// milliseconds: the CPU time is the figure that holds on a loaded machine (it leaves out the waits for a core).
    /// </summary>
    private static Cost Median(int rounds, Action work)
    {
        work();
        var wall = new double[rounds];
        var cpu = new double[rounds];
        for (var i = 0; i < rounds; i++)
        {
            var cpuBefore = ThreadCpuMilliseconds();
            var clock = Stopwatch.StartNew();
            work();
            wall[i] = clock.Elapsed.TotalMilliseconds;
            cpu[i] = ThreadCpuMilliseconds() - cpuBefore;
        }
        Array.Sort(wall);
        Array.Sort(cpu);
        return new Cost(wall[rounds / 2], cpu[rounds / 2]);
    }

    private static unsafe double ThreadCpuMilliseconds()
    {
        var time = stackalloc long[2];
        if (clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, time) != 0)
            throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
        return time[0] * 1e3 + time[1] / 1e6;
    }

    [LibraryImport("libc")]
    private static unsafe partial int clock_gettime(int clock, long* time);

    /// <summary>Milliseconds per frame: elapsed, and CPU time of the measuring thread.</summary>
    public readonly record struct Cost(double Wall, double Cpu);

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];
}
