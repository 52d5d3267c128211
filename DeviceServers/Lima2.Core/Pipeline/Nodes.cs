using System.Threading.Tasks.Dataflow;
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

    /// <summary>Called once after the last frame (flush files, publish the last partial result).</summary>
    public virtual ValueTask CompleteAsync(CancellationToken cancellationToken) => default;

    internal abstract (ITargetBlock<Ticket> Entry, Task Completion) Link(GraphRuntime runtime, int boundedCapacity);
}

/// <summary>A consumer whose parallel part yields a <typeparamref name="TResult"/> for its ordered part.</summary>
public abstract class FrameConsumer<TResult>(string name) : FrameConsumer(name)
{
    /// <summary>Work on one frame that may run beside other frames' (must be thread-safe).</summary>
    public abstract TResult Compute(Frame frame);

    /// <summary>Publishes the result of a frame; called in receiver order, one frame at a time.</summary>
    public abstract ValueTask CommitAsync(Frame frame, TResult result, CancellationToken cancellationToken);

    internal override (ITargetBlock<Ticket> Entry, Task Completion) Link(GraphRuntime runtime, int boundedCapacity)
    {
        var compute = new TransformBlock<Ticket, (Ticket Ticket, TResult? Result)>(
            ticket => (ticket, runtime.Guard(this, ticket, Compute)),
            runtime.Options(MaxDegreeOfParallelism, boundedCapacity));
        var commit = new ActionBlock<(Ticket Ticket, TResult? Result)>(async item =>
        {
            await runtime.GuardAsync(this, item.Ticket, frame => CommitAsync(frame, item.Result!, runtime.Token)).ConfigureAwait(false);
            runtime.Release(item.Ticket);
        }, runtime.Options(1, boundedCapacity));
        compute.LinkTo(commit, new DataflowLinkOptions { PropagateCompletion = true });
        return (compute, commit.Completion);
    }
}

/// <summary>A saving (or any) <see cref="IFrameSink"/> as a graph branch: frames written in receiver order.</summary>
public sealed class SinkNode(string name, IFrameSink sink) : FrameConsumer<bool>(name)
{
    public IFrameSink Sink { get; } = sink;

    public override bool Compute(Frame frame) => true;

    public override ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken) =>
        Sink.WriteAsync(frame, cancellationToken);

    public override ValueTask CompleteAsync(CancellationToken cancellationToken) => Sink.CompleteAsync(cancellationToken);
}

/// <summary>A frame on its way through the graph, with the accounting of its branches.</summary>
internal sealed class Ticket(Frame frame)
{
    public Frame Frame = frame;
    public readonly long Index = frame.Index;
    public int Pending;
    public volatile bool Failed;
}
