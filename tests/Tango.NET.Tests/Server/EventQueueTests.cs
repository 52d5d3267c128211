using System.Collections.Concurrent;
using Tango.Server;

namespace Tango.NET.Tests.Server;

/// <summary>The queue behind Device.Post*Event, with pushes that only record what ran (no Tango needed).</summary>
public sealed class EventQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>Posts a push that holds the queue, as a push waiting for the device monitor does; returns its release.</summary>
    private static ManualResetEventSlim Busy(EventQueue queue)
    {
        var release = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        queue.Post(() =>
        {
            started.Set();
            release.Wait();
        });
        Assert.True(started.Wait(Timeout));
        return release;
    }

    private static void Drain(EventQueue queue, ManualResetEventSlim busy)
    {
        var done = new TaskCompletionSource();
        queue.Post(() => done.SetResult());
        busy.Set();
        Assert.True(done.Task.Wait(Timeout));
    }

    [Fact]
    public void Posted_pushes_run_in_order_and_while_the_device_is_busy_the_oldest_give_way_so_memory_stays_bounded()
    {
        var queue = new EventQueue(NLog.LogManager.GetLogger(nameof(EventQueueTests)));
        var pushed = new ConcurrentQueue<int>();
        using var busy = Busy(queue);
        const int posted = 10_000;
        for (var i = 0; i < posted; i++)
        {
            var value = i;
            queue.Post(() => pushed.Enqueue(value));
        }
        Drain(queue, busy);

        // the newest values in order; the drain marker took the last place of the bounded queue
        const int kept = EventQueue.Capacity - 1;
        Assert.Equal(Enumerable.Range(posted - kept, kept), pushed);
    }

    [Fact]
    public void Events_posted_before_delete_device_are_not_pushed_after_it()
    {
        var queue = new EventQueue(NLog.LogManager.GetLogger(nameof(EventQueueTests)));
        var pushed = new ConcurrentQueue<string>();
        using var busy = Busy(queue);
        queue.Post(() => pushed.Enqueue("before 1"));
        queue.Post(() => pushed.Enqueue("before 2"));
        queue.Forget();
        queue.Post(() => pushed.Enqueue("after"));
        Drain(queue, busy);

        Assert.Equal(["after"], pushed);
    }

    [Fact]
    public void A_failing_push_is_logged_and_the_next_ones_still_run()
    {
        var queue = new EventQueue(NLog.LogManager.GetLogger(nameof(EventQueueTests)));
        var pushed = new ConcurrentQueue<int>();
        using var busy = Busy(queue);
        queue.Post(() => pushed.Enqueue(1));
        queue.Post(() => throw new DevFailedException("API_AttrNotFound", "nope attribute not found", "test"));
        queue.Post(() => pushed.Enqueue(2));
        Drain(queue, busy);

        Assert.Equal([1, 2], pushed);
    }
}
