using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;

namespace Lima2.Core.Pipeline;

/// <summary>How a graph is run: overload policy, memory, and the parts that come from outside the core.</summary>
public sealed record GraphOptions
{
    public OverloadPolicy Policy { get; init; } = OverloadPolicy.BackPressure;

    /// <summary>Most bytes of the input frame pool the graph makes (the builder also fits re-shaped frames under it).</summary>
    public long MemoryCapBytes { get; init; } = 1L << 30;

    /// <summary>Frames the entry queue holds (proc_params fifo.nb_fifo_frames).</summary>
    public int EntryCapacity { get; init; } = 64;

    /// <summary>Frames processed at once by each parallel step (proc_params fifo.nb_threads).</summary>
    public int Parallelism { get; init; } = 2;

    /// <summary>Where the pools the graph makes keep frames; null = the pinned managed heap.</summary>
    public IBufferMemory? FrameMemory { get; init; }
}

/// <summary>
/// One receiver's processing graph (TPL Dataflow): a chain of <see cref="IFrameTransform"/>s, then a fan-out to
/// every <see cref="FrameConsumer"/> (ROI statistics, profiles, accumulation, saving sinks, ...). Bounded
/// everywhere, ordered per receiver, cancellable, and every frame accounted for in <see cref="Counters"/>.
/// </summary>
/// <remarks>
/// Build it with <c>Graph.GraphBuilder</c> from proc_params, or directly from nodes. Feed it as an
/// <see cref="IFrameTarget"/> (usually by an <see cref="IDetectorChannel"/>), then call <see cref="CompleteAsync"/>.
/// The first exception in any node faults the graph: the frames still inside are released and counted
/// (<see cref="GraphCounters.DroppedFault"/>), <see cref="Aborted"/> tells the channel to stop, and
/// <see cref="CompleteAsync"/> throws a <see cref="GraphFaultedException"/> naming the node and the frame; its end
/// also frees the pools it made, whose buffers kept frames still hold go when those frames do. The graph owns its
/// steps and consumers (saving sinks included): <see cref="DisposeAsync"/> disposes them.
/// </remarks>
public sealed class FrameGraph : IFrameTarget, IAsyncDisposable
{
    private readonly GraphRuntime _runtime;
    private readonly ITargetBlock<Ticket> _entry;
    private readonly Task _completion;
    private readonly IReadOnlyList<FrameConsumer> _consumers;
    private readonly List<FramePool> _pools = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _closed;

    /// <param name="input">geometry of the frames the channel delivers</param>
    /// <param name="transforms">steps in order; each one's input is the previous one's output</param>
    /// <param name="consumers">branches that receive every transformed frame</param>
    /// <param name="options">policy, memory cap, queue sizes</param>
    /// <param name="inputPool">the pool of input frames; null = the graph makes one within the memory cap</param>
    public FrameGraph(FrameInfo input, IReadOnlyList<IFrameTransform> transforms, IReadOnlyList<FrameConsumer> consumers,
        GraphOptions options, FramePool? inputPool = null)
    {
        InputInfo = input;
        Policy = options.Policy;
        Transforms = transforms;
        _consumers = consumers;
        Counters = new GraphCounters();
        _runtime = new GraphRuntime(Counters);
        if (inputPool is null)
        {
            inputPool = new FramePool(input.ByteSize, options.MemoryCapBytes, options.FrameMemory);
            _pools.Add(inputPool);
        }
        Pool = inputPool;
        OutputInfo = transforms.Count == 0 ? input : transforms[^1].Output;

        var parallelism = Math.Max(1, options.Parallelism);
        var inner = Math.Max(2, 2 * parallelism);
        var link = new DataflowLinkOptions { PropagateCompletion = true };

        var branches = consumers.Select(c =>
        {
            Counters.Register(c.Name);
            return c.Link(_runtime, c.BranchCapacity ?? 2 * inner);
        }).ToArray();
        var fanOut = new ActionBlock<Ticket>(ticket => FanOutAsync(ticket, branches),
            _runtime.Options(1, transforms.Count == 0 ? Math.Max(1, options.EntryCapacity) : inner));
        _ = fanOut.Completion.ContinueWith(_ =>
        {
            foreach (var branch in branches)
                branch.Complete();
        }, TaskScheduler.Default);

        ITargetBlock<Ticket> next = fanOut;
        for (var i = transforms.Count - 1; i >= 0; i--)
        {
            var transform = transforms[i];
            Counters.Register(transform.Name);
            var block = new TransformBlock<Ticket, Ticket>(ticket => _runtime.ApplyAsync(transform, ticket),
                _runtime.Options(parallelism, i == 0 ? Math.Max(1, options.EntryCapacity) : inner));
            block.LinkTo(next, link);
            next = block;
        }
        _entry = next;
        _completion = Task.WhenAll(branches.Select(b => b.Completion).Append(fanOut.Completion));
    }

    public FrameInfo InputInfo { get; }

    /// <summary>Geometry of the frames the consumers see.</summary>
    public FrameInfo OutputInfo { get; }

