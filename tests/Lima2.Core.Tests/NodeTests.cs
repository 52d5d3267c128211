using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;

namespace Lima2.Core.Tests;

/// <summary>Each node on a single frame.</summary>
public class NodeTests
{
    private static Frame Frame16(params ushort[] pixels) => Frame.FromArray(pixels, pixels.Length, 1);

    [Fact]
    public async Task Mask_sets_masked_pixels_to_zero_and_leaves_the_others()
    {
        using var frame = Frame16(10, 20, 30, 40);
        var node = new MaskTransform(frame.Info, [1, 0, 1, 0]);
        var result = await node.ApplyAsync(frame, default);
        Assert.Same(frame, result);
        Assert.Equal(new ushort[] { 10, 0, 30, 0 }, frame.Pixels<ushort>().ToArray());
    }

    [Fact]
    public async Task Background_subtraction_saturates_at_zero_for_unsigned_and_goes_negative_for_signed()
    {
        using var unsigned = Frame16(10, 20, 30);
        await new BackgroundTransform(unsigned.Info, [15, 5.4, 30]).ApplyAsync(unsigned, default);
        Assert.Equal(new ushort[] { 0, 15, 0 }, unsigned.Pixels<ushort>().ToArray());

        using var signed = Frame.FromArray(new short[] { 10, 20 }, 2, 1);
        await new BackgroundTransform(signed.Info, [15, 5]).ApplyAsync(signed, default);
        Assert.Equal(new short[] { -5, 15 }, signed.Pixels<short>().ToArray());
    }

    [Fact]
    public async Task Flat_field_divides_by_the_flat_normalised_to_mean_one()
    {
        using var frame = Frame.FromArray(new float[] { 100, 100, 100, 100 }, 4, 1);
        await new FlatfieldTransform(frame.Info, [1, 2, 3, 0]).ApplyAsync(frame, default);
        Assert.Equal(new float[] { 200, 100, 200f / 3, 0 }, frame.Pixels<float>().ToArray());
    }

    [Fact]
    public void A_reference_image_of_the_wrong_size_is_refused_with_both_sizes()
    {
        var error = Assert.Throws<ArgumentException>(() => new MaskTransform(new FrameInfo(4, 4, PixelType.Gray16), new byte[15]));
        Assert.Contains("15 pixels", error.Message);
        Assert.Contains("4x4", error.Message);
    }

    [Fact]
    public async Task Accumulation_publishes_the_sum_of_every_n_frames_and_the_partial_rest()
    {
        var info = new FrameInfo(2, 1, PixelType.Gray16);
        var node = new AccumulationNode(info, 3);
        for (var i = 0; i < 7; i++)
        {
            using var frame = Frame.FromArray(new ushort[] { (ushort)i, 1 }, 2, 1, index: 10 + i);
            await node.CommitAsync(frame, node.Compute(frame), default);
            if (i == 2)
                Assert.Equal(new AccumulatedFrame(10, 12, 3, 2, 1, [3, 3]), node.Latest!, new AccumulatedComparer());
        }
        Assert.Equal(2, node.Published);
        Assert.Equal([3.0 + 4 + 5, 3], node.Latest!.Sum);
        await node.CompleteAsync(default);
        Assert.Equal(3, node.Published);
        Assert.Equal(new AccumulatedFrame(16, 16, 1, 2, 1, [6, 1]), node.Latest!, new AccumulatedComparer());
    }

    private sealed class AccumulatedComparer : IEqualityComparer<AccumulatedFrame>
    {
        public bool Equals(AccumulatedFrame? a, AccumulatedFrame? b) =>
            a! with { Sum = [] } == b! with { Sum = [] } && a.Sum.SequenceEqual(b.Sum);

        public int GetHashCode(AccumulatedFrame obj) => 0;
    }

    [Fact]
    public void Roi_statistics_rows_carry_the_frame_and_receiver_indices_and_lima_statistics()
    {
        using var frame = Frame.FromArray(new ushort[] { 1, 2, 3, 4, 5, 6 }, 3, 2, index: 42, receiverIndex: 14);
        var node = new RoiStatisticsNode([PixelRegion.Rectangle(1, 0, 2, 2, 3, 2)], 10);
        var row = Assert.Single(node.Compute(frame));
        Assert.Equal(new RoiStatRow(42, 14, 2, 6, 4, (float)Math.Sqrt(2.5), 16), row);
        Assert.Equal(RoiStatRow.Size, System.Runtime.CompilerServices.Unsafe.SizeOf<RoiStatRow>());
    }

