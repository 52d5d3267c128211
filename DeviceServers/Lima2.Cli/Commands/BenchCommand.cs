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
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Simulator;

namespace Lima2.Cli.Commands;

/// <summary>
/// <c>lima2 bench</c>: stream → receive → ROI statistics → save of 4M-pixel uint16 frames (DECTRIS V1, bslz4 and raw),
/// beside the disk's write limit (<c>dd</c> of as many bytes) and an h5py write_direct_chunk writer of the same
/// stream, all measured in the same run on this machine; plus the bitshuffle/LZ4 codec on one core.
/// </summary>
internal static class BenchCommand
{
    private const string Begin = "<!-- lima2 bench: begin -->";
    private const string End = "<!-- lima2 bench: end -->";

    public static Command Create()
    {
        var frames = new Option<int>("--frames") { Description = "frames per case", DefaultValueFactory = _ => 100 };
        var width = new Option<int>("--width") { DefaultValueFactory = _ => 2048 };
        var height = new Option<int>("--height") { DefaultValueFactory = _ => 2048 };
        var folder = new Option<string>("--folder") { Description = "where the files are written (on the disk under test)", DefaultValueFactory = _ => "/var/tmp/lima2-bench" };
        var report = new Option<string?>("--report") { Description = "markdown file whose lima2 bench section is replaced by the results (e.g. docs/BENCHMARKS.md)" };
        var command = new Command("bench", "measure stream → receive → ROI statistics → save beside dd and an h5py direct-chunk writer");
        foreach (var option in new Option[] { frames, width, height, folder, report })
            command.Options.Add(option);
        command.SetAction(async (result, cancellationToken) =>
        {
            var info = new FrameInfo(result.GetValue(width), result.GetValue(height), PixelType.Gray16);
            var root = result.GetValue(folder)!;
            Directory.CreateDirectory(root);
            var markdown = await RunAsync(info, result.GetValue(frames), root, cancellationToken);
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

    private static async Task<string> RunAsync(FrameInfo info, int frames, string root, CancellationToken token)
    {
        var source = FrameGenerator.Create(new GeneratorParams
        {
            Type = GeneratorType.Diffraction, Width = info.Width, Height = info.Height, PixelType = PixelType.Gray16,
        });
        var text = new StringBuilder();
        var (encode, decode, ratio) = Codec(source, info);
        var rows = new List<Row>();
        foreach (var encoding in new[] { DectrisEncoding.BitshuffleLz4, DectrisEncoding.Raw })
        {
            var name = encoding == DectrisEncoding.BitshuffleLz4 ? "bslz4" : "raw";
            Console.Error.WriteLine($"lima2 bench: {name}");
            var lima2 = await Lima2Async(source, info, frames, encoding, root, token);
            rows.Add(lima2);
            rows.Add(await H5pyAsync(source, info, frames, encoding, root, token));
            rows.Add(Dd(lima2.DiskBytes, root, name));
        }
        var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        text.AppendLine(Begin);
        text.AppendLine("## Receiver: stream → receive → ROI statistics → save (`lima2 bench`)");
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({cpu}, load average {load} at the end), files in `{root}`; " +
            $"{frames} frames of {info} ({info.ByteSize / 1e6:F1} MB) per case, DECTRIS stream V1 over loopback TCP from " +
            $"`DectrisStreamer` (8 distinct diffraction frames, encoded once). lima2: `ReceiverRun` with 2 rect ROIs and HDF5 " +
            $"saving (bslz4 chunks passed through, raw frames written uncompressed). h5py: `Bench/h5py_direct_chunk_writer.py` " +
            $"(ZMQ PULL, write_direct_chunk of each blob, dataset grown per frame). dd: `dd bs=4M conv=fdatasync` of as many " +
            $"bytes as lima2 wrote. Every time includes closing and syncing the files. GB/s pixels = decoded frame bytes per second."));
        text.AppendLine();
        text.AppendLine("| path | frames | s | frames/s | GB/s pixels | GB/s to disk | note |");
        text.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var row in rows)
            text.AppendLine(row.Markdown);
        text.AppendLine();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Bitshuffle/LZ4 on one core (one {info} frame, compression ratio {ratio:F2}): encode {encode:F2} GB/s, decode {decode:F2} GB/s of pixels."));
        text.AppendLine(End);
        return text.ToString();
    }

