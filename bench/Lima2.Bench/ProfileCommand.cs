using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lima2.Acquisition;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;

namespace Lima2.Bench;

/// <summary>
/// <c>lima2-bench profile</c>: one receiver's acquisitions of the bench's stream, one after the other as a receiver
/// device runs them (its frame buffers kept from run to run), with the CPU of each run split by thread (the channel's
/// receive thread, libzmq's I/O thread that copies the stream out of the kernel, the workers that decode, compute ROI
/// statistics and save, the GC; the sampler that reads these figures runs on a thread of its own, left out), its page
/// faults, garbage collections and bytes allocated. Small enough to run beside a profiler
/// (<c>perf record -g -p PID</c>, with <c>DOTNET_PerfMapEnabled=1</c>) for the split within the workers.
/// </summary>
internal static class ProfileCommand
{
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
        var fifoFrames = new Option<int>("--fifo-frames") { Description = "the receiver's fifo.nb_fifo_frames (the graph's entry queue)", DefaultValueFactory = _ => new Fifo().NbFifoFrames };
        var memoryCap = new Option<string>("--memory-cap") { Description = "the receiver's memory_cap (bounds the frames in flight)", DefaultValueFactory = _ => "1GiB" };
        var command = new Command("profile", "one receiver's acquisitions in a row: CPU per frame by thread, page faults, frame buffers made fresh");
        foreach (var option in new Option[] { frames, runs, encoding, width, height, threads, folder, freshPools, memoryCap, fifoFrames })
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
                              $"V1 {result.GetValue(encoding)}, 1 receiver × {result.GetValue(threads)} threads, memory_cap {result.GetValue(memoryCap)}, nb_fifo_frames {result.GetValue(fifoFrames)}, saving in {root}" +
                              (result.GetValue(freshPools) ? ", frame buffers made afresh every run" : ", frame buffers kept from run to run"));
            var kept = new FrameBufferReserve();
            for (var run = 1; run <= result.GetValue(runs); run++)
            {
                if (result.GetValue(freshPools) && run > 1)
                {
                    kept.Dispose(); // the last run's buffers go to the garbage collector
                    kept = new FrameBufferReserve();
                }
                Console.WriteLine($"run {run}: " + await RunAsync(info, result.GetValue(frames), stream, result.GetValue(threads), result.GetValue(memoryCap)!, result.GetValue(fifoFrames), root, kept, token));
            }
            kept.Dispose();
            return 0;
        });
        return command;
    }

    private static async Task<string> RunAsync(FrameInfo info, int frames, DectrisEncoding encoding, int threads, string memoryCap,
        int fifoFrames, string root, FrameBufferReserve kept, CancellationToken token)
    {
        var endpoints = BenchCommand.Endpoints(1);
        var bslz4 = encoding == DectrisEncoding.BitshuffleLz4;
        var compression = bslz4 ? SavingCompression.BshufLz4 : SavingCompression.None;
        var basePath = $"profile-{(bslz4 ? "bslz4" : "raw")}";
        var bench = new BenchCommand.Lima2Case(encoding, new BenchCommand.Shape(1, threads), MemoryCap: memoryCap, FifoFrames: fifoFrames);
        using var streamer = StreamProcess.Start(StreamProcess.Arguments(info, frames, encoding, endpoints, BenchCommand.Prefetch));
        var settings = BenchCommand.Settings(info, frames, bench, endpoints, 0, compression, basePath, root) with { KeptBuffers = kept };
        var (fresh, reused) = (kept.FreshBuffers, kept.ReusedBuffers);
        await using var receiver = await ReceiverRun.StartAsync(settings, token);
        var threadsBefore = ThreadUses();
        var faultsBefore = BenchCommand.MinorFaults();
        var gcBefore = GcFigures.Now();
        using var allocations = new AllocationSampler();
        var clock = Stopwatch.StartNew();
        var seen = new Dictionary<int, ThreadUse>();
        using var sampling = new CancellationTokenSource();
        var (samplerThread, samplerBytes) = (0, 0L);
        var inGraph = new List<long>(); // frames received by the graph and not yet through it, every 20 ms
        // threads that end before the run does (the channel's receive thread) keep the figures they were last seen with;
        // the sampler has a thread of its own, whose reads of /proc (CPU and allocations) are left out of the figures
        var sampler = new Thread(() =>
        {
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            allocations.Ignore(samplerThread = CurrentThreadId());
            var buffer = new byte[StatBytes];
            while (!sampling.Token.WaitHandle.WaitOne(20))
            {
                ReadThreadUses(seen, buffer);
                if (receiver.Counters is { } counters)
                    inGraph.Add(counters.InFlight);
            }
            samplerBytes = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        }) { Name = SamplerThreadName, IsBackground = true };
        sampler.Start();
        var summary = await receiver.RunAsync(token);
        clock.Stop();
        await sampling.CancelAsync();
        sampler.Join();
        var gc = GcFigures.Now() - gcBefore;
        ReadThreadUses(seen, new byte[StatBytes]);
        var faults = BenchCommand.MinorFaults() - faultsBefore;
        var byGroup = seen
            .Where(t => t.Key != samplerThread)
            .Select(t => (Group: Group(t.Value.Name), Use: t.Value - threadsBefore.GetValueOrDefault(t.Key, t.Value with { CpuNs = 0, MinorFaults = 0 })))
            .GroupBy(t => t.Group, t => t.Use)
            .Select(g => (Group: g.Key, Ms: g.Sum(u => u.CpuNs) / 1e6 / frames, Faults: g.Sum(u => u.MinorFaults) / (double)frames))
            .Where(g => g.Ms >= 0.005)
            .OrderByDescending(g => g.Ms)
            .ToList();
        await streamer.WaitAsync(token);
        if (summary.Error is { } error || summary.Saved != frames)
            throw new InvalidOperationException($"saved {summary.Saved} of {frames} frames: {summary.Error?.Message}");
        Directory.Delete(Path.Combine(root, basePath), recursive: true);
        return string.Create(CultureInfo.InvariantCulture,
            $"{frames / clock.Elapsed.TotalSeconds:F0} frames/s, CPU {byGroup.Sum(g => g.Ms):F2} ms/frame " +
            $"[{string.Join(", ", byGroup.Select(g => $"{g.Group} {g.Ms:F2}" + (g.Faults >= 0.5 ? $" ({g.Faults:F0} faults)" : "")))}], " +
            $"frames in the graph {(inGraph.Count == 0 ? 0 : inGraph.Average()):F1} on average, {(inGraph.Count == 0 ? 0 : inGraph.Max())} at most, {faults / (double)frames:F0} page faults/frame, " +
            $"GC per frame: {(gc.Allocated - samplerBytes) / (double)frames / 1024:F1} KiB allocated (most: {allocations.TopTypes(4)}), " +
            $"{gc.Collections.Gen0 / (double)frames:F3} gen0 / {gc.Collections.Gen1 / (double)frames:F3} gen1 / {gc.Collections.Gen2 / (double)frames:F3} gen2 collections " +
            $"({allocations.Collections()}), {gc.Pause.TotalMilliseconds / frames:F3} ms paused, " +
            $"frame buffers made fresh {kept.FreshBuffers - fresh}, reused {kept.ReusedBuffers - reused}, " +
            $"RSS {BenchCommand.StatusBytes("VmRSS:") / 1e6:F0} MB (peak {BenchCommand.StatusBytes("VmHWM:") / 1e6:F0})");
    }

    private const string SamplerThreadName = "profile sampler";

    /// <summary>The calling thread's id in the kernel (/proc/thread-self/stat's first field).</summary>
    private static int CurrentThreadId() =>
        int.Parse(File.ReadAllText("/proc/thread-self/stat").Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>The process's garbage collections by generation, bytes allocated and time paused for the GC so far.</summary>
    private readonly record struct GcFigures((int Gen0, int Gen1, int Gen2) Collections, long Allocated, TimeSpan Pause)
    {
        public static GcFigures Now() => new((GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)),
            GC.GetTotalAllocatedBytes(precise: true), GC.GetTotalPauseDuration());

        public static GcFigures operator -(GcFigures after, GcFigures before) => new(
            (after.Collections.Gen0 - before.Collections.Gen0, after.Collections.Gen1 - before.Collections.Gen1,
                after.Collections.Gen2 - before.Collections.Gen2),
            after.Allocated - before.Allocated, after.Pause - before.Pause);
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

    /// <summary>A thread's CPU time (nanoseconds, from the scheduler) and minor page faults so far.</summary>
    private readonly record struct ThreadUse(string Name, long CpuNs, long MinorFaults)
    {
        public static ThreadUse operator -(ThreadUse after, ThreadUse before) =>
            after with { CpuNs = after.CpuNs - before.CpuNs, MinorFaults = after.MinorFaults - before.MinorFaults };
    }

    /// <summary>CPU time and minor faults of each thread of this process, by thread id (/proc/self/task/*).</summary>
    private static Dictionary<int, ThreadUse> ThreadUses()
    {
        var threads = new Dictionary<int, ThreadUse>();
        ReadThreadUses(threads, new byte[StatBytes]);
        return threads;
    }

    /// <summary>Longest /proc/PID/task/TID/stat line read.</summary>
    private const int StatBytes = 1024;

    /// <summary>
    /// Updates <paramref name="threads"/> with the CPU time (schedstat's nanoseconds on a CPU, finer than stat's
    /// 10 ms ticks) and minor page faults (stat's field 10) of each thread, reading through <paramref name="buffer"/>:
    /// the sampler allocates a few small strings per thread, so that its own garbage does not set the run's GC count.
    /// </summary>
    private static void ReadThreadUses(Dictionary<int, ThreadUse> threads, byte[] buffer)
    {
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            var stat = Read(Path.Combine(task, "stat"), buffer);
            if (stat.IsEmpty)
                continue; // the thread ended meanwhile
            var open = stat.IndexOf((byte)'(');
            var close = stat.LastIndexOf((byte)')');
            var id = int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture);
            var name = threads.TryGetValue(id, out var known) ? known.Name : Encoding.UTF8.GetString(stat[(open + 1)..close]);
            var fields = stat[(close + 2)..]; // field 3 (state) onwards: minflt is field 10
            for (var skip = 0; skip < 7; skip++)
                fields = fields[(fields.IndexOf((byte)' ') + 1)..];
            var minorFaults = long.Parse(fields[..fields.IndexOf((byte)' ')], CultureInfo.InvariantCulture);
            var schedstat = Read(Path.Combine(task, "schedstat"), buffer); // nanoseconds on a CPU, waiting, time slices
            if (schedstat.IsEmpty)
                continue;
            var cpuNs = long.Parse(schedstat[..schedstat.IndexOf((byte)' ')], CultureInfo.InvariantCulture);
            threads[id] = new ThreadUse(name, cpuNs, minorFaults);
        }
    }

    /// <summary>A /proc file's bytes in <paramref name="buffer"/>; empty when the thread has ended.</summary>
    private static Span<byte> Read(string path, byte[] buffer)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            return buffer.AsSpan(0, RandomAccess.Read(handle, buffer, 0));
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>
    /// The types this process allocates most, from the runtime's allocation ticks (one event per ~100 KB allocated,
    /// naming the type of the object that crossed the mark): a sample, enough to name what a frame allocates.
    /// </summary>
    private sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
    {
        private const long GcKeyword = 0x1;
        private readonly Dictionary<string, long> _bytes = [];
        private readonly Dictionary<string, int> _collections = [];
        private int _ignored = -1;

        /// <summary>Leaves the allocations of one thread (by its kernel id) out.</summary>
        public void Ignore(int threadId) => Volatile.Write(ref _ignored, threadId);

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)GcKeyword);
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventName?.StartsWith("GCStart", StringComparison.Ordinal) == true && e.Payload is not null)
            {
                var reason = e.PayloadNames!.IndexOf("Reason") is var r and >= 0 ? e.Payload[r]?.ToString() ?? "?" : "?";
                var depth = e.PayloadNames.IndexOf("Depth") is var d and >= 0 ? e.Payload[d]?.ToString() ?? "?" : "?";
                var key = $"gen{depth} {ReasonName(reason)}";
                lock (_bytes)
                    _collections[key] = _collections.GetValueOrDefault(key) + 1;
                return;
            }
            if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || e.Payload is null
                || e.OSThreadId == Volatile.Read(ref _ignored))
                return;
            var name = e.PayloadNames!.IndexOf("TypeName") is var at and >= 0 ? e.Payload[at] as string ?? "?" : "?";
            var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a64 and >= 0 ? Convert.ToInt64(e.Payload[a64], CultureInfo.InvariantCulture) : 100_000;
            lock (_bytes)
                _bytes[name] = _bytes.GetValueOrDefault(name) + amount;
        }

        /// <summary>The <paramref name="count"/> types allocated most, with their share of the bytes sampled.</summary>
        public string TopTypes(int count)
        {
            lock (_bytes)
            {
                var total = Math.Max(1, _bytes.Values.Sum());
                return string.Join(", ", _bytes.OrderByDescending(b => b.Value).Take(count)
                    .Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.Key} {100.0 * b.Value / total:F0} %")));
            }
        }

        /// <summary>The runtime's names of its GCStart reasons (GCReason in the runtime's event manifest).</summary>
        private static string ReasonName(string reason) => reason switch
        {
            "0" => "AllocSmall",
            "1" => "Induced",
            "2" => "LowMemory",
            "3" => "Empty",
            "4" => "AllocLarge",
            "5" => "OutOfSpaceSOH",
            "6" => "OutOfSpaceLOH",
            "7" => "InducedNotForced",
            "8" => "Internal",
            "9" => "InducedLowMemory",
            _ => $"reason {reason}",
        };

        /// <summary>The collections by generation and reason, e.g. "gen0 AllocSmall × 3".</summary>
        public string Collections()
        {
            lock (_bytes)
                return _collections.Count == 0 ? "none" : string.Join(", ", _collections.Select(c => $"{c.Key} × {c.Value}"));
        }
    }
}
