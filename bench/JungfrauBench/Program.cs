// JungfrauBench: JUNGFRAU receive-side figures of this machine (issue 10, Deliver 7); docs/BENCHMARKS.md "JUNGFRAU".
//   receive     one receive thread (recvmmsg + assembly) on one UDP port, fed by --senders threads over loopback at
//               each asked frame rate: packets/s and GB/s taken and packets lost
//   assembly    datagrams already in memory through the assembler: CPU ms per module-frame
//   correction  energy and photons of whole frames, cpu (SIMD) or opencl: CPU/device ms per module-frame
//   e2e         N modules on N ports through the jungfrau_udp channel, assembly + correction + HDF5 saving (lima2's
//               receiver engine) into each --folder in turn, sent by a sender process (the stand-in, as fast as its
//               --senders threads go or at --rate): frames/s, GB/s, packets lost, receiver CPU ms per frame; and in the
//               same run the limits: the same sender into null receivers (receive + assembly only, frames discarded)
//               and each folder's write rate
//   send        (the e2e's sender process) frames of N modules to the given ports
// Usage: dotnet run -c Release --project bench/JungfrauBench -- <case> [options]   (--help for each)
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Lima2.Acquisition;
using Lima2.Acquisition.Jungfrau;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;
using Lima2.Detectors.Simulator;
using Lima2.OpenCL;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var modules = new Option<int>("--modules") { Description = "JUNGFRAU modules (1024x512 each)", DefaultValueFactory = _ => 8 };
var frames = new Option<int>("--frames") { Description = "frames per measure", DefaultValueFactory = _ => 100 };
var rates = new Option<string>("--rates") { Description = "receive: frame rates to send at, comma-separated (0 = as fast as the sender goes)", DefaultValueFactory = _ => "0" };
var rate = new Option<double>("--rate") { Description = "e2e: frames/s sent (0 = as fast as the sender goes)", DefaultValueFactory = _ => 0 };
var senders = new Option<int>("--senders") { Description = "sender threads, the modules dealt out between them", DefaultValueFactory = _ => 1 };
var engine = new Option<string>("--engine", "--correction") { Description = "cpu | opencl", DefaultValueFactory = _ => "cpu" };
engine.AcceptOnlyFromAmong("cpu", "opencl");
var platform = new Option<int>("--platform") { Description = "OpenCL platform index (a CPU device when there is none)", DefaultValueFactory = _ => 0 };
var device = new Option<int>("--device") { Description = "OpenCL device index", DefaultValueFactory = _ => 0 };
var output = new Option<string>("--output") { Description = "e2e: raw | energy | photons", DefaultValueFactory = _ => "energy" };
output.AcceptOnlyFromAmong("raw", "energy", "photons");
var folders = new Option<string>("--folder", "--folders")
{
    Description = "e2e: saving folders, comma-separated, one run each (a disk's and a tmpfs's: /tmp/jf,/dev/shm/jf; none = no saving)",
    DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "jungfrau-bench"),
};
var trackBand = new Option<float?>("--track-g0-band")
{
    Description = "correction, e2e: pedestal tracking from the G0 pixels within this many keV of zero (every frame; window 1000)",
};
var gaps = new Option<bool>("--double-pixel-gaps")
{
    Description = "e2e: modules placed as 1030x514 with the chip gaps (a 4M's layout: the channel corrects, then places) instead of stacked raw (corrected in place)",
};
var rawBeside = new Option<bool>("--raw-beside")
{
    Description = "e2e: a corrected run also saves its raw words beside (acq_params saving, folder raw/): their queue to the disk off the channel's thread",
};
var ports = new Option<string>("--ports") { Description = "send: the modules' UDP ports on 127.0.0.1, comma-separated", Required = true };

