using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Lima2.Acquisition.Jungfrau;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// Issue 10's "done when": <c>lima2 stream --jungfrau --modules 8</c> into a control (<c>detector: jungfrau:4x2</c>,
/// <c>topology: partial</c>) and two receivers on <c>jungfrau_udp</c> with modules dispatch (modules 0–3 to receiver
/// 0's ports, 4–7 to receiver 1's), driven by scripts/lima2-run.py in the conductor's order: a pedestal run (acq_params
/// det <c>pedestal_run</c>), then a corrected (energy) SMX acquisition (proc_params <c>jfrau</c>, as Lima2's clients
/// send it) whose peak finder runs on OpenCL (PoCL here), with no property rewritten and no Init in between; the master files, virtual datasets
/// over both receivers' modules, read with h5py equal tests/Lima2.Acquisition.Tests/Python/jungfrau_reference.py's
/// assembled frames bit for bit; then a lossy run whose per-port counts add up.
/// </summary>
[Collection(nameof(ClassSchemasCollection))]
public sealed class JungfrauEndToEndTests
{
    private const int Modules = 8, Rows = 4, Columns = 2, GapX = 8, GapY = 36;
    private const int DarkFrames = 6, Frames = 4;

    /// <summary>Frames per second of the stand-in: what this loaded 2-core VM takes on its 8 ports with no packet lost.</summary>
    private const int Rate = 5;

    private static string Lima2Cli => Path.Combine(AppContext.BaseDirectory, "lima2");

    private static string Reference => Path.Combine(RepoPaths.Root, "tests", "Lima2.Acquisition.Tests", "Python", "jungfrau_reference.py");

    /// <summary>Receiver <paramref name="rank"/>'s channel block: its four modules' ports and the 4M's geometry, for every run.</summary>
    private static string Block(int firstPort, int rank) =>
        $"{{ports: [{string.Join(", ", Enumerable.Range(firstPort + rank * 4, 4))}], dispatch: modules, " +
        $"geometry: {{rows: {Rows}, columns: {Columns}, gap_x: {GapX}, gap_y: {GapY}, double_pixel_gaps: true}}, " +
        $"receive_buffer: 4MiB, window: 8, frame_timeout_ms: 5000}}";

    private static string AcqJson(int frames, string det = "", string saving = "{}") =>
        $$$"""{"acq": {"nb_frames": {{{frames}}}, "expo_time": 1000, "latency_time": 0, "trigger_mode": "internal"}, "det": {"gain_mode": "dynamic"{{{det}}}}, "saving": {{{saving}}}}""";

