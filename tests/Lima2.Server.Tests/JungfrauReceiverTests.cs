using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// A LimaReceiver on <c>jungfrau_udp</c>, configured as a beamline registers it (config/beamline.yaml's receiver
/// <c>jungfrau</c> block → the device's <c>jungfrau</c> property), driven from PyTango in the conductor's order and fed
/// by the stand-in JUNGFRAU; its per-port counters read as attributes.
/// </summary>
[Collection(nameof(ClassSchemasCollection))]
public sealed class JungfrauReceiverTests
{
    private const int Modules = 2;

    private static readonly string[] Counters =
        ["ports", "packets_caught", "packets_padded", "packets_late", "packets_duplicate", "packets_rejected", "frames_complete", "frames_incomplete", "frames_missed"];

    [Fact]
    public async Task A_registered_jungfrau_receiver_takes_the_stand_ins_frames_and_its_per_port_counters_add_up_in_its_attributes()
    {
        const int frames = 10;
        // ports 0: the kernel picks free ones, the receiver says which (jungfrau_ports)
        using var system = new Lima2System(receivers: 1,
            jungfrau: ("jungfrau:2x1", ["{ports: [0, 0], window: 8, receive_buffer: 4MiB, frame_timeout_ms: 5000}"]));
        var receiver = system.Receivers[0];
        var property = Python.Eval($$"""
            import tango
            print("\n".join(tango.Database().get_device_property("{{receiver}}", "jungfrau")["jungfrau"]))
            """, EmbeddedTangoDb.Environment);
        Assert.Equal([0, 0], JungfrauChannelConfig.Parse(property, "property").Ports);

        var ports = JsonSerializer.Deserialize<int[]>(Python.Eval($$$"""
            import json, uuid, tango
            r = tango.DeviceProxy("{{{receiver}}}")
            r.set_timeout_millis(30000)
            r.acq_params = json.dumps({"acq": {"nb_frames": {{{frames}}}, "expo_time": 1000}, "det": {"gain_mode": "dynamic"}})
            r.proc_params = json.dumps({"class_name": "LimaProcessingLegacy", "saving": {"enabled": True, "base_path": "{{{system.Root}}}/data",
                                        "filename_prefix": "jf", "nb_frames_per_file": 100}})
            r.Prepare(str(uuid.uuid1()))
            r.Start()
            print(json.dumps([int(p) for p in r.jungfrau_ports]))
            """, EmbeddedTangoDb.Environment))!;
        Assert.Equal(Modules, ports.Length);
        Assert.DoesNotContain(0, ports);

        using var standIn = new JungfrauStandIn(Diffraction(), new JungfrauModel(Modules), new JungfrauStandInOptions
        {
            Ports = [.. ports.Select(p => new IPEndPoint(IPAddress.Loopback, p))],
            Frames = frames,
            Rate = 5,
            LossFraction = 0.02,
            Seed = 7,
        });
        await standIn.RunAsync(CancellationToken.None);

        var read = JsonDocument.Parse(Python.Eval($$"""
            import json, time, tango
            r = tango.DeviceProxy("{{receiver}}")
            labels = list(r.get_attribute_config("acq_state").enum_labels)
            t0 = time.monotonic()
            while labels[int(r.acq_state)] != "idle" and time.monotonic() - t0 < 60:
                time.sleep(0.05)
            out = {"state": labels[int(r.acq_state)], "saved": int(r.nb_frames_saved)}
            for name in {{JsonSerializer.Serialize(Counters)}}:
                out[name] = [int(v) for v in r.read_attribute("jungfrau_" + name).value]
            print(json.dumps(out))
            """, EmbeddedTangoDb.Environment)).RootElement;
        long[] Get(string name) => [.. read.GetProperty(name).EnumerateArray().Select(e => e.GetInt64())];

        Assert.Equal("idle", read.GetProperty("state").GetString());
        Assert.Equal(frames, read.GetProperty("saved").GetInt64());
        Assert.Equal(ports.Select(p => (long)p), Get("ports"));
        // every packet of every frame is caught or padded: those left out, and any the kernel dropped on this busy machine
        Assert.InRange(standIn.PacketsDropped, 1, 200);
        Assert.InRange(Get("packets_caught").Sum(), 1, standIn.PacketsSent);
        Assert.Equal(standIn.PacketsDropped + standIn.PacketsSent - Get("packets_caught").Sum(), Get("packets_padded").Sum());
        Assert.Equal([0L, 0L], Get("packets_late"));
        Assert.Equal([0L, 0L], Get("packets_duplicate"));
        Assert.Equal([0L, 0L], Get("packets_rejected"));
        for (var p = 0; p < Modules; p++)
        {
            Assert.Equal(frames, Get("frames_complete")[p] + Get("frames_incomplete")[p] + Get("frames_missed")[p]);
            Assert.Equal(128L * frames, Get("packets_caught")[p] + Get("packets_padded")[p]);
        }
        Assert.True(Get("frames_incomplete").Sum() > 0);
    }