var receive = new Command("receive", "one receive thread on one port: packets/s, GB/s and loss per asked frame rate") { modules, frames, rates, senders };
receive.SetAction(r => Receive(r.GetValue(modules), r.GetValue(frames), [.. r.GetValue(rates)!.Split(',').Select(double.Parse)], r.GetValue(senders)));
var assembly = new Command("assembly", "the assembler alone on datagrams in memory: ms per module-frame") { modules, frames };
assembly.SetAction(r => Assembly(r.GetValue(modules), r.GetValue(frames)));
var correction = new Command("correction", "energy and photons: ms per module-frame") { modules, frames, engine, platform, device, trackBand };
correction.SetAction(r => Correction(r.GetValue(modules), r.GetValue(frames), Corrector(r.GetValue(engine)!, new JungfrauModel(r.GetValue(modules)),
    r.GetValue(platform), r.GetValue(device)), r.GetValue(trackBand)));
var e2e = new Command("e2e", "the jungfrau_udp channel end to end: assembly + correction + saving, with the limits of the same run")
    { modules, frames, rate, senders, engine, platform, device, output, folders, trackBand, gaps, rawBeside };
e2e.SetAction((r, token) => EndToEnd(r.GetValue(modules), r.GetValue(frames), r.GetValue(rate), r.GetValue(senders), r.GetValue(engine)!,
    r.GetValue(platform), r.GetValue(device), r.GetValue(output)!, r.GetValue(folders)!.Split(','), r.GetValue(trackBand), r.GetValue(gaps),
    r.GetValue(rawBeside), token));
var send = new Command("send", "the e2e's sender process: frames of the modules to their ports") { modules, frames, rate, senders, ports };
send.SetAction(r => SendProcess(r.GetValue(modules), r.GetValue(frames), r.GetValue(rate), r.GetValue(senders), r.GetValue(ports)!));
var root = new RootCommand("JUNGFRAU receive-side benchmarks") { receive, assembly, correction, e2e, send };
Console.WriteLine($"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, net.core.rmem_max " +
                  $"{File.ReadAllText("/proc/sys/net/core/rmem_max").Trim()}");
return await root.Parse(args).InvokeAsync();

// One module-frame's words per module: the stand-in's raw words of a simulated diffraction frame.
static ushort[][] Words(int modules, int frame = 0)
{
    var source = FrameGenerator.Create(new GeneratorParams
    {
        Type = GeneratorType.Diffraction, Width = JungfrauModule.Width, Height = JungfrauModule.Height * modules, PixelType = PixelType.Gray32,
    });
    using var standIn = new JungfrauStandIn(source, new JungfrauModel(modules), new JungfrauStandInOptions
    {
        Ports = [.. Enumerable.Range(0, modules).Select(_ => new IPEndPoint(IPAddress.Loopback, 9))],
        Frames = frame + 1,
    });
    try
    {
        return standIn.ModuleWords(frame);
    }
    finally
    {
        (source as IDisposable)?.Dispose();
    }
}

// Sends frames 1..frames from `threads` threads, module m by thread m % threads, frame i's words words[i % words.Length],
// paced at fps (0 = as fast as they go); returns the packets sent and the seconds the sending took.
static (long Packets, double Seconds) Send(IReadOnlyList<ModuleDestination> modules, ushort[][][] words, int frames, double fps, int threads)
{
    threads = Math.Clamp(threads, 1, modules.Count);
    var clock = Stopwatch.StartNew();
    var sent = new long[threads];
    var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
    {
        var mine = Enumerable.Range(0, modules.Count).Where(m => m % threads == t).ToArray();
        using var sender = new JungfrauPacketSender([.. mine.Select(m => modules[m])]);
        var frameWords = words.Select(w => mine.Select(m => w[m]).ToArray()).ToArray();
        for (var i = 0; i < frames; i++)
        {
            if (fps > 0)
                while (clock.Elapsed.TotalSeconds < i / fps)
                    Thread.SpinWait(100);
            sender.SendFrame((ulong)i + 1, frameWords[i % frameWords.Length]);
        }
        sent[t] = sender.PacketsSent;
    }) { Name = $"sender-{t}" }).ToArray();
    foreach (var worker in workers)
        worker.Start();
    foreach (var worker in workers)
        worker.Join();
    return (sent.Sum(), clock.Elapsed.TotalSeconds);
}

