using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Lima2.Acquisition;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;

namespace Lima2.Bench;

/// <summary>
/// <c>lima2-bench profile</c>: one receiver's acquisitions of the bench's stream, one after the other as a receiver
/// device runs them (its frame buffers kept from run to run), with the CPU of each run split by thread (the channel's
/// receive thread, libzmq's I/O thread that copies the stream out of the kernel, the workers that decode, compute ROI
/// statistics and save, the GC) and its page faults. Small enough to run beside a profiler
/// (<c>perf record -g -p PID</c>, with <c>DOTNET_PerfMapEnabled=1</c>) for the split within the workers.
/// </summary>
internal static class ProfileCommand
{
    /// <summary>Linux's clock ticks per second in /proc's CPU times (USER_HZ).</summary>
    private const double TicksPerSecond = 100;

    public static Command Create()
    {
        var frames = new Option<int>("--frames") { Description = "frames per run", DefaultValueFactory = _ => 60 };
        var runs = new Option<int>("--runs") { Description = "acquisitions in a row, the receiver's frame buffers kept from one to the next", DefaultValueFactory = _ => 2 };
        var encoding = new Option<string>("--encoding") { Description = "bslz4 or raw", DefaultValueFactory = _ => "bslz4" };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 2048 };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 2048 };
        var threads = new Option<int>("--threads")
        {
            Description = "the receiver's fifo.nb_threads; default: its own default",
            DefaultValueFactory = _ => Fifo.DefaultThreads(Environment.ProcessorCount),
        };
        var folder = new Option<string>("--folder") { Description = "where the files are written", DefaultValueFactory = _ => "/dev/shm/lima2-profile" };
        var freshPools = new Option<bool>("--fresh-pools") { Description = "every run makes its frame buffers afresh (as before receivers kept them)" };
        var command = new Command("profile", "one receiver's acquisitions in a row: CPU per frame by thread, page faults, frame buffers made fresh");
        foreach (var option in new Option[] { frames, runs, encoding, width, height, threads, folder, freshPools })
            command.Options.Add(option);
        command.SetAction(async (result, token) =>
        {
            var info = new FrameInfo(result.GetValue(width), result.GetValue(height), PixelType.Gray16);
            var stream = result.GetValue(encoding) switch
            {
                "bslz4" => DectrisEncoding.BitshuffleLz4,
                "raw" => DectrisEncoding.Raw,
                var other => throw new ArgumentException($"--encoding {other}: bslz4 or raw"),
            };
            var root = result.GetValue(folder)!;
            Directory.CreateDirectory(root);
            Console.WriteLine($"lima2-bench profile: pid {Environment.ProcessId}, {result.GetValue(frames)} frames of {info} per run, " +
                              $"V1 {result.GetValue(encoding)}, 1 receiver × {result.GetValue(threads)} threads, saving in {root}" +
                              (result.GetValue(freshPools) ? ", frame buffers made afresh every run" : ", frame buffers kept from run to run"));
            var kept = new FrameBufferReserve();
            for (var run = 1; run <= result.GetValue(runs); run++)
            {
                if (result.GetValue(freshPools) && run > 1)
                {
                    kept.Dispose(); // the last run's buffers go to the garbage collector
                    kept = new FrameBufferReserve();
                }
                Console.WriteLine($"run {run}: " + await RunAsync(info, result.GetValue(frames), stream, result.GetValue(threads), root, kept, token));
            }
            kept.Dispose();
            return 0;
        });
        return command;
    }

    private static async Task<string> RunAsync(FrameInfo info, int frames, DectrisEncoding encoding, int threads, string root,
        FrameBufferReserve kept, CancellationToken token)
    {
        var endpoints = BenchCommand.Endpoints(1);
        var bslz4 = encoding == DectrisEncoding.BitshuffleLz4;
        var compression = bslz4 ? SavingCompression.BshufLz4 : SavingCompression.None;
        var basePath = $"profile-{(bslz4 ? "bslz4" : "raw")}";
        var bench = new BenchCommand.Lima2Case(encoding, new BenchCommand.Shape(1, threads));
        using var streamer = StreamProcess.Start(StreamProcess.Arguments(info, frames, encoding, endpoints, BenchCommand.Prefetch));
        var settings = BenchCommand.Settings(info, frames, bench, endpoints, 0, compression, basePath, root) with { KeptBuffers = kept };
        var (fresh, reused) = (kept.FreshBuffers, kept.ReusedBuffers);
        await using var receiver = await ReceiverRun.StartAsync(settings, token);
        var threadsBefore = ThreadTicks();
        var faultsBefore = BenchCommand.MinorFaults();
        var clock = Stopwatch.StartNew();
        var seen = new Dictionary<int, (string Name, long Ticks)>();
        using var sampling = new CancellationTokenSource();
        // threads that end before the run does (the channel's receive thread) keep the ticks they were last seen with
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                foreach (var (id, ticks) in ThreadTicks())
                    seen[id] = ticks;
                await Task.Delay(10, CancellationToken.None);
            }
        }, CancellationToken.None);
        var summary = await receiver.RunAsync(token);
        clock.Stop();
        await sampling.CancelAsync();
        await sampler;
        foreach (var (id, ticks) in ThreadTicks())
            seen[id] = ticks;
        var faults = BenchCommand.MinorFaults() - faultsBefore;
        var byGroup = seen
            .Select(t => (Group: Group(t.Value.Name), Ticks: t.Value.Ticks - (threadsBefore.TryGetValue(t.Key, out var before) ? before.Ticks : 0)))
            .GroupBy(t => t.Group, t => t.Ticks)
            .Select(g => (Group: g.Key, Ms: g.Sum() * 1000 / TicksPerSecond / frames))
            .Where(g => g.Ms > 0)
            .OrderByDescending(g => g.Ms)
            .ToList();
        await streamer.WaitAsync(token);
        if (summary.Error is { } error || summary.Saved != frames)
            throw new InvalidOperationException($"saved {summary.Saved} of {frames} frames: {summary.Error?.Message}");
        Directory.Delete(Path.Combine(root, basePath), recursive: true);
        return string.Create(CultureInfo.InvariantCulture,
            $"{frames / clock.Elapsed.TotalSeconds:F0} frames/s, CPU {byGroup.Sum(g => g.Ms):F2} ms/frame " +
            $"[{string.Join(", ", byGroup.Select(g => $"{g.Group} {g.Ms:F2}"))}], {faults / (double)frames:F0} page faults/frame, " +
            $"frame buffers made fresh {kept.FreshBuffers - fresh}, reused {kept.ReusedBuffers - reused}");
    }

    /// <summary>The threads' roles, by the names .NET, libzmq and the channel give them (15 characters at most).</summary>
    private static string Group(string name) => name switch
    {
        DectrisChannel.ReceiveThreadName => "receive thread",
        _ when name.StartsWith("ZMQbg/IO", StringComparison.Ordinal) => "zmq I/O (socket reads)",
        _ when name.StartsWith(".NET TP Worker", StringComparison.Ordinal) => "workers",
        _ when name.Contains("GC", StringComparison.Ordinal) => "GC",
        _ => $"other ({name})",
    };

    /// <summary>User + system CPU ticks of each thread of this process, by thread id (/proc/self/task/*/stat).</summary>
    private static Dictionary<int, (string Name, long Ticks)> ThreadTicks()
    {
        var threads = new Dictionary<int, (string, long)>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(task, "stat"));
            }
            catch (IOException)
            {
                continue; // the thread ended meanwhile
            }
            var open = stat.IndexOf('(');
            var close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' '); // field 3 (state) onwards: utime is field 14, stime 15
            threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] =
                (stat[(open + 1)..close], long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture));
        }
        return threads;
    }
}
