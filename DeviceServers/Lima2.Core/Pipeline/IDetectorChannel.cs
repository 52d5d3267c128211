using Lima2.Core.Frames;
using Lima2.Core.Parameters;

namespace Lima2.Core.Pipeline;

/// <summary>
/// Where a detector channel puts the frames it receives: a processing graph (<see cref="FrameGraph"/>) or anything
/// that accounts for frames the same way.
/// </summary>
/// <remarks>
/// For each frame the channel (1) rents a buffer with <see cref="RentAsync"/>, (2) fills it from the wire (the one
/// copy), (3) wraps it in a <see cref="Frame"/> (with the bytes it came in, when kept, still where they arrived) and
/// hands it over with <see cref="SubmitAsync"/>. From then on the
/// target owns the frame. A frame the channel saw but cannot deliver (malformed, out of buffers in drop mode, ...)
/// still counts: <see cref="ReportLost"/>.
/// </remarks>
public interface IFrameTarget
{
    /// <summary>Geometry and pixel type the target expects; buffers from <see cref="RentAsync"/> hold one such frame.</summary>
    FrameInfo InputInfo { get; }

    /// <summary>
    /// A buffer for the next frame. With <see cref="OverloadPolicy.BackPressure"/> this waits for a free buffer (the
    /// wait is the back-pressure on the detector); with <see cref="OverloadPolicy.Drop"/> it returns null at once
    /// when none is free, and the frame is counted as received and dropped.
    /// </summary>
    ValueTask<PooledBuffer?> RentAsync(long frameIndex, CancellationToken cancellationToken);

    /// <summary>
    /// Hands a frame over; the target disposes it in every case. With back-pressure this waits while the entry queue
    /// is full; with drop it drops and counts the frame instead.
    /// </summary>
    ValueTask SubmitAsync(Frame frame, CancellationToken cancellationToken);

    /// <summary>Counts a frame the channel received but could not deliver (received and dropped), and says why.</summary>
    void ReportLost(long frameIndex, string reason);

    /// <summary>Signalled when the target can take no more frames (it faulted or was aborted): stop producing.</summary>
    CancellationToken Aborted { get; }
}

/// <summary>What a channel knows once its stream has started.</summary>
/// <param name="Frame">geometry and pixel type of every frame of the stream</param>
/// <param name="ExpectedFrames">frames this receiver will get, or null when endless or unknown</param>
public sealed record ChannelStart(FrameInfo Frame, long? ExpectedFrames)
{
    /// <summary>Detector and exposure facts for the saved files (the HDF5 sinks write them as NXdetector fields).</summary>
    public DetectorMetadata? Metadata { get; init; }

    /// <summary>Partial-frame dispatch: every receiver takes every frame, each a part of the detector's image; null when this receiver's frames are whole.</summary>
    public FrameParts? Parts { get; init; }
}

/// <summary>Why a channel's run ended.</summary>
public enum ChannelEnd
{
    /// <summary>The receiver's share is done: the end of the acquisition or series, or every frame received.</summary>
    Completed,

    /// <summary>Cancelled by the caller (Stop), or stopped before the stream started.</summary>
    Stopped,

    /// <summary>The target could take no more frames (<see cref="IFrameTarget.Aborted"/>: the graph faulted).</summary>
    Aborted,

    /// <summary>The channel failed or never started; the run's error says why.</summary>
    Failed,
}

/// <summary>How a channel's run ended.</summary>
/// <param name="Delivered">frames handed to the target with SubmitAsync</param>
/// <param name="Lost">frames reported with ReportLost (including those without a buffer in drop mode)</param>
/// <param name="End">why it ended</param>
/// <param name="Detail">the channel's own words for it, for logs: "end of series", "all frames received", ...</param>
public sealed record ChannelSummary(long Delivered, long Lost, ChannelEnd End, string Detail);

/// <summary>
/// A source of detector frames for one receiver: the simulator, a DECTRIS stream, a file player.
/// </summary>
/// <remarks>
/// Life cycle: <see cref="StartAsync"/> once (waits for the stream's description, e.g. a DECTRIS header), then
/// <see cref="RunAsync"/> once, which delivers every frame to the target and returns at the end of the stream or
/// when cancelled (Stop); a broken stream throws <see cref="ChannelException"/>.
/// </remarks>
public interface IDetectorChannel : IAsyncDisposable
{
    /// <summary>A short name for logs and counters ("simulator", "dectris-v1 tcp://...").</summary>
    string Name { get; }

    /// <summary>
    /// True when <see cref="StartAsync"/> answers at once (the geometry is known before any frame, as for the
    /// simulator): a receiver then starts it at Prepare, so that errors needing the geometry surface there.
    /// </summary>
    bool StartsAtPrepare => false;

    /// <summary>
    /// Frames of the whole run, over all receivers, as the channel knows them once started (a DECTRIS header's
    /// count, the simulator's nb_frames); null when endless or unknown.
    /// </summary>
    long? TotalFrames => null;

    /// <summary>Messages the channel turned away, by reason ("malformed", "duplicate frame", ...); none by default.</summary>
    IReadOnlyDictionary<string, long> Rejections => NoRejections;

    /// <summary>What the last rejection was (which message or frame, and why), for the run's summary; null when none.</summary>
    string? LastRejection => null;

    /// <summary>
    /// Most bytes the channel makes the process hold outside the frame pool for frames of <paramref name="frame"/>'s
    /// geometry (received messages waiting to be decoded, socket buffers): a receiver takes it off its memory cap
    /// before sizing the frame pool. 0 for a channel that fills pool buffers directly.
    /// </summary>
    long BufferedBytesBound(FrameInfo frame) => 0;

    /// <summary>
    /// A software trigger: releases the next frames of a channel waiting for triggers (the simulator outside internal
    /// trigger mode). A channel fed by a detector ignores it: the control device triggers the detector.
    /// </summary>
    void Trigger()
    {
    }

    ValueTask<ChannelStart> StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Delivers frames until the end of the stream. Cancellation ends the run normally (<see cref="ChannelEnd.Stopped"/>);
    /// <see cref="IFrameTarget.Aborted"/> ends it too (<see cref="ChannelEnd.Aborted"/>).
    /// </summary>
    Task<ChannelSummary> RunAsync(IFrameTarget target, CancellationToken cancellationToken);

    private static readonly IReadOnlyDictionary<string, long> NoRejections = new Dictionary<string, long>();
}

/// <summary>A detector stream that cannot go on (malformed message, lost connection, wrong frame size, ...).</summary>
public class ChannelException : Exception
{
    public ChannelException(string message) : base(message)
    {
    }

    public ChannelException(string message, Exception inner) : base(message, inner)
    {
    }
}
