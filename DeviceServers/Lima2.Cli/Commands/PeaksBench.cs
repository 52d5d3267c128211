using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.OpenCL;
using Lima2.PeakFinding;
using static Lima2.Cli.Commands.PeaksCommand;

namespace Lima2.Cli.Commands;

/// <summary>
/// <c>lima2 peaks bench</c>: per-frame time of our finder (OpenCL and C# reference) and of pyFAI's
/// OCL_PeakFinder on the same frame, device and parameters, in one run; optionally frames/s with 1 to N frames in
/// flight per queue (frames in the device's driver-pinned memory, as a receiver keeps them; host-to-device copy
/// included) beside the copy rates of the device from pageable, .NET-pinned and driver-pinned memory, measured in
/// the same run, and the device time of each stage.
/// </summary>
public static class PeaksBench
{
    private static readonly Option<int> RepeatOpt = new("--repeat") { Description = "timed runs per implementation", DefaultValueFactory = _ => 20 };
    private static readonly Option<bool> NoPyfaiOpt = new("--no-pyfai") { Description = "skip pyFAI" };
    private static readonly Option<bool> NoReferenceOpt = new("--no-reference") { Description = "skip the C# reference" };
    private static readonly Option<double> FpsOpt = new("--fps-seconds") { Description = "also measure frames/s for this long (0: off)", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> ThreadsOpt = new("--threads") { Description = "concurrent callers in the frames/s mode", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> QueuesOpt = new("--queues") { Description = "OpenCL queues (0: 1 on CPUs, 3 on GPUs)", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> InFlightOpt = new("--in-flight") { Description = "frames/s mode: frames in flight per queue, measured from 1 to this", DefaultValueFactory = _ => 4 };
    private static readonly Option<bool> CopyOpt = new("--copy") { Description = "copy frames to the device even where it reads host memory in place (the GPU path on PoCL)" };
    private static readonly Option<bool> ProfileOpt = new("--profile") { Description = "print the device time of each OpenCL command" };
    private static readonly Option<bool> Uint16Opt = new("--uint16") { Description = "frames/s mode on the frame converted to uint16 (Jungfrau-like)" };

    public static Command Create()
    {
        var command = new Command("bench", "time the peak finder against pyFAI's OCL_PeakFinder on the same frame");
        command.Arguments.Add(FramesArg);
        foreach (var o in new Option[] { PoniOpt, MaskOpt, ParamsOpt, ShapeOpt, DtypeOpt, PlatformOpt, DeviceOpt, NoFallbackOpt,
                     RepeatOpt, NoPyfaiOpt, NoReferenceOpt, FpsOpt, ThreadsOpt, QueuesOpt, InFlightOpt, CopyOpt, Uint16Opt, ProfileOpt })
            command.Options.Add(o);
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult r)
    {
        try
        {
            var frames = OpenFrames(r);
            using var frame = ReadFrame(frames, 0);
            (frames as IDisposable)?.Dispose();
            var (model, fai) = BuildModel(r, frames.Info);
            var repeat = Math.Max(1, r.GetValue(RepeatOpt));
            Console.WriteLine($"frame {frames.Info} ({frames.Info.PixelCount / 1e6:F2} Mpx), {model.NbBins} bins, error model {fai.ErrorModel.ToString().ToLowerInvariant()}, " +
                $"patch {fai.PatchSize}, connected {fai.Connected}, {Environment.ProcessorCount} CPU threads");
            var options = Options(r, "opencl") with { Queues = r.GetValue(QueuesOpt), Profiling = r.GetValue(ProfileOpt), CopyToDevice = r.GetValue(CopyOpt) };
            double? ours = null;
            using (var finder = PeakFinder.Create(model, frames.Info.PixelType, options))
            {
                var (median, min, peaks) = Time(finder, frame, repeat);
                ours = median;
                Console.WriteLine($"ours OpenCL   {finder.Device!.Name,-40} median {median,8:F2} ms  min {min,8:F2} ms  {peaks} peaks  (one frame at a time: latency)");
                Console.WriteLine($"    {finder.Description}");
                PrintProfile(finder);
                if (r.GetValue(FpsOpt) > 0)
                    FramesPerSecond(r, model, frames.Info, options);
            }
            if (!r.GetValue(NoReferenceOpt))
            {
                using var reference = PeakFinder.Create(model, frames.Info.PixelType, Options(r, "reference"));
                var (median, min, peaks) = Time(reference, frame, repeat);
                Console.WriteLine($"ours C#       {reference.Description,-40} median {median,8:F2} ms  min {min,8:F2} ms  {peaks} peaks");
            }
            if (!r.GetValue(NoPyfaiOpt))
            {
                var (median, min, peaks, device, setup) = PyFai(r, frame, model, fai, repeat);
                Console.WriteLine($"pyFAI OCL_PeakFinder {device,-33} median {median,8:F2} ms  min {min,8:F2} ms  {peaks} peaks  (set-up {setup:F1} s)");
                Console.WriteLine($"speed-up, medians: {median / ours:F2}x");
            }
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or FormatException or NotSupportedException or OpenClException or InvalidOperationException)
        {
            Console.Error.WriteLine($"lima2 peaks bench: {e.Message}");
            return 2;
        }
    }

    private static (double Median, double Min, int Peaks) Time(PeakFinder finder, Frame frame, int repeat)
    {
        var peaks = 0;
        for (var i = 0; i < 2; i++)
            peaks = finder.Process(frame).NbPeaks; // warm-up: allocations, JIT, first kernel launches
        var times = new double[repeat];
        for (var i = 0; i < repeat; i++)
        {
            var t = Stopwatch.GetTimestamp();
            finder.Process(frame);
            times[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        Array.Sort(times);
        return (times[repeat / 2], times[0], peaks);
    }

    private static void PrintProfile(PeakFinder finder)
    {
        foreach (var (name, (total, count)) in finder.Profile.OrderByDescending(x => x.Value.Total))
            Console.WriteLine($"    {name,-20} {total.TotalMilliseconds / count,8:F3} ms/frame on the device");
    }

    /// <summary>
    /// Frames/s with 1 to --in-flight frames in flight per queue, each from --threads callers that keep submitting the
    /// same frame (kept in the pool a receiver would use: the device's driver-pinned memory when frames are copied),
    /// then the copy limits of the device measured in the same run.
    /// </summary>
    private static void FramesPerSecond(ParseResult r, PeakFinderModel model, FrameInfo info, PeakFinderOptions options)
    {
        var seconds = r.GetValue(FpsOpt);
        var threads = Math.Max(1, r.GetValue(ThreadsOpt));
        var source = OpenFrames(r);
        using var original = ReadFrame(source, 0);
        (source as IDisposable)?.Dispose();
        var pixels = original.Data;
        if (r.GetValue(Uint16Opt) && info.PixelType != PixelType.Gray16)
        {
            var converted = new ushort[info.PixelCount];
            for (var i = 0; i < converted.Length; i++)
                converted[i] = (ushort)Math.Clamp(ToDouble(original, i), 0, ushort.MaxValue);
            pixels = MemoryMarshal.AsBytes(converted.AsSpan()).ToArray();
            info = info with { PixelType = PixelType.Gray16 };
            var p = model.Params with { Dummy = model.Params.Dummy is { } d && d < 0 ? null : model.Params.Dummy };
            model = PeakFinderModel.Create(info.Width, info.Height, Geometry.FromPoniFile(r.GetValue(PoniOpt)!.FullName), model.Mask, p);
        }
        using var pool = new FramePool(info.ByteSize, info.ByteSize, PeakFinder.FrameMemory(options));
        var buffer = pool.Rent();
        pixels.Span.CopyTo(buffer.Span);
        using var frame = new Frame(buffer, info, 0, 0);
        Console.WriteLine($"frames/s      {info} from {pool.Memory}, {threads} caller(s), {seconds:F1} s per case:");
        var rates = new List<(int InFlight, double Fps)>();
        ClDevice? device = null;
        for (var inFlight = 1; inFlight <= Math.Max(1, r.GetValue(InFlightOpt)); inFlight++)
        {
            using var finder = PeakFinder.Create(model, info.PixelType, options with { FramesInFlight = inFlight });
            device = finder.Device!;
            finder.Process(frame); // warm-up
            var fps = Throughput(finder, frame, threads, seconds);
            rates.Add((inFlight, fps));
            Console.WriteLine($"    {finder.Description}: {fps:F1} frames/s ({fps * info.ByteSize / 1e9:F2} GB/s)");
            PrintProfile(finder);
        }
        var (pageable, heap, driver) = CopyRates(device!, info.ByteSize, Math.Max(0.2, seconds / 4));
        var b = info.ByteSize;
        Console.WriteLine($"copy limit    host-to-device, one {b / 1e6:F1} MB frame per blocking copy: pageable {pageable / b:F1} frames/s ({pageable / 1e9:F2} GB/s), " +
            $".NET pinned heap {heap / b:F1} frames/s ({heap / 1e9:F2} GB/s), driver-pinned {driver / b:F1} frames/s ({driver / 1e9:F2} GB/s)");
        var best = rates.MaxBy(x => x.Fps);
        Console.WriteLine($"best          {best.Fps:F1} frames/s with {best.InFlight} in flight per queue: {100 * best.Fps * b / driver:F0} % of the driver-pinned copy limit");
    }

    /// <summary>Frames/s of <paramref name="threads"/> callers that each keep submitting (the finder's back-pressure
    /// bounds the frames in flight), counted when their results are back.</summary>
    private static double Throughput(PeakFinder finder, Frame frame, int threads, double seconds)
    {
        long done = 0;
        var stop = Stopwatch.StartNew();
        var callers = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() =>
        {
            var pending = new List<Task>();
            while (stop.Elapsed.TotalSeconds < seconds)
                pending.Add(finder.ProcessAsync(frame).ContinueWith(_ => Interlocked.Increment(ref done), TaskContinuationOptions.ExecuteSynchronously));
            Task.WaitAll(pending);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(callers);
        return Interlocked.Read(ref done) / stop.Elapsed.TotalSeconds;
    }

    private static double ToDouble(Frame f, int i) => f.Info.PixelType switch
    {
        PixelType.Gray32s => f.Pixels<int>()[i],
        PixelType.Gray32 => f.Pixels<uint>()[i],
        PixelType.Gray32f => f.Pixels<float>()[i],
        PixelType.Gray16 => f.Pixels<ushort>()[i],
        PixelType.Gray16s => f.Pixels<short>()[i],
        _ => f.Data.Span[i],
    };

    /// <summary>Bytes/s of blocking host-to-device copies of one frame from ordinary (pageable) managed memory, from a
    /// .NET pinned-heap array (what a frame pool gives by default) and from driver-pinned memory
    /// (CL_MEM_ALLOC_HOST_PTR, mapped: what the finder's frame pool gives): the last is the bus's limit.</summary>
    private static unsafe (double Pageable, double Heap, double Driver) CopyRates(ClDevice device, int bytes, double seconds)
    {
        var ctx = ClRuntime.Context(device);
        using var queue = ctx.CreateQueue();
        using var buffer = ctx.CreateBuffer(bytes, ClMemFlags.ReadOnly);
        using var driverPinned = DevicePinnedMemory.For(device).Allocate(bytes);
        double Rate(Memory<byte> source)
        {
            using var pin = source.Pin();
            long n = 0;
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed.TotalSeconds < seconds)
            {
                queue.Write(buffer, pin.Pointer, bytes);
                n++;
            }
            return n * (double)bytes / watch.Elapsed.TotalSeconds;
        }
        return (Rate(new byte[bytes]), Rate(GC.AllocateUninitializedArray<byte>(bytes, pinned: true)), Rate(driverPinned.Memory));
    }

    private static (double Median, double Min, int Peaks, string Device, double Setup) PyFai(ParseResult r, Frame frame, PeakFinderModel model, FaiParams fai, int repeat)
    {
        var dir = Directory.CreateTempSubdirectory("lima2-bench-");
        try
        {
            var framePath = Path.Combine(dir.FullName, "frame.npy");
            var maskPath = Path.Combine(dir.FullName, "mask.npy");
            NpyFile.Write(framePath, frame);
            NpyFile.Write(maskPath, model.Mask, "|u1", model.Height, model.Width);
            var script = PyFaiOracle.WriteScript();
            var args = new List<string> { script, framePath, r.GetValue(PoniOpt)!.FullName, model.NbBins.ToString(CultureInfo.InvariantCulture),
                PyFaiOracle.Params(fai), "--mask", maskPath, "--repeat", repeat.ToString(CultureInfo.InvariantCulture) };
            var device = ClDevice.Select(r.GetValue(PlatformOpt), r.GetValue(DeviceOpt), !r.GetValue(NoFallbackOpt));
            args.AddRange(["--platform", device.Platform.Index.ToString(CultureInfo.InvariantCulture), "--device", device.Index.ToString(CultureInfo.InvariantCulture)]);
            var info = new ProcessStartInfo(PyFaiOracle.Python, args) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start python3");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            File.Delete(script);
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"pyFAI run failed ({process.ExitCode}): {stderr.Result}");
            using var doc = JsonDocument.Parse(stdout);
            var times = doc.RootElement.GetProperty("times_ms").EnumerateArray().Select(t => t.GetDouble()).Order().ToArray();
            var peaks = doc.RootElement.GetProperty("frames")[0].GetProperty("peaks").GetArrayLength();
            return (times[times.Length / 2], times[0], peaks, doc.RootElement.GetProperty("device").GetString()!, doc.RootElement.GetProperty("setup_s").GetDouble());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
