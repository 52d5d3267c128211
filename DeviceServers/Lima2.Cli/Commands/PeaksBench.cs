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
/// OCL_PeakFinder on the same frame, device and parameters, in one run; optionally frames/s with concurrent
/// callers (uint16 frames, host-to-device copy included) beside the raw copy rate of the device.
/// </summary>
public static class PeaksBench
{
    private static readonly Option<int> RepeatOpt = new("--repeat") { Description = "timed runs per implementation", DefaultValueFactory = _ => 20 };
    private static readonly Option<bool> NoPyfaiOpt = new("--no-pyfai") { Description = "skip pyFAI" };
    private static readonly Option<bool> NoReferenceOpt = new("--no-reference") { Description = "skip the C# reference" };
    private static readonly Option<double> FpsOpt = new("--fps-seconds") { Description = "also measure frames/s for this long (0: off)", DefaultValueFactory = _ => 0 };
    private static readonly Option<int> ThreadsOpt = new("--threads") { Description = "concurrent callers in the frames/s mode", DefaultValueFactory = _ => 3 };
    private static readonly Option<int> QueuesOpt = new("--queues") { Description = "OpenCL queues (0: 1 on CPUs, 3 on GPUs)", DefaultValueFactory = _ => 0 };
    private static readonly Option<bool> ProfileOpt = new("--profile") { Description = "print the device time of each OpenCL command" };
    private static readonly Option<bool> Uint16Opt = new("--uint16") { Description = "frames/s mode on the frame converted to uint16 (Jungfrau-like)" };

    public static Command Create()
    {
        var command = new Command("bench", "time the peak finder against pyFAI's OCL_PeakFinder on the same frame");
        command.Arguments.Add(FramesArg);
        foreach (var o in new Option[] { PoniOpt, MaskOpt, ParamsOpt, ShapeOpt, DtypeOpt, PlatformOpt, DeviceOpt, NoFallbackOpt,
                     RepeatOpt, NoPyfaiOpt, NoReferenceOpt, FpsOpt, ThreadsOpt, QueuesOpt, Uint16Opt, ProfileOpt })
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
            var (model, fai) = BuildModel(r, frames.Info);
            var repeat = Math.Max(1, r.GetValue(RepeatOpt));
            Console.WriteLine($"frame {frames.Info} ({frames.Info.PixelCount / 1e6:F2} Mpx), {model.NbBins} bins, error model {fai.ErrorModel.ToString().ToLowerInvariant()}, " +
                $"patch {fai.PatchSize}, connected {fai.Connected}, {Environment.ProcessorCount} CPU threads");
            var options = Options(r, "opencl") with { Queues = r.GetValue(QueuesOpt), Profiling = r.GetValue(ProfileOpt) };
            double? ours = null;
            using (var finder = PeakFinder.Create(model, frames.Info.PixelType, options))
            {
                var (median, min, peaks) = Time(finder, frame, repeat);
                ours = median;
                Console.WriteLine($"ours OpenCL   {finder.Device!.Name,-40} median {median,8:F2} ms  min {min,8:F2} ms  {peaks} peaks");
                foreach (var (name, (total, count)) in finder.Profile.OrderByDescending(x => x.Value.Total))
                    Console.WriteLine($"    {name,-20} {total.TotalMilliseconds / count,8:F3} ms/frame on the device");
                if (r.GetValue(FpsOpt) > 0)
                    FramesPerSecond(r, finder, model, frames.Info);
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

    private static void FramesPerSecond(ParseResult r, PeakFinder finder, PeakFinderModel model, FrameInfo info)
    {
        var seconds = r.GetValue(FpsOpt);
        var threads = Math.Max(1, r.GetValue(ThreadsOpt));
        using var original = ReadFrame(OpenFrames(r), 0);
        var frame = original;
        PeakFinder? u16Finder = null;
        if (r.GetValue(Uint16Opt) && info.PixelType != PixelType.Gray16)
        {
            var converted = new ushort[info.PixelCount];
            for (var i = 0; i < converted.Length; i++)
                converted[i] = (ushort)Math.Clamp(ToDouble(original, i), 0, ushort.MaxValue);
            frame = Frame.FromArray(converted, info.Width, info.Height);
            var p = model.Params with { Dummy = model.Params.Dummy is { } d && d < 0 ? null : model.Params.Dummy };
            var m = PeakFinderModel.Create(info.Width, info.Height, Geometry.FromPoniFile(r.GetValue(PoniOpt)!.FullName), model.Mask, p);
            u16Finder = PeakFinder.Create(m, PixelType.Gray16, Options(r, "opencl") with { Queues = r.GetValue(QueuesOpt) });
        }
        var f = u16Finder ?? finder;
        long count = 0;
        var stop = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, threads).Select(_ => Task.Run(() =>
        {
            while (stop.Elapsed.TotalSeconds < seconds)
            {
                f.Process(frame);
                Interlocked.Increment(ref count);
            }
        })).ToArray();
        Task.WaitAll(workers);
        var fps = count / stop.Elapsed.TotalSeconds;
        var (heap, driver) = CopyRates(f.Device!, frame.Info.ByteSize, seconds / 4);
        var b = frame.Info.ByteSize;
        Console.WriteLine($"frames/s      {frame.Info} on {f.Device!.Name}, {threads} callers: {fps:F1} frames/s ({fps * b / 1e9:F2} GB/s)");
        Console.WriteLine($"copy limit    host-to-device alone: {heap / b:F1} frames/s ({heap / 1e9:F2} GB/s) from the .NET pinned heap, " +
            $"{driver / b:F1} frames/s ({driver / 1e9:F2} GB/s) from driver-pinned memory");
        u16Finder?.Dispose();
        if (!ReferenceEquals(frame, original))
            frame.Dispose();
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

    /// <summary>Bytes/s of blocking host-to-device copies of one frame, from a .NET pinned-heap array (what the
    /// finder copies from) and from driver-pinned memory (CL_MEM_ALLOC_HOST_PTR, mapped): the PCIe limit.</summary>
    private static unsafe (double Heap, double Driver) CopyRates(ClDevice device, int bytes, double seconds)
    {
        var ctx = ClRuntime.Context(device);
        using var queue = ctx.CreateQueue();
        using var buffer = ctx.CreateBuffer(bytes, ClMemFlags.ReadOnly);
        using var staging = ctx.CreateBuffer(bytes, ClMemFlags.ReadWrite | ClMemFlags.AllocHostPtr);
        var mapped = queue.Map(staging, write: true);
        try
        {
            var heap = GC.AllocateUninitializedArray<byte>(bytes, pinned: true);
            double Rate(ReadOnlySpan<byte> source)
            {
                long n = 0;
                var watch = Stopwatch.StartNew();
                while (watch.Elapsed.TotalSeconds < seconds)
                {
                    queue.Write(buffer, source);
                    n++;
                }
                return n * (double)bytes / watch.Elapsed.TotalSeconds;
            }
            return (Rate(heap), Rate(new ReadOnlySpan<byte>(mapped, bytes)));
        }
        finally
        {
            queue.Unmap(staging, mapped);
            queue.Finish();
        }
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
