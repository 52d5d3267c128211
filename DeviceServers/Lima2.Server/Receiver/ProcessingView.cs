using System.Text.Json;
using Lima2.Acquisition;
using Lima2.Acquisition.Processing;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Processing;
using Lima2.PeakFinding;
using Lima2.Protocol;

namespace Lima2.Server.Receiver;

/// <summary>
/// One receiver's pipeline for one Prepare uuid as its processing device serves it: a <see cref="ReceiverRun"/> read
/// through Lima2's client contract (progress_counters and last_frames JSON, DevEncoded frame getters, pops).
/// </summary>
public sealed class ProcessingView(string uuid, ReceiverRun run) : IAsyncDisposable
{
    public string Uuid { get; } = uuid;

    public ReceiverRun Run { get; } = run;

    public ProcParams Proc => Run.Settings.ProcParams;

    public string ClassName => Proc.ClassName;

    /// <summary>Why the run failed, as the LIMA_Exception payload, or null.</summary>
    public LimaError? Error => Run.Error is { } e ? LimaFailure.Payload(e) : null;

    public string ProgressCounters()
    {
        var c = Run.Counters;
        var counters = new Dictionary<string, long>
        {
            ["nb_frames_source"] = c?.Received ?? 0,
            ["nb_frames_input"] = c?.Received ?? 0,
            ["nb_frames_processed"] = c?.Processed ?? 0,
            ["nb_frames_dropped"] = c?.Dropped ?? 0,
            ["nb_frames_saved"] = Run.Saved,
        };
        if (Run.Peaks is { } peaks)
        {
            counters["nb_frames_sparse"] = peaks.Frames;
            counters["nb_hits"] = peaks.Hits;
            counters["nb_peaks"] = peaks.TotalPeaks;
        }
        if (Run.Find<XpcsSparseNode>() is { } xpcs)
            counters["nb_frames_sparse"] = xpcs.Frames;
        return JsonSerializer.Serialize(counters);
    }

    public string LastFrames()
    {
        var c = Run.Counters;
        var last = new Dictionary<string, long>
        {
            ["input_idx"] = c?.LastInputIndex ?? -1,
            ["processed_idx"] = c?.LastProcessedIndex ?? -1,
        };
        if (Run.Peaks is { } peaks)
            last["sparse_idx"] = peaks.Sparse(-1)?.FrameIndex ?? -1;
        if (Run.Find<XpcsSparseNode>() is { } xpcs)
            last["sparse_idx"] = xpcs.Sparse(-1)?.FrameIndex ?? -1;
        return JsonSerializer.Serialize(last);
    }

    public static string FrameInfoJson(FrameInfo? info) => info is { } f
        ? JsonSerializer.Serialize(new { nb_channels = f.Channels, dimensions = new { x = f.Width, y = f.Height }, pixel_type = f.PixelType.ToLimaName() })
        : "{}";

    /// <summary>A processed frame (global index, -1 = newest) as DENSE_FRAME; throws when it is no longer kept.</summary>
    public EncodedData GetFrame(long index) => Dense(Run.Frames, "frame", index);

    /// <summary>An input frame (before corrections and geometry) as DENSE_FRAME; throws when it is no longer kept.</summary>
    public EncodedData GetInputFrame(long index) => Dense(Run.InputFrames, "input frame", index);

    private static EncodedData Dense(FrameHistory? history, string what, long index)
    {
        if (history is null || !history.TryGet(index, out var frame))
            throw NotAvailable(what, index);
        using (frame)
            return EncodedLayouts.Dense(frame);
    }

    /// <summary>A sparse frame (global index, -1 = newest): SMX_SPARSE_FRAME of the peak finder, XPCS SPARSE_FRAME.</summary>
    public EncodedData GetSparseFrame(long index)
    {
        if (Run.Peaks?.Sparse(index) is { } peaks)
            return EncodedLayouts.SmxSparse(peaks.Width, peaks.Height, peaks.FrameIndex, peaks.Index, peaks.Intensity,
                peaks.BackgroundAvg, peaks.BackgroundStd);
        if (Run.Find<XpcsSparseNode>()?.Sparse(index) is { } photons)
            return EncodedLayouts.Sparse(photons.Width, photons.Height, photons.FrameIndex, photons.Index, photons.Intensity);
        throw NotAvailable("sparse frame", index);
    }