    [Fact]
    public void A_pedestal_run_then_a_corrected_SMX_run_of_8_modules_over_2_receivers_give_a_master_equal_to_the_numpy_reference()
    {
        var port = FreePort.ConsecutiveUdp(Modules);
        using var system = new Lima2System(receivers: 2, peakFinder: "opencl", beamlineSettings: "topology: partial",
            jungfrau: ($"jungfrau:{Rows}x{Columns}", [.. Enumerable.Range(0, 2).Select(r => Block(port, r))]));
        var gain = Path.Combine(system.Root, "jf", "gain.h5");
        Directory.CreateDirectory(Path.GetDirectoryName(gain)!);
        Assert.Contains("partial", Python.Eval($$"""
            import tango
            print(tango.Database().get_device_property("{{system.Control}}", "receiver_topology")["receiver_topology"][0])
            """, EmbeddedTangoDb.Environment));

        // 1. the pedestal run: dark frames, raw words saved, each receiver's pedestal maps of its modules
        var dark = Run(system, port, "dark", AcqJson(DarkFrames, """, "pedestal_run": "jf/pedestal_{filename_rank}.h5" """), $$$"""
            {"class_name": "LimaProcessingLegacy", "saving": {"enabled": true, "base_path": "{{{system.Root}}}/data", "filename_prefix": "dark",
             "nb_frames_per_file": 100, "file_exists_policy": "abort"}}
            """, ["--dark", "--frames", $"{DarkFrames}", "--gain-file", gain]);
        AssertAllFrames(dark, DarkFrames);

        // 2. the corrected run, next: each receiver corrects its modules with its own pedestal and the detector's gain
        // file, and saves their raw words beside (acq_params saving, a master file of their own)
        var smx = Run(system, port, "smx", AcqJson(Frames, saving: $$"""
            {"enabled": true, "base_path": "{{system.Root}}/data", "filename_prefix": "jf_raw", "nb_frames_per_file": 3, "file_exists_policy": "abort"}
            """), $$$"""
            {"class_name": "LimaProcessingSmx", "fifo": {"nb_fifo_frames": 16, "nb_threads": 2},
             "jfrau": {"gain_path": "jf/gain.h5", "pedestal_path": "jf/pedestal_{filename_rank}.h5", "photon_energy": 0},
             "fai": {"cutoff_pick": 5, "min_nb_peaks": 1, "error_model": "poisson", "nb_bins": 8},
             "saving_dense": {"enabled": true, "base_path": "{{{system.Root}}}/data", "filename_prefix": "jf", "nb_frames_per_file": 3,
                              "file_exists_policy": "abort"},
             "saving_sparse": {"enabled": true, "base_path": "{{{system.Root}}}/data", "filename_prefix": "jf_sparse",
                               "nb_frames_per_file": 100, "file_exists_policy": "abort"}}
            """, ["--frames", $"{Frames}"]);
        AssertAllFrames(smx, Frames);
        Assert.Equal(Enumerable.Range(0, Frames), smx.GetProperty("peak_counters").EnumerateObject().Select(p => int.Parse(p.Name)).Order());

        // the numpy reference from the stand-in's own words (same seed and model as lima2 stream's defaults)
        var darkDir = Directory.CreateDirectory(Path.Combine(system.Root, "ref-dark")).FullName;
        var energyDir = Directory.CreateDirectory(Path.Combine(system.Root, "ref-energy")).FullName;
        var model = new JungfrauModel(Modules);
        WriteWords(Path.Combine(darkDir, "raw.u16"), null, model, JungfrauStandInContent.Dark, DarkFrames);
        WriteWords(Path.Combine(energyDir, "raw.u16"), Diffraction(), model, JungfrauStandInContent.Photons, Frames);
        const int pixels = Modules * JungfrauModule.Pixels;
        string[] grid = [$"{Rows}", $"{Columns}", $"{GapX}", $"{GapY}"];
        Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{gain}}", "r") as g:
                for d in ("{{darkDir}}", "{{energyDir}}"):
                    g["gain"][()].tofile(d + "/gain.f32")
            np.zeros((3, {{pixels}}), np.float32).tofile("{{darkDir}}/pedestal.f32")
            """);
        Python.Run(Reference, [darkDir, $"{DarkFrames}", $"{pixels}", "12.4", "6.2", .. grid]);
        // the energies from numpy's own pedestal maps of the dark frames
        File.Copy(Path.Combine(darkDir, "dark_pedestal.f32"), Path.Combine(energyDir, "pedestal.f32"));
        Python.Run(Reference, [energyDir, $"{Frames}", $"{pixels}", "12.4", "6.2", .. grid]);

        var verdict = JsonDocument.Parse(Python.Eval($$"""
            import json, h5py, numpy as np
            def master(prefix):
                with h5py.File(f"{{system.Root}}/data/{prefix}_master.h5", "r") as f:
                    d = f["entry_0000/instrument/detector/data"]
                    return d[()], d.is_virtual
            pedestal = np.concatenate([h5py.File(f"{{system.Root}}/jf/pedestal_{r}.h5", "r")["pedestal"][()] for r in (0, 1)], axis=1)
            ref_pedestal = np.fromfile("{{darkDir}}/dark_pedestal.f32", np.float32).reshape(3, {{Modules * 512}}, 1024)
            raw, raw_virtual = master("dark")
            ref_raw = np.fromfile("{{darkDir}}/assembled_raw.u16", np.uint16).reshape(raw.shape)
            energy, energy_virtual = master("jf")
            ref_energy = np.fromfile("{{energyDir}}/assembled_energy.f32", np.float32).reshape(energy.shape)
            bright_raw, bright_raw_virtual = master("jf_raw")
            ref_bright_raw = np.fromfile("{{energyDir}}/assembled_raw.u16", np.uint16).reshape(bright_raw.shape)
            parts = [h5py.File(f"{{system.Root}}/data/jf_{r}_00000.h5", "r")["entry_0000/instrument/detector/data"].shape for r in (0, 1)]
            print(json.dumps({"pedestal": bool(np.array_equal(pedestal, ref_pedestal)),
                              "raw": [str(raw.dtype), list(raw.shape), bool(raw_virtual), bool(np.array_equal(raw, ref_raw))],
                              "energy": [str(energy.dtype), list(energy.shape), bool(energy_virtual), bool(np.array_equal(energy, ref_energy))],
                              "bright_raw": [str(bright_raw.dtype), list(bright_raw.shape), bool(bright_raw_virtual),
                                             bool(np.array_equal(bright_raw, ref_bright_raw))],
                              "nonzero": int(np.count_nonzero(energy)), "part": list(parts[0]), "parts_equal": parts[0] == parts[1]}))
            """)).RootElement;
        Assert.True(verdict.GetProperty("pedestal").GetBoolean(), "the receivers' pedestal maps differ from numpy's");
        Assert.Equal("""["uint16",[6,2164,2068],true,true]""", verdict.GetProperty("raw").GetRawText().Replace(" ", ""));
        Assert.Equal("""["float32",[4,2164,2068],true,true]""", verdict.GetProperty("energy").GetRawText().Replace(" ", ""));
        Assert.Equal("""["uint16",[4,2164,2068],true,true]""", verdict.GetProperty("bright_raw").GetRawText().Replace(" ", ""));
        Assert.True(verdict.GetProperty("nonzero").GetInt64() > 1_000_000);
        // each receiver saved its four 1030x514 modules one under the other, 3 frames in its first file
        Assert.Equal("[3,2056,1030]", verdict.GetProperty("part").GetRawText().Replace(" ", ""));
        Assert.True(verdict.GetProperty("parts_equal").GetBoolean());

        // 3. a lossy run: every packet left out is padded, every frame counted once on every port
        var lossy = Run(system, port, "lossy", AcqJson(Frames), $$$"""
            {"class_name": "LimaProcessingLegacy", "saving": {"enabled": true, "base_path": "{{{system.Root}}}/data", "filename_prefix": "lossy",
             "nb_frames_per_file": 100, "file_exists_policy": "abort"}}
            """, ["--frames", $"{Frames}", "--loss", "0.01", "--seed", "1"], expectLoss: true);
        AssertAllFrames(lossy, Frames);
        var sent = lossy.GetProperty("sent");
        var counters = lossy.GetProperty("ports");
        long Sum(string name) => counters.EnumerateArray().Sum(r => r.GetProperty(name).EnumerateArray().Sum(e => e.GetInt64()));
        // every packet of every frame is caught or padded: those left out, and any the kernel dropped on this busy machine
        var (leftOut, packets) = (sent.GetProperty("left_out").GetInt64(), sent.GetProperty("packets").GetInt64());
        Assert.InRange(leftOut, 1, 200);
        Assert.InRange(Sum("packets_caught"), 1, packets);
        Assert.Equal(leftOut + packets - Sum("packets_caught"), Sum("packets_padded"));
        Assert.Equal(128L * Modules * Frames, Sum("packets_caught") + Sum("packets_padded"));
        Assert.Equal(0, Sum("packets_late") + Sum("packets_duplicate") + Sum("packets_rejected"));
        Assert.Equal(Modules * Frames, Sum("frames_complete") + Sum("frames_incomplete") + Sum("frames_missed"));
        Assert.True(Sum("frames_incomplete") > 0);
    }

    [Fact]
    public void A_corrected_run_of_2_receivers_stopped_mid_run_gets_a_raw_master_over_the_frames_they_saved()
    {
        const int modules = 2, planned = 10, sent = 4;
        var port = FreePort.ConsecutiveUdp(modules);
        // one module per receiver, stacked without gaps: the detector's image is the modules' words one under the other
        using var system = new Lima2System(receivers: 2, beamlineSettings: "topology: partial", jungfrau: ("jungfrau:2x1",
            [.. Enumerable.Range(0, 2).Select(r => $"{{ports: [{port + r}], dispatch: modules, geometry: {{rows: 2, columns: 1}}, " +
                                                   "receive_buffer: 4MiB, window: 8, frame_timeout_ms: 2000}")]));
        var model = new JungfrauModel(modules);
        Directory.CreateDirectory(Path.Combine(system.Root, "jf"));
        JungfrauCalibrationFile.Write(Path.Combine(system.Root, "jf", "pedestal.h5"), JungfrauCalibrationFile.Pedestal, model.Pedestal);
        JungfrauCalibrationFile.Write(Path.Combine(system.Root, "jf", "gain.h5"), JungfrauCalibrationFile.Gain, model.Gain);
        var (acqFile, procFile) = system.WriteParams("stopped",
            AcqJson(planned, """, "jfrau": {"pedestal_path": "jf/pedestal.h5", "gain_path": "jf/gain.h5", "photon_energy": 0}""",
                $$"""{"enabled": true, "base_path": "{{system.Root}}/data", "filename_prefix": "jf_raw", "nb_frames_per_file": 3}"""),
            $$$"""
            {"class_name": "LimaProcessingLegacy", "saving": {"enabled": true, "base_path": "{{{system.Root}}}/data", "filename_prefix": "jf",
             "nb_frames_per_file": 3}}
            """);
        var devices = $$"""
            import json, time, tango, uuid
            c = tango.DeviceProxy("{{system.Control}}")
            rs = [tango.DeviceProxy(r) for r in "{{string.Join(",", system.Receivers)}}".split(",")]
            for d in [c] + rs:
                d.set_timeout_millis(30000)
            labels = list(c.get_attribute_config("acq_state").enum_labels)
            """;
        // the conductor's sequence: params, Prepare, Start; the stand-in once the receivers run
        Python.Eval(devices + "\n" + $$"""
            run = str(uuid.uuid1())
            acq, proc = open("{{acqFile}}").read(), open("{{procFile}}").read()
            c.acq_params = acq
            c.Prepare(run)
            for r in rs:
                r.acq_params = acq
                r.proc_params = proc
                r.Prepare(run)
            for d in rs + [c]:
                d.Start()
            t0 = time.monotonic()
            while any(labels[int(r.acq_state)] != "running" for r in rs):
                assert time.monotonic() - t0 < 60, [labels[int(r.acq_state)] for r in rs]
                time.sleep(0.05)
            """, EmbeddedTangoDb.Environment);
        using (var streamer = ChildProcess.Start(Lima2Cli,
                   ["stream", "--jungfrau", "--modules", $"{modules}", "--port", $"{port}", "--rate", $"{Rate}", "--frames", $"{sent}", "--no-progress"]))
            Assert.Equal(0, streamer.WaitForExit(TimeSpan.FromSeconds(120)));
        // 4 of the 10 frames came: the run is stopped once both receivers saved their raw words
        var saved = Python.Eval(devices + "\n" + $$"""
            t0 = time.monotonic()
            while [r.nb_frames_saved_raw for r in rs] != [{{sent}}, {{sent}}]:
                assert time.monotonic() - t0 < 60, [r.nb_frames_saved_raw for r in rs]
                time.sleep(0.1)
            c.Stop()
            print(labels[int(c.acq_state)], [int(r.nb_frames_saved_raw) for r in rs], [int(r.nb_frames_dropped_raw) for r in rs])
            """, EmbeddedTangoDb.Environment);
        Assert.Equal($"idle [{sent}, {sent}] [0, 0]", saved.Trim());
        var words = Path.Combine(system.Root, "sent.u16");
        WriteWords(words, Diffraction(modules), model, JungfrauStandInContent.Photons, sent, modules);
        var verdict = Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{system.Root}}/data/jf_raw_master.h5", "r") as f:
                d = f["entry_0000/instrument/detector/data"]
                raw, virtual = d[()], d.is_virtual
            sent = np.fromfile("{{words}}", np.uint16).reshape(raw.shape)
            print(raw.dtype, raw.shape, virtual, np.array_equal(raw, sent))
            """);
        Assert.Equal($"uint16 ({sent}, 1024, 1024) True True", verdict.Trim());
    }

    [Fact]
    public void Two_receivers_dealt_whole_frames_round_robin_give_a_master_interleaving_their_frames_equal_to_the_stand_ins_and_count_a_lost_packet_where_it_was()
    {
        const int modules = 2, frames = 6, gapY = 36;
        const int lossyFrame = 3, lossyModule = 1, lossyPacket = 17; // frame 3 is receiver 1's
        var port = FreePort.ConsecutiveUdp(2 * modules);
        // the control's default topology (round_robin), each receiver's ports carrying both modules, placed with the chip gaps
        using var system = new Lima2System(receivers: 2, jungfrau: ("jungfrau:2x1", [.. Enumerable.Range(0, 2).Select(r =>
            $"{{ports: [{port + modules * r}, {port + modules * r + 1}], dispatch: round_robin, " +
            $"geometry: {{rows: 2, columns: 1, gap_y: {gapY}, double_pixel_gaps: true}}, receive_buffer: 4MiB, window: 8, frame_timeout_ms: 5000}}")]));
        var run = Run(system, port, "rr", AcqJson(frames), $$$"""
            {"class_name": "LimaProcessingLegacy", "saving": {"enabled": true, "base_path": "{{{system.Root}}}/data", "filename_prefix": "rr",
             "nb_frames_per_file": 2, "file_exists_policy": "abort"}}
            """, ["--frames", $"{frames}", "--drop-packet", $"{lossyFrame}:{lossyModule}:{lossyPacket}"], expectLoss: true, modules: modules,
            destinations: [port, port + modules]);
        Assert.False(run.GetProperty("failed").GetBoolean(), run.ToString());
        Assert.Equal(frames, run.GetProperty("nb_frames_acquired").GetInt64());
        foreach (var counter in new[] { "nb_frames_xferred", "nb_frames_saved" })
            Assert.Equal([3L, 3L], run.GetProperty(counter).EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(1, run.GetProperty("sent").GetProperty("left_out").GetInt64());
        // per receiver and port: receiver 1 padded the packet left out, in its one incomplete frame; receiver 0 lost nothing
        var ports = run.GetProperty("ports");
        long[][] Counter(string name) => [.. ports.EnumerateArray().Select(r => r.GetProperty(name).EnumerateArray().Select(e => e.GetInt64()).ToArray())];
        Assert.Equal([[0L, 0L], [0L, 1L]], Counter("packets_padded"));
        Assert.Equal([[3L, 3L], [3L, 2L]], Counter("frames_complete"));
        Assert.Equal([[0L, 0L], [0L, 1L]], Counter("frames_incomplete"));
        Assert.Equal([[0L, 0L], [0L, 0L]], Counter("frames_missed"));
        Assert.Equal([[0L, 0L], [0L, 0L]], Counter("packets_rejected"));
        Assert.Equal(128L * modules * frames - 1, Counter("packets_caught").Sum(r => r.Sum()));

        // the reference: the stand-in's words (the lost packet padded as the receiver pads it), assembled by numpy
        var dir = Directory.CreateDirectory(Path.Combine(system.Root, "ref")).FullName;
        var model = new JungfrauModel(modules);
        WriteWords(Path.Combine(dir, "raw.u16"), Diffraction(modules), model, JungfrauStandInContent.Photons, frames, modules);
        File.WriteAllBytes(Path.Combine(dir, "gain.f32"), model.Gain.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
        const int pixels = modules * JungfrauModule.Pixels;
        Python.Eval($$"""
            import numpy as np
            raw = np.fromfile("{{dir}}/raw.u16", np.uint16).reshape({{frames}}, {{modules}}, -1)
            raw[{{lossyFrame}}, {{lossyModule}}, {{lossyPacket * JungfrauModule.PixelsPerPacket}}:{{(lossyPacket + 1) * JungfrauModule.PixelsPerPacket}}] = 0xFFFF
            raw.tofile("{{dir}}/raw.u16")
            np.zeros((3, {{pixels}}), np.float32).tofile("{{dir}}/pedestal.f32")
            """);
        Python.Run(Reference, [dir, $"{frames}", $"{pixels}", "12.4", "6.2", "2", "1", "0", $"{gapY}"]);
        var verdict = Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{system.Root}}/data/rr_master.h5", "r") as f:
                d = f["entry_0000/instrument/detector/data"]
                master, virtual = d[()], d.is_virtual
            ref = np.fromfile("{{dir}}/assembled_raw.u16", np.uint16).reshape(master.shape)
            with h5py.File("{{system.Root}}/data/rr_1_00000.h5", "r") as f:
                first_of_1 = f["entry_0000/instrument/detector/data"][()]
            print(master.dtype, master.shape, virtual, np.array_equal(master, ref), np.array_equal(first_of_1, ref[[1, 3]]),
                  int((master[{{lossyFrame}}] == 0xFFFF).sum()))
            """);
        // receiver 1's first file holds frames 1 and 3; frame 3's padded packet is 4096 pixels of 0xFFFF
        Assert.Equal($"uint16 ({frames}, {2 * 514 + gapY}, 1030) True True True 4096", verdict.Trim());

        // a block receiver 1 cannot run with its rank (full_frame with 2 receivers) is refused at Init, in one sentence
        var refused = Python.Eval($$$"""
            import tango
            r = tango.DeviceProxy("{{{system.Receivers[1]}}}")
            r.set_timeout_millis(30000)
            tango.Database().put_device_property(r.name(), {"jungfrau": ["{ports: [1, 2], dispatch: full_frame, geometry: {rows: 2}}"]})
            try:
                r.Init()
                print("accepted")
            except tango.DevFailed as e:
                print(e.args[0].desc)
            """, EmbeddedTangoDb.Environment);
        Assert.Contains("property jungfrau.dispatch: full_frame gives every frame to one receiver: 2 receivers take whole frames with round_robin", refused);
    }

    /// <summary>Every frame acquired once by the control, taken, processed and saved by both receivers, none dropped.</summary>
    private static void AssertAllFrames(JsonElement summary, int frames)
    {
        Assert.False(summary.GetProperty("failed").GetBoolean(), summary.ToString());
        Assert.Equal("idle", summary.GetProperty("control_state").GetString());
        Assert.Equal(frames, summary.GetProperty("nb_frames_acquired").GetInt64());
        foreach (var counter in new[] { "nb_frames_xferred", "nb_frames_saved" })
            Assert.Equal([frames, frames], summary.GetProperty(counter).EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([0L, 0L], summary.GetProperty("nb_frames_dropped").EnumerateArray().Select(e => e.GetInt64()));
    }

    /// <summary>
    /// Runs scripts/lima2-run.py (the conductor's sequence) and, once the receivers run, the stand-in JUNGFRAU; returns
    /// the run's summary with the stand-in's counts (<c>sent</c>) and each receiver's per-port counters (<c>ports</c>).
    /// </summary>
    /// <param name="destinations">the stand-in's destination list (first port of each entry) instead of <paramref name="port"/></param>
    private static JsonElement Run(Lima2System system, int port, string name, string acq, string proc, string[] stream, bool expectLoss = false,
        int modules = Modules, IReadOnlyList<int>? destinations = null)
    {
        var (acqFile, procFile) = system.WriteParams(name, acq, proc);
        var summaryFile = Path.Combine(system.Root, $"{name}_summary.json");
        using var run = ChildProcess.Start(Python.Interpreter,
            [Path.Combine(RepoPaths.Root, "scripts", "lima2-run.py"), "--control", system.Control, "--receivers", string.Join(",", system.Receivers),
             "--acq", acqFile, "--proc", procFile, "--json", summaryFile, "--quiet", "--timeout", "240"], EmbeddedTangoDb.Environment);
        // the receivers' ports are bound at Prepare; the stand-in takes no commands, so it is started once they run
        Python.Eval($$"""
            import time, tango
            rs = [tango.DeviceProxy(r) for r in "{{string.Join(",", system.Receivers)}}".split(",")]
            labels = list(rs[0].get_attribute_config("acq_state").enum_labels)
            t0 = time.monotonic()
            while any(labels[int(r.acq_state)] != "running" for r in rs):
                assert time.monotonic() - t0 < 300, [labels[int(r.acq_state)] for r in rs]
                time.sleep(0.05)
            """, EmbeddedTangoDb.Environment);
        using var streamer = ChildProcess.Start(Lima2Cli,
            ["stream", "--jungfrau", "--modules", $"{modules}", .. destinations is null ? (string[])["--port", $"{port}"] : ["--destinations", .. destinations.Select(d => $"{d}")],
             "--rate", $"{Rate}", "--no-progress", .. stream]);
        Assert.Equal(0, streamer.WaitForExit(TimeSpan.FromSeconds(120)));
        Assert.Equal(0, run.WaitForExit(TimeSpan.FromSeconds(300)));
        var sent = Regex.Match(streamer.Output, @"sent (\d+) frames, (\d+) packets \((\d+) left out\)");
        Assert.True(sent.Success, streamer.Output);
        if (!expectLoss)
            Assert.Equal("0", sent.Groups[3].Value);
        var ports = Python.Eval($$"""
            import json, tango
            names = ["packets_caught", "packets_padded", "packets_late", "packets_duplicate", "packets_rejected",
                     "frames_complete", "frames_incomplete", "frames_missed"]
            print(json.dumps([{n: [int(v) for v in tango.DeviceProxy(r).read_attribute("jungfrau_" + n).value] for n in names}
                              for r in "{{string.Join(",", system.Receivers)}}".split(",")]))
            """, EmbeddedTangoDb.Environment);
        var summary = JsonNode.Parse(File.ReadAllText(summaryFile))!.AsObject();
        summary["sent"] = new JsonObject { ["packets"] = long.Parse(sent.Groups[2].Value), ["left_out"] = long.Parse(sent.Groups[3].Value) };
        summary["ports"] = JsonNode.Parse(ports);
        var parsed = JsonDocument.Parse(summary.ToJsonString()).RootElement.Clone();
        if (!expectLoss)
            foreach (var receiver in parsed.GetProperty("ports").EnumerateArray())
            {
                Assert.All(receiver.GetProperty("packets_padded").EnumerateArray(), e => Assert.Equal(0, e.GetInt64()));
                Assert.All(receiver.GetProperty("frames_complete").EnumerateArray(), e => Assert.Equal(parsed.GetProperty("nb_frames_acquired").GetInt64(), e.GetInt64()));
            }
        return parsed;
    }

    private static void WriteWords(string path, IFrameSource? source, JungfrauModel model, JungfrauStandInContent content, int frames,
        int modules = Modules)
    {
        using var standIn = new JungfrauStandIn(source, model, new JungfrauStandInOptions
        {
            Ports = [.. Enumerable.Range(0, modules).Select(m => new IPEndPoint(IPAddress.Loopback, 50001 + m))],
            Frames = frames,
            Content = content,
        });
        using var file = File.Create(path);
        for (var i = 0; i < frames; i++)
            foreach (var module in standIn.ModuleWords(i))
                file.Write(MemoryMarshal.AsBytes(module.AsSpan()));
    }

    private static IFrameSource Diffraction(int modules = Modules) => FrameGenerator.Create(new GeneratorParams
    {
        Type = GeneratorType.Diffraction,
        Width = JungfrauModule.Width,
        Height = JungfrauModule.Height * modules,
        PixelType = PixelType.Gray32,
    });
}
