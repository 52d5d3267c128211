using System.Collections.Concurrent;
using Lima2.Core.Pipeline;

namespace Lima2.Core.Tests;

public class OrderedStageTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Items_worked_in_parallel_are_committed_once_each_in_the_order_they_were_sent()
    {
        var running = 0;
        var mostAtOnce = 0;
        var committed = new List<int>();
        var stage = new OrderedStage<int, int>(
            item =>
            {
                var now = Interlocked.Increment(ref running);
                InterlockedMax(ref mostAtOnce, now);
                // the first items wait for a second one to be worked beside them, however the thread pool schedules
                // (on 2 cores it may run short items one after the other): a stage that worked serially never gets past
                if (item < 2)
                    SpinWait.SpinUntil(() => Volatile.Read(ref mostAtOnce) >= 2, Patience);
                Thread.Sleep(Random.Shared.Next(0, 3)); // later items often finish first
                Interlocked.Decrement(ref running);
                return item * 10;
            },
            (item, result) =>
            {
                Assert.Equal(item * 10, result);
                committed.Add(item);
                return default;
            },
            discard: _ => Assert.Fail("nothing fails: nothing is discarded"),
            parallelism: 4, capacity: 8);

        for (var i = 0; i < 300; i++)
            Assert.True(await stage.SendAsync(i, default));
        stage.Complete();
        await stage.Completion.WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 300), committed);
        Assert.InRange(mostAtOnce, 2, 4);
        Assert.Equal(0, stage.Count);
    }

    [Fact]
    public async Task A_sender_waits_while_the_stage_holds_its_capacity_and_goes_on_when_a_commit_frees_room()
    {
        var gate = new SemaphoreSlim(0);
        var stage = new OrderedStage<int, int>(item => item, async (_, _) => await gate.WaitAsync(), _ => { },
            parallelism: 2, capacity: 3);
        for (var i = 0; i < 3; i++)
            Assert.True(await stage.SendAsync(i, default));

        var fourth = stage.SendAsync(3, default).AsTask();
        await Task.Delay(100);
        Assert.False(fourth.IsCompleted);
        Assert.Equal(3, stage.Count);

        gate.Release();
        Assert.True(await fourth.WaitAsync(Patience));
        gate.Release(3);
        stage.Complete();
        await stage.Completion.WaitAsync(Patience);
    }

    [Fact]
    public async Task A_sender_cancelled_while_waiting_for_room_keeps_its_item()
    {
        var gate = new SemaphoreSlim(0);
        var committed = new ConcurrentBag<int>();
        var stage = new OrderedStage<int, int>(item => item, async (item, _) =>
        {
            await gate.WaitAsync();
            committed.Add(item);
        }, _ => Assert.Fail("a refused item is not the stage's to discard"), parallelism: 1, capacity: 1);
        Assert.True(await stage.SendAsync(0, default));

        using var cancel = new CancellationTokenSource(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stage.SendAsync(1, cancel.Token).AsTask());

        gate.Release(2);
        stage.Complete();
        await stage.Completion.WaitAsync(Patience);
        Assert.Equal([0], committed);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_failing_work_or_commit_ends_the_stage_with_its_error_and_every_item_leaves_by_commit_or_discard(bool workFails)
    {
        var committed = new ConcurrentBag<int>();
        var discarded = new ConcurrentBag<int>();
        var stage = new OrderedStage<int, int>(
            item => workFails && item == 20 ? throw new InvalidDataException("bad item 20") : item,
            (item, _) =>
            {
                if (!workFails && item == 20)
                    throw new IOException("disk full at 20");
                committed.Add(item);
                return default;
            },
            discarded.Add, parallelism: 3, capacity: 6);

        var accepted = new List<int>();
        for (var i = 0; i < 100; i++)
            if (await stage.SendAsync(i, default))
                accepted.Add(i);
        stage.Complete();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => stage.Completion.WaitAsync(Patience));
        Assert.Contains(workFails ? "bad item 20" : "disk full at 20", error.Message);
        Assert.Equal(Enumerable.Range(0, 20), committed.Order());
        Assert.Contains(20, discarded);
        Assert.Equal(accepted, committed.Concat(discarded).Order());
        Assert.True(accepted.Count < 100, "items sent after the failure are refused");
        Assert.False(await stage.SendAsync(1000, default));
    }

    [Fact]
    public async Task An_item_sent_after_Complete_is_refused_and_stays_the_senders()
    {
        var stage = new OrderedStage<int, int>(item => item, (_, _) => default, _ => Assert.Fail("not the stage's"), 1, 1);
        stage.Complete();
        Assert.False(await stage.SendAsync(1, default));
        await stage.Completion.WaitAsync(Patience);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
                return;
            current = seen;
        }
    }
}
