using System.Text.Json;
using Lima2.Core.Processing;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Publishing;

/// <summary>
/// A receiver re-publishing its frames with their results (ROI statistics, peaks and hit flag of an SMX run) to the
/// documented worker (examples/stream_worker/stream_worker.py, PyZMQ): the worker's results of every frame, received
/// or made from the files for the frames the receiver dropped, equal what the receiver computed (the ROI statistics
/// rows popRoiStatistics serves, the peaks in its sparse file read back by h5py).
/// </summary>
public sealed class PublishedResultsTests : IDisposable
{
    private const int Frames = 40;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private static readonly string Worker = Path.Combine(RepoPaths.Root, "examples", "stream_worker", "stream_worker.py");
    private readonly string _folder = Directory.CreateTempSubdirectory("published-results-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed record Outcome(ReceiverSummary Summary, RoiStatRow[] Rois, JsonElement Worker, JsonElement Results);

    private const string Fai = "\"cutoff_pick\": 5, \"min_nb_peaks\": 8, \"error_model\": \"poisson\"";

    /// <param name="joinLate">the worker connects once the receiver has processed every frame: it misses all but
    /// the queued ones, however fast either side runs</param>
    private async Task<Outcome> Run(string publish, string[] workerArgs, string fai = Fai, bool joinLate = false)
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        var settings = ReceiverSettings.Parse($$$"""
            {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "64MiB", "saving_root": "{{{_folder}}}", "peak_finder": "reference",
                          "publish": {"endpoint": "{{{endpoint}}}", {{{publish}}} } },
             "acq_params": {"acq": {"nb_frames": {{{Frames}}}, "expo_time": 1000},
                            "det": {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 128, "height": 96,
                                    "diffraction": {"nb_bragg_peaks": 12, "bragg_intensity_min": 200, "bragg_intensity_max": 400, "seed": 5} } } },
             "proc_params": {"class_name": "LimaProcessingSmx", "fifo": {"nb_threads": 1},
                             "fai": { {{{fai}}} },
                             "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 10, "y": 5}, "dimensions": {"x": 50, "y": 40}}],
                                            "arc_rois": [{"center": {"x": 64, "y": 48}, "r1": 10, "r2": 40, "a1": 20, "a2": 200}]},
                             "saving_dense": {"enabled": true, "base_path": "out", "filename_prefix": "dense", "nb_frames_per_file": 15},
                             "saving_sparse": {"enabled": true, "base_path": "out", "filename_prefix": "sparse", "nb_frames_per_file": 15} } }
            """);
        var results = Path.Combine(_folder, "results.json");
        ChildProcess StartWorker() => ChildProcess.Start(Python.Interpreter,
            [Worker, endpoint, "--results", results, "--timeout", "60", .. workerArgs], new Dictionary<string, string?> { ["HDF5_USE_FILE_LOCKING"] = "FALSE" });
        using var early = joinLate ? null : StartWorker();
        early?.WaitForOutput("ready", Limit);
        using var timeout = new CancellationTokenSource(Limit);
        await using var run = await ReceiverRun.PrepareAsync(settings, timeout.Token);
        var running = run.RunAsync(timeout.Token);
        while (joinLate && run.Progress().Processed < Frames)
            await Task.Delay(20, timeout.Token);
        using var late = joinLate ? StartWorker() : null;
        var worker = early ?? late!;
        var summary = await running;
        Assert.Null(summary.Error);
        Assert.True(worker.WaitForExit(Limit) == 0, worker.Output);
        var line = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{'));
        return new Outcome(summary, run.Find<RoiStatisticsNode>()!.Rows.Pop(), JsonDocument.Parse(line).RootElement.Clone(),
            JsonDocument.Parse(File.ReadAllText(results)).RootElement.Clone());
    }

    /// <summary>
    /// The worker's results of every frame equal the receiver's, whether they came with the frame or not; the frames in
    /// <paramref name="notSaved"/> (missed, and left out of the dense files as no hits) have no ROI statistics, said so.
    /// </summary>
    private void AssertEveryResultIsTheReceivers(Outcome outcome, int minNbPeaks = 8, IReadOnlySet<long>? notSaved = null)
    {
        Assert.Equal(Frames, outcome.Results.EnumerateObject().Count());
        // ROI statistics: the rows popRoiStatistics serves, two ROIs per frame
        Assert.Equal(2 * Frames, outcome.Rois.Length);
        for (var i = 0; i < outcome.Rois.Length; i++)
        {
            var row = outcome.Rois[i]; // a frame's rows in ROI order: the rectangle, then the arc
            Assert.Equal(row.RecvIdx, outcome.Results.GetProperty($"{row.FrameIdx}").GetProperty("recv_idx").GetInt32());
            var statistics = outcome.Results.GetProperty($"{row.FrameIdx}").GetProperty("roi_statistics");
            if (notSaved?.Contains(row.FrameIdx) == true)
            {
                Assert.Equal("not saved: no hit", statistics.GetString());
                continue;
            }
            var roi = statistics[i % 2];
            Assert.Equal((row.Min, row.Max, row.Avg, row.Std, row.Sum),
                (roi.GetProperty("min").GetSingle(), roi.GetProperty("max").GetSingle(), roi.GetProperty("avg").GetSingle(),
                 roi.GetProperty("std").GetSingle(), roi.GetProperty("sum").GetDouble()));
            Assert.True(row.Sum > 0, $"frame {row.FrameIdx}: an empty ROI proves nothing");
        }
        // peaks: the receiver's sparse files, read by h5py
        var saved = JsonDocument.Parse(Python.Eval($$"""
            import glob, h5py, json, math
            out = {}
            for path in sorted(glob.glob("{{_folder}}/out/sparse_*.h5")):
                with h5py.File(path, "r") as f:
                    p = f["entry_0000/peaks"]
                    for row, (i, n) in enumerate(zip(p["frame_idx"][()], p["nPeaks"][()])):
                        out[str(int(i))] = {"nb_peaks": int(n), "x": [float(v) for v in p["peakXPosRaw"][row, :n]],
                                            "y": [float(v) for v in p["peakYPosRaw"][row, :n]],
                                            "intensity": [float(v) for v in p["peakTotalIntensity"][row, :n]]}
            print(json.dumps(out))
            """)).RootElement;
        Assert.Equal(Frames, saved.EnumerateObject().Count());
        var hits = 0;
        foreach (var frame in saved.EnumerateObject())
        {
            var published = outcome.Results.GetProperty(frame.Name).GetProperty("peaks");
            var n = frame.Value.GetProperty("nb_peaks").GetInt32();
            Assert.Equal(n, published.GetProperty("nb_peaks").GetInt32());
            Assert.Equal(n >= minNbPeaks, published.GetProperty("hit").GetBoolean());
            hits += n >= minNbPeaks ? 1 : 0;
            foreach (var column in new[] { "x", "y", "intensity" })
                Assert.Equal(frame.Value.GetProperty(column).EnumerateArray().Select(v => (float)v.GetDouble()),
                    published.GetProperty(column).EnumerateArray().Select(v => (float)v.GetDouble()));
        }
        Assert.Equal(outcome.Summary.Peaks!.Hits, hits);
        Assert.Equal(outcome.Summary.Peaks.Peaks, saved.EnumerateObject().Sum(f => f.Value.GetProperty("nb_peaks").GetInt32()));
    }

    [Theory]
    [InlineData("maxiv")]
    [InlineData("dectris_v2")]
    public async Task A_worker_that_keeps_up_receives_every_frames_results_with_it_equal_to_the_receivers(string format)
    {
        var outcome = await Run($"\"socket\": \"push\", \"format\": \"{format}\", \"compression\": \"bslz4\", \"queue_frames\": 64", []);

        Assert.Equal(Frames, outcome.Summary.Publishing!.Published);
        Assert.Equal((Frames, 0), (outcome.Worker.GetProperty("results_received").GetInt32(), outcome.Worker.GetProperty("results_filled").GetInt32()));
        AssertEveryResultIsTheReceivers(outcome);
    }

    [Fact]
    public async Task A_slow_worker_misses_frames_and_their_results_and_makes_them_from_the_files_equal_to_the_receivers()
    {
        // a 2-frame queue, a worker that takes 50 ms a frame and holds one message ahead: the receiver drops
        var outcome = await Run("\"socket\": \"push\", \"format\": \"maxiv\", \"compression\": \"bslz4\", \"queue_frames\": 2, \"end_timeout_ms\": 30000",
            ["--delay", "0.05", "--rcvhwm", "1"]);

        var publishing = outcome.Summary.Publishing!;
        Assert.True(publishing.Dropped > 0, publishing.ToString());
        Assert.Equal(Frames, publishing.Published + publishing.Dropped);
        Assert.Equal(Frames, outcome.Summary.Saved);
        Assert.Equal(publishing.Published, outcome.Worker.GetProperty("results_received").GetInt64());
        Assert.Equal(publishing.Dropped, outcome.Worker.GetProperty("results_filled").GetInt64());
        Assert.Equal(0, outcome.Worker.GetProperty("results_missing").GetArrayLength());
        AssertEveryResultIsTheReceivers(outcome);
    }

    [Fact]
    public async Task A_worker_that_missed_frames_of_a_run_that_saves_hits_only_knows_those_not_saved_and_fills_their_peaks()
    {
        // fai.dense_skip_nohits with min_nb_peaks 12: 15 of the 40 frames (12 Bragg peaks, some too faint) are no
        // hits; a worker that joins once they are processed misses all but the 2 queued, hits and no hits
        const int minNbPeaks = 12;
        var frames = Path.Combine(_folder, "frames.h5");
        var outcome = await Run("\"socket\": \"push\", \"format\": \"maxiv\", \"compression\": \"bslz4\", \"queue_frames\": 2, \"end_timeout_ms\": 30000",
            ["--delay", "0.05", "--rcvhwm", "1", "--out", frames],
            $"\"cutoff_pick\": 5, \"min_nb_peaks\": {minNbPeaks}, \"error_model\": \"poisson\", \"dense_skip_nohits\": true", joinLate: true);

        // the receiver saved the hits only: one chunk each in its dense files, the rows of the others unwritten
        var hits = outcome.Summary.Peaks!.Hits;
        Assert.InRange(hits, 1, Frames - 1);
        Assert.Equal((hits, Frames - hits), (outcome.Summary.Saved, outcome.Summary.NotSavedNoHit));
        var chunks = JsonDocument.Parse(Python.Eval($$"""
            import glob, h5py, json
            rows, chunks = 0, 0
            for path in sorted(glob.glob("{{_folder}}/out/dense_0_*.h5")):
                with h5py.File(path, "r") as f:
                    rows += f["entry/data/data"].shape[0]
                    chunks += f["entry/data/data"].id.get_num_chunks()
            print(json.dumps([rows, chunks]))
            """)).RootElement;
        Assert.Equal(Frames, chunks[0].GetInt32());
        Assert.Equal(hits, chunks[1].GetInt32());

        // the worker: every frame received, filled from the files (hits) or known not saved as a no hit
        var kept = JsonDocument.Parse(Python.Eval($$"""
            import h5py, json
            with h5py.File("{{frames}}", "r") as f:
                index, filled = f["frame_index"][()], f["filled"][()]
                print(json.dumps({"received": [int(i) for i in index[~filled]], "filled": [int(i) for i in index[filled]],
                                  "not_saved": [int(i) for i in f["not_saved_no_hit"][()]]}))
            """)).RootElement;
        long[] Indices(string name) => [.. kept.GetProperty(name).EnumerateArray().Select(e => e.GetInt64())];
        var (received, filled, notSaved) = (Indices("received"), Indices("filled"), Indices("not_saved"));
        Assert.Equal(Enumerable.Range(0, Frames).Select(i => (long)i), received.Concat(filled).Concat(notSaved).Order());
        Assert.Equal(notSaved, outcome.Worker.GetProperty("not_saved_no_hit").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(0, outcome.Worker.GetProperty("missing").GetArrayLength());
        Assert.NotEmpty(filled);
        Assert.NotEmpty(notSaved);
        foreach (var index in notSaved)
        {
            var results = outcome.Results.GetProperty($"{index}");
            Assert.Equal("not saved: no hit", results.GetProperty("image").GetString());
            Assert.False(results.GetProperty("peaks").GetProperty("hit").GetBoolean());
        }
        foreach (var index in filled)
            Assert.True(outcome.Results.GetProperty($"{index}").GetProperty("peaks").GetProperty("hit").GetBoolean());
        // and the results of every frame are the receiver's: peaks from the sparse files for the frames not saved
        AssertEveryResultIsTheReceivers(outcome, minNbPeaks, notSaved.ToHashSet());
    }

    [Theory]
    [InlineData("maxiv")]
    [InlineData("dectris_v2")]
    public async Task A_plain_frame_consumer_a_second_receiver_takes_frames_with_results_as_frames(string format)
    {
        // the relay measures a ROI, so its frames carry results; the second receiver knows nothing of them and
        // measures the same ROI on the frames it reads: equal rows prove it read every pixel past the results
        const string statistics = """
            "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 3, "y": 2}, "dimensions": {"x": 30, "y": 20}}]}
            """;
        var relay = $"tcp://127.0.0.1:{FreePort.Next()}";
        var first = ReceiverSettings.Parse($$$"""
            {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "32MiB", "saving_root": "{{{_folder}}}",
                          "publish": {"endpoint": "{{{relay}}}", "socket": "push", "format": "{{{format}}}", "compression": "bslz4", "queue_frames": 64} },
             "acq_params": {"acq": {"nb_frames": {{{Frames}}}, "expo_time": 1000},
                            "det": {"generator": {"type": "gauss", "pixel_type": "gray16", "width": 64, "height": 48} } },
             "proc_params": {"class_name": "LimaProcessingLegacy", {{{statistics}}} } }
            """);
        var second = ReceiverSettings.Parse($$$"""
            {"receiver": {"channel": {"kind": "{{{format}}}", "endpoints": ["{{{relay}}}"]}, "memory_cap": "32MiB", "saving_root": "{{{_folder}}}"},
             "acq_params": {"acq": {"nb_frames": {{{Frames}}} } },
             "proc_params": {"class_name": "LimaProcessingLegacy", {{{statistics}}} } }
            """);
        using var timeout = new CancellationTokenSource(Limit);
        var starting = ReceiverRun.StartAsync(second, timeout.Token);
        await using var relaying = await ReceiverRun.PrepareAsync(first, timeout.Token);
        var relayed = relaying.RunAsync(timeout.Token);
        await using var receiving = await starting;
        var received = await receiving.RunAsync(timeout.Token);
        var sent = await relayed;

        Assert.Null(sent.Error);
        Assert.Equal(Frames, sent.Publishing!.Published);
        Assert.Null(received.Error);
        Assert.Equal((Frames, Frames, 0L), (received.Counters.Received, received.Counters.Processed, received.Counters.Dropped));
        Assert.Equal(0, received.Rejections.Values.Sum());
        Assert.Equal(relaying.Find<RoiStatisticsNode>()!.Rows.Pop(), receiving.Find<RoiStatisticsNode>()!.Rows.Pop());
    }
}