    /// <summary>The input frames' pool: their pixel buffers come from it.</summary>
    public FramePool Pool { get; }

    public OverloadPolicy Policy { get; }

    public IReadOnlyList<IFrameTransform> Transforms { get; }

    public IReadOnlyList<FrameConsumer> Consumers => _consumers;

    public GraphCounters Counters { get; }

    public CancellationToken Aborted => _runtime.Token;

    /// <summary>The first node failure, or null.</summary>
    public Exception? Fault => _runtime.Fault;

    /// <summary>The first consumer of type <typeparamref name="T"/>, e.g. <c>Find&lt;RoiStatisticsNode&gt;()</c>.</summary>
    public T? Find<T>() where T : FrameConsumer => _consumers.OfType<T>().FirstOrDefault();

    /// <summary>Pools the graph made for re-shaped frames; they count against the memory cap.</summary>
    internal void AddPool(FramePool pool) => _pools.Add(pool);

    public async ValueTask<PooledBuffer?> RentAsync(long frameIndex, CancellationToken cancellationToken)
    {
        if (Policy == OverloadPolicy.BackPressure)
            return await Pool.RentAsync(cancellationToken).ConfigureAwait(false);
        if (Pool.TryRent(out var buffer))
            return buffer;
        Counters.OnReceived(frameIndex);
        _runtime.Drop(null, DropReason.Overload);
        return null;
    }

    public async ValueTask SubmitAsync(Frame frame, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            frame.Dispose();
            throw new InvalidOperationException($"frame {frame.Index} arrived after the graph was completed");
        }
        Counters.OnReceived(frame.Index);
        var ticket = new Ticket(frame);
        if (_runtime.Stopped)
        {
            _runtime.Drop(frame, DropReason.Fault);
            return;
        }
        if (Policy == OverloadPolicy.Drop)
        {
            if (!_entry.Post(ticket))
                _runtime.Drop(frame, DropReason.Overload);
            return;
        }
        bool accepted;
        try
        {
            accepted = await _entry.SendAsync(ticket, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _runtime.Drop(frame, DropReason.Fault);
            throw;
        }
        if (!accepted)
            _runtime.Drop(frame, DropReason.Fault);
    }

    public void ReportLost(long frameIndex, string reason)
    {
        Counters.OnReceived(frameIndex);
        _runtime.Drop(null, DropReason.Lost, reason);
    }

    /// <summary>
    /// Stops processing: frames still queued are released and counted as dropped, the channel sees
    /// <see cref="Aborted"/>. <see cref="CompleteAsync"/> must still be called.
    /// </summary>
    public void Abort(string reason) => _runtime.Abort(reason);

    /// <summary>
    /// Ends the run once the channel has delivered its last frame: waits for every frame to leave the graph, completes
    /// the consumers (sinks close their files), and checks that received = processed + dropped.
    /// </summary>
    /// <exception cref="GraphFaultedException">a node failed; the summary still accounts for every frame</exception>
    public async Task<GraphSummary> CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
            throw new InvalidOperationException("the graph was already completed");
        _entry.Complete();
        await _completion.ConfigureAwait(false);
        foreach (var consumer in _consumers)
        {
            try
            {
                await consumer.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _runtime.OnFault(consumer.Name, null, e, "completing");
            }
        }
        ReleasePools();
        var summary = new GraphSummary(Counters.Snapshot(), _clock.Elapsed, _runtime.AbortReason);
        if (!summary.Counters.Balanced)
            throw new InvalidOperationException(
                $"frame accounting is off: received {summary.Counters.Received} != processed {summary.Counters.Processed} + dropped {summary.Counters.Dropped}");
        if (_runtime.Fault is { } fault)
            throw new GraphFaultedException(fault.Message, summary, fault.InnerException ?? fault);
        return summary;
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _closed) == 0)
        {
            Abort("disposed");
            try
            {
                await CompleteAsync().ConfigureAwait(false);
            }
            catch (GraphFaultedException)
            {
                // the fault was the caller's to observe; disposing only releases the frames
            }
        }
        foreach (var consumer in _consumers)
        {
            if (consumer is IAsyncDisposable asyncDisposable)
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            else if (consumer is IDisposable disposable)
                disposable.Dispose();
        }
        foreach (var transform in Transforms)
            if (transform is IDisposable disposable)
                disposable.Dispose();
        _runtime.Dispose();
        ReleasePools();
    }

    /// <summary>
    /// No frame enters once the graph has completed: the pools it made stop renting and give back the buffers no kept
    /// frame holds (to a <see cref="FrameBufferReserve"/>, the next run's pools), the others as their frames go.
    /// </summary>
    private void ReleasePools()
    {
        foreach (var pool in _pools)
            pool.Dispose();
    }

    private async Task FanOutAsync(Ticket ticket, IOrderedStage<Ticket>[] branches)
    {
        if (branches.Length == 0)
        {
            _runtime.Finish(ticket);
            return;
        }
        ticket.Pending = branches.Length;
        for (var i = 1; i < branches.Length; i++)
            ticket.Frame.Retain();
        foreach (var branch in branches)
            if (!await branch.SendAsync(ticket, CancellationToken.None).ConfigureAwait(false))
            {
                ticket.Failed = true;
                _runtime.Release(ticket);
            }
    }
}

