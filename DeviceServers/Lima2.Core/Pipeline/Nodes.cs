using Lima2.Core.Frames;

namespace Lima2.Core.Pipeline;

/// <summary>
/// A graph step that changes frames: in place (mask, background, flat field) or into a new frame of another
/// geometry (binning, crop, flip, rotation). Runs on several frames at once; the graph keeps their order.
/// </summary>
public interface IFrameTransform
{
    string Name { get; }

    /// <summary>Geometry of the frames this step returns.</summary>
    FrameInfo Output { get; }

    /// <summary>
    /// Takes ownership of <paramref name="input"/> and returns the frame to pass on: the same frame, or a new one (then
    /// it disposes the input). On exception the input is left to the caller.
    /// </summary>
    ValueTask<Frame> ApplyAsync(Frame input, CancellationToken cancellationToken);
}

/// <summary>
/// The end of a branch of the graph: every processed frame reaches every consumer (fan-out, each with its own
/// <see cref="Frame.Retain"/>d reference). Work is split in two: <see cref="FrameConsumer{TResult}.Compute"/> runs
/// on up to <see cref="MaxDegreeOfParallelism"/> frames at once, then
/// <see cref="FrameConsumer{TResult}.CommitAsync"/> runs one frame at a time in receiver order.
/// </summary>
public abstract class FrameConsumer(string name)
{
    public string Name { get; } = name;

    public virtual int MaxDegreeOfParallelism => 1;

    /// <summary>
    /// Frames the branch holds at once (being computed or waiting for their commit); null: the graph's queue size. A
    /// consumer whose Compute takes a buffer from a bounded pool sets it to the pool's size, so that a Compute never
    /// waits for a buffer only a later frame's commit would free.
    /// </summary>
    public virtual int? BranchCapacity => null;

    /// <summary>Called once after the last frame (flush files, publish the last partial result).</summary>
    public virtual ValueTask CompleteAsync(CancellationToken cancellationToken) => default;

    internal abstract IOrderedStage<Ticket> Link(GraphRuntime runtime, int capacity);
}

/// <summary>A consumer whose parallel part yields a <typeparamref name="TResult"/> for its ordered part.</summary>
public abstract class FrameConsumer<TResult>(string name) : FrameConsumer(name)
{
    /// <summary>Work on one frame that may run beside other frames' (must be thread-safe).</summary>
    public abstract TResult Compute(Frame frame);

    /// <summary>
    /// Publishes the result of a frame; called in receiver order, one frame at a time. Not called for a frame once
    /// the graph has stopped (abort or fault): its result is let go.
    /// </summary>
    public abstract ValueTask CommitAsync(Frame frame, TResult result, CancellationToken cancellationToken);

    internal override IOrderedStage<Ticket> Link(GraphRuntime runtime, int capacity) =>
        new OrderedStage<Ticket, TResult?>(
            ticket => runtime.Guard(Name, ticket, Compute),
            async (ticket, result) =>
            {
                await runtime.GuardAsync(Name, ticket, frame => CommitAsync(frame, result!, runtime.Token)).ConfigureAwait(false);
                runtime.Release(ticket);
            },
            discard: ticket =>
            {
                ticket.Failed = true; // not reached while the guards keep every failure inside the ticket
                runtime.Release(ticket);
            },
            MaxDegreeOfParallelism, capacity);
}

/// <summary>A frame on its way through the graph, with the accounting of its branches.</summary>
internal sealed class Ticket(Frame frame)
{
    public Frame Frame = frame;
    public readonly long Index = frame.Index;
    public int Pending;
    public volatile bool Failed;
}
