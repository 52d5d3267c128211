using System.CommandLine;
using System.Diagnostics;
using System.Net;
using Lima2.Acquisition.Jungfrau;
using Lima2.Core.Frames;
using Lima2.Detectors.Jungfrau;

namespace Lima2.Cli.Commands;

/// <summary>
/// <c>lima2 stream --jungfrau</c>: the stand-in JUNGFRAU (<see cref="JungfrauStandIn"/>), N modules of UDP packets on
/// 127.0.0.1, module i to port <c>--port</c> + i (with <c>--ports-per-module 2</c>, its halves to port + 2i and + 2i + 1),
/// or with <c>--destinations P0 P1 ...</c> frame k to entry k mod n of that list (module i to port Pk + i), as a
/// JUNGFRAU's UDP destination list deals whole frames between receivers. Frames come from the diffraction simulator (photon counts turned into
/// raw words by the synthetic calibration of <c>--seed</c>), from an HDF5 file of raw words, or are dark (<c>--dark</c>).
/// </summary>
internal static class JungfrauStream
{
    public sealed record Set(Option<bool> Enabled, Option<int> Modules, Option<int> Port, Option<int[]> Destinations, Option<int> PortsPerModule,
        Option<double> Loss, Option<string[]> DropPackets, Option<bool> Dark, Option<int> Seed, Option<float> PhotonEnergy, Option<string?> GainFile)
    {
        public IEnumerable<Option> All => [Enabled, Modules, Port, Destinations, PortsPerModule, Loss, DropPackets, Dark, Seed, PhotonEnergy, GainFile];
    }

