using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;

namespace Lima2.Protocol;

/// <summary>
/// Lima1's <c>video_last_image</c> (DevEncoded format <c>VIDEO_IMAGE</c>), as LimaCCDs writes it and BLISS, Taurus
/// and MXCuBE decode it: a 32-byte big-endian header (struct <c>!IHHqiiHHHH</c>: magic "VDEO", header version 1,
/// video mode, frame number, width, height, pixel endianness 0 = little, header size 32, two zero pads), then the
/// pixels row by row in the header's mode, little-endian.
/// </summary>
public static class VideoImage
{
    public const string Format = "VIDEO_IMAGE";

    public const int HeaderSize = 32;

    private const uint Magic = 0x5644454f; // "VDEO"

    /// <summary>Lima1's video modes for grey images (Y8, Y16, Y32, Y64); the colour modes follow them.</summary>
    public enum Mode : ushort
    {
        Y8 = 0,
        Y16 = 1,
        Y32 = 2,
        Y64 = 3,
    }

    /// <summary>
    /// The header alone with frame number -1 and a 0×0 image: what Lima1 serves before the first frame (BLISS reads
    /// it as "no image yet").
    /// </summary>
    public static EncodedData None()
    {
        var data = new byte[HeaderSize];
        WriteHeader(data, Mode.Y8, -1, 0, 0);
        return new EncodedData(Format, data);
    }

    /// <summary>
    /// The frame at full size. Lima1's grey modes are unsigned integers, so gray8/16/32 go as they are and the
    /// signed and float types are rounded and clamped into Y32 (a negative corrected pixel shows as 0).
    /// </summary>
    public static EncodedData Encode(Frame frame)
    {
        var info = frame.Info;
        var mode = info.PixelType switch
        {
            PixelType.Gray8 => Mode.Y8,
            PixelType.Gray16 => Mode.Y16,
            _ => Mode.Y32,
        };
        var pixels = info.PixelCount;
        var data = new byte[HeaderSize + pixels * (mode == Mode.Y32 ? 4 : info.PixelType.SizeOf())];
        WriteHeader(data, mode, frame.Index, info.Width, info.Height * info.Channels);
        var body = data.AsSpan(HeaderSize);
        switch (info.PixelType)
        {
            case PixelType.Gray8 or PixelType.Gray16 or PixelType.Gray32:
                frame.Data.Span.CopyTo(body);
                break;
            case PixelType.Gray8s:
                ToY32(frame.Pixels<sbyte>(), body, v => v);
                break;
            case PixelType.Gray16s:
                ToY32(frame.Pixels<short>(), body, v => v);
                break;
            case PixelType.Gray32s:
                ToY32(frame.Pixels<int>(), body, v => v);
                break;
            case PixelType.Gray32f:
                ToY32(frame.Pixels<float>(), body, v => v);
                break;
            case PixelType.Gray64f:
                ToY32(frame.Pixels<double>(), body, v => v);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(frame), info.PixelType, "no video mode for this pixel type");
        }
        return new EncodedData(Format, data);
    }

    private static void ToY32<T>(ReadOnlySpan<T> source, Span<byte> body, Func<T, double> value)
    {
        var target = MemoryMarshal.Cast<byte, uint>(body);
        for (var i = 0; i < source.Length; i++)
        {
            var v = value(source[i]);
            // NaN (a masked pixel) shows as 0, like a negative one
            target[i] = v > 0 ? (uint)Math.Min(Math.Round(v), uint.MaxValue) : 0;
        }
    }

    private static void WriteHeader(Span<byte> data, Mode mode, long frameNumber, int width, int height)
    {
        BinaryPrimitives.WriteUInt32BigEndian(data, Magic);
        BinaryPrimitives.WriteUInt16BigEndian(data[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(data[6..], (ushort)mode);
        BinaryPrimitives.WriteInt64BigEndian(data[8..], frameNumber);
        BinaryPrimitives.WriteInt32BigEndian(data[16..], width);
        BinaryPrimitives.WriteInt32BigEndian(data[20..], height);
        BinaryPrimitives.WriteUInt16BigEndian(data[24..], 0); // pixels little-endian
        BinaryPrimitives.WriteUInt16BigEndian(data[26..], HeaderSize);
        // bytes 28..31: the two pads, zero
    }
}