    private static (double Encode, double Decode, double Ratio) Codec(IFrameSource source, FrameInfo info)
    {
        var pixels = new byte[info.ByteSize];
        source.Render(0, pixels);
        var chunk = new byte[BitshuffleLz4.MaxEncodedLength(info.ByteSize, 2)];
        var length = BitshuffleLz4.Encode(pixels, chunk, 2);
        double Rate(Action work)
        {
            work();
            var clock = Stopwatch.StartNew();
            var n = 0;
            while (clock.Elapsed < TimeSpan.FromSeconds(1.5))
            {
                work();
                n++;
            }
            return n * (double)info.ByteSize / clock.Elapsed.TotalSeconds / 1e9;
        }
        var encode = Rate(() => BitshuffleLz4.Encode(pixels, chunk, 2));
        var decode = Rate(() => BitshuffleLz4.Decode(chunk.AsSpan(0, length), pixels, 2));
        return (encode, decode, (double)info.ByteSize / length);
    }

    private static async Task<Row> Lima2Async(IFrameSource source, FrameInfo info, int frames, DectrisEncoding encoding, string root, CancellationToken token)
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort()}";
        var bslz4 = encoding == DectrisEncoding.BitshuffleLz4;
        var basePath = bslz4 ? "lima2-bslz4" : "lima2-raw";
        var settings = new ReceiverSettings(
            new ReceiverConfig
            {
                Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = [endpoint] },
                MemoryCap = "1GiB",
                SavingRoot = root,
            },
            new AcqParams<SimulatorDet> { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            new LegacyProcParams
            {
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
                    Compression = bslz4 ? SavingCompression.BshufLz4 : SavingCompression.None,
                    FileExistsPolicy = FileExistsPolicy.Overwrite,
                },
            });
        using var streamer = new DectrisStreamer(source, new StreamerOptions([endpoint], DectrisStreamVersion.V1, encoding, frames, Prefetch: 8));
        var streaming = streamer.RunAsync(token);
        await using var run = await ReceiverRun.StartAsync(settings, token);
        var clock = Stopwatch.StartNew();
        var summary = await run.RunAsync(token);
        Sync(summary.Files);
        clock.Stop();
        await streaming;
        if (summary.Error is not null || summary.Saved != frames)
            throw new InvalidOperationException($"lima2 saved {summary.Saved} of {frames} frames: {summary.Error}");
        var note = $"{summary.Counters.Dropped} dropped, ROI stats on {summary.Counters.Processed}";
        var row = new Row($"lima2 receive, V1 {(bslz4 ? "bslz4" : "raw")}", frames, clock.Elapsed.TotalSeconds,
            (long)frames * info.ByteSize, summary.SavedBytes, note);
        Directory.Delete(Path.Combine(root, basePath), recursive: true);
        return row;
    }

    private static async Task<Row> H5pyAsync(IFrameSource source, FrameInfo info, int frames, DectrisEncoding encoding, string root, CancellationToken token)
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort()}";
        var file = Path.Combine(root, "h5py.h5");
        var script = Path.Combine(AppContext.BaseDirectory, "Bench", "h5py_direct_chunk_writer.py");
        var start = new ProcessStartInfo("/usr/bin/python3", [script, endpoint, file]) { RedirectStandardOutput = true };
        using var python = Process.Start(start)!;
        await python.StandardOutput.ReadLineAsync(token); // "ready"
        using var streamer = new DectrisStreamer(source, new StreamerOptions([endpoint], DectrisStreamVersion.V1, encoding, frames, Prefetch: 8));
        var streaming = streamer.RunAsync(token);
        var line = await python.StandardOutput.ReadLineAsync(token) ?? throw new InvalidOperationException("the h5py writer said nothing");
        await python.WaitForExitAsync(token);
        await streaming;
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