    [Fact]
    public void An_empty_or_fully_masked_roi_gives_zeros()
    {
        using var frame = Frame16(5, 6);
        Assert.Equal(default, RoiMath.Measure(frame, PixelRegion.Rectangle(0, 0, 2, 1, 2, 1, [0, 0])));
        Assert.Equal(default, RoiMath.Measure(frame, PixelRegion.Rectangle(5, 5, 2, 1, 2, 1)));
    }

    [Fact]
    public async Task A_graph_with_mask_from_an_npy_file_zeroes_masked_pixels_and_leaves_them_out_of_statistics()
    {
        using var dir = new TempDir();
        var maskPath = Path.Combine(dir.Path, "mask.npy");
        NpyFile.Write(maskPath, new byte[] { 1, 0, 1, 1 }, "|u1", 2, 2);
        var proc = new LegacyProcParams
        {
            Mask = new ReferenceImage { Enabled = true, Path = maskPath },
            Statistics = new Statistics { Enabled = true, RectRois = [new RectRoi { Dimensions = new Dimensions { X = 2, Y = 2 } }] },
        };
        var info = new FrameInfo(2, 2, PixelType.Gray16);
        await using var graph = GraphBuilder.Build(proc, info, OverloadPolicy.BackPressure, 1 << 16);
        var buffer = await graph.RentAsync(0, default);
        var frame = new Frame(buffer!.Value, info, 0, 0);
        new ushort[] { 4, 100, 6, 8 }.CopyTo(frame.Pixels<ushort>());
        await graph.SubmitAsync(frame, default);
        await graph.CompleteAsync();

        var row = Assert.Single(graph.Find<RoiStatisticsNode>()!.Rows.Pop());
        Assert.Equal((4f, 8f, 6f, 18.0), (row.Min, row.Max, row.Avg, row.Sum));
        Assert.Equal(["input", "mask"], graph.Transforms.Select(t => t.Name));
    }

    [Fact]
    public async Task With_roi_flip_rot_the_statistics_see_the_rotated_frame()
    {
        var proc = new LegacyProcParams
        {
            RoiFlipRot = new RoiFlipRot { Enabled = true, Rotation = Rotation.R90 },
            Statistics = new Statistics { Enabled = true, RectRois = [new RectRoi { Dimensions = new Dimensions { X = 2, Y = 1 } }] },
        };
        var info = new FrameInfo(3, 2, PixelType.Gray16);
        await using var graph = GraphBuilder.Build(proc, info, OverloadPolicy.BackPressure, 1 << 16);
        Assert.Equal(new FrameInfo(2, 3, PixelType.Gray16), graph.OutputInfo);
        var buffer = await graph.RentAsync(0, default);
        var frame = new Frame(buffer!.Value, info, 0, 0);
        new ushort[] { 1, 2, 3, 4, 5, 6 }.CopyTo(frame.Pixels<ushort>());
        await graph.SubmitAsync(frame, default);
        await graph.CompleteAsync();

        // rows [1 2 3] [4 5 6] turned clockwise: [4 1] [5 2] [6 3]
        var row = Assert.Single(graph.Find<RoiStatisticsNode>()!.Rows.Pop());
        Assert.Equal((1f, 4f, 5.0), (row.Min, row.Max, row.Sum));
        Assert.Equal(0, graph.Pool.InUse);
    }
}

