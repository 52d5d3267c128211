using Lima2.Core.Frames;

namespace Lima2.Core.Pipeline;

/// <summary>
/// The end of a branch of the processing graph: saving, a live-view buffer, a network forwarder.
/// The graph calls <see cref="WriteAsync"/> for each frame in receiver order from one thread at a time,
/// then <see cref="CompleteAsync"/> once after the last frame.
/// </summary>
public interface IFrameSink : IAsyncDisposable
{
    /// <summary>Consumes the frame. The sink does not dispose it: the graph owns the reference.</summary>
    ValueTask WriteAsync(Frame frame, CancellationToken cancellationToken);

    /// <summary>Flushes and closes what the sink wrote (files, master file, ...).</summary>
    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