static void Receive(int modules, int frames, double[] rates, int senders)
{
    ushort[][][] words = [Words(modules)];
    Console.WriteLine($"receive: {modules} modules' packets to one port, one receive thread, {Math.Clamp(senders, 1, modules)} sender threads, {frames} frames per rate");
    Console.WriteLine("asked fps | sent fps | packets sent | received | lost | frames complete/incomplete/missed | Mpackets/s | GB/s | mean batch");
    foreach (var fps in rates)
    {
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [.. Enumerable.Range(0, modules)], FirstFrameNumber = 1 },
            frame => frame.Dispose());
        using var listener = new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), assembler, TimeSpan.FromMilliseconds(200));
        if (listener.ReceiveBufferWarning is { } warning && fps == rates[0])
            Console.WriteLine($"warning: {warning}");
        listener.Start();
        var start = Stopwatch.GetTimestamp();
        var (sent, sendSeconds) = Send([.. Enumerable.Range(0, modules).Select(m => new ModuleDestination(m, new IPEndPoint(IPAddress.Loopback, listener.Port)))],
            words, frames, fps, senders);
        // the loop has all there is once nothing came for 0.5 s
        while (Stopwatch.GetElapsedTime(listener.LastDatagramTicks) < TimeSpan.FromMilliseconds(500) && listener.DatagramsReceived < sent)
            Thread.Sleep(10);
        var seconds = Stopwatch.GetElapsedTime(start, listener.LastDatagramTicks).TotalSeconds;
        listener.Stop();
        var received = listener.DatagramsReceived;
        Console.WriteLine($"{fps,9:F0} | {frames / sendSeconds,8:F0} | {sent,12} | {received,8} | {sent - received,4} | " +
                          $"{assembler.FramesComplete}/{assembler.FramesIncomplete}/{frames - assembler.FramesComplete - assembler.FramesIncomplete} | {received / seconds / 1e6,10:F3} | " +
                          $"{received * (double)JungfrauModule.DatagramBytes / seconds / 1e9,5:F2} | {(double)received / Math.Max(1, listener.Batches),4:F1}");
    }
}

static void Assembly(int modules, int frames)
{
    var words = Words(modules);
    var datagrams = Enumerable.Range(0, JungfrauModule.PacketsPerFrame)
        .SelectMany(p => Enumerable.Range(0, modules).Select(m => JungfrauPackets.Create(1, m, p, words[m]))).ToArray();
    long handedOn = 0;
    var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [.. Enumerable.Range(0, modules)], FirstFrameNumber = 1 },
        frame => { handedOn++; frame.Dispose(); });
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    for (var i = 0; i < frames; i++)
        foreach (var datagram in datagrams)
        {
            BitConverter.TryWriteBytes(datagram, (ulong)i + 1); // frameNumber, the header's first field
            assembler.Accept(datagram, 0);
        }
    var wall = clock.Elapsed.TotalMilliseconds;
    var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
    Console.WriteLine($"assembly: {frames} frames of {modules} modules, {handedOn} complete: {wall / (frames * modules):F3} ms wall, " +
                      $"{cpuMs / (frames * modules):F3} ms CPU per module-frame ({frames * (double)modules * JungfrauModule.PacketsPerFrame / wall / 1e3:F2} Mpackets/s)");
}

static IJungfrauCorrector Corrector(string engine, JungfrauModel model, int platform, int device) => engine == "opencl"
    ? new JungfrauOpenClCorrection(model.Pedestal, model.Gain, ClDevice.Select(platform, device, cpuFallback: true), ClProgram.DefaultCacheDirectory)
    : new JungfrauCorrection(model.Pedestal, model.Gain);