public class FrameOwnershipTests
{
    [Fact]
    public void A_released_frame_cannot_be_retained_again_and_its_buffer_goes_back_once()
    {
        using var pool = new FramePool(8, 16);
        var frame = new Frame(pool.Rent(), new FrameInfo(2, 2, PixelType.Gray16), 0, 0);
        frame.Retain();
        frame.Dispose();
        Assert.Equal(1, pool.InUse);
        frame.Dispose();
        Assert.Equal(0, pool.InUse);
        Assert.Throws<ObjectDisposedException>(() => frame.Retain());
        Assert.Throws<ObjectDisposedException>(() => frame.Dispose());
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void A_buffer_its_memory_could_not_allocate_leaves_the_slot_free_for_the_next_rent()
    {
        using var pool = new FramePool(8, 8, new FailingOnce());
        Assert.Throws<OutOfMemoryException>(() => pool.Rent());
        Assert.Equal(0, pool.InUse);
        Assert.Equal(0, pool.AllocatedBytes);
        Assert.True(pool.TryRent(out var buffer));
        buffer.Dispose();
    }

    private sealed class FailingOnce : IBufferMemory
    {
        private int _calls;

        public System.Buffers.IMemoryOwner<byte> Allocate(int bytes) => _calls++ == 0
            ? throw new OutOfMemoryException("no pinned memory left")
            : PinnedHeapMemory.Instance.Allocate(bytes);
    }

    [Fact]
    public void A_frame_released_after_its_pool_was_disposed_does_not_fail()
    {
        var pool = new FramePool(8, 16);
        var frame = new Frame(pool.Rent(), new FrameInfo(2, 2, PixelType.Gray16), 0, 0);
        pool.Dispose();
        frame.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
    }
}

public class FrameHistoryTests
{
    [Fact]
    public async Task The_history_keeps_the_last_frames_for_getters_and_gives_them_back_to_the_pool_on_dispose()
    {
        var info = new FrameInfo(4, 4, PixelType.Gray16);
        var proc = new LegacyProcParams { Buffers = new Buffers { NbFramesBuffer = 3 } };
        var graph = GraphBuilder.Build(proc, info, OverloadPolicy.BackPressure, 40 * info.ByteSize, new GraphParts { KeepFrames = true });
        await GraphTests.FeedAsync(graph, 10);
        await graph.CompleteAsync();
        var history = graph.Find<FrameHistory>()!;

        Assert.Equal(3, history.Capacity);
        Assert.Equal(3, graph.Pool.InUse);
        Assert.False(history.TryGet(6, out _));
        Assert.True(history.TryGet(8, out var frame));
        using (frame)
            Assert.Equal(8, frame.Pixels<ushort>()[0]);
        Assert.True(history.TryGet(-1, out var latest));
        latest.Dispose();
        Assert.Equal(9, latest.Index);
        var pool = graph.Pool;
        await graph.DisposeAsync();
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public async Task Input_frames_are_kept_as_received_before_a_correction_changes_them_in_place()
    {
        var info = new FrameInfo(4, 4, PixelType.Gray16);
        var background = Path.Combine(Path.GetTempPath(), $"background-{Guid.NewGuid():N}.npy");
        NpyFile.Write(background, System.Runtime.InteropServices.MemoryMarshal.AsBytes(Enumerable.Repeat(3.0, 16).ToArray().AsSpan()), "<f8", 4, 4);
        try
        {
            var proc = new LegacyProcParams
            {
                Buffers = new Buffers { NbFramesBuffer = 3, NbInputFramesBuffer = 2 },
                Background = new ReferenceImage { Enabled = true, Path = background },
            };
            var graph = GraphBuilder.Build(proc, info, OverloadPolicy.BackPressure, 40 * info.ByteSize,
                new GraphParts { KeepFrames = true, KeepInputFrames = true });
            await GraphTests.FeedAsync(graph, 10, value: i => (ushort)(10 + i));
            await graph.CompleteAsync();
            var input = graph.Transforms.OfType<InputFrameHistory>().Single().Frames;

            Assert.Equal(2, input.Capacity);
            Assert.False(input.TryGet(7, out _));
            Assert.True(input.TryGet(-1, out var received));
            using (received)
                Assert.Equal((ushort)19, received.Pixels<ushort>()[0]);
            Assert.True(graph.Find<FrameHistory>()!.TryGet(9, out var processed));
            using (processed)
                Assert.Equal((ushort)16, processed.Pixels<ushort>()[0]);
            await graph.DisposeAsync();
        }
        finally
        {
            File.Delete(background);
        }
    }

    [Fact]
    public async Task Without_a_step_that_changes_frames_no_input_copies_are_made()
    {
        var info = new FrameInfo(4, 4, PixelType.Gray16);
        await using var graph = GraphBuilder.Build(new LegacyProcParams(), info, OverloadPolicy.BackPressure, 40 * info.ByteSize,
            new GraphParts { KeepFrames = true, KeepInputFrames = true });
        Assert.Empty(graph.Transforms.OfType<InputFrameHistory>());
    }

    [Fact]
    public async Task The_history_never_holds_more_than_a_quarter_of_the_pool()
    {
        var info = new FrameInfo(4, 4, PixelType.Gray16);
        var proc = new LegacyProcParams { Buffers = new Buffers { NbFramesBuffer = 100 } };
        await using var graph = GraphBuilder.Build(proc, info, OverloadPolicy.BackPressure, 20 * info.ByteSize, new GraphParts { KeepFrames = true });
        Assert.Equal(5, graph.Find<FrameHistory>()!.Capacity);
    }
}
