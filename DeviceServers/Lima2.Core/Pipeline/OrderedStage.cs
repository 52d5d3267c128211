using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Lima2.Core.Pipeline;

/// <summary>The entry of an <see cref="OrderedStage{TItem, TResult}"/>, seen without its result type.</summary>
public interface IOrderedStage<in TItem>
{
    /// <summary>
    /// Queues an item, waiting while the stage holds its capacity. False when the stage takes no more items
    /// (completed or failed): the item stays the caller's. Cancelled while waiting: throws, the item stays the caller's.
    /// </summary>
    ValueTask<bool> SendAsync(TItem item, CancellationToken cancellationToken);

    /// <summary>No more items: <see cref="Completion"/> ends once every queued item is committed or discarded.</summary>
    void Complete();

    /// <summary>Ends when every accepted item has left the stage; faults with the first failure of a work or commit.</summary>
    Task Completion { get; }
}

/// <summary>
/// "Parallel work, then in order": the work of up to <c>parallelism</c> items runs at once on the thread pool, then
/// each item's commit runs one at a time in the order the items were sent. Bounded: at most <c>capacity</c> items are
/// inside (waiting, worked on, or waiting for their commit); a sender waits for room.
/// </summary>
/// <remarks>
/// Every accepted item leaves through exactly one of two doors: its commit, or <c>discard</c> (which must not throw).
/// After the first failure (a work or a commit that throws) the stage starts no more work and calls no more commit:
/// that item and every one behind it is discarded, new sends are refused, and <see cref="Completion"/> throws the
/// failure once all have left.
/// </remarks>
/// <typeparam name="TItem">what is sent (a frame, a decode job)</typeparam>
/// <typeparam name="TResult">what the parallel work gives the ordered commit</typeparam>
public sealed class OrderedStage<TItem, TResult> : IOrderedStage<TItem>
{
    private readonly Func<TItem, TResult> _work;
    private readonly Func<TItem, TResult, ValueTask> _commit;
    private readonly Action<TItem> _discard;
    private readonly TaskFactory _workers;
    private readonly SemaphoreSlim _room;
    private readonly Channel<(TItem Item, Task<TResult> Work)> _inOrder =
        Channel.CreateUnbounded<(TItem, Task<TResult>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _sending = new();
    private Exception? _failure;
    private bool _completed;

    /// <param name="work">the parallel part (thread-safe)</param>
    /// <param name="commit">the ordered part, one item at a time</param>
    /// <param name="discard">gives back what an item holds when it is not committed (after a failure)</param>
    /// <param name="parallelism">works at once</param>
    /// <param name="capacity">items inside at once (at least <paramref name="parallelism"/>)</param>
    public OrderedStage(Func<TItem, TResult> work, Func<TItem, TResult, ValueTask> commit, Action<TItem> discard,
        int parallelism, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parallelism);
        _work = work;
        _commit = commit;
        _discard = discard;
        var scheduler = new ConcurrentExclusiveSchedulerPair(TaskScheduler.Default, parallelism).ConcurrentScheduler;
        _workers = new TaskFactory(CancellationToken.None, TaskCreationOptions.DenyChildAttach, TaskContinuationOptions.None, scheduler);
        Capacity = Math.Max(capacity, parallelism);
        _room = new SemaphoreSlim(Capacity, Capacity);
        Completion = Task.Run(CommitInOrderAsync);
    }

    public int Capacity { get; }

    /// <summary>Items inside the stage now.</summary>
    public int Count => Capacity - _room.CurrentCount;

    public Task Completion { get; }

    public async ValueTask<bool> SendAsync(TItem item, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _failure) is not null)
            return false;
        if (!_room.Wait(0))
            await _room.WaitAsync(cancellationToken).ConfigureAwait(false);
        lock (_sending)
        {
            // one lock for the start of the work and its place in the commit order, so both orders are the same
            if (!_completed && Volatile.Read(ref _failure) is null)
            {
                _inOrder.Writer.TryWrite((item, _workers.StartNew(() => _work(item))));
                return true;
            }
        }
        _room.Release();
        return false;
    }

    public void Complete()
    {
        lock (_sending)
        {
            _completed = true;
            _inOrder.Writer.TryComplete();
        }
    }

    private async Task CommitInOrderAsync()
    {
        await foreach (var (item, work) in _inOrder.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                var result = await work.ConfigureAwait(false);
                if (Volatile.Read(ref _failure) is null)
                    await _commit(item, result).ConfigureAwait(false);
                else
                    _discard(item);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
                _discard(item);
            }
            finally
            {
                _room.Release();
            }
        }
        if (Volatile.Read(ref _failure) is { } failure)
            ExceptionDispatchInfo.Throw(failure);
    }
}
