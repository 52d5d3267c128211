using System.Numerics;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;

namespace Lima2.LiveView;

/// <summary>
/// A frame shrunk to fit a screen or an IMAGE attribute: each output pixel is the maximum of a factor × factor block
/// (the last row and column of blocks may be partial), in the frame's own pixel type. The maximum, not the mean,
/// because a live view is watched for Bragg peaks and hot pixels, which a mean over the block would wash out.
/// </summary>
/// <param name="Pixels">row-major, little-endian, of <see cref="PixelType"/></param>
public sealed record FramePreview(long FrameIndex, int Width, int Height, int Factor, PixelType PixelType, byte[] Pixels)
{
    /// <summary>
    /// The smallest integer factor that brings the frame within <paramref name="maxWidth"/> × <paramref name="maxHeight"/>
    /// (1: the frame as it is). A multi-channel frame is shown as its channels stacked vertically.
    /// </summary>
    public static FramePreview Of(Frame frame, int maxWidth, int maxHeight)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHeight, 1);
        var info = frame.Info;
        var height = info.Height * info.Channels;
        var factor = Math.Max(1, Math.Max(CeilDiv(info.Width, maxWidth), CeilDiv(height, maxHeight)));
        return OfFactor(frame, factor);
    }

    /// <summary>The frame reduced by <paramref name="factor"/> (1: every pixel as it is).</summary>
    public static FramePreview OfFactor(Frame frame, int factor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        var info = frame.Info;
        var height = info.Height * info.Channels;
        var bytes = frame.Data.Span;
        var pixels = info.PixelType switch
        {
            PixelType.Gray8 => BlockMax(MemoryMarshal.Cast<byte, byte>(bytes), info.Width, height, factor),
            PixelType.Gray8s => BlockMax(MemoryMarshal.Cast<byte, sbyte>(bytes), info.Width, height, factor),
            PixelType.Gray16 => BlockMax(MemoryMarshal.Cast<byte, ushort>(bytes), info.Width, height, factor),
            PixelType.Gray16s => BlockMax(MemoryMarshal.Cast<byte, short>(bytes), info.Width, height, factor),
            PixelType.Gray32 => BlockMax(MemoryMarshal.Cast<byte, uint>(bytes), info.Width, height, factor),
            PixelType.Gray32s => BlockMax(MemoryMarshal.Cast<byte, int>(bytes), info.Width, height, factor),
            PixelType.Gray32f => BlockMax(MemoryMarshal.Cast<byte, float>(bytes), info.Width, height, factor),
            PixelType.Gray64f => BlockMax(MemoryMarshal.Cast<byte, double>(bytes), info.Width, height, factor),
            _ => throw new ArgumentOutOfRangeException(nameof(frame), info.PixelType, null),
        };
        return new FramePreview(frame.Index, CeilDiv(info.Width, factor), CeilDiv(height, factor), factor, info.PixelType, pixels);
    }

    /// <summary>The pixels as float32 (an IMAGE attribute of one type whatever the detector's).</summary>
    public float[,] ToFloatImage()
    {
        var image = new float[Height, Width];
        var target = MemoryMarshal.CreateSpan(ref image[0, 0], image.Length);
        switch (PixelType)
        {
            case PixelType.Gray8: Widen<byte>(target); break;
            case PixelType.Gray8s: Widen<sbyte>(target); break;
            case PixelType.Gray16: Widen<ushort>(target); break;
            case PixelType.Gray16s: Widen<short>(target); break;
            case PixelType.Gray32: Widen<uint>(target); break;
            case PixelType.Gray32s: Widen<int>(target); break;
            case PixelType.Gray32f: Widen<float>(target); break;
            case PixelType.Gray64f: Widen<double>(target); break;
        }
        return image;
    }

    private void Widen<T>(Span<float> target) where T : unmanaged, INumber<T>
    {
        var source = MemoryMarshal.Cast<byte, T>(Pixels);
        for (var i = 0; i < source.Length; i++)
            target[i] = float.CreateSaturating(source[i]);
    }

    private static byte[] BlockMax<T>(ReadOnlySpan<T> source, int width, int height, int factor) where T : unmanaged, INumber<T>
    {
        var outWidth = CeilDiv(width, factor);
        var outHeight = CeilDiv(height, factor);
        var bytes = new byte[outWidth * outHeight * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()];
        var result = MemoryMarshal.Cast<byte, T>(bytes.AsSpan());
        if (factor == 1)
            source[..result.Length].CopyTo(result);
        else
        {
            for (var oy = 0; oy < outHeight; oy++)
            {
                var row = result.Slice(oy * outWidth, outWidth);
                var first = true;
                for (var y = oy * factor; y < Math.Min(height, (oy + 1) * factor); y++)
                {
                    var line = source.Slice(y * width, width);
                    for (var ox = 0; ox < outWidth; ox++)
                    {
                        var block = line.Slice(ox * factor, Math.Min(factor, width - ox * factor));
                        var max = first ? block[0] : row[ox];
                        foreach (var v in block)
                            // NaN (a masked pixel) never wins: the block shows its real pixels
                            if (v > max || T.IsNaN(max))
                                max = v;
                        row[ox] = max;
                    }
                    first = false;
                }
            }
        }
        return bytes;
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
