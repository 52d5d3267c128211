using Lima2.Acquisition.Processing;
using Lima2.Core.Frames;

namespace Lima2.Acquisition.Tests.Processing;

public sealed class XpcsSparseNodeTests
{
    [Fact]
    public void Only_pixels_above_0_are_kept_and_counts_saturate_at_16_bits()
    {
        using var signed = Frame.FromArray(new short[] { 0, -3, 5, 0, 0, 0, 0, 0, 0, 7, -1, 0 }, 4, 3, index: 42);
        var node = new XpcsSparseNode(signed.Info, 4, 4, 1);
        var sparse = node.Compute(signed);
        Assert.Equal([2, 9], sparse.Index);
        Assert.Equal([(ushort)5, (ushort)7], sparse.Intensity);
        Assert.Equal((4, 3, 42L), (sparse.Width, sparse.Height, sparse.FrameIndex));

        using var wide = Frame.FromArray(new uint[] { 70000, 0, 0, 1 }, 2, 2);
        Assert.Equal([(ushort)65535, (ushort)1], new XpcsSparseNode(wide.Info, 4, 4, 1).Compute(wide).Intensity);
    }

    [Fact]
    public async Task The_kept_sparse_frames_stay_within_four_dense_frames_of_bytes_and_the_newest_is_always_kept()
    {
        // 4x4 gray16: 32 bytes a frame, a budget of 128 bytes; a fully lit frame is 16 x 6 = 96 bytes
        var info = new FrameInfo(4, 4, PixelType.Gray16);
        var node = new XpcsSparseNode(info, 100, 100, 1);
        for (var i = 0; i < 3; i++)
        {
            using var frame = Frame.FromArray(Enumerable.Repeat((ushort)(i + 1), 16).ToArray(), 4, 4, index: i, receiverIndex: i);
            await node.CommitAsync(frame, node.Compute(frame), default);
        }
        Assert.Null(node.Sparse(1));
        Assert.Equal(2, node.Sparse(-1)!.FrameIndex);
        Assert.Equal(3, node.Frames);
        Assert.Equal([16, 16, 16], node.FillFactors.Pop().Select(r => r.FillFactor));
    }
}
