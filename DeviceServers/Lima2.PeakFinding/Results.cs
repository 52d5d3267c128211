using System.Buffers.Binary;
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
/// (pyFAI's sparse format). <see cref="Encode"/> gives Lima2's <c>SMX_SPARSE_FRAME</c> bytes.
/// </summary>
public sealed record SparseFrame(int Width, int Height, long FrameIndex, int[] Index, float[] Intensity,
    float[] BackgroundAvg, float[] BackgroundStd)
{
    public const string Tag = "SMX_SPARSE_FRAME";

    /// <summary>Header <c>&lt;HHIII</c> (width, height, nb_bins, nb_peaks, frame_idx), then int32 index[nb_peaks],
    /// float32 intensity[nb_peaks], float32 background_avg[nb_bins], float32 background_std[nb_bins].</summary>
    public byte[] Encode()
    {
        if (Width > ushort.MaxValue || Height > ushort.MaxValue)
            throw new InvalidOperationException($"SMX_SPARSE_FRAME holds at most 65535 px a side, not {Width}x{Height}");
        var n = Index.Length;
        var bins = BackgroundAvg.Length;
        var bytes = new byte[16 + 8 * n + 8 * bins];
        var s = bytes.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)Width);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)Height);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)bins);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], (uint)n);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], (uint)FrameIndex);
        var at = 16;
        at += Copy(MemoryMarshal.AsBytes(Index.AsSpan()), s[at..]);
        at += Copy(MemoryMarshal.AsBytes(Intensity.AsSpan()), s[at..]);
        at += Copy(MemoryMarshal.AsBytes(BackgroundAvg.AsSpan()), s[at..]);
        Copy(MemoryMarshal.AsBytes(BackgroundStd.AsSpan()), s[at..]);
        return bytes;
    }

    private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
    {
        from.CopyTo(to);
        return from.Length;
    }

    public static SparseFrame Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 16)
            throw new FormatException("SMX_SPARSE_FRAME: shorter than its 16-byte header");
        int width = BinaryPrimitives.ReadUInt16LittleEndian(bytes), height = BinaryPrimitives.ReadUInt16LittleEndian(bytes[2..]);
        var bins = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]));
        var n = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]));
        var idx = BinaryPrimitives.ReadUInt32LittleEndian(bytes[12..]);
        if (bytes.Length != 16 + 8L * n + 8L * bins)
            throw new FormatException($"SMX_SPARSE_FRAME: {bytes.Length} bytes for {n} pixels and {bins} bins");
        var body = bytes[16..];
        var index = MemoryMarshal.Cast<byte, int>(body[..(4 * n)]).ToArray();
        var intensity = MemoryMarshal.Cast<byte, float>(body.Slice(4 * n, 4 * n)).ToArray();
        var avg = MemoryMarshal.Cast<byte, float>(body.Slice(8 * n, 4 * bins)).ToArray();
        var std = MemoryMarshal.Cast<byte, float>(body.Slice(8 * n + 4 * bins, 4 * bins)).ToArray();
        return new SparseFrame(width, height, idx, index, intensity, avg, std);
    }
}

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
