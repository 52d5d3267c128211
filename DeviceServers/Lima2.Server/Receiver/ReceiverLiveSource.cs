using System.Diagnostics.CodeAnalysis;
using Lima2.Core.Frames;
using Lima2.LiveView;

namespace Lima2.Server.Receiver;

/// <summary>A receiver as its live view shows it: the current run's counters, newest frame, ROIs and peaks.</summary>
public sealed class ReceiverLiveSource(string name, ReceiverLogic logic) : ILiveSource
{
    /// <summary>Peaks marked on a frame at most (a frame of ice rings may have thousands).</summary>
    public const int MaxPeakMarks = 500;

    public string Name { get; } = name;

    public LiveCounters ReadCounters()
    {
        var run = logic.Current;
        var peaks = run?.Run.Peaks;
        return new LiveCounters(logic.State.ToString().ToLowerInvariant(), run?.Uuid ?? "",
            logic.FramesReceived, logic.FramesProcessed, logic.FramesSaved, logic.FramesDropped, run?.Run.SavedBytes ?? 0,
            peaks?.Hits ?? 0, peaks?.HitRate ?? 0, [.. (run?.LatestRoiStatistics() ?? []).Select(r => r.Sum)],
            run?.Run.Frames?.LatestIndex ?? -1, []);
    }

    /// <summary>
    /// The newest frame whose peaks are known when the run finds peaks (the peak finder trails the frame history by
    /// a few frames, and a frame is shown with its peaks), else the newest frame.
    /// </summary>
    public bool TryGetLatestFrame([MaybeNullWhen(false)] out Frame frame)
    {
        if (logic.Current?.Run is { Peaks.LatestPeaks.FrameIndex: >= 0 and var searched, Frames: { } history }
            && history.TryGet(searched, out frame))
            return true;
        return logic.TryGetLatestFrame(out frame);
    }

    public LiveOverlay Overlay(long frameIndex)
    {
        if (logic.Current is not { } run)
            return LiveOverlay.None;
        var statistics = run.Proc.Statistics;
        var rects = statistics.Enabled
            ? statistics.RectRois.Select(r => new RectShape(r.Topleft.X, r.Topleft.Y, r.Dimensions.X, r.Dimensions.Y)).ToArray()
            : [];
        var arcs = statistics.Enabled
            ? statistics.ArcRois.Select(a => new ArcShape(a.Center.X, a.Center.Y, a.R1, a.R2, a.A1, a.A2)).ToArray()
            : [];
        PeakMark[] peaks = run.Run.Peaks?.LatestPeaks is { } latest && latest.FrameIndex == frameIndex
            // the centre of the peak's brightest pixel
            ? [.. latest.Peaks.Take(MaxPeakMarks).Select(p => new PeakMark(p.Col + 0.5, p.Row + 0.5))]
            : [];
        return new LiveOverlay(rects, arcs, peaks);
    }
}
