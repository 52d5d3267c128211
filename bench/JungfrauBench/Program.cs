// JungfrauBench: JUNGFRAU receive-side figures of this machine (issue 10, Deliver 7); docs/BENCHMARKS.md "JUNGFRAU".
//   receive     one receive thread (recvmmsg + assembly) on one UDP port, fed by a sender thread over loopback at each
//               asked frame rate: packets/s and GB/s taken and packets lost
//   assembly    datagrams already in memory through the assembler: CPU ms per module-frame
//   correction  energy and photons of whole frames, cpu (SIMD) or opencl: CPU/device ms per module-frame
//   e2e         N modules on N ports through the jungfrau_udp channel, assembly + correction + HDF5 saving (lima2's
//               receiver engine), sent as fast as the sender goes or at --rate: frames/s, GB/s, packets lost
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
var engine = new Option<string>("--engine") { Description = "cpu | opencl", DefaultValueFactory = _ => "cpu" };
engine.AcceptOnlyFromAmong("cpu", "opencl");
var platform = new Option<int>("--platform") { Description = "OpenCL platform index (a CPU device when there is none)", DefaultValueFactory = _ => 0 };
var device = new Option<int>("--device") { Description = "OpenCL device index", DefaultValueFactory = _ => 0 };
var output = new Option<string>("--output") { Description = "e2e: raw | energy | photons", DefaultValueFactory = _ => "energy" };
output.AcceptOnlyFromAmong("raw", "energy", "photons");
var folder = new Option<string>("--folder") { Description = "e2e: saving folder (tmpfs to leave the disk out)", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "jungfrau-bench") };

var receive = new Command("receive", "one receive thread on one port: packets/s, GB/s and loss per asked frame rate") { modules, frames, rates };
receive.SetAction(r => Receive(r.GetValue(modules), r.GetValue(frames), [.. r.GetValue(rates)!.Split(',').Select(double.Parse)]));
var assembly = new Command("assembly", "the assembler alone on datagrams in memory: ms per module-frame") { modules, frames };
assembly.SetAction(r => Assembly(r.GetValue(modules), r.GetValue(frames)));
var correction = new Command("correction", "energy and photons: ms per module-frame") { modules, frames, engine, platform, device };
correction.SetAction(r => Correction(r.GetValue(modules), r.GetValue(frames), Corrector(r.GetValue(engine)!, new JungfrauModel(r.GetValue(modules)),
    r.GetValue(platform), r.GetValue(device))));
var e2e = new Command("e2e", "the jungfrau_udp channel end to end: assembly + correction + saving") { modules, frames, rate, engine, platform, device, output, folder };
e2e.SetAction((r, token) => EndToEnd(r.GetValue(modules), r.GetValue(frames), r.GetValue(rate), r.GetValue(engine)!, r.GetValue(platform),
    r.GetValue(device), r.GetValue(output)!, r.GetValue(folder)!, token));
var root = new RootCommand("JUNGFRAU receive-side benchmarks") { receive, assembly, correction, e2e };
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

static void Receive(int modules, int frames, double[] rates)
{
    var words = Words(modules);
    Console.WriteLine($"receive: {modules} modules' packets to one port, one receive thread, {frames} frames per rate");
    Console.WriteLine("asked fps | sent fps | packets sent | received | lost | frames complete/incomplete/missed | Mpackets/s | GB/s | mean batch");
    foreach (var fps in rates)
    {
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [.. Enumerable.Range(0, modules)], FirstFrameNumber = 1 },
            frame => frame.Dispose());
        using var listener = new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), assembler, TimeSpan.FromMilliseconds(200));
        using var sender = new JungfrauPacketSender([.. Enumerable.Range(0, modules).Select(m => new ModuleDestination(m, new IPEndPoint(IPAddress.Loopback, listener.Port)))]);
        if (listener.ReceiveBufferWarning is { } warning && fps == rates[0])
            Console.WriteLine($"warning: {warning}");
        listener.Start();
        var start = Stopwatch.GetTimestamp();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < frames; i++)
        {
            if (fps > 0)
                while (clock.Elapsed.TotalSeconds < i / fps)
                    Thread.SpinWait(100);
            sender.SendFrame((ulong)i + 1, words);
        }
        var sendSeconds = clock.Elapsed.TotalSeconds;
        // the loop has all there is once nothing came for 0.5 s
        while (Stopwatch.GetElapsedTime(listener.LastDatagramTicks) < TimeSpan.FromMilliseconds(500) && listener.DatagramsReceived < sender.PacketsSent)
            Thread.Sleep(10);
        var seconds = Stopwatch.GetElapsedTime(start, listener.LastDatagramTicks).TotalSeconds;
        listener.Stop();
        var received = listener.DatagramsReceived;
        Console.WriteLine($"{fps,9:F0} | {frames / sendSeconds,8:F0} | {sender.PacketsSent,12} | {received,8} | {sender.PacketsSent - received,4} | " +
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

static void Correction(int modules, int frames, IJungfrauCorrector corrector)
{
    var raw = Words(modules).SelectMany(m => m).ToArray();
    var energy = new float[raw.Length];
    var photons = new int[raw.Length];
    Console.WriteLine($"correction on {(corrector is JungfrauOpenClCorrection ocl ? ocl.Device.ToString() : "the CPU (SIMD, one thread)")}, {frames} frames of {modules} modules");
    corrector.ToEnergy(raw, energy); // builds and warms up
    foreach (var kind in new[] { "energy", "photons" })
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < frames; i++)
            if (kind == "energy")
                corrector.ToEnergy(raw, energy);
            else
                corrector.ToPhotons(raw, photons, 12.4f, 6.2f);
        var wall = clock.Elapsed.TotalMilliseconds;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        Console.WriteLine($"{kind,-8}: {wall / (frames * modules):F3} ms wall, {cpuMs / (frames * modules):F3} ms CPU per module-frame (copies in and out included)");
    }
    (corrector as IDisposable)?.Dispose();
}

