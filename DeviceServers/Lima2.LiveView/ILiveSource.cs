using System.Diagnostics.CodeAnalysis;
using Lima2.Core.Frames;

namespace Lima2.LiveView;

/// <summary>
/// What a live view shows of one device (a receiver, or the control for the whole detector). Read by the live
/// view's own threads a few times a second and on HTTP requests: never on the frame path, and every member returns
/// at once.
/// </summary>
public interface ILiveSource
{
    /// <summary>The Tango device name, e.g. <c>id00/limareceiver/sim@0</c>.</summary>
    string Name { get; }

    /// <summary>The counters and state now.</summary>
    LiveCounters ReadCounters();

    /// <summary>The newest frame, retained for the caller, who disposes it; false when there is none.</summary>
    bool TryGetLatestFrame([MaybeNullWhen(false)] out Frame frame);

    /// <summary>What to draw over frame <paramref name="frameIndex"/>: the run's ROIs and the peaks found in it.</summary>
    LiveOverlay Overlay(long frameIndex);
}

/// <summary>A device's counters at one moment (those of its current run; zero before the first).</summary>
/// <param name="State">acq_state's label: idle, prepared, running, fault</param>
/// <param name="Run">the current run's uuid, "" before the first</param>
/// <param name="RoiSums">the newest ROI sums, rect ROIs then arc ROIs</param>
/// <param name="LastFrame">global index of the newest frame <see cref="ILiveSource.TryGetLatestFrame"/> gives, -1: none</param>
/// <param name="Parts">the receivers of a control's view, each with its own counters; empty for a receiver</param>
public sealed record LiveCounters(string State, string Run, long Received, long Processed, long Saved, long Dropped,
    long SavedBytes, long Hits, double HitRate, IReadOnlyList<double> RoiSums, long LastFrame, IReadOnlyList<LivePart> Parts)
{
    public static LiveCounters None { get; } = new("idle", "", 0, 0, 0, 0, 0, 0, 0, [], -1, []);
}

/// <summary>One receiver as a control's view lists it: its state, counters and live page ("" when it has none).</summary>
public sealed record LivePart(string Device, string State, long Received, long Processed, long Saved, long Dropped, long LastFrame, string Url);

/// <summary>A rectangle ROI in frame pixels.</summary>
public sealed record RectShape(int X, int Y, int Width, int Height);

/// <summary>An arc ROI: centre, radii (px) and angles (degrees from +x towards +y).</summary>
public sealed record ArcShape(double X, double Y, double R1, double R2, double A1, double A2);

/// <summary>A peak's position in frame pixels (column, row).</summary>
public sealed record PeakMark(double X, double Y);

/// <summary>What the page draws over a frame.</summary>
public sealed record LiveOverlay(IReadOnlyList<RectShape> Rects, IReadOnlyList<ArcShape> Arcs, IReadOnlyList<PeakMark> Peaks)
{
    public static LiveOverlay None { get; } = new([], [], []);
}
