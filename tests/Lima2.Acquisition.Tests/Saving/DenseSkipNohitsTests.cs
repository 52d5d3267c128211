using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>
/// An SMX run with <c>fai.dense_skip_nohits</c> saves the hits only, each at its row; the master file of a single
/// receiver's stopped run maps every row its files hold, so no hit after a left-out frame drops out of it.
/// </summary>
public sealed class DenseSkipNohitsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dense-skip-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_stopped_run_that_saves_hits_only_gets_a_master_file_over_every_frame_it_took()
    {
        // endless (nb_frames 0) at 50 frames/s, stopped after 20 frames; min_nb_peaks 12 leaves out about a third
        var settings = ReceiverSettings.Parse($$"""
            {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "64MiB", "saving_root": "{{_folder}}", "peak_finder": "reference"},
             "acq_params": {"acq": {"nb_frames": 0, "expo_time": 20000},
                            "det": {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 128, "height": 96,
                                    "diffraction": {"nb_bragg_peaks": 12, "bragg_intensity_min": 200, "bragg_intensity_max": 400, "seed": 5} } } },
             "proc_params": {"class_name": "LimaProcessingSmx", "fifo": {"nb_threads": 1},
                             "fai": {"cutoff_pick": 5, "min_nb_peaks": 12, "error_model": "poisson", "dense_skip_nohits": true},
                             "saving_dense": {"enabled": true, "base_path": "out", "filename_prefix": "dense", "nb_frames_per_file": 7},
                             "saving_sparse": {"enabled": true, "base_path": "out", "filename_prefix": "sparse", "nb_frames_per_file": 7} } }
            """);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        await using var run = await ReceiverRun.PrepareAsync(settings, timeout.Token);
        var running = run.RunAsync(stop.Token);
        while (run.Progress().Processed < 20)
            await Task.Delay(20, timeout.Token);
        stop.Cancel();
        var summary = await running;

        Assert.Null(summary.Error);
        Assert.True(summary.NotSavedNoHit > 0 && summary.Saved > 0, $"saved {summary.Saved}, not saved {summary.NotSavedNoHit}");
        Assert.Equal(summary.Counters.Processed, summary.Saved + summary.NotSavedNoHit);
        // the master maps every row; h5py sees the hits' pixels at their rows and the left-out frames as 0
        var master = JsonDocument.Parse(Python.Eval($$"""
            import glob, h5py, json
            with h5py.File("{{_folder}}/out/dense_master.h5", "r") as f:
                frames = f["entry/data/data"][()]
            hits = {}
            for path in glob.glob("{{_folder}}/out/sparse_*.h5"):
                with h5py.File(path, "r") as f:
                    p = f["entry_0000/peaks"]
                    hits.update({int(i): bool(n >= 12) for i, n in zip(p["frame_idx"][()], p["nPeaks"][()])})
            print(json.dumps({"frames": len(frames), "blank": [i for i in range(len(frames)) if not frames[i].any()],
                              "no_hits": sorted(i for i, hit in hits.items() if not hit)}))
            """)).RootElement;
        Assert.Equal(summary.Saved + summary.NotSavedNoHit, master.GetProperty("frames").GetInt64());
        Assert.Equal(master.GetProperty("no_hits").EnumerateArray().Select(e => e.GetInt32()),
            master.GetProperty("blank").EnumerateArray().Select(e => e.GetInt32()));
    }
}
