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

namespace Lima2.Bench;

/// <summary>
/// <c>lima2-bench</c>: stream → receive → ROI statistics → save of 4M-pixel uint16 frames (DECTRIS V1, bslz4 and raw),
/// beside the disk's write limit (<c>dd</c> of as many bytes) and an h5py write_direct_chunk writer of the same
/// stream, all measured in the same run on this machine; plus the bitshuffle/LZ4 codec on one core.
/// </summary>
internal static class BenchCommand
{
    private const string Begin = "<!-- lima2 bench: begin -->";
    private const string End = "<!-- lima2 bench: end -->";

    /// <summary>Distinct frames the stand-in detector encodes once and sends in turn.</summary>
    private const int Prefetch = 8;

    public static RootCommand Create()
    {
        var frames = new Option<int>("--frames") { Description = "frames per case", DefaultValueFactory = _ => 100 };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 2048 };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 2048 };
        var folder = new Option<string>("--folder") { Description = "where the files are written (on the disk under test)", DefaultValueFactory = _ => "/var/tmp/lima2-bench" };
        var report = new Option<string?>("--report") { Description = "markdown file whose lima2 bench section is replaced by the results (e.g. docs/BENCHMARKS.md)" };
        var threads = new Option<int>("--threads")
        {
            Description = "the receiver's fifo.nb_threads (decode and processing workers); default: its own default, the processor count (2 to 16)",
            DefaultValueFactory = _ => Fifo.DefaultThreads(Environment.ProcessorCount),
        };
        var command = new RootCommand("lima2-bench: measure stream → receive → ROI statistics → save beside dd and an h5py direct-chunk writer");
        foreach (var option in new Option[] { frames, width, height, folder, report, threads })
            command.Options.Add(option);
        command.Subcommands.Add(CodecBench.Create());
        command.SetAction(async (result, cancellationToken) =>
        {
            var info = new FrameInfo(result.GetValue(width), result.GetValue(height), PixelType.Gray16);
            var root = result.GetValue(folder)!;
            Directory.CreateDirectory(root);
            var commandLine = $"lima2-bench --frames {result.GetValue(frames)} --width {info.Width} --height {info.Height} --threads {result.GetValue(threads)} --folder {root}";
            var markdown = await RunAsync(info, result.GetValue(frames), result.GetValue(threads), root, commandLine, cancellationToken);
            Console.WriteLine(markdown);
            if (result.GetValue(report) is { } path)
                WriteSection(path, markdown);
            return 0;
        });
        return command;
    }

    private sealed record Row(string Path, int Frames, double Seconds, long PixelBytes, long DiskBytes, string Note)
    {
        public string Markdown => Frames == 0
            ? string.Create(CultureInfo.InvariantCulture, $"| {Path} | – | {Seconds:F2} | – | – | {DiskBytes / Seconds / 1e9:F2} | {Note} |")
            : string.Create(CultureInfo.InvariantCulture,
                $"| {Path} | {Frames} | {Seconds:F2} | {Frames / Seconds:F0} | {PixelBytes / Seconds / 1e9:F2} | {DiskBytes / Seconds / 1e9:F2} | {Note} |");
    }

    private static async Task<string> RunAsync(FrameInfo info, int frames, int threads, string root, string commandLine, CancellationToken token)
    {
        var source = FrameGenerator.Create(new GeneratorParams
        {
            Type = GeneratorType.Diffraction, Width = info.Width, Height = info.Height, PixelType = PixelType.Gray16,
        });
        var text = new StringBuilder();
        var loadBefore = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var codec = CodecBench.Run(info, 20, File.Exists(CodecBench.DebianLibrary) ? [CodecBench.DebianLibrary] : []);
        var costs = PerFrameCosts(source, info, root);
        var rows = new List<Row> { await SinkAloneAsync(source, info, frames, root, token) };
        var ratios = new List<string>();
        foreach (var encoding in new[] { DectrisEncoding.BitshuffleLz4, DectrisEncoding.Raw })
        {
            var name = encoding == DectrisEncoding.BitshuffleLz4 ? "bslz4" : "raw";
            Console.Error.WriteLine($"lima2-bench: {name}");
            var (lima2, _) = await Lima2Async(info, frames, new Lima2Case(encoding, threads), root, token);
            var h5py = await H5pyAsync(info, frames, encoding, root, token);
            var dd = Dd(lima2.DiskBytes, root, name);
            rows.AddRange([lima2, h5py, dd]);
            ratios.Add(string.Create(CultureInfo.InvariantCulture,
                $"V1 {name}: lima2 / h5py = {h5py.Seconds / lima2.Seconds:F2}× (goal ≥ 3), lima2 / dd = {lima2.DiskBytes / lima2.Seconds / (dd.DiskBytes / dd.Seconds) * 100:F0} % of the disk rate (goal ≥ 70 %)"));
        }
        Console.Error.WriteLine("lima2-bench: overload");
        var overload = new Lima2Case(DectrisEncoding.BitshuffleLz4, threads, OverloadPolicy.Drop, SavingCompression.Zip, "256MiB");
        var (overloadRow, memory) = await Lima2Async(info, frames, overload, root, token);
        rows.Add(overloadRow);
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        text.AppendLine(Begin);
        text.AppendLine("## Receiver: stream → receive → ROI statistics → save (`lima2-bench`)");
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({cpu}, load average {load} at the end), files in `{root}`; " +
            $"{frames} frames of {info} ({info.ByteSize / 1e6:F1} MB) per case, DECTRIS stream V1 over loopback TCP from " +
            $"`lima2 {string.Join(' ', StreamProcess.Arguments(info, frames, DectrisEncoding.BitshuffleLz4, "tcp://127.0.0.1:PORT", Prefetch))}` " +
            $"(or `--encoding raw`) in a process of its own ({Prefetch} distinct diffraction frames, encoded once). Load average {loadBefore} at the start. " +
            $"lima2: `ReceiverRun` with 2 rect ROIs (200x200 and the whole frame), fifo.nb_threads {threads} ({threads} decode workers), memory_cap 1GiB, and HDF5 " +
            $"saving (bslz4 chunks passed through, raw frames written uncompressed). h5py: `bench/py/h5py_direct_chunk_writer.py` " +
            $"(ZMQ PULL, write_direct_chunk of each blob, dataset grown per frame). dd: `dd bs=4M conv=fdatasync` of as many " +
            $"bytes as lima2 wrote. Every time includes closing and syncing the files. GB/s pixels = decoded frame bytes per second."));
        text.AppendLine();
        text.AppendLine($"Command: `{commandLine}` (Release build).");
        text.AppendLine();
        text.AppendLine("| path | frames | s | frames/s | GB/s pixels | GB/s to disk | note |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var row in rows)
            text.AppendLine(row.Markdown);
        text.AppendLine();
        foreach (var line in ratios)
            text.AppendLine($"- {line}");
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Overload (last row): the same bslz4 stream as fast as it goes into a receiver that saves with zip (far slower than " +
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
        text.AppendLine("Per-frame costs on one thread (Stopwatch, median of repeated runs, same frame): " +
            string.Join("; ", costs.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Name} {c.Milliseconds:F2} ms"))) + ".");
        text.AppendLine(End);
        return text.ToString();
    }

    /// <summary>One lima2 receive case: stream encoding, workers, overload policy, saving compression, memory cap.</summary>
    private sealed record Lima2Case(
        DectrisEncoding Encoding,
        int Threads,
        OverloadPolicy Policy = OverloadPolicy.BackPressure,
        SavingCompression? Compression = null,
        string MemoryCap = "1GiB");

    private sealed record MemoryUse(ReceiverMemory Cap, long PoolPeakBytes, long PeakRssBytes, long RssBeforeBytes);

    private static async Task<(Row Row, MemoryUse Memory)> Lima2Async(FrameInfo info, int frames, Lima2Case bench,
        string root, CancellationToken token)
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort()}";
        var bslz4 = bench.Encoding == DectrisEncoding.BitshuffleLz4;
        var compression = bench.Compression ?? (bslz4 ? SavingCompression.BshufLz4 : SavingCompression.None);
        var basePath = $"lima2-{(bslz4 ? "bslz4" : "raw")}-{ParamsJson.EnumName(compression)}";
        var settings = new ReceiverSettings(
            new ReceiverConfig
            {
                Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = [endpoint] },
                MemoryCap = bench.MemoryCap,
                OverloadPolicy = bench.Policy,
                SavingRoot = root,
            },
            new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            new LegacyProcParams
            {
                Fifo = new Fifo { NbThreads = bench.Threads },
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
        var rssBefore = ResetPeakRss();
        using var streamer = StreamProcess.Start(StreamProcess.Arguments(info, frames, bench.Encoding, endpoint, Prefetch));
        await using var run = await ReceiverRun.StartAsync(settings, token);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var summary = await run.RunAsync(token);
        var received = clock.Elapsed;
        // CPU of the receiver's process (its threads, ZeroMQ's, and its kernel time) per frame; the streamer is another process.
        var cpuPerFrame = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds / frames;
        Sync(summary.Files);
        clock.Stop();
        await streamer.WaitAsync(token);
        var memory = new MemoryUse(run.Memory!, run.PoolAllocatedBytes, PeakRss(), rssBefore);
        if (summary.Error is not null || summary.Saved + summary.Counters.Dropped != frames
            || (bench.Policy == OverloadPolicy.BackPressure && summary.Saved != frames))
            throw new InvalidOperationException($"lima2 saved {summary.Saved} of {frames} frames, dropped {summary.Counters.Dropped}: {summary.Error?.Message}");
        var note = bench.Policy == OverloadPolicy.Drop
            ? string.Create(CultureInfo.InvariantCulture,
                $"overload: drop policy, saving zip; saved {summary.Saved}, dropped {summary.Counters.Dropped}; pool peak {memory.PoolPeakBytes / 1e6:F0} of {memory.Cap.PoolBytes / 1e6:F0} MB")
            : string.Create(CultureInfo.InvariantCulture,
                $"{summary.Counters.Dropped} dropped, ROI stats on {summary.Counters.Processed}; run {received.TotalSeconds:F2} s + fsync {(clock.Elapsed - received).TotalSeconds:F2} s; receiver CPU {cpuPerFrame:F1} ms/frame");
        var path = $"lima2 receive, V1 {(bslz4 ? "bslz4" : "raw")}" + (bench.Compression is { } c ? $" → {ParamsJson.EnumName(c)}" : "");
        var row = new Row(path, frames, clock.Elapsed.TotalSeconds, (long)frames * info.ByteSize, summary.SavedBytes, note);
        Directory.Delete(Path.Combine(root, basePath), recursive: true);
        return (row, memory);
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

    private static long StatusBytes(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>
    /// What one frame costs on the bslz4 receive path, each step alone on this thread: decode, the copy of the
    /// compressed bytes kept for pass-through, a raw frame's one copy, ROI statistics (the bench's two ROIs), and the
    /// HDF5 direct chunk write of the compressed chunk (no sync).
    /// </summary>
    private static List<(string Name, double Milliseconds)> PerFrameCosts(IFrameSource source, FrameInfo info, string root)
    {
        var pixels = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        source.Render(0, pixels);
        var chunk = new byte[BitshuffleLz4.MaxEncodedLength(info.ByteSize, 2)];
        var length = BitshuffleLz4.Encode(pixels, chunk, 2);
        var target = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        var regions = new[]
        {
            Core.Processing.PixelRegion.Rectangle(100, 100, 200, 200, info.Width, info.Height),
            Core.Processing.PixelRegion.Rectangle(0, 0, info.Width, info.Height, info.Width, info.Height),
        };
        using var frame = new Frame(PooledBuffer.Unpooled(pixels), info, 0, 0);
        var costs = new List<(string, double)>
        {
            ("bslz4 decode", Median(() => BitshuffleLz4.Decode(chunk.AsSpan(0, length), target, 2))),
            ("copy of the bslz4 bytes", Median(() => chunk.AsSpan(0, length).CopyTo(target))),
            ("copy of a raw frame", Median(() => pixels.AsSpan().CopyTo(target))),
            ("ROI statistics", Median(() =>
            {
                foreach (var region in regions)
                    Core.Processing.RoiMath.Measure(frame, region);
            })),
        };
        var saving = new SavingParams
        {
            Enabled = true, BasePath = "costs", FilenamePrefix = "bench", NbFramesPerFile = 1000,
            Compression = SavingCompression.BshufLz4, FileExistsPolicy = FileExistsPolicy.Overwrite,
        };
        var sink = new Acquisition.Saving.Hdf5FrameSink(saving, info, new Hdf5.SavingRoot(root));
        var encodedBuffer = PooledBuffer.Unpooled(chunk);
        var index = 0;
        costs.Add(("HDF5 direct chunk write of the bslz4 chunk", Median(() =>
        {
            var passThrough = new Frame(PooledBuffer.Unpooled(pixels), info, index, index);
            passThrough.AttachEncoded(FrameEncoding.BitshuffleLz4, encodedBuffer, length);
            index++;
            using (passThrough)
                sink.WriteAsync(passThrough, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        })));
        sink.CompleteAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        sink.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(Path.Combine(root, "costs"), recursive: true);
        return costs;
    }

    /// <summary>Median time of 15 runs after one warm-up, in milliseconds.</summary>
    private static double Median(Action work)
    {
        work();
        var times = new double[15];
        for (var i = 0; i < times.Length; i++)
        {
            var clock = Stopwatch.StartNew();
            work();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
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
        return new Row("Hdf5FrameSink alone, raw chunks from memory", frames, clock.Elapsed.TotalSeconds, (long)frames * info.ByteSize, bytes, "HDF5 write path only");
    }

    private static async Task<Row> H5pyAsync(FrameInfo info, int frames, DectrisEncoding encoding, string root, CancellationToken token)
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort()}";
        var file = Path.Combine(root, "h5py.h5");
        var script = Path.Combine(AppContext.BaseDirectory, "py", "h5py_direct_chunk_writer.py");
        var start = new ProcessStartInfo("/usr/bin/python3", [script, endpoint, file]) { RedirectStandardOutput = true };
        using var python = Process.Start(start)!;
        await python.StandardOutput.ReadLineAsync(token); // "ready"
        using var streamer = StreamProcess.Start(StreamProcess.Arguments(info, frames, encoding, endpoint, Prefetch));
        var line = await python.StandardOutput.ReadLineAsync(token) ?? throw new InvalidOperationException("the h5py writer said nothing");
        await python.WaitForExitAsync(token);
        await streamer.WaitAsync(token);
        using var result = JsonDocument.Parse(line);
        var seconds = result.RootElement.GetProperty("seconds").GetDouble();
        var bytes = result.RootElement.GetProperty("bytes").GetInt64();
        File.Delete(file);
        var name = encoding == DectrisEncoding.BitshuffleLz4 ? "bslz4" : "raw";
        return new Row($"h5py write_direct_chunk, V1 {name}", frames, seconds, (long)frames * info.ByteSize, bytes, "no decoding, no ROI statistics");
    }

    private static Row Dd(long bytes, string root, string name)
    {
        var file = Path.Combine(root, "dd.bin");
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
        return new Row($"dd (disk limit, bytes of lima2 {name})", 0, clock.Elapsed.TotalSeconds, 0, count * block, "");
    }

    private static void Sync(IEnumerable<string> files)
    {
        foreach (var path in files)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            stream.Flush(flushToDisk: true);
        }
    }

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