static void Correction(int modules, int frames, IJungfrauCorrector corrector, float? trackBand)
{
    var track = trackBand is { } band ? new PedestalUpdate(DarkPixels.G0WithoutPhoton, 1000, band) : default;
    var raw = Words(modules).SelectMany(m => m).ToArray();
    var energy = new float[raw.Length];
    var photons = new int[raw.Length];
    Console.WriteLine($"correction on {(corrector is JungfrauOpenClCorrection ocl ? ocl.Device.ToString() : "the CPU (SIMD, one thread)")}, {frames} frames of {modules} modules" +
                      (trackBand is { } b ? $", pedestal tracking from G0 pixels within {b} keV" : ""));
    corrector.ToEnergy(raw, energy); // builds and warms up
    foreach (var kind in new[] { "energy", "photons" })
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < frames; i++)
            if (kind == "energy")
                corrector.ToEnergy(raw, energy, track);
            else
                corrector.ToPhotons(raw, photons, 12.4f, 6.2f, track);
        var wall = clock.Elapsed.TotalMilliseconds;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        Console.WriteLine($"{kind,-8}: {wall / (frames * modules):F3} ms wall, {cpuMs / (frames * modules):F3} ms CPU per module-frame (copies in and out included)");
    }
    (corrector as IDisposable)?.Dispose();
}

// The e2e's sender: a process of its own, so that the receiver's CPU time is the bench process's. Prints "ready" once
// its frames are rendered and waits for a line on its input (or its end), then prints "sending" and sends; at the end
// "sent PACKETS SECONDS".
static void SendProcess(int modules, int frames, double rate, int senders, string ports)
{
    var distinct = Enumerable.Range(0, Math.Min(frames, 4)).Select(i => Words(modules, i)).ToArray(); // rendered before the clock starts
    var destinations = ports.Split(',').Select((port, m) => new ModuleDestination(m, new IPEndPoint(IPAddress.Loopback, int.Parse(port)))).ToArray();
    Console.WriteLine("ready");
    Console.ReadLine();
    Console.WriteLine("sending");
    var (sent, seconds) = Send(destinations, distinct, frames, rate, senders);
    Console.WriteLine($"sent {sent} {seconds.ToString(CultureInfo.InvariantCulture)}");
}

// Runs the sender process to `ports` and `receive` alongside; the receiver's CPU time and wall time are counted from
// the moment the sender starts sending to the end of `receive`. `beforeSending` runs once the sender process is up and
// ready (its start-up, seconds on a loaded machine, counts against no receive timeout).
static async Task<SendMeasure> SendTo(IEnumerable<int> ports, int modules, int frames, double rate, int senders, Func<Task> receiveEnd,
    Action? beforeSending = null)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardInput = true };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") // run as `dotnet JungfrauBench.dll`
        start.ArgumentList.Add(typeof(SendMeasure).Assembly.Location);
    foreach (var arg in new[] { "send", "--modules", $"{modules}", "--frames", $"{frames}", "--rate", $"{rate}", "--senders", $"{senders}",
                                "--ports", string.Join(",", ports) })
        start.ArgumentList.Add(arg);
    using var sender = Process.Start(start)!;
    string? line;
    while ((line = await sender.StandardOutput.ReadLineAsync()) is not null && line != "ready")
    {
    }
    beforeSending?.Invoke();
    await sender.StandardInput.WriteLineAsync("go");
    sender.StandardInput.Close();
    while ((line = await sender.StandardOutput.ReadLineAsync()) is not null && line != "sending")
    {
    }
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var clock = Stopwatch.StartNew();
    var sentLine = sender.StandardOutput.ReadToEndAsync();
    await receiveEnd();
    var seconds = clock.Elapsed.TotalSeconds;
    var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
    await sender.WaitForExitAsync();
    var sent = (await sentLine).Split('\n').Single(l => l.StartsWith("sent ")).Split(' ');
    return new SendMeasure(long.Parse(sent[1]), double.Parse(sent[2], CultureInfo.InvariantCulture), seconds, cpuMs);
}

