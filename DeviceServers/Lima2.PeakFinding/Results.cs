using System.Runtime.InteropServices;

namespace Lima2.PeakFinding;

/// <summary>One Bragg peak: the local-maximum pixel, the e-weighted centroid over the patch, the summed excess
/// intensity and its uncertainty √(ΣU²).</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct Peak(int Index, int Row, int Col, float Pos0, float Pos1, float Intensity, float Sigma)
{
    /// <summary>Signal-to-noise ratio (CXI <c>peakSNR</c>).</summary>
    public float Snr => Sigma > 0 ? Intensity / Sigma : float.PositiveInfinity;
}

/// <summary>
/// A sparse frame: the pixels kept by sparsify (flat index, dark-subtracted signal) and the background
/// profile (clipped mean and std per radial bin). With the bin centres and the mask it rebuilds the frame
/// (pyFAI's sparse format). Lima2.Protocol's <c>EncodedLayouts.SmxSparse</c> gives its <c>SMX_SPARSE_FRAME</c> bytes.
/// </summary>
public sealed record SparseFrame(int Width, int Height, long FrameIndex, int[] Index, float[] Intensity,
    float[] BackgroundAvg, float[] BackgroundStd);

/// <summary>What the peak finder says about one frame.</summary>
public sealed record PeakFrameResult
{
    public long FrameIndex { get; init; }

    public long ReceiverIndex { get; init; }

    /// <summary>Peaks sorted by pixel index.</summary>
    public required Peak[] Peaks { get; init; }

    /// <summary>Peaks found on the device; larger than <see cref="Peaks"/>.Length only when the peak list
    /// overflowed its capacity.</summary>
    public int NbPeaks { get; init; }

    /// <summary>nb_peaks ≥ min_nb_peaks.</summary>
    public bool IsHit { get; init; }

    /// <summary>False when dense_skip_nohits is set and the frame is not a hit.</summary>
    public bool KeepDense { get; init; }

    public required SparseFrame Sparse { get; init; }

    /// <summary>Accumulated corrected frame (Σ s/ω), present on frames that end an acc_nb_frames_xfer period.</summary>
    public float[]? AccumulatedCorrected { get; init; }

    /// <summary>Accumulated peaks frame (Σ s/ω over sparse pixels), with <see cref="AccumulatedCorrected"/>.</summary>
    public float[]? AccumulatedPeaks { get; init; }
}

/// <summary>The peak table in the column order of the oracle CSVs.</summary>
public static class PeaksCsv
{
    public const string Header = "index,row,col,pos0_row,pos1_col,intensity,sigma";

    public static string Line(Peak p) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{p.Index},{p.Row},{p.Col},{p.Pos0:F4},{p.Pos1:F4},{p.Intensity:F3},{p.Sigma:F4}");

    /// <summary>Reads a peak CSV written by this class or by the oracle scripts.</summary>
    public static List<Peak> Read(string path)
    {
        var peaks = new List<Peak>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            if (line.Length == 0) continue;
            var f = line.Split(',');
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            peaks.Add(new Peak(int.Parse(f[0], inv), int.Parse(f[1], inv), int.Parse(f[2], inv), float.Parse(f[3], inv),
                float.Parse(f[4], inv), float.Parse(f[5], inv), float.Parse(f[6], inv)));
        }
        return peaks;
    }
}