    [Fact]
    public void A_receive_buffer_the_kernel_cut_to_rmem_max_shows_in_the_receivers_Status_and_log_with_the_sysctl_that_fixes_it()
    {
        var rmemMax = long.Parse(File.ReadAllText("/proc/sys/net/core/rmem_max").Trim());
        var asked = Math.Min(int.MaxValue / 2, rmemMax + (1 << 20));
        using var system = new Lima2System(receivers: 1,
            jungfrau: ("jungfrau:2x1", [$"{{ports: [0, 0], receive_buffer: {asked}, frame_timeout_ms: 5000}}"]));
        var status = JsonSerializer.Deserialize<string[]>(Python.Eval($$"""
            import json, uuid, tango
            r = tango.DeviceProxy("{{system.Receivers[0]}}")
            r.set_timeout_millis(30000)
            before = r.status()
            r.acq_params = json.dumps(dict(acq=dict(nb_frames=1, expo_time=1000)))
            r.proc_params = json.dumps(dict(class_name="LimaProcessingLegacy"))
            r.Prepare(str(uuid.uuid1()))
            prepared = r.status()
            r.Stop()
            print(json.dumps([before, prepared, r.status()]))
            """, EmbeddedTangoDb.Environment))!;
        Assert.DoesNotContain("rmem_max", status[0]);
        // one line per port, kept in Status after the run until the next Prepare
        foreach (var text in status[1..])
        {
            Assert.Equal(2, Regex.Matches(text, $@"UDP port \d+ got a receive buffer of {rmemMax} bytes, {asked} were asked: net\.core\.rmem_max is {rmemMax} bytes; " +
                                                $@"raise it \(sysctl -w net\.core\.rmem_max={asked}\)").Count);
        }
        Assert.StartsWith("prepared ", status[1]);
        Assert.True(SpinWait.SpinUntil(() => Directory.EnumerateFiles(system.LogFolder, "*", SearchOption.AllDirectories)
            .Any(f => File.ReadAllText(f).Contains($"sysctl -w net.core.rmem_max={asked}")), TimeSpan.FromSeconds(60)),
            "the warning is not in the server's log:\n" +
            string.Join("\n", Directory.EnumerateFiles(system.LogFolder, "*", SearchOption.AllDirectories).Select(f => $"{f}:\n{File.ReadAllText(f)}")));
    }

    [Fact]
    public void A_jungfrau_receiver_without_its_block_or_with_a_bad_one_is_refused_at_registration_naming_the_field()
    {
        foreach (var (receiver, expected) in new[]
                 {
                     ("{channel: jungfrau_udp}", "receivers[0]: a jungfrau_udp receiver has a jungfrau block"),
                     ("{channel: jungfrau_udp, jungfrau: {ports: [70000]}}", "receivers[0].jungfrau.ports: ports are in [0, 65535]"),
                     ("{channel: simulator, jungfrau: {ports: [50001]}}", "receivers[0]: a jungfrau_udp receiver has a jungfrau block, and only it"),
                 })
        {
            var config = Path.Combine(Path.GetTempPath(), $"jf-beamline-{Guid.NewGuid():N}.yaml");
            File.WriteAllText(config, $"saving_root: /tmp\nreceivers:\n  - {receiver}\n");
            try
            {
                using var register = ChildProcess.Start(Lima2System.Executable, ["--register", config], EmbeddedTangoDb.Environment);
                Assert.Equal(1, register.WaitForExit(TimeSpan.FromSeconds(30)));
                Assert.Contains(expected, register.Output);
            }
            finally
            {
                File.Delete(config);
            }
        }
    }

