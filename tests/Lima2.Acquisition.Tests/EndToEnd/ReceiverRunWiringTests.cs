using System.Text.Json;
using Lima2.Core.Pipeline;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.EndToEnd;

/// <summary>
/// What a <see cref="ReceiverRun"/> (the engine of <c>lima2 receive</c>, <c>lima2 bench</c> and the receiver device)
/// takes from its channel and its parameters: HDF5 reference images, NXmx metadata, the beam's geometry.
/// </summary>
public sealed class ReceiverRunWiringTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("receiver-run-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static async Task<ReceiverSummary> Run(string settingsJson)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var run = await ReceiverRun.PrepareAsync(ReceiverSettings.Parse(settingsJson), timeout.Token);
        var summary = await run.RunAsync(timeout.Token);
        Assert.Null(summary.Error);
        return summary;
    }

    private string Settings(string det, long frames, string proc, long expoTime = 1000) => $$"""
        {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "64MiB", "saving_root": "{{_folder}}", "peak_finder": "reference"},
         "acq_params": {"acq": {"nb_frames": {{frames}}, "expo_time": {{expoTime}}}, "det": {{det}}},
         "proc_params": {{proc}}}
        """;

    private const string SmallDiffraction = """
        {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 64, "height": 48}}
        """;

    private static JsonElement Json(string script) => JsonDocument.Parse(Python.Eval(script)).RootElement.Clone();

    [Fact]
    public async Task A_Legacy_mask_read_from_an_h5py_dataset_zeroes_the_masked_pixels_of_the_saved_frames()
    {
        // h5py's bool dataset, in a group: the mask keeps the pixels where it is not 0
        Python.Eval($$"""
            import h5py, numpy as np
            m = np.ones((48, 64), bool); m[:10, :] = False
            with h5py.File("{{_folder}}/mask.h5", "w") as f:
                f.create_dataset("calib/mask", data=m)
            """);
        await Run(Settings(SmallDiffraction, 3, $$"""
            {"class_name": "LimaProcessingLegacy", "mask": {"enabled": true, "path": "{{_folder}}/mask.h5:/calib/mask"},
             "saving": {"enabled": true, "base_path": "out", "filename_prefix": "masked", "nb_frames_per_file": 10} }
            """));

        var saved = Json($$"""
            import h5py, json
            with h5py.File("{{_folder}}/out/masked_0_00000.h5", "r") as f:
                d = f["entry_0000/measurement/data"][()]
            print(json.dumps({"n": d.shape[0], "masked": int(d[:, :10, :].sum()), "kept": int(d[:, 10:, :].sum())}))
            """);
        Assert.Equal(3, saved.GetProperty("n").GetInt32());
        Assert.Equal(0, saved.GetProperty("masked").GetInt64());
        Assert.True(saved.GetProperty("kept").GetInt64() > 0);
    }

    [Fact]
    public async Task An_SMX_fai_mask_path_in_an_HDF5_file_hides_the_masked_half_from_the_peak_finder_and_is_the_files_user_mask()
    {
        const int frames = 8;
        // fai.mask_path follows pyFAI: 1 = masked. The left half is.
        Python.Eval($$"""
            import h5py, numpy as np
            m = np.zeros((1, 96, 128), np.uint8); m[:, :, :64] = 1
            with h5py.File("{{_folder}}/fai.h5", "w") as f:
                f["mask"] = m
            """);
        var det = """
            {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 128, "height": 96,
                           "diffraction": {"nb_bragg_peaks": 12, "bragg_intensity_min": 200, "bragg_intensity_max": 400, "rings": [], "seed": 3}}}
            """;
        var summary = await Run(Settings(det, frames, $$"""
            {"class_name": "LimaProcessingSmx", "fifo": {"nb_threads": 1},
             "fai": {"cutoff_pick": 5, "min_nb_peaks": 1, "error_model": "poisson", "mask_path": "{{_folder}}/fai.h5:/mask"},
             "saving_dense": {"enabled": true, "base_path": "out", "filename_prefix": "dense", "nb_frames_per_file": 100},
             "saving_sparse": {"enabled": true, "base_path": "out", "filename_prefix": "sparse", "nb_frames_per_file": 100} }
            """));

        var x = Json($$"""
            import h5py, json
            with h5py.File("{{_folder}}/out/sparse_0_00000.h5", "r") as f:
                p = f["entry_0000/peaks"]
                n = p["nPeaks"][()]
                xs = [float(x) for row, k in zip(p["peakXPosRaw"][()], n) for x in row[:k]]
            print(json.dumps(xs))
            """).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(summary.Peaks!.Peaks, x.Length);
        Assert.True(x.Length >= frames, $"{x.Length} peaks in the unmasked half of {frames} frames of 12 peaks");
        Assert.All(x, v => Assert.True(v >= 62, $"a peak at x = {v}, in the masked half"));

        // the saved frames' NXmx pixel_mask says the same: the masked half has the user bit (8), the rest is good
        var mask = Json($$"""
            import h5py, json, numpy as np
            with h5py.File("{{_folder}}/out/dense_0_00000.h5", "r") as f:
                d = f["entry/instrument/detector"]
                m = d["pixel_mask"][()]
                print(json.dumps({"dtype": m.dtype.str, "left": [int(v) for v in np.unique(m[:, :64])], "right": [int(v) for v in np.unique(m[:, 64:])],
                                  "applied": int(d["pixel_mask_applied"][()])}))
            """);
        Assert.Equal("<u4", mask.GetProperty("dtype").GetString());
        Assert.Equal([256L], mask.GetProperty("left").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([0L], mask.GetProperty("right").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(0, mask.GetProperty("applied").GetInt32());
    }

    [Fact]
    public async Task A_receive_writes_the_channels_NXmx_fields_in_its_files_and_in_the_master_file()
    {
        var det = """
            {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 64, "height": 48,
                           "diffraction": {"beam_center": {"x": 20, "y": 30}}}}
            """;
        var summary = await Run(Settings(det, 4, """
            {"class_name": "LimaProcessingLegacy",
             "saving": {"enabled": true, "base_path": "out", "filename_prefix": "nx", "nb_frames_per_file": 3} }
            """));
        Assert.NotNull(summary.MasterFile);

        foreach (var file in new[] { "out/nx_0_00000.h5", "out/nx_0_00001.h5", "out/nx_master.h5" })
        {
            var fields = Json($$"""
                import h5py, json
                with h5py.File("{{_folder}}/{{file}}", "r") as f:
                    d = f["entry/instrument/detector"]  # NXmx; the Lima2 entry_0000 links to its frames
                    print(json.dumps({k: [float(d[k][()]), d[k].attrs["units"]] for k in
                        ("x_pixel_size", "distance", "beam_center_x", "beam_center_y", "count_time")}))
                """);
            void Is(string name, double value, string units)
            {
                Assert.Equal(value, fields.GetProperty(name)[0].GetDouble(), 1e-9);
                Assert.Equal(units, fields.GetProperty(name)[1].GetString());
            }
            Is("x_pixel_size", 75e-6, "m");
            Is("distance", 0.12, "m");
            Is("beam_center_x", 20.5, "pixel"); // the generator counts pixel centres, NXmx the first pixel's corner
            Is("beam_center_y", 30.5, "pixel");
            Is("count_time", 0.001, "s");
        }
    }

    [Fact]
    public async Task The_acquisitions_experiment_block_states_wavelength_distance_and_names_over_the_channels_facts_in_every_file()
    {
        var settings = """
            {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "64MiB", "saving_root": "SAVING_ROOT"},
             "acq_params": {"acq": {"nb_frames": 4, "expo_time": 1000,
                                    "experiment": {"wavelength": 0.9793, "detector_distance": 0.25, "sample_name": "thaumatin",
                                                   "instrument_name": "ID23-2", "source_name": "ESRF"}},
                            "det": {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 64, "height": 48,
                                                  "diffraction": {"beam_center": {"x": 20, "y": 30}}}}},
             "proc_params": {"class_name": "LimaProcessingLegacy",
                             "saving": {"enabled": true, "base_path": "out", "filename_prefix": "exp", "nb_frames_per_file": 3}}}
            """.Replace("SAVING_ROOT", _folder);
        var summary = await Run(settings);
        Assert.NotNull(summary.MasterFile);

        foreach (var (file, frames) in new[] { ("out/exp_0_00000.h5", 3), ("out/exp_0_00001.h5", 1), ("out/exp_master.h5", 4) })
        {
            var nxmx = Saving.NxmxReaderTests.ReadNxmx(Path.Combine(_folder, file));
            Assert.Equal([frames, 48, 64], nxmx.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(0.9793, nxmx.GetProperty("wavelength").GetDouble());
            Assert.Equal(0.25, nxmx.GetProperty("distance").GetDouble()); // the simulator says 0.12: the acquisition's wins
            Assert.Equal(20.5, nxmx.GetProperty("beam_center").EnumerateArray().First().GetDouble(), 1e-12); // the channel's
            Assert.Equal(30.5, nxmx.GetProperty("beam_center").EnumerateArray().Last().GetDouble(), 1e-12);
            Assert.Equal([75e-6, 75e-6], nxmx.GetProperty("pixel_size").EnumerateArray().Select(e => e.GetDouble()));
            Assert.Equal(("thaumatin", "ID23-2", "ESRF"), (nxmx.GetProperty("sample").GetString(), nxmx.GetProperty("instrument").GetString(),
                nxmx.GetProperty("source").GetString()));
        }
    }

    [Fact]
    public async Task With_the_beam_off_centre_the_peak_finder_takes_the_channels_geometry_and_finds_the_planted_peaks()
    {
        const int frames = 8;
        // a steep background around a beam far from the frame's centre: with the frame's centre assumed, each radial
        // bin mixes bright and faint background and the bright side is picked as peaks (thousands)
        const string det = """
            {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 256, "height": 192,
                           "diffraction": {"beam_center": {"x": 60, "y": 150}, "nb_bragg_peaks": 20, "seed": 5,
                                           "background_amplitude": 3000, "background_decay": 60, "rings": []}}}
            """;
        var summary = await Run(Settings(det, frames, """
            {"class_name": "LimaProcessingSmx", "fifo": {"nb_threads": 1},
             "fai": {"cutoff_pick": 5, "min_nb_peaks": 1, "error_model": "poisson"} }
            """));

        var generator = Detectors.Simulator.FrameGenerator.Create(Core.Parameters.ParamsDocument
            .Parse<Core.Parameters.AcqParams<Core.Parameters.SimulatorDet>>($"{{\"det\": {det}}}").Det.Generator);
        var planted = Enumerable.Range(0, frames).Sum(i => generator.PlantedPeaks(i).Count);
        Assert.Equal(frames, summary.Peaks!.Frames);
        Assert.InRange(summary.Peaks.Peaks, 0.95 * planted, 1.03 * planted);
    }

    [Fact]
    public async Task A_single_receivers_endless_run_stopped_by_the_user_ends_with_a_master_file_over_what_it_saved()
    {
        // 20 ms a frame: the run is stopped while it saves
        var settings = ReceiverSettings.Parse(Settings(SmallDiffraction, 0, """
            {"class_name": "LimaProcessingLegacy",
             "saving": {"enabled": true, "base_path": "out", "filename_prefix": "endless", "nb_frames_per_file": 4} }
            """, expoTime: 20000));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        await using var run = await ReceiverRun.PrepareAsync(settings, timeout.Token);
        var running = run.RunAsync(stop.Token);
        while (run.Saved < 6)
            await Task.Delay(10, timeout.Token);
        await stop.CancelAsync();
        var summary = await running;

        Assert.Null(summary.Error);
        Assert.Equal(ChannelEnd.Stopped, summary.Channel.End);
        Assert.True(summary.Saved >= 6);
        Assert.Equal(Path.Combine(_folder, "out", "endless_master.h5"), summary.MasterFile);
        var check = Json($$"""
            import h5py, json, numpy as np
            with h5py.File("{{summary.MasterFile}}", "r") as m:
                v = m["entry_0000/measurement/data"]
                files = sorted(s.file_name for s in v.virtual_sources())
                frames = v[()]
            parts = []
            for name in files:
                with h5py.File("{{_folder}}/out/" + name, "r") as f:
                    parts.append(f["entry_0000/instrument/detector/data"][()])
            print(json.dumps({"n": len(frames), "equal": bool(np.array_equal(frames, np.concatenate(parts))), "files": files}))
            """);
        Assert.Equal(summary.Saved, check.GetProperty("n").GetInt64());
        Assert.True(check.GetProperty("equal").GetBoolean(), check.ToString());
    }

    [Fact]
    public async Task The_demos_SMX_parameters_find_the_planted_peaks_and_no_more_on_the_ring()
    {
        const int frames = 20;
        var demo = Path.Combine(RepoPaths.Root, "config", "demo");
        var acq = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(demo, "acq_params.json")))!;
        var proc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(demo, "proc_params_smx.json")))!;
        acq["acq"]!["nb_frames"] = frames;
        foreach (var channel in new[] { "saving_dense", "saving_sparse" })
            proc[channel]!["base_path"] = Path.Combine(_folder, "demo");
        var summary = await Run($$"""
            {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "256MiB", "saving_root": "{{_folder}}", "peak_finder": "reference"},
             "acq_params": {{acq.ToJsonString()}}, "proc_params": {{proc.ToJsonString()}} }
            """);

        var generator = Detectors.Simulator.FrameGenerator.Create(Core.Parameters.ParamsDocument
            .Parse<Core.Parameters.AcqParams<Core.Parameters.SimulatorDet>>(acq.ToJsonString()).Det.Generator);
        var planted = Enumerable.Range(0, frames).Sum(i => generator.PlantedPeaks(i).Count);
        // 32 radial bins (4 px wide at the ring) found ~9 % more, on the ring's slopes
        Assert.InRange(summary.Peaks!.Peaks, 0.98 * planted, 1.02 * planted);
    }

    [Fact]
    public async Task Receiver_0_of_a_stopped_two_receiver_run_writes_the_master_file_over_what_each_saved_when_told_the_counts()
    {
        string Receiver(int rank) => Settings(SmallDiffraction, 0, """
            {"class_name": "LimaProcessingLegacy",
             "saving": {"enabled": true, "base_path": "out", "filename_prefix": "pair", "nb_frames_per_file": 3} }
            """, expoTime: 20000).Replace("\"kind\": \"simulator\"}", $"\"kind\": \"simulator\"}}, \"rank\": {rank}, \"nb_receivers\": 2");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        await using var first = await ReceiverRun.PrepareAsync(ReceiverSettings.Parse(Receiver(0)), timeout.Token);
        await using var second = await ReceiverRun.PrepareAsync(ReceiverSettings.Parse(Receiver(1)), timeout.Token);
        var runs = new[] { first.RunAsync(stop.Token), second.RunAsync(stop.Token) };
        while (first.Saved < 4 || second.Saved < 4)
            await Task.Delay(10, timeout.Token);
        await stop.CancelAsync();
        var summaries = await Task.WhenAll(runs);
        Assert.All(summaries, s => Assert.Null(s.Error));
        Assert.All(summaries, s => Assert.Null(s.MasterFile)); // neither knows the other's count
        Assert.Throws<InvalidOperationException>(() => second.WriteMasterFile([first.Saved, second.Saved]));

        var saved = new[] { first.Saved, second.Saved };
        var master = first.WriteMasterFile(saved);
        var check = Json($$"""
            import h5py, json, numpy as np, glob
            def frames(rank):
                parts = [h5py.File(f, "r")["entry_0000/instrument/detector/data"][()] for f in sorted(glob.glob("{{_folder}}/out/pair_%d_*.h5" % rank))]
                return np.concatenate(parts)
            ranks = [frames(0), frames(1)]
            with h5py.File("{{master}}", "r") as m:
                v = m["entry_0000/measurement/data"][()]
                x = float(m["entry/instrument/detector/x_pixel_size"][()])
            ok = all(np.array_equal(v[g], ranks[g % 2][g // 2]) for g in range(len(v)) if g // 2 < len(ranks[g % 2]))
            print(json.dumps({"n": len(v), "saved": [len(r) for r in ranks], "equal": bool(ok), "x": x}))
            """);
        Assert.Equal(saved, check.GetProperty("saved").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(Math.Max(2 * saved[0] - 1, 2 * saved[1]), check.GetProperty("n").GetInt64());
        Assert.True(check.GetProperty("equal").GetBoolean(), check.ToString());
        Assert.Equal(75e-6, check.GetProperty("x").GetDouble(), 1e-12);
    }

    [Fact]
    public async Task Frames_binned_by_roi_flip_rot_are_saved_without_the_detectors_pixel_size_and_beam_centre()
    {
        await Run(Settings(SmallDiffraction, 2, """
            {"class_name": "LimaProcessingLegacy", "roi_flip_rot": {"enabled": true, "binning": {"x": 2, "y": 2}},
             "saving": {"enabled": true, "base_path": "out", "filename_prefix": "binned", "nb_frames_per_file": 3} }
            """));
        var fields = Json($$"""
            import h5py, json
            with h5py.File("{{_folder}}/out/binned_0_00000.h5", "r") as f:
                d = f["entry/instrument/detector"]
                print(json.dumps({"shape": list(d["data"].shape), "fields": sorted(k for k in d if k != "data")}))
            """);
        Assert.Equal([2, 24, 32], fields.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        var names = fields.GetProperty("fields").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Contains("count_time", names);
        Assert.DoesNotContain("x_pixel_size", names);
        Assert.DoesNotContain("beam_center_x", names);
    }
}
