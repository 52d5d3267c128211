using Lima2.Core.Frames;

namespace Lima2.PeakFinding.Tests;

/// <summary>Small synthetic frames made in C# (Poisson background plus Gaussian peaks) for tests that need
/// calibration arrays, other pixel types or odd masks.</summary>
public static class Synthetic
{
    public const int Width = 256, Height = 200;

    public static readonly Geometry Geometry = new(0.1, 100.3 * 75e-6, 120.6 * 75e-6, 0, 0, 0, 75e-6, 75e-6);

    public static readonly (int Row, int Col)[] Peaks = [(40, 60), (150, 200), (90, 30), (170, 100), (30, 220)];

    /// <summary>Expected counts: 20 + 80·exp(−r/80) plus five peaks of a few hundred photons.</summary>
    public static float[] Expectation()
    {
        var e = new float[Width * Height];
        for (var i = 0; i < Height; i++)
            for (var j = 0; j < Width; j++)
            {
                var r = Math.Sqrt((i - 100.3 + 0.5) * (i - 100.3 + 0.5) + (j - 120.6 + 0.5) * (j - 120.6 + 0.5));
                var v = 20 + 80 * Math.Exp(-r / 80);
                foreach (var (pr, pc) in Peaks)
                    v += 400 * Math.Exp(-((i - pr) * (i - pr) + (j - pc) * (j - pc)) / (2 * 0.9 * 0.9)) / (2 * Math.PI * 0.81);
                e[i * Width + j] = (float)v;
            }
        return e;
    }

    public static int[] Counts(int seed)
    {
        var rng = new Random(seed);
        return Expectation().Select(l => Poisson(rng, l)).ToArray();
    }

    private static int Poisson(Random rng, double lambda)
    {
        // normal approximation is enough for λ ≥ 20 and keeps the generator trivial
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        var z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        return Math.Max(0, (int)Math.Round(lambda + Math.Sqrt(lambda) * z));
    }

    public static float[] Field(int seed, float lo, float hi)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, Width * Height).Select(_ => lo + (hi - lo) * (float)rng.NextDouble()).ToArray();
    }

    public static PeakFinderModel Model(FaiParams p, Calibration? c = null, byte[]? mask = null) =>
        PeakFinderModel.Create(Width, Height, Geometry, mask, p, c);

    public static Frame Frame(int[] counts) => Lima2.Core.Frames.Frame.FromArray(counts, Width, Height);
}
