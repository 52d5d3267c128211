using Lima2.Core.Frames;
using Lima2.Core.Parameters;

namespace Lima2.Core.Pipeline;

/// <summary>
/// Where a detector channel puts the frames it receives: a processing graph (<see cref="FrameGraph"/>) or anything
/// that accounts for frames the same way.
/// </summary>
/// <remarks>
/// For each frame the channel (1) rents a buffer with <see cref="RentAsync"/>, (2) fills it from the wire (the one
/// copy), (3) wraps it in a <see cref="Frame"/> and hands it over with <see cref="SubmitAsync"/>. From then on the
/// target owns the frame. A frame the channel saw but cannot deliver (malformed, out of buffers in drop mode, ...)
/// still counts: <see cref="ReportLost"/>.
/// </remarks>
public interface IFrameTarget
{
    /// <summary>Geometry and pixel type the target expects; buffers from <see cref="RentAsync"/> hold one such frame.</summary>
    FrameInfo InputInfo { get; }

    /// <summary>The pool the frame buffers come from (e.g. for a second buffer holding the encoded bytes).</summary>
    FramePool Pool { get; }

    OverloadPolicy Policy { get; }

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

    /// <summary>Counts a frame the channel received but could not deliver (received and dropped).</summary>
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
}

/// <summary>How a channel's run ended.</summary>
/// <param name="Delivered">frames handed to the target with SubmitAsync</param>
/// <param name="Lost">frames reported with ReportLost (including those without a buffer in drop mode)</param>
/// <param name="EndReason">"end of stream", "stopped", ...</param>
public sealed record ChannelSummary(long Delivered, long Lost, string EndReason);

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

    ValueTask<ChannelStart> StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Delivers frames until the end of the stream. Cancellation ends the run normally (EndReason "stopped");
    /// <see cref="IFrameTarget.Aborted"/> ends it too.
    /// </summary>
    Task<ChannelSummary> RunAsync(IFrameTarget target, CancellationToken cancellationToken);
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
