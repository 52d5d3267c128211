using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>One system (control + 2 receivers) for the tests that leave it healthy.</summary>
public sealed class SystemFixture : IDisposable
{
    public Lima2System System { get; } = new();

    public void Dispose() => System.Dispose();
}

/// <summary>
/// Lima2Server processes on the embedded DataBaseds, driven by PyTango in the conductor's sequence
/// (scripts/lima2-run.py): params, concurrent Prepare, Start, poll until idle, pops until empty, Close, erase.
/// </summary>
[Collection(nameof(ClassSchemasCollection))]
public sealed class EndToEndTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private const int Frames = 120;
    private const int Width = 128;
    private const int Height = 96;

    private static string AcqJson(int frames, long expoUs = 100) => $$$"""
        {"acq": {"nb_frames": {{{frames}}}, "expo_time": {{{expoUs}}}, "latency_time": 0, "trigger_mode": "internal"},
         "det": {"image_source": "generator",
                 "generator": {"type": "diffraction", "pixel_type": "gray16", "width": {{{Width}}}, "height": {{{Height}}},
                               "diffraction": {"nb_bragg_peaks": 4, "bragg_intensity_min": 3000, "bragg_intensity_max": 6000,
                                               "rings": [], "seed": 7}
                              }
                }
        }
        """;

    private static readonly SimulatorDet Det = ParamsDocument.Parse<AcqParams<SimulatorDet>>(AcqJson(1)).Det;

    private string SmxJson(string prefix) => $$$"""
        {"class_name": "LimaProcessingSmx",
         "fifo": {"nb_fifo_frames": 32, "nb_threads": 1},
         "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 8, "y": 4}, "dimensions": {"x": 40, "y": 30}}]},
         "fai": {"cutoff_pick": 5, "min_nb_peaks": 1, "error_model": "poisson", "nb_bins": 8},
         "saving_dense": {"enabled": true, "base_path": "{{{fixture.System.Root}}}/data", "filename_prefix": "{{{prefix}}}",
                          "nb_frames_per_file": 25, "file_exists_policy": "abort"},
         "saving_sparse": {"enabled": true, "base_path": "{{{fixture.System.Root}}}/data", "filename_prefix": "{{{prefix}}}_sparse",
                           "nb_frames_per_file": 1000, "file_exists_policy": "abort"}
        }
        """;

    [Fact]
    public void An_SMX_acquisition_accounts_for_every_frame_and_the_master_file_shows_the_simulators_frames()
    {
        var s = fixture.System.Run(AcqJson(Frames), SmxJson("smx"), "smx");
        Assert.False(s.GetProperty("failed").GetBoolean(), s.ToString());
        Assert.Equal(Frames, s.GetProperty("nb_frames_acquired").GetInt64());
        Assert.Equal([Frames / 2, Frames / 2], Longs(s, "nb_frames_xferred"));
        Assert.Equal([Frames / 2, Frames / 2], Longs(s, "nb_frames_saved"));
        Assert.Equal([0, 0], Longs(s, "nb_frames_dropped"));
        Assert.Equal(Enumerable.Range(0, Frames).Select(i => (long)i), Longs(s, "frame_idx"));
        Assert.All(s.GetProperty("recv_idx").EnumerateArray(), p => Assert.Equal(p[1].GetInt32() / 2, p[0].GetInt32()));
        Assert.Equal(Enumerable.Range(0, Frames).Select(i => (long)i), Longs(s, "roi_frames"));
        Assert.Equal(["idle", "idle"], s.GetProperty("receiver_states").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("idle", s.GetProperty("control_state").GetString());
        Assert.All(s.GetProperty("progress_counters").EnumerateArray(), c =>
            Assert.Equal(Frames / 2, c.GetProperty("nb_frames_source").GetInt64()));
        Assert.Empty(s.GetProperty("processing_exported_after_erase").EnumerateArray());
        Assert.All(s.GetProperty("pipelines_after_erase").EnumerateArray(), p => Assert.Empty(p.EnumerateArray()));

        var generator = FrameGenerator.Create(Det.Generator);
        var frames = Enumerable.Range(0, Frames).Select(i => SimulatorFrame(generator, i)).ToArray();

        // ROI sums popped from both receivers equal the sums over the simulator's frames
        var sums = s.GetProperty("roi_sums");
        for (var i = 0; i < Frames; i++)
        {
            double expected = 0;
            for (var y = 4; y < 34; y++)
                for (var x = 8; x < 48; x++)
                    expected += frames[i][y * Width + x];
            Assert.Equal(expected, sums.GetProperty(i.ToString()).GetDouble());
        }

        // every planted peak is counted (two peaks closer than a patch may merge into one)
        var counters = s.GetProperty("peak_counters");
        var planted = Enumerable.Range(0, Frames).Select(i => generator.PlantedPeaks(i).Count).ToArray();
        var found = Enumerable.Range(0, Frames).Select(i => counters.GetProperty(i.ToString()).GetInt32()).ToArray();
        Assert.All(Enumerable.Range(0, Frames), i => Assert.InRange(found[i], planted[i] - 1, planted[i]));
        Assert.True(found.Sum() >= planted.Sum() * 0.97, $"found {found.Sum()} of {planted.Sum()} planted peaks");

        // each receiver's sparse file (pyFAI layout + CXI peak tables), read by h5py, has its frames once, in its
        // order, with the peak counts the device popped
        var sparse = JsonDocument.Parse(Python.Eval($$"""
            import h5py, json
            rows = []
            for rank in (0, 1):
                with h5py.File(f"{{fixture.System.Root}}/data/smx_sparse_{rank}_00000.h5", "r") as f:
                    s, p = f["/entry_0000/sparse_frames"], f["/entry_0000/peaks"]
                    assert len(s["frame_ptr"]) == len(s["frame_idx"]) + 1
                    rows += zip(s["frame_idx"][()].tolist(), p["nPeaks"][()].tolist())
            print(json.dumps(rows))
            """)).RootElement;
        var sparseRows = sparse.EnumerateArray().Select(r => (Frame: r[0].GetInt32(), Peaks: r[1].GetInt32())).ToList();
        Assert.Equal(Enumerable.Range(0, Frames), sparseRows.Select(r => r.Frame).Order());
        Assert.All(sparseRows, r => Assert.Equal(found[r.Frame], r.Peaks));

        // the master file's VDS, read by h5py, holds the simulator's frames in global order
        var master = Path.Combine(fixture.System.Root, "data", "smx_master.h5");
        var npy = Path.Combine(fixture.System.Root, "vds.npy");
        fixture.System.Python3("vds_dump.py", master, "/entry_0000/instrument/detector/data", npy);
        var vds = NpyFile.Read(npy);
        Assert.Equal([Frames, Height, Width], vds.Shape);
        var pixels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(vds.Data);
        for (var i = 0; i < Frames; i++)
            Assert.True(pixels.Slice(i * Width * Height, Width * Height).SequenceEqual(frames[i]), $"frame {i} differs");
    }

    [Fact]
    public void An_endless_run_of_two_receivers_stopped_by_the_client_gets_a_master_file_of_every_saved_frame_in_global_order()
    {
        var sys = fixture.System;
        var (acq, proc) = sys.WriteParams("endless", AcqJson(0, expoUs: 2000), $$$"""
            {"class_name": "LimaProcessingLegacy",
             "saving": {"enabled": true, "base_path": "{{{sys.Root}}}/data", "filename_prefix": "endless",
                        "filename_format": "{filename_prefix}_{filename_rank}_{file_number:05d}{filename_suffix}",
                        "nb_frames_per_file": 10, "file_exists_policy": "abort"}}
            """);
        var master = Path.Combine(sys.Root, "data", "endless_master.h5");
        var npy = Path.Combine(sys.Root, "endless.npy");
        var r = JsonDocument.Parse(sys.Python3("endless_stop.py", sys.Control, string.Join(",", sys.Receivers), acq, proc, "40", master, npy)).RootElement;
        Assert.Equal("idle", r.GetProperty("state").GetString());
        Assert.True(r.GetProperty("master").GetBoolean(), r.ToString());
        Assert.DoesNotContain("master file not written", r.GetProperty("status").GetString());
        var saved = Longs(r, "saved");
        Assert.True(saved.Sum() >= 40, r.ToString());
        Assert.True(r.GetProperty("equal_to_receivers_files").GetBoolean(), r.ToString());

        // the VDS holds the simulator's frame i at global index i for every frame saved, the fill value in any gap
        var vds = NpyFile.Read(npy);
        var total = (int)Enumerable.Range(0, 2).Where(rank => saved[rank] > 0).Max(rank => rank + (saved[rank] - 1) * 2 + 1);
        Assert.Equal([total, Height, Width], vds.Shape);
        var pixels = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(vds.Data);
        var generator = FrameGenerator.Create(Det.Generator);
        for (var i = 0; i < total; i++)
        {
            var expected = i / 2 < saved[i % 2] ? SimulatorFrame(generator, i) : new ushort[Width * Height];
            Assert.True(pixels.Slice(i * Width * Height, Width * Height).SequenceEqual(expected), $"frame {i} differs");
        }
    }

    /// <summary>Frames of which about a third have fewer than 12 peaks (no hits for <see cref="SkipNohitsJson"/>).</summary>
    private static string HitsAcqJson(int frames, long expoUs) => $$$"""
        {"acq": {"nb_frames": {{{frames}}}, "expo_time": {{{expoUs}}}, "latency_time": 0, "trigger_mode": "internal"},
         "det": {"image_source": "generator",
                 "generator": {"type": "diffraction", "pixel_type": "gray16", "width": {{{Width}}}, "height": {{{Height}}},
                               "diffraction": {"nb_bragg_peaks": 12, "bragg_intensity_min": 200, "bragg_intensity_max": 400, "seed": 5} } } }
        """;

    /// <summary>SMX whose dense saving keeps the hits only (fai.dense_skip_nohits, a hit: at least 12 peaks).</summary>
    private string SkipNohitsJson(string prefix) => $$$"""
        {"class_name": "LimaProcessingSmx", "fifo": {"nb_threads": 1},
         "fai": {"cutoff_pick": 5, "min_nb_peaks": 12, "error_model": "poisson", "dense_skip_nohits": true},
         "saving_dense": {"enabled": true, "base_path": "{{{fixture.System.Root}}}/data", "filename_prefix": "{{{prefix}}}",
                          "nb_frames_per_file": 7, "file_exists_policy": "abort"},
         "saving_sparse": {"enabled": true, "base_path": "{{{fixture.System.Root}}}/data", "filename_prefix": "{{{prefix}}}_sparse",
                           "nb_frames_per_file": 1000, "file_exists_policy": "abort"} }
        """;

    /// <summary>A finite run of two receivers saving hits only, stopped once each has handed on 15 frames: skip_nohits_stop.py's report.</summary>
    private JsonElement StoppedSkipNohitsRun(string prefix)
    {
        var sys = fixture.System;
        var (acq, proc) = sys.WriteParams(prefix, HitsAcqJson(100000, expoUs: 10000), SkipNohitsJson(prefix));
        return JsonDocument.Parse(sys.Python3("skip_nohits_stop.py", sys.Control, string.Join(",", sys.Receivers), acq, proc, "15")).RootElement;
    }

    [Fact]
    public void A_stopped_run_of_two_receivers_saving_hits_only_gets_a_master_file_of_every_frame_they_took_with_the_hits_in_place()
    {
        var r = StoppedSkipNohitsRun("skipmaster");
        var (received, processed, saved, dropped) = (Longs(r, "received"), Longs(r, "processed"), Longs(r, "saved"), Longs(r, "dropped"));
        Assert.All(processed, n => Assert.True(n >= 15, r.ToString()));
        Assert.True(saved.Sum() < processed.Sum(), $"no frame was left out as no hit: {r}");
        Assert.True(r.GetProperty("master").GetBoolean(), r.ToString());
        Assert.DoesNotContain("master file not written", r.GetProperty("control_status").GetString());
        // the master's frame i is the acquisition's frame i (receiver r's frame k is r + 2k): it spans every frame the
        // receivers processed and none past those they received (a frame the Stop caught on its way in is dropped)
        static long Span(long[] perReceiver) => Enumerable.Range(0, 2).Where(rank => perReceiver[rank] > 0)
            .Max(rank => rank + (perReceiver[rank] - 1) * 2 + 1);
        Assert.InRange(r.GetProperty("frames").GetInt64(), Span(processed), Span(received));
        Assert.True(r.GetProperty("wrong").GetArrayLength() == 0, r.ToString());
        Assert.Equal(saved, Longs(r, "hits")); // each hit a receiver saved is at its place, the others read 0
        Assert.Equal(dropped, Longs(r, "unsearched"));
        Assert.Equal(processed.Zip(saved, (n, s) => n - s), Longs(r, "not_saved_nohit"));
    }

    [Fact]
    public void Each_receiver_of_a_run_saving_hits_only_says_in_its_status_and_counters_how_many_frames_it_left_out()
    {
        var s = fixture.System.Run(HitsAcqJson(40, expoUs: 1000), SkipNohitsJson("skipcount"), "skipcount");
        Assert.False(s.GetProperty("failed").GetBoolean(), s.ToString());
        var (saved, notSaved) = (Longs(s, "nb_frames_saved"), Longs(s, "nb_frames_not_saved_nohit"));
        Assert.Equal([20, 20], Longs(s, "nb_frames_xferred"));
        Assert.Equal([20, 20], saved.Zip(notSaved, (a, b) => a + b));
        Assert.True(notSaved.Sum() > 0, s.ToString());
        var status = s.GetProperty("receiver_status").EnumerateArray().Select(e => e.GetString()).ToArray();
        for (var rank = 0; rank < 2; rank++)
            Assert.Contains($"20 frames received, {saved[rank]} saved, {notSaved[rank]} not saved: no hit (fai.dense_skip_nohits), 0 dropped", status[rank]);
    }

    [Fact]
    public void GetInputFrame_serves_the_frame_as_received_and_getFrame_the_frame_after_roi_flip_rot()
    {
        var sys = fixture.System;
        var (acq, proc) = sys.WriteParams("input", AcqJson(10),
            """{"class_name": "LimaProcessingLegacy", "roi_flip_rot": {"enabled": true, "flip": "left_right"}}""");
        var r = JsonDocument.Parse(sys.Python3("getters.py", sys.Control, string.Join(",", sys.Receivers), acq, proc, "-1", "getInputFrame", "getFrame")).RootElement;
        var generator = FrameGenerator.Create(Det.Generator);
        for (var rank = 0; rank < 2; rank++)
        {
            var input = r.GetProperty(rank.ToString()).GetProperty("getInputFrame");
            var processed = r.GetProperty(rank.ToString()).GetProperty("getFrame");
            var index = 8 + rank; // the latest frame of the receiver's share of 10
            foreach (var frame in new[] { input, processed })
            {
                Assert.Equal("DENSE_FRAME", frame.GetProperty("format").GetString());
                Assert.Equal(index, frame.GetProperty("idx").GetInt32());
                Assert.Equal("<u2", frame.GetProperty("dtype").GetString());
                Assert.Equal([Width, Height], new[] { frame.GetProperty("width").GetInt32(), frame.GetProperty("height").GetInt32() });
            }
            var received = SimulatorFrame(generator, index);
            var flipped = Enumerable.Range(0, Width * Height).Select(i => received[i / Width * Width + Width - 1 - i % Width]).ToArray();
            var inputPixels = Pixels(input);
            var processedPixels = Pixels(processed);
            Assert.Equal(received, inputPixels);
            Assert.Equal(flipped, processedPixels);
            Assert.NotEqual(inputPixels, processedPixels);
        }
    }

    [Fact]
    public void An_XPCS_sparse_frame_holds_the_pixels_above_0_and_the_fill_factors_count_them()
    {
        var sys = fixture.System;
        const string det = """
            {"generator": {"type": "gauss", "pixel_type": "gray16", "width": 64, "height": 48,
                           "gauss": {"peaks": [{"x0": 20, "y0": 16, "fwhm": 3, "max": 200}, {"x0": 45, "y0": 30, "fwhm": 4, "max": 90}],
                                     "grow_factor": 0.1}}}
            """;
        var (acq, proc) = sys.WriteParams("xpcs", $$"""{"acq": {"nb_frames": 10, "expo_time": 100}, "det": {{det}}}""",
            """{"class_name": "LimaProcessingXpcs"}""");
        var r = JsonDocument.Parse(sys.Python3("getters.py", sys.Control, string.Join(",", sys.Receivers), acq, proc, "-1", "getSparseFrame")).RootElement;
        var generator = FrameGenerator.Create(ParamsDocument.Parse<AcqParams<SimulatorDet>>($$"""{"det": {{det}}}""").Det.Generator);
        int[] Lit(ushort[] frame) => Enumerable.Range(0, frame.Length).Where(i => frame[i] > 0).ToArray();
        for (var rank = 0; rank < 2; rank++)
        {
            var sparse = r.GetProperty(rank.ToString()).GetProperty("getSparseFrame");
            Assert.Equal("SPARSE_FRAME", sparse.GetProperty("format").GetString());
            Assert.Equal(8 + rank, sparse.GetProperty("idx").GetInt32()); // the latest frame of the receiver's share of 10
            Assert.Equal([64, 48], new[] { sparse.GetProperty("width").GetInt32(), sparse.GetProperty("height").GetInt32() });
            var frame = SimulatorFrame(generator, 8 + rank);
            var lit = Lit(frame);
            Assert.InRange(lit.Length, 10, frame.Length / 4); // photons around the two peaks only: the frame is sparse
            Assert.Equal(lit, sparse.GetProperty("index").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(lit.Select(i => (int)frame[i]), sparse.GetProperty("intensity").EnumerateArray().Select(e => e.GetInt32()));

            var fill = r.GetProperty(rank.ToString()).GetProperty("fill_factors").EnumerateArray()
                .Select(row => (Frame: row[0].GetInt32(), Recv: row[1].GetInt32(), Fill: row[2].GetInt32())).ToList();
            Assert.Equal(Enumerable.Range(0, 5).Select(k => (rank + 2 * k, k)), fill.Select(f => (f.Frame, f.Recv)));
            Assert.All(fill, f => Assert.Equal(Lit(SimulatorFrame(generator, f.Frame)).Length, f.Fill));
        }
    }

    private static ushort[] SimulatorFrame(FrameGenerator generator, long index)
    {
        var bytes = new byte[generator.Info.ByteSize];
        generator.Render(index, bytes);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes).ToArray();
    }

    private static ushort[] Pixels(JsonElement frame) => frame.GetProperty("pixels").EnumerateArray().Select(p => (ushort)p.GetInt32()).ToArray();

    [Fact]
    public void Malformed_params_are_refused_as_LIMA_Exception_naming_the_field_and_change_nothing()
    {
        var sys = fixture.System;
        var r = JsonDocument.Parse(sys.Python3("bad_params.py", sys.Control, sys.Receivers[0])).RootElement;
        Assert.Equal(["idle", "prepared", "running", "stopped", "fault", "terminate"], Strings(r, "labels"));
        foreach (var key in new[] { "ctrl_acq", "ctrl_json", "recv_proc", "recv_class", "start_idle", "prepare_bad_uuid", "getter_missing" })
            Assert.Equal("LIMA_Exception", r.GetProperty(key).GetProperty("reason").GetString());
        Assert.Contains("acq_params.acq.nb_frames", r.GetProperty("ctrl_acq").GetProperty("what").GetString());
        Assert.Contains("acq_params.acq.trigger_mode", r.GetProperty("ctrl_acq").GetProperty("what").GetString());
        Assert.Contains("malformed JSON", r.GetProperty("ctrl_json").GetProperty("what").GetString());
        Assert.Contains("proc.statistics.rect_rois[0].topleft.x", r.GetProperty("recv_proc").GetProperty("what").GetString());
        Assert.Contains("unknown processing class 'LimaProcessingNope'", r.GetProperty("recv_class").GetProperty("what").GetString());
        Assert.Contains("Start needs acq_state prepared, it is idle", r.GetProperty("start_idle").GetProperty("what").GetString());
        Assert.Equal("frame 12345 is not available on this receiver", r.GetProperty("getter_missing").GetProperty("what").GetString());
        // the client sees exactly the two errors lima2-client pretty-prints: ours and cppTango's own
        foreach (var key in new[] { "ctrl_acq", "recv_proc", "start_idle" })
            Assert.Equal(2, r.GetProperty(key).GetProperty("n").GetInt32());
        Assert.Equal("API_CommandFailed", r.GetProperty("start_idle").GetProperty("second").GetString());
        Assert.True(r.GetProperty("ctrl_acq_unchanged").GetBoolean());
        Assert.True(r.GetProperty("recv_proc_unchanged").GetBoolean());
        Assert.Equal(["idle", "idle"], Strings(r, "states"));
        Assert.Equal("ON", r.GetProperty("tango_state").GetString());
        Assert.Equal("acq_params", r.GetProperty("schema_ctrl").GetString());
        Assert.Equal("acq_params", r.GetProperty("schema_recv").GetString());
        Assert.Equal("LimaProcessingSmx", r.GetProperty("schema_smx").GetString());
        Assert.Equal(["1.0.0"], Strings(r, "version_smx"));
        Assert.Equal("Simulator", r.GetProperty("det_info").GetProperty("plugin").GetString());
        // one pair of ranges: det_capabilities in ns (as the newest BLISS reads them), det_info in µs (Lima2's numbers),
        // each unit said where Jive shows it
        foreach (var range in new[] { "expo_time_range", "latency_time_range" })
            Assert.Equal(r.GetProperty("det_capabilities").GetProperty(range).EnumerateArray().Select(e => e.GetInt64() / 1_000),
                r.GetProperty("det_info").GetProperty(range).EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([1L, 10_000_000L], r.GetProperty("det_info").GetProperty("expo_time_range").EnumerateArray().Select(e => e.GetInt64()));
        var descriptions = Strings(r, "det_descriptions");
        Assert.Contains("expo_time_range and latency_time_range in us", descriptions[0]);
        Assert.Contains("expo_time_range and latency_time_range in ns", descriptions[1]);
        Assert.Equal("core-1.0.0", r.GetProperty("version").GetString());
    }

    [Fact]
    public void The_old_client_sequence_gets_acq_state_change_events_and_one_data_ready_per_receiver_then_closes()
    {
        var sys = fixture.System;
        var (acq, proc) = sys.WriteParams("old", AcqJson(30), """{"class_name": "LimaProcessingLegacy"}""");
        var r = JsonDocument.Parse(sys.Python3("old_client.py", sys.Control, string.Join(",", sys.Receivers), acq, proc)).RootElement;
        Assert.True(r.GetProperty("all_xferred_events").GetBoolean(), r.ToString());
        foreach (var name in sys.Receivers)
        {
            Assert.Equal(15, r.GetProperty("xferred").GetProperty(name).GetInt32());
            // the first event is the value at subscription; then every transition, receivers idle by themselves
            Assert.Equal(["idle", "prepared", "running", "idle"], Strings(r.GetProperty("seen"), name));
        }
        var control = Strings(r.GetProperty("seen"), sys.Control);
        Assert.Equal(["idle", "prepared", "running"], control[..3]);
        Assert.Equal("idle", control[^1]);
        Assert.Equal(["idle", "idle", "idle"], Strings(r, "final"));
    }

    private static long[] Longs(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetInt64()).ToArray();

    private static string[] Strings(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(x => x.GetString() ?? "").ToArray();
}

/// <summary>A receiver that dies mid-run: the control goes FAULT with the reason; Reset recovers once it is back.</summary>
public sealed class ReceiverCrashTests
{
    [Fact]
    public void A_receiver_killed_mid_run_puts_the_control_in_fault_naming_it_and_reset_recovers()
    {
        using var sys = new Lima2System();
        var (acq, proc) = sys.WriteParams("long",
            """{"acq": {"nb_frames": 0, "expo_time": 20000}, "det": {"generator": {"width": 64, "height": 64}}}""",
            $$$"""
            {"class_name": "LimaProcessingLegacy",
             "saving": {"enabled": true, "base_path": "{{{sys.Root}}}/data", "filename_prefix": "killed", "nb_frames_per_file": 5}}
            """);
        sys.Python3("start_only.py", sys.Control, string.Join(",", sys.Receivers), acq, proc);
        using var control = new Tango.Client.DeviceProxy(sys.Control);
        WaitFor(() => control.Read<long>("nb_frames_acquired") > 24, "frames to flow");
        Assert.Equal(2, control.Read<short>("acq_state"));

        sys.Kill(sys.ReceiverInstance(1));
        WaitFor(() => control.Read<short>("acq_state") == 4, "the control to go FAULT");
        Assert.Equal(Tango.DevState.Fault, control.State());
        Assert.Contains($"receiver {sys.Receivers[1]} does not answer", control.Status());

        // the client's abort: receiver 0 writes the master file over what each receiver's files hold, the killed
        // one's last file (never closed) mapping nothing
        control.Command("Stop");
        var master = JsonDocument.Parse(Python.Eval($$"""
            import h5py, json, glob
            def rows(f):
                try:
                    with h5py.File(f, "r") as h:
                        return h["entry_0000/measurement/data"].shape[0]
                except OSError:
                    return 0
            with h5py.File("{{sys.Root}}/data/killed_master.h5", "r") as f:
                d = f["entry_0000/instrument/detector/data"]
                mapped = [int(n) for n in f["entry_0000/instrument/detector/frames_saved_per_receiver"][()]]
                missing = d.attrs.get("missing_frames")
                sources = ["{{sys.Root}}/data/" + s.file_name.split("/")[-1] for s in d.virtual_sources()]
            print(json.dumps({"mapped": mapped, "missing": None if missing is None else str(missing),
                "on_disk": [sum(rows(f) for f in glob.glob("{{sys.Root}}/data/killed_%d_*.h5" % r)) for r in (0, 1)],
                "unreadable_sources": [s for s in sources if rows(s) == 0]}))
            """)).RootElement;
        var mapped = master.GetProperty("mapped").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var onDisk = master.GetProperty("on_disk").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        Assert.True(mapped[1] > 0 && mapped[1] <= onDisk[1], master.ToString());
        Assert.Equal(onDisk[0], mapped[0]);
        Assert.Empty(master.GetProperty("unreadable_sources").EnumerateArray());

        sys.StartServer(sys.ReceiverInstance(1));
        using (var db = new Tango.Client.Database())
            WaitFor(() => !db.GetDeviceExported($"{sys.Instance}/limaprocessing/*@1").Any(), "the orphan processing device to go");
        control.Command("Reset");
        Assert.Equal(0, control.Read<short>("acq_state"));
        Assert.Equal(Tango.DevState.On, control.State());
        var s = sys.Run("""{"acq": {"nb_frames": 10, "expo_time": 100}, "det": {"generator": {"width": 64, "height": 64}}}""",
            """{"class_name": "LimaProcessingLegacy"}""", "after");
        Assert.False(s.GetProperty("failed").GetBoolean(), s.ToString());
        Assert.Equal(10, s.GetProperty("nb_frames_acquired").GetInt64());
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"waited 60 s for {what}");
            Thread.Sleep(50);
        }
    }
}
