using System.Threading.Channels;

namespace Tango.Server;

/// <summary>
/// A device's posted events (<see cref="Device.PostChangeEvent"/> and its siblings), pushed in the order they were
/// posted by one task of their own. cppTango pushes under the device monitor, so a thread that pushes directly
/// while a command holds that monitor and waits for the thread (Stop waiting for the end of a run that pushes its
/// state) blocks until the monitor timeout (3.2 s) and fails; posting returns at once and the queue pushes once the
/// monitor is free. Bounded: when full, the oldest queued event gives way (counted, then logged) so that the latest
/// values still arrive. Events posted before delete_device are not pushed after it.
/// </summary>
internal sealed class EventQueue
{
    public const int Capacity = 4096;

    private readonly record struct Posted(int Generation, Action Push);

    private readonly NLog.Logger _logger;
    private readonly Channel<Posted> _queue;
    private int _generation;
    private long _dropped;

    public EventQueue(NLog.Logger logger)
    {
        _logger = logger;
        _queue = Channel.CreateBounded<Posted>(
            new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
        _ = Task.Run(DrainAsync);
    }

    public void Post(Action push) => _queue.Writer.TryWrite(new Posted(Volatile.Read(ref _generation), push));

    /// <summary>delete_device starts: what is queued now is dropped.</summary>
    public void Forget() => Interlocked.Increment(ref _generation);

    /// <summary>The device is destroyed: the task ends once the queue is empty.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    private async Task DrainAsync()
    {
        await foreach (var posted in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                var dropped = Interlocked.Exchange(ref _dropped, 0);
                if (dropped > 0)
                    _logger.Warn("{Count} posted events were dropped: more than {Capacity} waited for the device", dropped, Capacity);
                if (posted.Generation == Volatile.Read(ref _generation))
                    posted.Push();
            }
            catch (Exception e)
            {
                _logger.Warn(e, "pushing a posted event failed");
            }
        }
    }
}