    public EncodedData GetAccumulated(bool peaks)
    {
        var node = Run.Peaks;
        var acc = node?.LastAccumulation ?? throw new InvalidOperationException(
            "no accumulated frame yet (fai.acc_nb_frames_xfer frames must have been processed)");
        using var frame = Frame.FromArray(peaks ? acc.AccumulatedPeaks! : acc.AccumulatedCorrected!, node!.Width, node.Height, acc.FrameIndex);
        return EncodedLayouts.Dense(frame);
    }

    /// <summary>The peak finder's radial bin centres (m, float32) as a DENSE_FRAME one bin per column, height 1.</summary>
    public EncodedData Radius1d()
    {
        var model = PeakModel();
        using var frame = Frame.FromArray(Array.ConvertAll(model.BinCenters, c => (float)c), model.NbBins, 1);
        return EncodedLayouts.Dense(frame);
    }

    /// <summary>
    /// The radius of each pixel centre (m, float32, pyFAI's radius2d) as a DENSE_FRAME of the frame's shape, NaN on
    /// the pixels the finder leaves out (fai.mask_path, or no finite radius).
    /// </summary>
    public EncodedData Radius2dMask()
    {
        var model = PeakModel();
        using var frame = Frame.FromArray(model.Radius, model.Width, model.Height);
        return EncodedLayouts.Dense(frame);
    }

    private PeakFinderModel PeakModel() => Run.Peaks?.Model ?? throw new InvalidOperationException(
        "no peak finder yet: its geometry is known once the stream has started (a DECTRIS receiver before its first frame)");

    public EncodedData PopRoiStatistics() => Structured(Run.Find<RoiStatisticsNode>()?.Rows.Pop() ?? []);

    public EncodedData PopRoiProfiles() => Structured(Run.Find<RoiProfilesNode>()?.Rows.Pop() ?? []);

    public EncodedData PopPeakCounters() => EncodedLayouts.Structured<PeakCounterRecord>(Run.Peaks?.Counters.Pop() ?? []);

    public EncodedData PopFillFactors() => EncodedLayouts.Structured<FillFactorRecord>(Run.Find<XpcsSparseNode>()?.FillFactors.Pop() ?? []);

    public EncodedData PopFrameIdx() => EncodedLayouts.Structured<FrameIdxRecord>(Run.Find<FrameIdxNode>()?.Rows.Pop() ?? []);

    public int RoiStatisticsCount => Run.Find<RoiStatisticsNode>()?.RoiCount ?? 0;

    /// <summary>The ROI statistics of the newest frame measured (one row per ROI), for the receiver's counters.</summary>
    public RoiStatRow[] LatestRoiStatistics() => Run.Find<RoiStatisticsNode>()?.Latest ?? [];

    private static EncodedData Structured(RoiStatRow[] rows) =>
        EncodedLayouts.Structured<RoiStatisticsRecord>(rows.Select(r =>
            new RoiStatisticsRecord(r.FrameIdx, r.RecvIdx, r.Min, r.Max, r.Avg, r.Std, r.Sum)).ToArray());

    private static InvalidOperationException NotAvailable(string what, long index) =>
        new($"{what} {(index < 0 ? "(latest)" : index.ToString())} is not available on this receiver");

    /// <summary>The run's <see cref="ReceiverRun.RunAsync"/> once started (completed before).</summary>
    public Task Running { get; private set; } = Task.CompletedTask;

    /// <summary>Runs <see cref="ReceiverRun.RunAsync"/> on the thread pool; <see cref="DisposeAsync"/> waits for it.</summary>
    public void Start(CancellationToken stop) => Running = Task.Run(() => Run.RunAsync(stop));

    /// <summary>
    /// Disposes the run once <see cref="ReceiverRun.RunAsync"/> has returned: its Finished handlers (the receiver's
    /// end of share, the processing device's events) are still reading the run when a client that heard the end
    /// erases the pipeline.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        // RunAsync reports failures in Run.Error rather than throwing; a run that a Stop did not end in 30 s is
        // disposed anyway, which aborts its graph
        await Task.WhenAny(Running, Task.Delay(TimeSpan.FromSeconds(30))).ConfigureAwait(false);
        await Run.DisposeAsync().ConfigureAwait(false);
    }
}
