using System.Numerics;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;

namespace Lima2.PeakFinding;

/// <summary>Converts a frame's pixels to float32 (Jungfrau gain/pedestal applied when configured).</summary>
internal static class PixelReader
{
    /// <summary>Writes pixels [start, start + dest.Length) of <paramref name="frame"/> into <paramref name="dest"/>.</summary>
    public static void Read(ReadOnlySpan<byte> frame, PixelType type, int start, Span<float> dest, JungfrauCorrection? jungfrau, int pixels)
    {
        var n = dest.Length;
        if (jungfrau is not null)
        {
            if (type != PixelType.Gray16)
                throw new ArgumentException($"Jungfrau correction needs gray16 frames, not {type.ToLimaName()}");
            var raw = MemoryMarshal.Cast<byte, ushort>(frame).Slice(start, n);
            var inv = jungfrau.PhotonEnergy > 0 ? (float)(1 / jungfrau.PhotonEnergy) : 1f;
            for (var i = 0; i < n; i++)
                dest[i] = JungfrauCorrection.Convert(raw[i], start + i, pixels, jungfrau.Gain, jungfrau.Pedestal, inv);
            return;
        }
        switch (type)
        {
            case PixelType.Gray32f: MemoryMarshal.Cast<byte, float>(frame).Slice(start, n).CopyTo(dest); break;
            case PixelType.Gray32s: Widen(MemoryMarshal.Cast<byte, int>(frame).Slice(start, n), dest); break;
            case PixelType.Gray16: Widen(MemoryMarshal.Cast<byte, ushort>(frame).Slice(start, n), dest); break;
            case PixelType.Gray32: { var s = MemoryMarshal.Cast<byte, uint>(frame).Slice(start, n); for (var i = 0; i < n; i++) dest[i] = s[i]; break; }
            case PixelType.Gray16s: { var s = MemoryMarshal.Cast<byte, short>(frame).Slice(start, n); for (var i = 0; i < n; i++) dest[i] = s[i]; break; }
            case PixelType.Gray8: { var s = frame.Slice(start, n); for (var i = 0; i < n; i++) dest[i] = s[i]; break; }
            case PixelType.Gray8s: { var s = MemoryMarshal.Cast<byte, sbyte>(frame).Slice(start, n); for (var i = 0; i < n; i++) dest[i] = s[i]; break; }
            case PixelType.Gray64f: { var s = MemoryMarshal.Cast<byte, double>(frame).Slice(start, n); for (var i = 0; i < n; i++) dest[i] = (float)s[i]; break; }
            default: throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    private static void Widen(ReadOnlySpan<int> source, Span<float> dest)
    {
        var i = 0;
        var vs = MemoryMarshal.Cast<int, Vector<int>>(source);
        var vd = MemoryMarshal.Cast<float, Vector<float>>(dest);
        for (; i < vs.Length; i++)
            vd[i] = Vector.ConvertToSingle(vs[i]);
        for (i *= Vector<int>.Count; i < source.Length; i++)
            dest[i] = source[i];
    }

    private static void Widen(ReadOnlySpan<ushort> source, Span<float> dest)
    {
        var vs = MemoryMarshal.Cast<ushort, Vector<ushort>>(source);
        var vd = MemoryMarshal.Cast<float, Vector<float>>(dest);
        var i = 0;
        for (; i < vs.Length; i++)
        {
            Vector.Widen(vs[i], out var lo, out var hi);
            vd[2 * i] = Vector.ConvertToSingle(Vector.AsVectorInt32(lo));
            vd[2 * i + 1] = Vector.ConvertToSingle(Vector.AsVectorInt32(hi));
        }
        for (i *= Vector<ushort>.Count; i < source.Length; i++)
            dest[i] = source[i];
    }
}
