using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// The Dectris plugin end to end: <c>lima2 stream --simplon</c> as the EIGER2, a control (detector: dectris) driving
/// it over SIMPLON and two receivers on its V1 stream (one endpoint each, frame i to receiver i % 2), run by PyTango
/// in the conductor's sequence (scripts/lima2-run.py).
/// </summary>
[Collection(nameof(ClassSchemasCollection))]
public sealed class DectrisEndToEndTests
{
    private const int Frames = 40;
    private const int Width = 64;
    private const int Height = 48;

    private static string Lima2Cli => Path.Combine(AppContext.BaseDirectory, "lima2");

    [Fact]
    public void A_run_on_a_DECTRIS_detector_arms_it_over_SIMPLON_and_saves_each_of_its_frames_once()
    {
        var port = FreePort.Next();
        string[] endpoints = [$"tcp://127.0.0.1:{FreePort.Next()}", $"tcp://127.0.0.1:{FreePort.Next()}"];
        using var detector = ChildProcess.Start(Lima2Cli,
            ["stream", "--simplon", port.ToString(), "--endpoint", endpoints[0], "--endpoint", endpoints[1],
             "--width", Width.ToString(), "--height", Height.ToString(), "--generator", "diffraction", "--encoding", "bslz4", "--no-progress"]);
        detector.WaitForOutput("SIMPLON on", TimeSpan.FromSeconds(30));
        using var system = new Lima2System(dectris: ($"http://127.0.0.1:{port}", endpoints));

        var acq = $$$"""
            {"acq": {"nb_frames": {{{Frames}}}, "expo_time": 2000, "latency_time": 500, "trigger_mode": "internal"},
             "det": {"photon_energy": 12400, "threshold_energy": 6000, "compression": "bslz4"},
             "saving": {"enabled": true, "base_path": "{{{system.Root}}}/data", "filename_prefix": "eiger",
                        "nb_frames_per_file": 100, "file_exists_policy": "abort"}}
            """;
        // the raw frames are saved through acq_params.saving (the Dectris plugin's raw saving)
        const string proc = """{"class_name": "LimaProcessingLegacy"}""";
        var s = system.Run(acq, proc, "dectris");
        Assert.False(s.GetProperty("failed").GetBoolean(), s.ToString());
        Assert.Equal(Frames, s.GetProperty("nb_frames_acquired").GetInt64());
        Assert.Equal([Frames / 2, Frames / 2], s.GetProperty("nb_frames_xferred").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([Frames / 2, Frames / 2], s.GetProperty("nb_frames_saved").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal("idle", s.GetProperty("control_state").GetString());

        // the control wrote acq as SIMPLON config, armed once, triggered once (internal mode) and the series ended
        var log = detector.Output;
        foreach (var key in new[] { "trigger_mode", "nimages", "ntrigger", "count_time", "frame_time", "photon_energy", "threshold_energy", "compression" })
            Assert.Contains($"PUT /detector/api/1.8.0/config/{key} -> 200", log);
        Assert.Contains($"armed series 1: {Frames} images, ints", log);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(log, "command/trigger -> 200"));
        Assert.Contains("series 1 ended", log);

        // as Lima2's conductor does, each receiver got acq_params.saving.filename_rank = its rank
        var ranks = Python.Eval($$"""
            import json, tango
            print(",".join(str(json.loads(tango.DeviceProxy(r).acq_params)["saving"]["filename_rank"]) for r in "{{string.Join(",", system.Receivers)}}".split(",")))
            """, EmbeddedTangoDb.Environment).Trim();
        Assert.Equal("0,1", ranks);

        // det_info, version and det_status come from the detector
        var info = JsonDocument.Parse(Python.Eval($$"""
            import json, tango
            c = tango.DeviceProxy("{{system.Control}}")
            print(json.dumps({"info": json.loads(c.det_info), "status": json.loads(c.det_status), "version": c.version}))
            """, EmbeddedTangoDb.Environment)).RootElement;
        var detInfo = info.GetProperty("info");
        Assert.Equal("Dectris", detInfo.GetProperty("plugin").GetString());
        Assert.Equal("Dectris EIGER2 stand-in (lima2 stream)", detInfo.GetProperty("model").GetString());
        Assert.Equal("E-00-0000-STANDIN", detInfo.GetProperty("sn").GetString());
        Assert.Equal(Width, detInfo.GetProperty("dimensions").GetProperty("x").GetInt32());
        Assert.Equal(Height, detInfo.GetProperty("dimensions").GetProperty("y").GetInt32());
        Assert.Equal("gray16", detInfo.GetProperty("pixel_type").GetString());
        Assert.Equal("idle", info.GetProperty("status").GetProperty("state").GetString());
        Assert.Equal("dectris-1.0.0", info.GetProperty("version").GetString());

        // each receiver's file, read by h5py, holds its share of the simulator's frames in order
        var npy = Path.Combine(system.Root, "frames.npy");
        Python.Eval($$"""
            import h5py, numpy as np
            parts = [h5py.File(f"{{system.Root}}/data/eiger_{r}_00000.h5", "r")["/entry_0000/instrument/detector/data"][()] for r in (0, 1)]
            frames = np.empty((sum(len(p) for p in parts),) + parts[0].shape[1:], parts[0].dtype)
            frames[0::2], frames[1::2] = parts
            np.save("{{npy}}", frames)
            print(frames.shape)
            """);
        var saved = NpyFile.Read(npy);
        Assert.Equal([Frames, Height, Width], saved.Shape);
        var generator = FrameGenerator.Create(new GeneratorParams { Type = GeneratorType.Diffraction, Width = Width, Height = Height, PixelType = PixelType.Gray16 });
        var expected = new byte[generator.Info.ByteSize];
        for (var i = 0; i < Frames; i++)
        {
            generator.Render(i, expected);
            Assert.True(saved.Data.AsSpan(i * expected.Length, expected.Length).SequenceEqual(expected), $"frame {i} differs from the simulator's");
        }
    }

    [Fact]
    public void A_detector_that_dies_mid_run_puts_the_control_in_FAULT_with_the_reason()
    {
        var port = FreePort.Next();
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var detector = ChildProcess.Start(Lima2Cli,
            ["stream", "--simplon", port.ToString(), "--endpoint", endpoint, "--width", "32", "--height", "16", "--no-progress"]);
        detector.WaitForOutput("SIMPLON on", TimeSpan.FromSeconds(30));
        using var system = new Lima2System(receivers: 1, dectris: ($"http://127.0.0.1:{port}", [endpoint]));
        // software triggers: armed and running, no frame until a trigger, when the detector goes away
        var r = JsonDocument.Parse(Python.Eval($$$"""
            import json, os, signal, time, uuid, tango
            c, r = tango.DeviceProxy("{{{system.Control}}}"), tango.DeviceProxy("{{{system.Receivers[0]}}}")
            for d in (c, r):
                d.set_timeout_millis(30000)
            acq = json.dumps({"acq": {"nb_frames": 4, "expo_time": 1000, "trigger_mode": "software"}, "det": {}})
            c.acq_params = acq
            r.acq_params = acq
            r.proc_params = json.dumps({"class_name": "LimaProcessingLegacy"})
            run = str(uuid.uuid1())
            c.Prepare(run)
            r.Prepare(run)
            r.Start()
            c.Start()
            labels = list(c.get_attribute_config("acq_state").enum_labels)
            running = labels[int(c.acq_state)]
            os.kill({{{detector.Id}}}, signal.SIGKILL)
            t0 = time.monotonic()
            while labels[int(c.acq_state)] != "fault" and time.monotonic() - t0 < 10:
                time.sleep(0.05)
            print(json.dumps({"running": running, "state": labels[int(c.acq_state)], "status": c.status()}))
            """, EmbeddedTangoDb.Environment)).RootElement;
        Assert.Equal("running", r.GetProperty("running").GetString());
        Assert.Equal("fault", r.GetProperty("state").GetString());
        var status = r.GetProperty("status").GetString()!;
        Assert.Contains($"http://127.0.0.1:{port}/ did not answer status/state", status);
    }

    [Fact]
    public void Prepare_with_the_detector_unreachable_says_so_and_leaves_the_control_idle()
    {
        var port = FreePort.Next(); // nothing listens there
        using var system = new Lima2System(receivers: 1, dectris: ($"http://127.0.0.1:{port}", [$"tcp://127.0.0.1:{FreePort.Next()}"]));
        var r = JsonDocument.Parse(Python.Eval($$$"""
            import json, uuid, tango
            c = tango.DeviceProxy("{{{system.Control}}}")
            c.acq_params = json.dumps({"acq": {"nb_frames": 4, "expo_time": 1000}, "det": {"photon_energy": 9000}})
            try:
                c.Prepare(str(uuid.uuid1()))
                error = None
            except tango.DevFailed as e:
                error = {"reason": e.args[0].reason, "what": json.loads(e.args[0].desc)["what"]}
            labels = list(c.get_attribute_config("acq_state").enum_labels)
            print(json.dumps({"error": error, "state": labels[int(c.acq_state)]}))
            """, EmbeddedTangoDb.Environment)).RootElement;
        var error = r.GetProperty("error");
        Assert.Equal(JsonValueKind.Object, error.ValueKind);
        Assert.Equal("LIMA_Exception", error.GetProperty("reason").GetString());
        var what = error.GetProperty("what").GetString()!;
        Assert.Contains($"http://127.0.0.1:{port}/", what);
        Assert.Contains("did not answer", what);
        Assert.Equal("idle", r.GetProperty("state").GetString());
    }
}
