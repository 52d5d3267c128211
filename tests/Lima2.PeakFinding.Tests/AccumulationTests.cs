using Lima2.Core.Frames;

namespace Lima2.PeakFinding.Tests;

public sealed class AccumulationTests
{
    [Theory]
    [InlineData("opencl")]
    [InlineData("reference")]
    public void Accumulated_frames_come_every_xfer_frames_and_restart_every_reset_frames(string backend)
    {
        var p = new FaiParams { AccNbFramesXfer = 2, AccNbFramesReset = 4, CutoffPick = 4 };
        using var finder = PeakFinder.Create(Synthetic.Model(p), PixelType.Gray32s, backend == "opencl" ? Ocl.Options : Ocl.Reference);
        var counts = Synthetic.Counts(21);
        using var frame = Synthetic.Frame(counts);
        var results = Enumerable.Range(0, 6).Select(_ => finder.Process(frame)).ToList();
        Assert.Equal([false, true, false, true, false, true], results.Select(r => r.AccumulatedCorrected is not null));
        var first = results[0];
        var pixel = 5 * Synthetic.Width + 7; // ω = 1, no dark: the corrected value is the count
        Assert.Equal(2f * counts[pixel], results[1].AccumulatedCorrected![pixel]);
        Assert.Equal(4f * counts[pixel], results[3].AccumulatedCorrected![pixel]);
        Assert.Equal(2f * counts[pixel], results[5].AccumulatedCorrected![pixel]); // reset after frame 4
        var sparse = first.Sparse.Index[0];
        Assert.Equal(4f * counts[sparse], results[3].AccumulatedPeaks![sparse]);
        Assert.Equal(0f, results[3].AccumulatedPeaks![first.Sparse.Index.Contains(pixel) ? pixel + 1 : pixel]);
    }

    [Fact]
    public void Concurrent_callers_get_the_same_answers_as_one_caller()
    {
        var model = Synthetic.Model(new FaiParams());
        using var finder = PeakFinder.Create(model, PixelType.Gray32s, Ocl.Options with { Queues = 2 });
        var frames = Enumerable.Range(0, 6).Select(s => Synthetic.Counts(100 + s)).ToArray();
        var serial = frames.Select(c => { using var f = Synthetic.Frame(c); return finder.Process(f).Peaks.Select(x => x.Index).ToArray(); }).ToArray();
        var parallel = new int[frames.Length][];
        Parallel.For(0, frames.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i =>
        {
            using var f = Synthetic.Frame(frames[i]);
            parallel[i] = finder.Process(f).Peaks.Select(x => x.Index).ToArray();
        });
        Assert.Equal(serial, parallel);
        Assert.Equal(12, finder.FramesProcessed);
    }

    [Fact]
    public void Sparse_tables_hold_pyFAIs_sparse_arrays_and_the_CXI_peak_tables()
    {
        var model = Synthetic.Model(new FaiParams { CutoffPick = 4, Connected = 2 });
        using var finder = PeakFinder.Create(model, PixelType.Gray32s, Ocl.Reference);
        using var tables = new SparseTables(maxPeaks: 3);
        tables.Begin(SparseLayout.Of(model));
        var results = new List<PeakFrameResult>();
        for (var i = 0; i < 3; i++)
        {
            using var f = Frame.FromArray(Synthetic.Counts(40 + i), Synthetic.Width, Synthetic.Height, index: 10 + i);
            var r = finder.Process(f);
            results.Add(r);
            tables.Write(r);
        }
        tables.Complete();
        Assert.Equal([10L, 11, 12], tables.FrameIndex);
        Assert.Equal(results.Sum(r => r.Sparse.Index.Length), tables.FramePtr[^1]);
        Assert.Equal(results[1].Sparse.Index, tables.Index[(int)tables.FramePtr[1]..(int)tables.FramePtr[2]]);
        Assert.Equal(3 * model.NbBins, tables.BackgroundAvg.Length);
        Assert.Equal(results.Select(r => Math.Min(3, r.NbPeaks)), tables.NPeaks);
        Assert.Equal(results[2].Peaks[0].Pos1, tables.PeakXPosRaw[2 * 3]);
        Assert.Equal(results[2].Peaks[0].Pos0, tables.PeakYPosRaw[2 * 3]);
        Assert.Equal(results[2].Peaks[0].Intensity / results[2].Peaks[0].Sigma, tables.PeakSnr[2 * 3]);
    }
}
