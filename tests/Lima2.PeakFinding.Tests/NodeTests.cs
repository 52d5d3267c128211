using Lima2.Core.Frames;
using Lima2.Core.Pipeline;

namespace Lima2.PeakFinding.Tests;

public sealed class NodeTests
{
    [Fact]
    public async Task In_a_processing_graph_the_node_counts_peaks_keeps_sparse_frames_and_saves_in_order()
    {
        var model = Synthetic.Model(new FaiParams { CutoffPick = 4, Connected = 2, AccNbFramesXfer = 4 });
        var tables = new SparseTables();
        var node = new PeakFinderNode(PeakFinder.Create(model, PixelType.Gray32s, Ocl.Options), counterBufferFrames: 100,
            sparseHistoryFrames: 3, tables, parallelism: 2);
        var info = new FrameInfo(Synthetic.Width, Synthetic.Height, PixelType.Gray32s);
        await using var graph = new FrameGraph(info, [], [node], new GraphOptions { MemoryCapBytes = 16L * info.ByteSize });
        var expected = new List<int>();
        var pixel = 3 * Synthetic.Width + 4;
        var sum = 0f;
        using var reference = PeakFinder.Create(model, PixelType.Gray32s, Ocl.Reference);
        for (var i = 0; i < 8; i++)
        {
            var counts = Synthetic.Counts(500 + i);
            sum += counts[pixel];
            using (var f = Synthetic.Frame(counts))
                expected.Add(reference.Process(f).NbPeaks);
            var buffer = (await graph.RentAsync(i, default))!.Value;
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(counts.AsSpan()).CopyTo(buffer.Array);
            await graph.SubmitAsync(new Frame(buffer, info, i, i), default);
        }
        await graph.CompleteAsync();

        var rows = node.PeakCounters.Pop();
        Assert.Equal(Enumerable.Range(0, 8), rows.Select(r => r.FrameIdx));
        Assert.Equal(expected, rows.Select(r => r.NbPeaks));
        Assert.Equal(8, node.NbFramesSparse);
        Assert.Equal(7, node.LastIndex);
        Assert.NotNull(node.SparseFrame(7));
        Assert.Equal(7, node.SparseFrame(-1)!.FrameIndex);
        Assert.Null(node.SparseFrame(2)); // only 3 kept
        // the 8th call to finish publishes the second period: by then all 8 frames are accumulated
        Assert.Equal(sum, node.Accumulated!.Value.Corrected[pixel]);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), tables.FrameIndex);
        Assert.Equal(expected, tables.NPeaks);
    }
}
