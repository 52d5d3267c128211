using Lima2.Core.Frames;

namespace Lima2.PeakFinding.Tests;

/// <summary>The newer pyFAI rules (the default) on the shared frames: every planted peak, nothing on blank.</summary>
public sealed class PlantedPeakTests
{
    private static FaiParams Documented(TestFrame f) => f.OracleParams("pf8_poisson_c4_p3_n3") with { Pyfai0213Compat = false, MinNbPeaks = 10, DenseSkipNohits = true };

    [Theory]
    [InlineData("f1k", "opencl")]
    [InlineData("jf4m", "opencl")]
    [InlineData("f1k", "reference")]
    public void Every_planted_peak_is_found_within_two_pixels_and_the_frame_is_a_hit(string name, string backend)
    {
        var f = TestFrame.Get(name);
        var result = OracleTests.Run(f, Documented(f), backend);
        var planted = f.Planted();
        foreach (var (row, col) in planted)
            Assert.Contains(result.Peaks, p => Math.Sqrt((p.Pos0 - row) * (p.Pos0 - row) + (p.Pos1 - col) * (p.Pos1 - col)) <= 2);
        var spurious = result.Peaks.Count(p => !planted.Any(t => Math.Sqrt((p.Pos0 - t.Row) * (p.Pos0 - t.Row) + (p.Pos1 - t.Col) * (p.Pos1 - t.Col)) <= 2));
        Assert.True(spurious <= planted.Count / 10, $"{spurious} peaks match nothing planted");
        Assert.True(result.IsHit);
        Assert.True(result.KeepDense);
    }

    [Theory]
    [InlineData("opencl")]
    [InlineData("reference")]
    public void The_blank_frame_has_no_peak_and_is_not_kept_dense_when_skipping_non_hits(string backend)
    {
        var f = TestFrame.Get("blank1k");
        var result = OracleTests.Run(f, Documented(f), backend);
        Assert.Empty(result.Peaks);
        Assert.False(result.IsHit);
        Assert.False(result.KeepDense);
        Assert.NotEmpty(result.Sparse.Index); // the background still fluctuates above 4 sigma here and there
    }

    [Fact]
    public void Peaks_touching_the_border_or_a_masked_gap_are_voided_only_by_the_newer_rules()
    {
        var counts = Synthetic.Counts(11);
        // a bright spot centred on the first row: only the 0.21.3 rules keep it
        for (var dj = -1; dj <= 1; dj++)
            counts[0 * Synthetic.Width + 128 + dj] += dj == 0 ? 900 : 300;
        using var frame = Synthetic.Frame(counts);
        var p = new FaiParams { CutoffPick = 4, Connected = 2 };
        using var current = PeakFinder.Create(Synthetic.Model(p), PixelType.Gray32s, Ocl.Reference);
        using var legacy = PeakFinder.Create(Synthetic.Model(p with { Pyfai0213Compat = true }), PixelType.Gray32s, Ocl.Reference);
        Assert.DoesNotContain(current.Process(frame).Peaks, x => x.Index == 128);
        Assert.Contains(legacy.Process(frame).Peaks, x => x.Index == 128);
    }
}