/// <summary>The end state of a graph run.</summary>
/// <param name="Counters">final counters: Balanced is true</param>
/// <param name="Elapsed">time from construction to completion</param>
/// <param name="AbortReason">why the run was aborted, or null</param>
public sealed record GraphSummary(GraphCountersSnapshot Counters, TimeSpan Elapsed, string? AbortReason);

/// <summary>A node failed; frames were released and counted; <see cref="Summary"/> has the final counters.</summary>
public sealed class GraphFaultedException(string message, GraphSummary summary, Exception inner) : Exception(message, inner)
{
    public GraphSummary Summary { get; } = summary;
}

/// <summary>State shared by the blocks of one graph: fault, abort, accounting.</summary>
internal sealed class GraphRuntime(GraphCounters counters) : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Exception? _fault;
    private string? _abortReason;

    public CancellationToken Token => _stop.Token;

    public bool Stopped => _stop.IsCancellationRequested;

    public Exception? Fault => Volatile.Read(ref _fault);

    public string? AbortReason => Volatile.Read(ref _abortReason);

    public ExecutionDataflowBlockOptions Options(int parallelism, int capacity) => new()
    {
        MaxDegreeOfParallelism = parallelism,
        BoundedCapacity = Math.Max(capacity, parallelism),
        EnsureOrdered = true,
        SingleProducerConstrained = false,
    };

    public void Abort(string reason)
    {
        Interlocked.CompareExchange(ref _abortReason, reason, null);
        Cancel();
    }

    public void OnFault(string node, long? frameIndex, Exception error, string doing = "processing")
    {
        var where = frameIndex is { } index ? $"frame {index}" : "the end of the run";
        var wrapped = new InvalidOperationException($"node '{node}' failed {doing} {where}: {error.Message}", error);
        if (Interlocked.CompareExchange(ref _fault, wrapped, null) is null)
            Cancel();
    }

    public async Task<Ticket> ApplyAsync(IFrameTransform transform, Ticket ticket)
    {
        if (Skips(ticket))
            return ticket;
        try
        {
            ticket.Frame = await transform.ApplyAsync(ticket.Frame, Token).ConfigureAwait(false);
            counters.OnNode(transform.Name);
        }
        catch (Exception e)
        {
            Fail(transform.Name, ticket, e);
        }
        return ticket;
    }

    /// <summary>A consumer's parallel part; default when it failed or was skipped.</summary>
    public TResult? Guard<TResult>(string node, Ticket ticket, Func<Frame, TResult> work)
    {
        if (Skips(ticket))
            return default;
        try
        {
            return work(ticket.Frame);
        }
        catch (Exception e)
        {
            Fail(node, ticket, e);
            return default;
        }
    }

    /// <summary>A consumer's ordered part; the node's count grows when it succeeds.</summary>
    public async Task GuardAsync(string node, Ticket ticket, Func<Frame, ValueTask> work)
    {
        if (Skips(ticket))
            return;
        try
        {
            await work(ticket.Frame).ConfigureAwait(false);
            counters.OnNode(node);
        }
        catch (Exception e)
        {
            Fail(node, ticket, e);
        }
    }

    /// <summary>Whether a node leaves the ticket alone: it failed in an earlier node, or the graph has stopped.</summary>
    private bool Skips(Ticket ticket)
    {
        if (ticket.Failed || Stopped)
            ticket.Failed = true;
        return ticket.Failed;
    }

    /// <summary>A node threw on the ticket: the frame is not processed; the graph faults unless it was being stopped.</summary>
    private void Fail(string node, Ticket ticket, Exception error)
    {
        ticket.Failed = true;
        if (error is not OperationCanceledException || !Stopped)
            OnFault(node, ticket.Index, error);
    }

    /// <summary>A branch is done with the ticket: drop its frame reference; the last branch settles the count.</summary>
    public void Release(Ticket ticket)
    {
        ticket.Frame.Dispose();
        if (Interlocked.Decrement(ref ticket.Pending) == 0)
            Settle(ticket);
    }

    /// <summary>A ticket that reached the fan-out with no branch to go to.</summary>
    public void Finish(Ticket ticket)
    {
        ticket.Frame.Dispose();
        if (Stopped)
            ticket.Failed = true;
        Settle(ticket);
    }

    /// <summary>
    /// The one place a received frame is counted as dropped: refused (overload), lost by the channel, or not fully
    /// processed (fault or abort). Its buffer, if it still holds one, goes back to the pool.
    /// </summary>
    public void Drop(Frame? frame, DropReason reason, string? lostReason = null)
    {
        frame?.Dispose();
        counters.OnDropped(reason, lostReason);
    }

    private void Settle(Ticket ticket)
    {
        if (ticket.Failed)
            Drop(null, DropReason.Fault);
        else
            counters.OnProcessed(ticket.Index);
    }

    private void Cancel()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the graph is gone: nothing left to stop
        }
    }

    public void Dispose() => _stop.Dispose();
}
