using System.Threading.Channels;

namespace Lima2.Server.Devices;

/// <summary>
/// Pushes a device's events in order from a thread of its own. cppTango takes the device's monitor to push; a
/// state change raised while a command holds that monitor (Stop waiting for the run to end, whose end pushes
/// acq_state) would otherwise wait for the monitor timeout.
/// </summary>
public sealed class EventPusher : IDisposable
{
    private readonly Channel<Action> _queue = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _worker;

    public EventPusher(NLog.Logger logger)
    {
        _worker = Task.Run(async () =>
        {
            await foreach (var push in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                try
                {
                    push();
                }
                catch (Exception e)
                {
                    logger.Warn(e, "pushing an event failed");
                }
            }
        });
    }

    public void Post(Action push) => _queue.Writer.TryWrite(push);

    /// <summary>Pushes what is queued, then stops.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _worker.Wait(TimeSpan.FromSeconds(5));
    }
}
