using Lima2.Acquisition.Processing;
using Lima2.Core.Pipeline;

namespace Lima2.Acquisition;

/// <summary>What an SMX run's peak finder has found so far.</summary>
/// <param name="Frames">frames searched</param>
/// <param name="Hits">frames with at least fai.min_nb_peaks peaks</param>
/// <param name="Peaks">peaks in all frames</param>
public sealed record PeakCounts(long Frames, long Hits, long Peaks)
{
    public double HitRate => Frames == 0 ? 0 : (double)Hits / Frames;
}

/// <summary>A moment of a run, for a progress line. <see cref="Peaks"/> is null when the run finds no peaks.</summary>
public sealed record ReceiverProgress(TimeSpan Elapsed, long Received, long Processed, long Dropped, long Saved, long SavedBytes,
    long InputBytes, PeakCounts? Peaks);

/// <summary>How a run ended. <see cref="Error"/> is null when every frame went through without a fault.</summary>
public sealed record ReceiverSummary(
    ChannelSummary Channel,
    GraphCountersSnapshot Counters,
    TimeSpan Elapsed,
    long Saved,
    long SavedBytes,
    IReadOnlyList<string> Files,
    string? MasterFile,
    IReadOnlyDictionary<string, long> Rejections,
    PeakCounts? Peaks,
    Exception? Error);

/// <summary>What a run keeps for readers (the processing device's getters and pops) besides its files.</summary>
public sealed record ReceiverRunOptions
{
    /// <summary>
    /// The last buffers.nb_frames_buffer processed frames (<see cref="ReceiverRun.Frames"/>) and, for the classes with
    /// an input frame source (Legacy, XPCS), the last buffers.nb_input_frames_buffer input frames
    /// (<see cref="ReceiverRun.InputFrames"/>).
    /// </summary>
    public bool KeepFrames { get; init; }

    /// <summary>
    /// Rows for the pops beyond ROI statistics and profiles (<see cref="FrameIdxNode"/>) and, for XPCS, the photon-sparse
    /// frames and their fill factors (<see cref="XpcsSparseNode"/>).
    /// </summary>
    public bool ReducedData { get; init; }
}