    [Fact]
    public void Two_jungfrau_receivers_whose_dispatch_does_not_match_their_ports_or_the_topology_are_refused_at_registration_in_one_sentence()
    {
        const string geometry = "geometry: {rows: 2}";
        foreach (var (topology, blocks, expected) in new[]
                 {
                     // whole frames to both receivers must be dealt: full_frame (the default) is one receiver's
                     ("round_robin", $"{{ports: [50001, 50002], {geometry}}}",
                      "receivers[0].jungfrau.dispatch: full_frame gives every frame to one receiver: 2 receivers take whole frames with round_robin " +
                      "(frame k to receiver k mod n) or parts of every frame with modules"),
                     // round robin: every module on each receiver's ports
                     ("round_robin", $"{{ports: [50001], dispatch: round_robin, {geometry}}}", "receivers[0].jungfrau.geometry: 2 x 1 modules, the ports carry 1"),
                     // the clients read where frame k is from the topology
                     ("partial", $"{{ports: [50001, 50002], dispatch: round_robin, {geometry}}}",
                      "receivers[0].jungfrau.dispatch: round_robin does not go with topology partial: modules dispatch needs topology partial, round_robin needs round_robin"),
                     ("round_robin", $"{{ports: [50001], dispatch: modules, {geometry}}}",
                      "receivers[0].jungfrau.dispatch: modules does not go with topology round_robin"),
                 })
        {
            var config = Path.Combine(Path.GetTempPath(), $"jf-beamline-{Guid.NewGuid():N}.yaml");
            File.WriteAllText(config, $"saving_root: /tmp\ntopology: {topology}\nreceivers:\n" +
                                      $"  - {{channel: jungfrau_udp, jungfrau: {blocks}}}\n  - {{channel: jungfrau_udp, jungfrau: {blocks.Replace("5000", "5100")}}}\n");
            try
            {
                using var register = ChildProcess.Start(Lima2System.Executable, ["--register", config], EmbeddedTangoDb.Environment);
                Assert.Equal(1, register.WaitForExit(TimeSpan.FromSeconds(30)));
                Assert.Contains(expected, register.Output);
            }
            finally
            {
                File.Delete(config);
            }
        }
    }

    [Fact]
    public void The_4M_beamline_example_splits_its_8_modules_between_2_receivers_and_registers_their_blocks_as_properties()
    {
        var beamline = Beamline.Load(Path.Combine(RepoPaths.Root, "config", "jungfrau4m-beamline.yaml"));
        Assert.Equal(("jungfrau:4x2", "partial"), (beamline.Detector, beamline.Topology));
        Assert.Equal([[0, 1, 2, 3], [4, 5, 6, 7]], beamline.Receivers.Select(r => r.Jungfrau!.ModulesOf(beamline.Receivers.IndexOf(r), 2)));
        // what --register writes to each receiver's jungfrau property reads back as the same block
        Assert.All(beamline.Receivers, r =>
        {
            var read = JungfrauChannelConfig.Parse(r.Jungfrau!.ToPropertyText(), "property");
            Assert.Equal(r.Jungfrau.Ports, read.Ports);
            Assert.Equal((r.Jungfrau.Geometry, r.Jungfrau.Dispatch, r.Jungfrau.Correction), (read.Geometry, read.Dispatch, read.Correction));
            Assert.Equal(r.Jungfrau.ToPropertyText(), read.ToPropertyText());
        });
    }

    private static IFrameSource Diffraction() => FrameGenerator.Create(new GeneratorParams
    {
        Type = GeneratorType.Diffraction,
        Width = JungfrauModule.Width,
        Height = JungfrauModule.Height * Modules,
        PixelType = PixelType.Gray32,
    });
}
