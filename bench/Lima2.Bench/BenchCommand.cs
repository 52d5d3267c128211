using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Lima2.Acquisition;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Simulator;
using Lima2.Zmq;

namespace Lima2.Bench;

/// <summary>
/// <c>lima2-bench</c>: stream → receive → ROI statistics → save of 4M-pixel uint16 frames (DECTRIS V1, bslz4 and raw)
/// into N receivers of T threads, beside the same-work Python peer at the same thread count and the limits measured in
/// the same run (loopback wire rate into null receivers, memory copy rate, the saving folder's disk rate and tmpfs's);
/// plus the bitshuffle/LZ4 codec on one core. Both sides save to tmpfs for the headline figures, a filesystem that takes
/// what they give (the disk's fsync would otherwise set the frames/s of both), and to the disk folder beside them.
/// </summary>
internal static class BenchCommand
{
    private const string Begin = "<!-- lima2 bench: begin -->";
    private const string End = "<!-- lima2 bench: end -->";

    /// <summary>Distinct frames the stand-in detector encodes once and sends in turn.</summary>
    internal const int Prefetch = 8;

    public static RootCommand Create()
    {
        var frames = new Option<int>("--frames") { Description = "frames per case", DefaultValueFactory = _ => 100 };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 2048 };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 2048 };
        var folder = new Option<string>("--folder") { Description = "the disk folder under test, whose cases are reported beside the tmpfs ones", DefaultValueFactory = _ => "/var/tmp/lima2-bench" };
        var report = new Option<string?>("--report") { Description = "markdown file whose lima2 bench section is replaced by the results (e.g. docs/BENCHMARKS.md)" };
        var threads = new Option<int>("--threads")
        {
            Description = "the receiver's fifo.nb_threads (decode and processing workers); default: its own default, the processor count (2 to 16)",
            DefaultValueFactory = _ => Fifo.DefaultThreads(Environment.ProcessorCount),
        };
        var receivers = new Option<int>("--receivers") { Description = "receivers in this process, an endpoint each of one lima2 stream", DefaultValueFactory = _ => 1 };
        var tmpfs = new Option<string>("--tmpfs") { Description = "a tmpfs folder: where the headline cases save (its write rate reported beside the disk's)", DefaultValueFactory = _ => "/dev/shm/lima2-bench" };
        var command = new RootCommand("lima2-bench: measure stream → receive → ROI statistics → save beside a same-work Python receiver and the machine's limits");
        foreach (var option in new Option[] { frames, width, height, folder, report, threads, receivers, tmpfs })
            command.Options.Add(option);
        command.Subcommands.Add(CodecBench.Create());
        command.Subcommands.Add(FrameCosts.Create());
        command.Subcommands.Add(ProfileCommand.Create());
        command.SetAction(async (result, cancellationToken) =>
        {
            var info = new FrameInfo(result.GetValue(width), result.GetValue(height), PixelType.Gray16);
            var root = result.GetValue(folder)!;
            Directory.CreateDirectory(root);
            Directory.CreateDirectory(result.GetValue(tmpfs)!);
            var shape = new Shape(result.GetValue(receivers), result.GetValue(threads));
            if (shape.Receivers < 1 || shape.Threads < 1)
                throw new ArgumentException($"--receivers {shape.Receivers} --threads {shape.Threads}: both at least 1");
            var commandLine = $"lima2-bench --frames {result.GetValue(frames)} --width {info.Width} --height {info.Height} " +
                              $"--receivers {shape.Receivers} --threads {shape.Threads} --folder {root} --tmpfs {result.GetValue(tmpfs)}";
            var markdown = await RunAsync(info, result.GetValue(frames), shape, root, result.GetValue(tmpfs)!, commandLine, cancellationToken);
            Console.WriteLine(markdown);
            if (result.GetValue(report) is { } path)
                WriteSection(path, markdown);
            return 0;
        });
        return command;
    }

    /// <summary>N receivers of T decode/processing threads each (the peer: N × T single-threaded processes).</summary>
    internal sealed record Shape(int Receivers, int Threads)
    {
        public int Workers => Receivers * Threads;

        public override string ToString() => $"{Receivers} × {Threads}";
    }

    /// <param name="CpuMsPerFrame">CPU time of the receiving side (its process or processes) per frame; null when not measured</param>
    private sealed record Row(string Path, string Shape, int Frames, double Seconds, long PixelBytes, long DiskBytes, double? CpuMsPerFrame, string Note)
    {
        public string Markdown => Frames == 0
            ? string.Create(CultureInfo.InvariantCulture, $"| {Path} | {Shape} | – | {Seconds:F2} | – | – | {DiskBytes / Seconds / 1e9:F2} | – | {Note} |")
            : string.Create(CultureInfo.InvariantCulture,
                $"| {Path} | {Shape} | {Frames} | {Seconds:F2} | {Frames / Seconds:F0} | {PixelBytes / Seconds / 1e9:F2} | {DiskBytes / Seconds / 1e9:F2} | {(CpuMsPerFrame is { } cpu ? cpu.ToString("F2", CultureInfo.InvariantCulture) : "–")} | {Note} |");
    }

    private static async Task<string> RunAsync(FrameInfo info, int frames, Shape shape, string root, string tmpfs, string commandLine,
        CancellationToken token)
    {
        var source = FrameGenerator.Create(new GeneratorParams
        {
            Type = GeneratorType.Diffraction, Width = info.Width, Height = info.Height, PixelType = PixelType.Gray16,
        });
        var text = new StringBuilder();
        var loadBefore = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var codec = CodecBench.Run(info, 20, File.Exists(CodecBench.DebianLibrary) ? [CodecBench.DebianLibrary] : []);
        var costs = FrameCosts.Measure(info, root);
        Console.Error.WriteLine("lima2-bench: limits");
        var limitBytes = Math.Min((long)frames * info.ByteSize, 1L << 30);
        var limits = new List<Row>
        {
            MemoryCopy(1),
            MemoryCopy(shape.Workers),
            Dd(limitBytes, root, $"dd to the saving folder {root} (disk)"),
            Dd(limitBytes, tmpfs, $"dd to {tmpfs} (tmpfs)"),
        };
        var rows = new List<Row> { await SinkAloneAsync(source, info, frames, root, token) };
        var ratios = new List<string>();
        var folders = new[] { new SavedTo("tmpfs", tmpfs), new SavedTo("disk", root) };
        foreach (var encoding in new[] { DectrisEncoding.BitshuffleLz4, DectrisEncoding.Raw })
        {
            var name = encoding == DectrisEncoding.BitshuffleLz4 ? "bslz4" : "raw";
            Console.Error.WriteLine($"lima2-bench: {name}");
            limits.Add(await NullReceiversAsync(info, frames, encoding, shape.Receivers, token));
            // the receivers' first acquisition makes their frame buffers; the ones measured reuse them, as a receiver device does
            var (first, _) = await Lima2Async(info, frames, new Lima2Case(encoding, shape), folders[0], token);
            var pairs = new List<(SavedTo Folder, Row Lima2, Row Peer)>();
            foreach (var folder in folders)
            {
                var (lima2, _) = await Lima2Async(info, frames, new Lima2Case(encoding, shape), folder, token);
                if (pairs.Count == 0)
                    lima2 = lima2 with
                    {
                        Note = lima2.Note + string.Create(CultureInfo.InvariantCulture,
                            $"; first acquisition (frame buffers made): {first.Frames / first.Seconds:F0} frames/s, {first.CpuMsPerFrame:F2} CPU ms/frame"),
                    };
                pairs.Add((folder, lima2, await PeerAsync(info, frames, encoding, shape, folder, token)));
            }
            rows.AddRange(pairs.SelectMany(p => new[] { p.Lima2, p.Peer }));
            var rates = string.Join(", ", pairs.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Peer.Seconds / p.Lima2.Seconds:F2} on {p.Folder.Name}")));
            var cpus = string.Join(", ", pairs.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Peer.CpuMsPerFrame / p.Lima2.CpuMsPerFrame:F2} on {p.Folder.Name}")));
            ratios.Add($"V1 {name}, {shape.Workers} worker threads each: frames/s lima2 / same-work peer = {rates}; CPU per frame peer / lima2 = {cpus} (goal ≥ 5)");
        }
        Console.Error.WriteLine("lima2-bench: overload");
        var overload = new Lima2Case(DectrisEncoding.BitshuffleLz4, shape with { Receivers = 1 }, OverloadPolicy.Drop, SavingCompression.Zip, "256MiB");
        var (overloadRow, memory) = await Lima2Async(info, frames, overload, folders[1], token);
        rows.Add(overloadRow);
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        text.AppendLine(Begin);
        text.AppendLine("## Receiver: stream → receive → ROI statistics → save (`lima2-bench`)");
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({cpu}, load average {load} at the end), " +
            $"every lima2 and peer case saved to tmpfs `{tmpfs}` (the headline: a filesystem that takes what both give, so that " +
            $"the disk's fsync sets neither side's frames/s) and again to the disk folder `{root}` beside it; " +
            $"{frames} frames of {info} ({info.ByteSize / 1e6:F1} MB) per case, DECTRIS stream V1 over loopback TCP from " +
            $"`lima2 {string.Join(' ', StreamProcess.Arguments(info, frames, DectrisEncoding.BitshuffleLz4, ["tcp://127.0.0.1:PORT"], Prefetch))}` " +
            $"(or `--encoding raw`; one `--endpoint` per receiver and as many `--threads`) in a process of its own ({Prefetch} distinct diffraction frames, " +
            $"encoded once, sent without a copy). Load average {loadBefore} at the start. " +
            $"lima2: {shape.Receivers} `ReceiverRun`(s) in this process (rank r takes frames r, r + {shape.Receivers}, ...), each case their second " +
            $"acquisition or later (frame buffers kept from the first, as a receiver device keeps them; the first's figures in the tmpfs row's note), each with 2 rect ROIs " +
            $"(200x200 and the whole frame), fifo.nb_threads {shape.Threads}, memory_cap 1GiB, and HDF5 saving (bslz4 chunks passed through, " +
            $"raw frames written uncompressed). Same-work peer: `bench/py/same_work_receiver.py` (pyzmq PULL, bslz4 decoded by the C " +
            $"bitshuffle library, numpy ROI statistics of the same ROIs, h5py write_direct_chunk; one Python thread) in {shape.Workers} processes " +
            $"(lima2's {shape.Receivers} × {shape.Threads} worker threads), an endpoint each. Every time includes closing and syncing the files. " +
            $"GB/s pixels = decoded frame bytes per second; CPU ms/frame = CPU time (user + system, all threads) of the receiving " +
            $"process(es) over the case, per frame."));
        text.AppendLine();
        text.AppendLine($"Command: `{commandLine}` (Release build).");
        text.AppendLine();
        text.AppendLine("| path | receivers × threads | frames | s | frames/s | GB/s pixels | GB/s saved | CPU ms/frame | note |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
            text.AppendLine(row.Markdown);
        text.AppendLine();
        foreach (var line in ratios)
            text.AppendLine($"- {line}");
        text.AppendLine();
        text.AppendLine("Limits measured in the same run (null receivers: PULL sockets in this process that take the same stream and drop it; " +
                        $"memory copy: 64 MB blocks per thread; dd: `dd bs=4M conv=fdatasync` of {limitBytes / 1e6:F0} MB):");
        text.AppendLine();
        text.AppendLine("| limit | receivers × threads | frames | s | frames/s | GB/s pixels | GB/s bytes | CPU ms/frame | note |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var row in limits)
            text.AppendLine(row.Markdown);
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Overload (last row of the first table): the same bslz4 stream as fast as it goes into one receiver that saves with zip (far slower than " +
            $"the stream), overload_policy drop, memory_cap {overload.MemoryCap} = {memory.Cap.ChannelBytes / 1e6:F0} MB stream buffers " +
            $"(RCVHWM {new DectrisChannelOptions("", DectrisStreamVersion.V1).ReceiveHighWaterMark} messages + the one being read + decode slots, each a raw frame, " +
            $"+ 2 × RCVBUF) + {memory.Cap.SinkBytes / 1e6:F0} MB zip chunk buffers + {memory.Cap.PoolBytes / 1e6:F0} MB frame pool. " +
            $"Frame pool allocated at its peak: {memory.PoolPeakBytes / 1e6:F0} MB of {memory.Cap.PoolBytes / 1e6:F0} MB. Process peak RSS during the case " +
            $"{memory.PeakRssBytes / 1e6:F0} MB, {memory.RssBeforeBytes / 1e6:F0} MB before it (the bench process also holds " +
            $"the .NET runtime and the earlier cases' heap; the streamer is another process)."));
        text.AppendLine();
        text.AppendLine("Bitshuffle/LZ4 codec (`lima2-bench codec`: ours beside the C bitshuffle library of Debian's hdf5-filter-plugin, an SSE2 build):");
        text.AppendLine();
        text.Append(codec);
        text.AppendLine();
        text.AppendLine("Per-frame costs on one thread (`lima2-bench costs`: median of repeated runs on the same frame, wall time / this thread's CPU time): " +
            string.Join("; ", costs.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Name} {c.Milliseconds.Wall:F2} / {c.Milliseconds.Cpu:F2} ms"))) + ".");
        text.AppendLine(End);
        return text.ToString();
    }

    /// <summary>One lima2 receive case: stream encoding, receivers and workers, overload policy, saving compression, memory cap.</summary>
    internal sealed record Lima2Case(
        DectrisEncoding Encoding,
        Shape Shape,
        OverloadPolicy Policy = OverloadPolicy.BackPressure,
        SavingCompression? Compression = null,
        string MemoryCap = "1GiB",
        int FifoFrames = 64);

    private sealed record MemoryUse(ReceiverMemory Cap, long PoolPeakBytes, long PeakRssBytes, long RssBeforeBytes);

    private static readonly List<FrameBufferReserve> Kept = [];

    /// <summary>The frame buffers receiver <paramref name="rank"/> keeps from one case to the next, as a receiver device keeps them between acquisitions.</summary>
    private static FrameBufferReserve KeptBuffers(int rank)
    {
        while (Kept.Count <= rank)
            Kept.Add(new FrameBufferReserve());
        return Kept[rank];
    }

    /// <summary>Where a case saves: the tmpfs folder or the disk's, by name.</summary>
    private sealed record SavedTo(string Name, string Folder);

    private static async Task<(Row Row, MemoryUse Memory)> Lima2Async(FrameInfo info, int frames, Lima2Case bench,
        SavedTo savedTo, CancellationToken token)
    {
        var receivers = bench.Shape.Receivers;
        var endpoints = Endpoints(receivers);
        var bslz4 = bench.Encoding == DectrisEncoding.BitshuffleLz4;
        var compression = bench.Compression ?? (bslz4 ? SavingCompression.BshufLz4 : SavingCompression.None);
        var basePath = $"lima2-{(bslz4 ? "bslz4" : "raw")}-{ParamsJson.EnumName(compression)}";
        var root = savedTo.Folder;
        var rssBefore = ResetPeakRss();
        using var streamer = StreamProcess.Start(StreamProcess.Arguments(info, frames, bench.Encoding, endpoints, Prefetch));
        var runs = new List<ReceiverRun>();
        try
        {
            for (var rank = 0; rank < receivers; rank++)
                runs.Add(await ReceiverRun.StartAsync(
                    Settings(info, frames, bench, endpoints, rank, compression, basePath, root) with { KeptBuffers = KeptBuffers(rank) }, token));
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var faultsBefore = MinorFaults();
            var clock = Stopwatch.StartNew();
            var summaries = await Task.WhenAll(runs.Select(run => run.RunAsync(token)));
            var received = clock.Elapsed;
            // CPU of the receivers' process (their threads, ZeroMQ's, and its kernel time) per frame; the streamer is another process.
            var cpuPerFrame = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds / frames;
            // first touches of fresh pages (the frame pool growing, libzmq's message buffers): a CPU cost no load changes
            var faultsPerFrame = (MinorFaults() - faultsBefore) / (double)frames;
            Sync(summaries.SelectMany(s => s.Files));
            clock.Stop();
            await streamer.WaitAsync(token);
            var memory = new MemoryUse(runs[0].Memory!, runs[0].PoolAllocatedBytes, PeakRss(), rssBefore);
            var saved = summaries.Sum(s => s.Saved);
            var dropped = summaries.Sum(s => s.Counters.Dropped);
            if (summaries.FirstOrDefault(s => s.Error is not null) is { } failed || saved + dropped != frames
                || (bench.Policy == OverloadPolicy.BackPressure && saved != frames))
                throw new InvalidOperationException($"lima2 saved {saved} of {frames} frames, dropped {dropped}: {summaries.FirstOrDefault(s => s.Error is not null)?.Error?.Message}");
            var note = bench.Policy == OverloadPolicy.Drop
                ? string.Create(CultureInfo.InvariantCulture,
                    $"overload: drop policy, saving zip; saved {saved}, dropped {dropped}; pool peak {memory.PoolPeakBytes / 1e6:F0} of {memory.Cap.PoolBytes / 1e6:F0} MB")
                : string.Create(CultureInfo.InvariantCulture,
                    $"{dropped} dropped, ROI stats on {summaries.Sum(s => s.Counters.Processed)}; run {received.TotalSeconds:F2} s + fsync {(clock.Elapsed - received).TotalSeconds:F2} s; " +
                    $"{faultsPerFrame:F0} page faults/frame, pool peak {runs.Sum(r => r.PoolAllocatedBytes) / 1e6:F0} MB");
            var path = $"lima2 receive, V1 {(bslz4 ? "bslz4" : "raw")}" + (bench.Compression is { } c ? $" → {ParamsJson.EnumName(c)}" : "") + $" to {savedTo.Name}";
            var row = new Row(path, bench.Shape.ToString(), frames, clock.Elapsed.TotalSeconds, (long)frames * info.ByteSize,
                summaries.Sum(s => s.SavedBytes), cpuPerFrame, note);
            return (row, memory);
        }
        finally
        {
            foreach (var run in runs)
                await run.DisposeAsync();
            if (Directory.Exists(Path.Combine(root, basePath)))
                Directory.Delete(Path.Combine(root, basePath), recursive: true);
        }
    }

    internal static ReceiverSettings Settings(FrameInfo info, int frames, Lima2Case bench, IReadOnlyList<string> endpoints, int rank,
        SavingCompression compression, string basePath, string root) =>
        new(
            new ReceiverConfig
            {
                Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = [endpoints[rank]] },
                Rank = rank,
                NbReceivers = endpoints.Count,
                MemoryCap = bench.MemoryCap,
                OverloadPolicy = bench.Policy,
                SavingRoot = root,
            },
            new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            new LegacyProcParams
            {
                Fifo = new Fifo { NbThreads = bench.Shape.Threads, NbFifoFrames = bench.FifoFrames },
                Statistics = new Statistics
                {
                    Enabled = true,
                    RectRois =
                    [
                        new RectRoi { Topleft = new Point { X = 100, Y = 100 }, Dimensions = new Dimensions { X = 200, Y = 200 } },
                        new RectRoi { Topleft = new Point { X = 0, Y = 0 }, Dimensions = new Dimensions { X = info.Width, Y = info.Height } },
                    ],
                },
                Saving = new SavingParams
                {
                    Enabled = true, BasePath = basePath, FilenamePrefix = "bench", NbFramesPerFile = 1000,
                    Compression = compression,
                    FileExistsPolicy = FileExistsPolicy.Overwrite,
                },
            });

    /// <summary>
    /// The loopback wire's limit: the same stream into <paramref name="receivers"/> PULL sockets of this process that
    /// take every message and drop it.
    /// </summary>
    private static async Task<Row> NullReceiversAsync(FrameInfo info, int frames, DectrisEncoding encoding, int receivers, CancellationToken token)
    {
        var endpoints = Endpoints(receivers);
        using var context = new ZmqContext(receivers);
        var sockets = endpoints.Select(endpoint =>
        {
            var socket = context.CreateSocket(ZmqSocketType.Pull);
            socket.SetOption(ZmqOption.ReceiveTimeout, 60_000);
            socket.Connect(endpoint);
            return socket;
        }).ToList();
        try
        {
            using var streamer = StreamProcess.Start(StreamProcess.Arguments(info, frames, encoding, endpoints, Prefetch));
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var taken = await Task.WhenAll(sockets.Select(socket => Task.Factory.StartNew(() => Drain(socket), token,
                TaskCreationOptions.LongRunning, TaskScheduler.Default)));
            var cpuPerFrame = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds / frames;
            // from the first message any receiver took (the streamer's start-up left out, as lima2's cases do) to the last end
            var seconds = Stopwatch.GetElapsedTime(taken.Min(t => t.First), taken.Max(t => t.Last)).TotalSeconds;
            await streamer.WaitAsync(token);
            var images = taken.Sum(t => t.Images);
            if (images != frames)
                throw new InvalidOperationException($"the null receivers took {images} of {frames} frames");
            var name = encoding == DectrisEncoding.BitshuffleLz4 ? "bslz4" : "raw";
            return new Row($"loopback wire, V1 {name} into null receivers", $"{receivers} × 1", frames, seconds,
                (long)frames * info.ByteSize, taken.Sum(t => t.Bytes), cpuPerFrame, "GB/s bytes: on the wire");
        }
        finally
        {
            foreach (var socket in sockets)
                socket.Dispose();
        }
    }

    /// <summary>
    /// Receives a series and drops it: images and bytes taken until the end message (the only one-part message), and
    /// the timestamps of the first message and the end.
    /// </summary>
    private static (int Images, long Bytes, long First, long Last) Drain(ZmqSocket socket)
    {
        using var message = new ZmqMultipartMessage();
        var (images, bytes, first) = (0, 0L, 0L);
        while (true)
        {
            if (!socket.Receive(message))
                throw new TimeoutException("a null receiver got nothing for 60 s");
            if (first == 0)
                first = Stopwatch.GetTimestamp();
            if (message.Count == 1)
                return (images, bytes, first, Stopwatch.GetTimestamp());
            if (message.Count == 4)
                images++;
            for (var i = 0; i < message.Count; i++)
                bytes += message[i].Length;
        }
    }

    /// <summary>The memory copy rate of <paramref name="threads"/> threads, each copying its own 64 MB block for about a second.</summary>
    private static Row MemoryCopy(int threads)
    {
        const int block = 64 << 20;
        var pairs = Enumerable.Range(0, threads).Select(_ =>
        {
            var (from, to) = (GC.AllocateUninitializedArray<byte>(block), GC.AllocateUninitializedArray<byte>(block));
            from.AsSpan().Fill(1);
            to.AsSpan().Fill(0); // pages faulted in before the clock starts
            return (from, to);
        }).ToList();
        var copies = new long[threads];
        var clock = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(1))
            {
                pairs[t].from.AsSpan().CopyTo(pairs[t].to);
                copies[t]++;
            }
        });
        clock.Stop();
        var bytes = copies.Sum() * block;
        return new Row("memory copy", $"1 × {threads}", 0, clock.Elapsed.TotalSeconds, 0, bytes, null, "GB/s bytes: copied");
    }

    /// <summary>Resets the kernel's peak RSS of this process (Linux clear_refs 5); returns the RSS now.</summary>
    private static long ResetPeakRss()
    {
        // The earlier cases' pools are garbage by now: give their pages back so that "before" is this process's floor.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        File.WriteAllText("/proc/self/clear_refs", "5");
        return StatusBytes("VmRSS:");
    }

    private static long PeakRss() => StatusBytes("VmHWM:");

    /// <summary>This process's minor page faults so far (/proc/self/stat field 10).</summary>
    internal static long MinorFaults()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture); // fields after the name start at field 3 (state)
    }

    /// <summary>A /proc/self/status size (VmRSS:, VmHWM:, ...) in bytes.</summary>
    internal static long StatusBytes(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>The HDF5 writer by itself: frames from memory, raw chunks, direct chunk write.</summary>
    private static async Task<Row> SinkAloneAsync(IFrameSource source, FrameInfo info, int frames, string root, CancellationToken token)
    {
        var pixels = new byte[info.ByteSize];
        source.Render(0, pixels);
        var saving = new SavingParams { Enabled = true, BasePath = "sink", FilenamePrefix = "bench", NbFramesPerFile = 1000, FileExistsPolicy = FileExistsPolicy.Overwrite };
        var clock = Stopwatch.StartNew();
        long bytes;
        string file;
        await using (var sink = new Acquisition.Saving.Hdf5FrameSink(saving, info, new Hdf5.SavingRoot(root), new Acquisition.Saving.SinkOptions(ExpectedFrames: frames)))
        {
            for (var i = 0; i < frames; i++)
            {
                using var frame = new Frame(PooledBuffer.Unpooled(pixels), info, i, i);
                await sink.WriteAsync(frame, token);
            }
            await sink.CompleteAsync(token);
            bytes = sink.BytesWritten;
            file = sink.FilePath(0);
        }
        Sync([file]);
        clock.Stop();
        Directory.Delete(Path.Combine(root, "sink"), recursive: true);
        return new Row("Hdf5FrameSink alone, raw chunks from memory", "–", frames, clock.Elapsed.TotalSeconds, (long)frames * info.ByteSize, bytes, null, "HDF5 write path only");
    }

    /// <summary>
    /// The same-work peer at lima2's thread count: <see cref="Shape.Workers"/> single-threaded Python receivers, an
    /// endpoint each; frames/s over the slowest, CPU per frame over all of them.
    /// </summary>
    /// <summary>
    /// The peer's interpreter: Debian's, which has pyzmq, numpy and h5py, unless <c>LIMA2_BENCH_PYTHON</c> names another
    /// (a server whose only Python is a venv: scripts/device/cpu-scaling.sh).
    /// </summary>
    private static string PeerPython => Environment.GetEnvironmentVariable("LIMA2_BENCH_PYTHON") is { Length: > 0 } python ? python : "/usr/bin/python3";

    private static async Task<Row> PeerAsync(FrameInfo info, int frames, DectrisEncoding encoding, Shape shape, SavedTo savedTo, CancellationToken token)
    {
        var root = savedTo.Folder;
        var endpoints = Endpoints(shape.Workers);
        var script = Path.Combine(AppContext.BaseDirectory, "py", "same_work_receiver.py");
        var files = endpoints.Select((_, i) => Path.Combine(root, $"peer-{i}.h5")).ToList();
        var peers = endpoints.Select((endpoint, i) =>
            Process.Start(new ProcessStartInfo(PeerPython, [script, endpoint, files[i]]) { RedirectStandardOutput = true })!).ToList();
        try
        {
            foreach (var peer in peers)
                await peer.StandardOutput.ReadLineAsync(token); // "ready"
            using var streamer = StreamProcess.Start(StreamProcess.Arguments(info, frames, encoding, endpoints, Prefetch));
            var results = new List<JsonElement>();
            foreach (var peer in peers)
            {
                var line = await peer.StandardOutput.ReadLineAsync(token) ?? throw new InvalidOperationException("a same-work receiver said nothing");
                await peer.WaitForExitAsync(token);
                results.Add(JsonDocument.Parse(line).RootElement);
            }
            await streamer.WaitAsync(token);
            var taken = results.Sum(r => r.GetProperty("frames").GetInt32());
            if (taken != frames || results.Any(r => !r.GetProperty("complete").GetBoolean()))
                throw new InvalidOperationException($"the same-work receivers took {taken} of {frames} frames");
            var seconds = results.Max(r => r.GetProperty("seconds").GetDouble());
            var cpuPerFrame = results.Sum(r => r.GetProperty("cpu_seconds").GetDouble()) * 1000 / frames;
            var name = encoding == DectrisEncoding.BitshuffleLz4 ? "bslz4" : "raw";
            return new Row($"same-work peer (Python), V1 {name} to {savedTo.Name}", $"{shape.Workers} × 1", frames, seconds, (long)frames * info.ByteSize,
                results.Sum(r => r.GetProperty("bytes").GetInt64()), cpuPerFrame, $"{shape.Workers} processes");
        }
        finally
        {
            foreach (var peer in peers)
            {
                if (!peer.HasExited)
                    peer.Kill();
                peer.Dispose();
            }
            files.ForEach(File.Delete);
        }
    }

    private static Row Dd(long bytes, string folder, string path)
    {
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "dd.bin");
        const long block = 4 << 20;
        var count = Math.Max(1, (bytes + block - 1) / block);
        var clock = Stopwatch.StartNew();
        using (var dd = Process.Start(new ProcessStartInfo("dd", [$"if=/dev/zero", $"of={file}", "bs=4M", $"count={count}", "conv=fdatasync"]) { RedirectStandardError = true })!)
        {
            dd.StandardError.ReadToEnd();
            dd.WaitForExit();
        }
        clock.Stop();
        File.Delete(file);
        return new Row(path, "1 × 1", 0, clock.Elapsed.TotalSeconds, 0, count * block, null, "");
    }

    private static void Sync(IEnumerable<string> files)
    {
        foreach (var path in files)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            stream.Flush(flushToDisk: true);
        }
    }

    internal static string[] Endpoints(int count) =>
        Enumerable.Range(0, count).Select(_ => $"tcp://127.0.0.1:{FreePort()}").ToArray();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void WriteSection(string path, string section)
    {
        var existing = File.Exists(path) ? File.ReadAllText(path) : "# Benchmarks\n\n";
        var at = existing.IndexOf(Begin, StringComparison.Ordinal);
        var end = existing.IndexOf(End, StringComparison.Ordinal);
        var updated = at >= 0 && end > at
            ? existing[..at] + section.TrimEnd() + existing[(end + End.Length)..]
            : existing.TrimEnd() + "\n\n" + section;
        File.WriteAllText(path, updated);
    }
}