static async Task<int> EndToEnd(int modules, int frames, double rate, string engine, int platform, int device, string output, string folder,
    CancellationToken token)
{
    Directory.CreateDirectory(folder);
    var model = new JungfrauModel(modules);
    JungfrauCalibrationFile.Write(Path.Combine(folder, "pedestal.h5"), JungfrauCalibrationFile.Pedestal, model.Pedestal);
    JungfrauCalibrationFile.Write(Path.Combine(folder, "gain.h5"), JungfrauCalibrationFile.Gain, model.Gain);
    var settings = ReceiverSettings.Parse($$"""
        {"receiver": {"channel": {"kind": "jungfrau_udp", "timeout_ms": 10000,
                                  "jungfrau": {"ports": [{{string.Join(", ", Enumerable.Repeat(0, modules))}}], "output": "{{output}}",
                                               "correction": "{{engine}}", "opencl_platform": {{platform}}, "opencl_device": {{device}},
                                               "pedestal_file": "pedestal.h5", "gain_file": "gain.h5"} },
                      "memory_cap": "4GiB", "saving_root": "{{folder}}", "reference_root": "{{folder}}"},
         "acq_params": {"acq": {"nb_frames": {{frames}} } },
         "proc_params": {"class_name": "LimaProcessingLegacy",
                         "saving": {"enabled": true, "base_path": "out", "filename_prefix": "jf", "nb_frames_per_file": 1000,
                                    "file_exists_policy": "overwrite"} } }
        """);
    // a few distinct frames rendered before the clock starts, sent in turn: the sender is not the measure
    var distinct = Enumerable.Range(0, Math.Min(frames, 4)).Select(i => Words(modules, i)).ToArray();
    await using var run = await ReceiverRun.PrepareAsync(settings, token);
    var channel = (JungfrauChannel)run.Channel;
    foreach (var warning in channel.Warnings)
        Console.WriteLine($"warning: {warning}");
    using var sender = new JungfrauPacketSender([.. channel.Ports.Select((port, m) => new ModuleDestination(m, new IPEndPoint(IPAddress.Loopback, port)))]);
    var running = run.RunAsync(token);
    var clock = Stopwatch.StartNew();
    await Task.Run(() =>
    {
        for (var i = 0; i < frames; i++)
        {
            if (rate > 0)
                while (clock.Elapsed.TotalSeconds < i / rate)
                    Thread.SpinWait(100);
            sender.SendFrame((ulong)i + 1, distinct[i % distinct.Length]);
        }
    }, token);
    var sendSeconds = clock.Elapsed.TotalSeconds;
    var summary = await running;
    var ports = channel.PortCounters;
    var seconds = summary.Elapsed.TotalSeconds;
    Console.WriteLine($"e2e: {modules} modules on {modules} ports, {output} on {(channel.Correction as JungfrauOpenClCorrection)?.Device.ToString() ?? "the CPU"}, " +
                      $"saved to {folder}: sent {frames} frames in {sendSeconds:F2} s ({frames / sendSeconds:F0} frames/s)");
    Console.WriteLine($"received {summary.Counters.Received} frames in {seconds:F2} s = {summary.Counters.Received / seconds:F0} frames/s, " +
                      $"{summary.Counters.Received * (double)modules * JungfrauModule.Pixels * 2 / seconds / 1e9:F2} GB/s raw; saved {summary.Saved}, " +
                      $"dropped {summary.Counters.Dropped}; frames complete/incomplete/missed {channel.FramesComplete}/{channel.FramesIncomplete}/{channel.FramesMissed}; " +
                      $"packets sent {sender.PacketsSent}, caught {ports.Sum(p => p.PacketsCaught)}, lost {sender.PacketsSent - ports.Sum(p => p.PacketsCaught)}" +
                      (summary.Error is { } error ? $"; error: {error.Message}" : ""));
    return summary.Error is null ? 0 : 1;
}
