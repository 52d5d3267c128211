using System.Buffers;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.Parameters;

namespace Lima2.Core.Tests;

/// <summary>Frame buffers kept from one run's pools to the next run's, within the budget of the current run.</summary>
public class FrameBufferReserveTests
{
    private const int Frame = 4096;

    private static byte[] ArrayOf(PooledBuffer buffer) =>
        MemoryMarshal.TryGetArray<byte>(buffer.Memory, out var segment) ? segment.Array! : throw new InvalidOperationException("not an array");

    /// <summary>Rents <paramref name="count"/> buffers at once (a run that needs that many frames in flight), then gives them back.</summary>
    private static List<byte[]> RunPool(FramePool pool, int count)
    {
        var rented = Enumerable.Range(0, count).Select(_ => pool.Rent()).ToList();
        var arrays = rented.Select(ArrayOf).ToList();
        foreach (var buffer in rented)
            buffer.Dispose();
        return arrays;
    }

    [Fact]
    public void The_next_runs_pool_writes_into_the_buffers_of_the_last_one_and_makes_none_fresh()
    {
        using var reserve = new FrameBufferReserve();
        List<byte[]> first;
        using (var pool = new FramePool(Frame, 8 * Frame, reserve.For(null, 8 * Frame)))
            first = RunPool(pool, 5);
        Assert.Equal(5, reserve.FreshBuffers);
        Assert.Equal(5L * Frame, reserve.KeptBytes);

        using var second = new FramePool(Frame, 8 * Frame, reserve.For(null, 8 * Frame));
        var again = RunPool(second, 5);

        Assert.Equal(5, reserve.FreshBuffers);
        Assert.Equal(5, reserve.ReusedBuffers);
        Assert.Equal(first.ToHashSet(ReferenceEqualityComparer.Instance), again.ToHashSet(ReferenceEqualityComparer.Instance));
        Assert.Equal(5L * Frame, reserve.LentBytes); // the second pool's free list, until it is disposed
    }

    [Fact]
    public async Task A_graph_gives_its_pools_buffers_back_when_it_completes_and_the_next_graph_takes_them()
    {
        using var reserve = new FrameBufferReserve();
        var info = new FrameInfo(32, 32, PixelType.Gray16);
        var proc = new LegacyProcParams();
        var parts = new GraphParts { FrameMemory = reserve.For(null, 16L * info.ByteSize) };

        async Task RunAsync()
        {
            await using var graph = GraphBuilder.Build(proc, info, OverloadPolicy.BackPressure, 16L * info.ByteSize, parts);
            await GraphTests.FeedAsync(graph, 40);
            await graph.CompleteAsync();
            Assert.Equal(0, reserve.LentBytes); // given back at the end, before the graph is disposed
        }

        await RunAsync();
        var fresh = reserve.FreshBuffers;
        Assert.InRange(fresh, 1, 16);
        await RunAsync();

        Assert.Equal(fresh, reserve.FreshBuffers);
        Assert.True(reserve.ReusedBuffers > 0);
    }

    [Fact]
    public void A_new_geometry_frees_the_old_geometrys_buffers_its_room_needs_and_never_holds_more_than_the_budget()
    {
        using var reserve = new FrameBufferReserve();
        const long budget = 8 * Frame;
        using (var small = new FramePool(Frame, budget, reserve.For(null, budget)))
            RunPool(small, 8);
        Assert.Equal(budget, reserve.KeptBytes);

        using (var large = new FramePool(3 * Frame, budget, reserve.For(null, budget)))
            RunPool(large, 2);

        Assert.Equal(budget, reserve.PeakBytes);
        Assert.Equal(2 * 3L * Frame + 2L * Frame, reserve.KeptBytes); // the large frames, and what is left of the small ones
        Assert.Equal(0, reserve.ReusedBuffers);
    }

    [Fact]
    public void A_smaller_budget_frees_kept_buffers_beyond_it_at_once()
    {
        using var reserve = new FrameBufferReserve();
        using (var pool = new FramePool(Frame, 8 * Frame, reserve.For(null, 8 * Frame)))
            RunPool(pool, 6);

        reserve.For(null, 4 * Frame);

        Assert.Equal(4L * Frame, reserve.KeptBytes);
    }

    [Fact]
    public void Buffers_of_another_memory_are_freed_rather_than_handed_out()
    {
        using var reserve = new FrameBufferReserve();
        var device = new CountingMemory();
        using (var pool = new FramePool(Frame, 4 * Frame, reserve.For(device, 4 * Frame)))
            RunPool(pool, 3);
        Assert.Equal(0, device.Freed);

        using (var pool = new FramePool(Frame, 4 * Frame, reserve.For(null, 4 * Frame)))
            RunPool(pool, 1);

        Assert.Equal(3, device.Freed);
        Assert.Equal(3, device.Allocated);
        Assert.Equal(4, reserve.FreshBuffers);
    }

    [Fact]
    public void A_frame_kept_past_its_pool_comes_back_to_the_reserve_and_trim_and_dispose_free_everything()
    {
        var memory = new CountingMemory();
        var reserve = new FrameBufferReserve();
        var pool = new FramePool(Frame, 4 * Frame, reserve.For(memory, 4 * Frame));
        var kept = pool.Rent(); // a frame a finished run's history still holds
        RunPool(pool, 2);
        pool.Dispose();
        Assert.Equal(1, pool.InUse);
        Assert.Equal((long)Frame, reserve.LentBytes);

        kept.Dispose();
        Assert.Equal(0, pool.InUse);
        Assert.Equal(3L * Frame, reserve.KeptBytes);

        reserve.Trim();
        Assert.Equal(0, reserve.KeptBytes);
        Assert.Equal(3, memory.Freed);

        var latePool = new FramePool(Frame, 4 * Frame, reserve.For(memory, 4 * Frame));
        var late = latePool.Rent();
        reserve.Dispose(); // the device deleted while a frame is still held
        latePool.Dispose();
        late.Dispose();
        Assert.Equal(0, reserve.KeptBytes);
        Assert.Equal(4, memory.Freed);
        Assert.Throws<ObjectDisposedException>(() => reserve.For(memory, 4 * Frame));
    }

    /// <summary>A memory that counts what it makes and frees (a GPU's driver-pinned memory, say).</summary>
    private sealed class CountingMemory : IBufferMemory
    {
        public int Allocated;
        public int Freed;

        public IMemoryOwner<byte> Allocate(int bytes)
        {
            Allocated++;
            return new Block(this, new byte[bytes]);
        }

        private sealed class Block(CountingMemory memory, byte[] array) : IMemoryOwner<byte>
        {
            public Memory<byte> Memory { get; } = array;

            public void Dispose() => memory.Freed++;
        }
    }
}
