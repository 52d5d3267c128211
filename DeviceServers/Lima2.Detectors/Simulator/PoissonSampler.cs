namespace Lima2.Detectors.Simulator;

/// <summary>
/// Poisson counts from tables, a few nanoseconds each: below a mean of 32, inversion of the Poisson CDF of the mean
/// rounded to 1/32; above, the normal approximation mean + sqrt(mean)·z with z from a table of 16384 normal
/// quantiles (tails cut at ±3.9σ). Detector-like noise at the speed of the frame, not a statistics library.
/// </summary>
public static class PoissonSampler
{
    private const int StepsPerUnit = 32;
    private const float TableLimit = 32;
    private const int QuantileBits = 14;

    private const int GuideBits = 6;

    private static readonly float[][] Cdfs = BuildCdfs();
    private static readonly byte[][] Guides = Cdfs.Select(BuildGuide).ToArray();
    private static readonly float[] Quantiles = BuildQuantiles();

    /// <summary>A Poisson count of mean <paramref name="mean"/> from 64 random bits.</summary>
    public static float Sample(float mean, ulong bits)
    {
        if (!(mean > 0))
            return 0;
        if (mean < TableLimit)
        {
            // indexed search: the guide gives the first count whose CDF reaches u's bin, a step or two short of u
            var table = (int)(mean * StepsPerUnit + 0.5f);
            var cdf = Cdfs[table];
            var u = (bits >> 40) * (1f / (1 << 24));
            int k = Guides[table][(int)(bits >> (64 - GuideBits))];
            while (cdf[k] < u)
                k++;
            return k;
        }
        var z = Quantiles[bits >> (64 - QuantileBits)];
        return MathF.Max(0, MathF.Round(mean + MathF.Sqrt(mean) * z));
    }

    private static float[][] BuildCdfs()
    {
        var tables = new float[(int)(TableLimit * StepsPerUnit) + 1][];
        for (var i = 0; i < tables.Length; i++)
        {
            var mean = (double)i / StepsPerUnit;
            var values = new List<float>();
            var p = Math.Exp(-mean);
            var cumulative = p;
            for (var k = 0; cumulative < 1 - 1e-8 && k < 200; k++)
            {
                values.Add((float)cumulative);
                p *= mean / (k + 1);
                cumulative += p;
            }
            values.Add(1f);
            tables[i] = values.ToArray();
        }
        return tables;
    }

    /// <summary>For each of 2^6 equal bins of u, the smallest count whose CDF reaches the bin's lower edge.</summary>
    private static byte[] BuildGuide(float[] cdf)
    {
        var guide = new byte[1 << GuideBits];
        var k = 0;
        for (var bin = 0; bin < guide.Length; bin++)
        {
            var edge = (float)bin / guide.Length;
            while (cdf[k] < edge)
                k++;
            guide[bin] = (byte)k;
        }
        return guide;
    }

    /// <summary>z at the centre of each of 2^14 equal-probability bins, from the normal CDF integrated numerically.</summary>
    private static float[] BuildQuantiles()
    {
        const int steps = 200_000;
        const double from = -8, to = 8;
        var dx = (to - from) / steps;
        var quantiles = new float[1 << QuantileBits];
        var cumulative = 0.0;
        var previous = Math.Exp(-from * from / 2) / Math.Sqrt(2 * Math.PI);
        var next = 0;
        for (var s = 1; s <= steps && next < quantiles.Length; s++)
        {
            var x = from + s * dx;
            var density = Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI);
            var added = (previous + density) / 2 * dx;
            while (next < quantiles.Length && cumulative + added >= (next + 0.5) / quantiles.Length)
            {
                var target = (next + 0.5) / quantiles.Length;
                quantiles[next++] = (float)(x - dx + dx * (target - cumulative) / added);
            }
            cumulative += added;
            previous = density;
        }
        return quantiles;
    }
}