static void PrintMeasure(string what, SendMeasure m, int frames, long received, long caught, int modules, string rest) =>
    Console.WriteLine($"{what,-40} | {frames / m.SendSeconds,8:F0} | {received / m.ReceiveSeconds,8:F0} | " +
                      $"{received * (double)modules * JungfrauModule.Pixels * 2 / m.ReceiveSeconds / 1e9,8:F2} | {m.Packets - caught,12} | " +
                      $"{m.ReceiverCpuMs / Math.Max(received, 1),15:F2} | {rest}");

static async Task<int> EndToEnd(int modules, int frames, double rate, int senders, string engine, int platform, int device, string output,
    string[] folders, float? trackBand, bool gaps, bool rawBeside, CancellationToken token)
{
    var references = Directory.CreateTempSubdirectory("jungfrau-bench-maps-").FullName;
    var model = new JungfrauModel(modules);
    JungfrauCalibrationFile.Write(Path.Combine(references, "pedestal.h5"), JungfrauCalibrationFile.Pedestal, model.Pedestal);
    JungfrauCalibrationFile.Write(Path.Combine(references, "gain.h5"), JungfrauCalibrationFile.Gain, model.Gain);
    Console.WriteLine($"e2e: {frames} frames of {modules} modules on {modules} ports, sender process with {Math.Clamp(senders, 1, modules)} threads at " +
                      $"{(rate > 0 ? $"{rate} frames/s" : "its fastest")}, {output} on {engine}, " +
                      (gaps ? "placed with the chip gaps" : "stacked raw modules") +
                      (trackBand is { } band ? $", pedestal tracking from G0 pixels within {band} keV" : "") +
                      (rawBeside ? ", raw words saved beside" : ""));
    Console.WriteLine($"{"run",-40} | sent fps | recv fps | GB/s raw | packets lost | recv CPU ms/frm | frames complete/incomplete/missed, saved");

    // the limit: the same sender into null receivers (one receive thread and assembler per port, frames discarded)
    var assemblers = Enumerable.Range(0, modules).Select(m => new ModuleFrameAssembler(
        new JungfrauAssemblerOptions { ModuleIds = [m], FirstFrameNumber = 1 }, frame => frame.Dispose())).ToArray();
    var listeners = assemblers.Select(a => new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), a, TimeSpan.FromMilliseconds(200))).ToArray();
    foreach (var listener in listeners)
        listener.Start();
    var limit = await SendTo(listeners.Select(l => l.Port), modules, frames, rate, senders, async () =>
    {
        // all there is has come once nothing came for 0.5 s
        var since = Stopwatch.GetTimestamp();
        while (listeners.Any(l => l.DatagramsReceived < (long)frames * JungfrauModule.PacketsPerFrame)
               && Stopwatch.GetElapsedTime(Math.Max(since, listeners.Max(l => l.LastDatagramTicks))) < TimeSpan.FromMilliseconds(500))
            await Task.Delay(10, token);
    });
    foreach (var listener in listeners)
        listener.Dispose();
    var nullFrames = assemblers.Min(a => a.FramesComplete + a.FramesIncomplete);
    PrintMeasure("limit: null receivers", limit, frames, nullFrames, assemblers.Sum(a => a.Count(PacketVerdict.Placed)), modules,
        $"{assemblers.Min(a => a.FramesComplete)}/{assemblers.Max(a => a.FramesIncomplete)}/{frames - nullFrames}, -");

    var failed = false;
    foreach (var folder in folders)
    {
        var saving = folder != "none";
        if (saving)
            Directory.CreateDirectory(folder);
        // the run's det block says what it does: photons of the stand-in's 12.4 keV, energies (photon_energy 0) or raw words
        var jfrau = output == "raw" ? "{}"
            : $$"""{"pedestal_path": "pedestal.h5", "gain_path": "gain.h5", "photon_energy": {{(output == "photons" ? "12.4" : "0")}} }""";
        var rawSaving = saving && rawBeside && output != "raw"
            ? """{"enabled": true, "base_path": "raw", "filename_prefix": "jf_raw", "nb_frames_per_file": 1000, "file_exists_policy": "overwrite"}"""
            : "{}";
        var settings = ReceiverSettings.Parse($$"""
            {"receiver": {"channel": {"kind": "jungfrau_udp", "timeout_ms": 10000,
                                      "jungfrau": {"ports": [{{string.Join(", ", Enumerable.Repeat(0, modules))}}],
                                                   "correction": "{{engine}}", "opencl_platform": {{platform}}, "opencl_device": {{device}},
                                                   "geometry": {"rows": {{modules}}, "double_pixel_gaps": {{(gaps ? "true" : "false")}} }{{(trackBand is { } g0Band ? $", \"track_g0_band\": {g0Band}" : "")}} } },
                          "memory_cap": "4GiB", "saving_root": "{{(saving ? folder : references)}}", "reference_root": "{{references}}"},
             "acq_params": {"acq": {"nb_frames": {{frames}} }, "det": {"jfrau": {{jfrau}} }, "saving": {{rawSaving}} },
             "proc_params": {"class_name": "LimaProcessingLegacy",
                             "saving": {"enabled": {{(saving ? "true" : "false")}}, "base_path": "out", "filename_prefix": "jf",
                                        "nb_frames_per_file": 1000, "file_exists_policy": "overwrite"} } }
            """);
        await using var run = await ReceiverRun.PrepareAsync(settings, token);
        var channel = (JungfrauChannel)run.Channel;
        foreach (var warning in channel.Warnings)
            Console.WriteLine($"warning: {warning}");
        Task<ReceiverSummary>? running = null;
        ReceiverSummary? summary = null;
        // the run (and its idle timeout) starts once the sender is ready to send
        var measure = await SendTo(channel.Ports, modules, frames, rate, senders, async () => summary = await running!,
            beforeSending: () => running = run.RunAsync(token));
        var caught = channel.PortCounters.Sum(p => p.PacketsCaught);
        PrintMeasure(saving ? $"e2e, saving to {folder}" : "e2e, no saving", measure, frames, summary!.Counters.Received, caught, modules,
            $"{channel.FramesComplete}/{channel.FramesIncomplete}/{channel.FramesMissed}, {summary.Saved}" +
            (channel.RawSaving is null ? "" : $", raw {channel.RawFramesSaved} ({channel.RawFramesDropped} dropped)") +
            (summary.Error is { } error ? $"; error: {error.Message}" : ""));
        Console.WriteLine($"{"  channel thread",-40} | {channel.Profile}");
        failed |= summary.Error is not null;
        if (!saving)
            continue;
        Directory.Delete(Path.Combine(folder, "out"), recursive: true); // a tmpfs's memory back
        if (channel.RawSaving is not null)
            Directory.Delete(Path.Combine(folder, "raw"), recursive: true);
        Console.WriteLine($"{"limit: writing to " + folder,-40} | {WriteRate(folder, summary.SavedBytes):F2} GB/s (as many bytes as the run saved, " +
                          "one file written and flushed to the device)");
    }
    Directory.Delete(references, recursive: true);
    return failed ? 1 : 0;
}

// GB/s of writing `bytes` (at least 64 MiB) in 4 MiB blocks to a new file in `folder`, flushed to the device.
static double WriteRate(string folder, long bytes)
{
    bytes = Math.Max(bytes, 64L << 20);
    var path = Path.Combine(folder, "write-rate.bin");
    var block = new byte[4 << 20];
    Random.Shared.NextBytes(block);
    var clock = Stopwatch.StartNew();
    using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
    {
        for (long written = 0; written < bytes; written += block.Length)
            file.Write(block);
        file.Flush(flushToDisk: true);
    }
    var seconds = clock.Elapsed.TotalSeconds;
    File.Delete(path);
    return bytes / seconds / 1e9;
}

internal sealed record SendMeasure(long Packets, double SendSeconds, double ReceiveSeconds, double ReceiverCpuMs);
