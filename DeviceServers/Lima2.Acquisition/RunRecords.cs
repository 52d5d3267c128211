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

/// <summary>How a run ended. <see cref="Error"/> is null when every frame went through without a fault.
/// <see cref="LastRejection"/>: the channel's last rejection (<see cref="IDetectorChannel.LastRejection"/>).
/// <see cref="NotSavedNoHit"/>: processed frames the dense saving left out as no hits (SMX fai.dense_skip_nohits).</summary>
public sealed record ReceiverSummary(
    ChannelSummary Channel,
    GraphCountersSnapshot Counters,
    TimeSpan Elapsed,
    long Saved,
    long SavedBytes,
    IReadOnlyList<string> Files,
    string? MasterFile,
    IReadOnlyDictionary<string, long> Rejections,
    string? LastRejection,
    PeakCounts? Peaks,
    Exception? Error,
    Publishing.PublishCounts? Publishing = null,
    long NotSavedNoHit = 0);