    public static Set Options()
    {
        var portsPerModule = new Option<int>("--ports-per-module")
        {
            Description = "JUNGFRAU: UDP interfaces per module, 1 or 2 (each of two carries half the module, 64 packets)",
            DefaultValueFactory = _ => 1,
        };
        portsPerModule.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is not (1 or 2))
                result.AddError($"--ports-per-module is 1 or 2, got {result.GetValueOrDefault<int>()}");
        });
        var drop = new Option<string[]>("--drop-packet")
        {
            Description = "JUNGFRAU: leave out this packet, FRAME:MODULE:PACKET (frame index from 0, module 0.., packet 0-127), tests",
            AllowMultipleArgumentsPerToken = true,
        };
        drop.Validators.Add(result =>
        {
            foreach (var text in result.GetValueOrDefault<string[]>() ?? [])
                if (ParseDrop(text) is null)
                    result.AddError($"--drop-packet {text}: FRAME:MODULE:PACKET, e.g. 3:1:17 (packet 0-127)");
        });
        return new(
            new Option<bool>("--jungfrau") { Description = "send JUNGFRAU UDP packets (sls_detector_header + 8192 B) instead of a DECTRIS stream" },
            new Option<int>("--modules") { Description = "JUNGFRAU modules (1024x512 each); the simulated frame is 1024 x 512*modules", DefaultValueFactory = _ => 1 },
            new Option<int>("--port") { Description = "UDP port of module 0 on 127.0.0.1; module i sends to port + i (port + 2i, + 2i + 1 with two ports per module)", DefaultValueFactory = _ => 50001 },
            new Option<int[]>("--destinations")
            {
                Description = "JUNGFRAU: the UDP destination list instead of --port: frame k goes to entry k mod n (full-frame round robin " +
                              "between receivers), module i to that entry's port + i (+ 2i, + 2i + 1 with two ports per module)",
                AllowMultipleArgumentsPerToken = true,
            },
            portsPerModule,
            new Option<double>("--loss") { Description = "JUNGFRAU: leave out each packet with this probability (tests)", DefaultValueFactory = _ => 0 },
            drop,
            new Option<bool>("--dark") { Description = "JUNGFRAU: dark frames of a pedestal run (frame i in gain stage i % 3)" },
            new Option<int>("--seed") { Description = "JUNGFRAU: seed of the synthetic pedestal and gain maps and of the packet loss", DefaultValueFactory = _ => 1 },
            new Option<float>("--photon-energy") { Description = "JUNGFRAU: photon energy in keV the simulated counts are converted with", DefaultValueFactory = _ => 12.4f },
            new Option<string?>("--gain-file") { Description = "JUNGFRAU: first write the synthetic gain maps to this HDF5 file (/gain, a receiver's gain_file)" });
    }

    public static async Task<int> RunAsync(ParseResult result, Set jungfrau, Option<long> frames, Option<double> rate, Option<string?> file,
        Option<string> dataset, Option<string> generator, CancellationToken cancellationToken)
    {
        var modules = result.GetValue(jungfrau.Modules);
        var content = result.GetValue(jungfrau.Dark) ? JungfrauStandInContent.Dark
            : result.GetValue(file) is not null ? JungfrauStandInContent.RawWords : JungfrauStandInContent.Photons;
        var source = content == JungfrauStandInContent.Dark ? null
            : StandInFrames.Open(result, file, dataset, generator, new FrameInfo(JungfrauModule.Width, JungfrauModule.Height * modules, PixelType.Gray32));
        try
        {
            var firstPorts = result.GetValue(jungfrau.Destinations) is { Length: > 0 } list ? list : [result.GetValue(jungfrau.Port)];
            var interfaces = result.GetValue(jungfrau.PortsPerModule);
            var ports = modules * interfaces;
            if (firstPorts.Where(port => port < 1 || port + ports - 1 > IPEndPoint.MaxPort).Select(port => (int?)port).FirstOrDefault() is { } bad)
                throw new ArgumentException($"port {bad} leaves no room for {modules} modules' {ports} ports");
            var options = new JungfrauStandInOptions
            {
                Destinations = [.. firstPorts.Select(first => Enumerable.Range(0, ports).Select(p => new IPEndPoint(IPAddress.Loopback, first + p)).ToArray())],
                Drop = (result.GetValue(jungfrau.DropPackets) ?? []).Select(text => ParseDrop(text)!.Value).ToHashSet(),
                Interfaces = interfaces,
                Frames = result.GetValue(frames),
                Rate = result.GetValue(rate) is > 0 and var fps ? fps : null,
                LossFraction = result.GetValue(jungfrau.Loss),
                Seed = result.GetValue(jungfrau.Seed),
                Content = content,
            };
            var model = new JungfrauModel(modules, result.GetValue(jungfrau.PhotonEnergy), options.Seed);
            if (result.GetValue(jungfrau.GainFile) is { } gainFile)
            {
                JungfrauCalibrationFile.Write(gainFile, JungfrauCalibrationFile.Gain, model.Gain);
                Console.WriteLine($"gain maps of {modules} modules written to {gainFile}:/{JungfrauCalibrationFile.Gain}");
            }
            using var standIn = new JungfrauStandIn(source, model, options);
            Console.WriteLine($"sending {options.Frames} {content.ToString().ToLowerInvariant()} frames of {modules} JUNGFRAU modules to 127.0.0.1:" +
                              string.Join(" then ", firstPorts.Select(first => ports > 1 ? $"{first}-{first + ports - 1}" : $"{first}")) +
                              (interfaces > 1 ? $" ({interfaces} ports per module)" : ""));
            var clock = Stopwatch.StartNew();
            await standIn.RunAsync(cancellationToken);
            Console.WriteLine($"sent {standIn.FramesSent} frames, {standIn.PacketsSent} packets ({standIn.PacketsDropped} left out), " +
                              StandInFrames.Throughput(standIn.FramesSent, standIn.BytesSent, clock.Elapsed));
            return 0;
        }
        finally
        {
            (source as IDisposable)?.Dispose();
        }
    }

    private static (long Frame, int Module, int Packet)? ParseDrop(string text) =>
        text.Split(':') is [var frame, var module, var packet] && long.TryParse(frame, out var f) && f >= 0
        && int.TryParse(module, out var m) && m >= 0 && int.TryParse(packet, out var p) && p is >= 0 and < JungfrauModule.PacketsPerFrame
            ? (f, m, p)
            : null;
}
