using Lima2.Core.Frames;

namespace Lima2.PeakFinding;

/// <summary>What an engine computes for one frame; the hit decision and accumulation are the finder's.</summary>
internal sealed record EngineOutput(Peak[] Peaks, int NbPeaks, int[] SparseIndex, float[] SparseIntensity,
    float[] BackgroundAvg, float[] BackgroundStd);

/// <summary>One implementation of the per-frame algorithm. <see cref="Submit"/> may be called from several
/// threads at once.</summary>
internal interface IPeakEngine : IDisposable
{
    string Description { get; }

    /// <summary>
    /// Starts a frame; returns once it is queued (waiting while the engine holds as many frames as it may). The engine
    /// holds its own reference on the frame until the task completes with the frame's results.
    /// </summary>
    Task<EngineOutput> Submit(Frame frame, bool accumulate);

    /// <summary>Adds what was accumulated since the last drain to the two frames and clears it.</summary>
    void DrainAccumulated(float[] corrected, float[] peaks);
}

/// <summary>Per-bin sums of sigma clipping (float64), and the statistics derived from them.</summary>
internal struct BinSums
{
    public double S, V, W, W2, S2OverW, S2, WS;

    public void Add(float s, float v, float w)
    {
        S += s;
        V += v;
        W += w;
        W2 += (double)w * w;
        S2OverW += (double)s * s / w;
        S2 += (double)s * s;
        WS += (double)w * s;
    }

    /// <summary>Mean, the σ used for clipping, and the σ reported as background std.</summary>
    /// <remarks>pyFAI 0.21.3 normalises by Σω (σ² = ΣV/Σω, azimuthal Σω(x−μ)²/Σω); newer pyFAI by Σω²
    /// (the per-pixel std of s/ω). With ω = 1 both agree.</remarks>
    public readonly (float Mean, float ClipStd, float Std) Stats(ErrorModel model, bool legacy)
    {
        if (!(W > 0))
            return (float.NaN, float.NaN, float.NaN);
        var mean = S / W;
        double poisson = legacy ? V / W : V / W2;
        double azimuthal = legacy ? S2OverW / W - mean * mean : (S2 - 2 * mean * WS + mean * mean * W2) / W2;
        var az = (float)Math.Sqrt(Math.Max(0, azimuthal));
        var po = (float)Math.Sqrt(poisson);
        return model switch
        {
            ErrorModel.Azimuthal => ((float)mean, az, az),
            ErrorModel.Hybrid => ((float)mean, az, po),
            _ => ((float)mean, po, po),
        };
    }

    /// <summary>The Chauvenet bound for <paramref name="n"/> pixels, never below <paramref name="cutoff"/> (float32 as pyFAI).</summary>
    public static float Chauvenet(float cutoff, int n) =>
        MathF.Max(cutoff, MathF.Sqrt(2.0f * MathF.Log(n / MathF.Sqrt(2.0f * MathF.PI))));
}
