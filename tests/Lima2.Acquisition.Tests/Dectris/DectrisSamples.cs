using System.Runtime.InteropServices;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>Frames and their DECTRIS payloads for the stream tests.</summary>
internal static class DectrisSamples
{
    public static readonly FrameInfo Info = new(37, 21, PixelType.Gray16);

    public static byte[] Pixels(long frame, FrameInfo? info = null)
    {
        var i = info ?? Info;
        var bytes = new byte[i.ByteSize];
        var random = new Random((int)frame + 17);
        for (var k = 0; k < bytes.Length; k++)
            bytes[k] = (byte)(k % 3 == 0 ? random.Next(256) : 0);
        return bytes;
    }

    public static byte[] Encode(byte[] pixels, DectrisEncoding encoding, int elemSize)
    {
        byte[] buffer;
        int length;
        switch (encoding)
        {
            case DectrisEncoding.Raw:
                return pixels;
            case DectrisEncoding.Lz4Block:
                buffer = new byte[Lz4.CompressBound(pixels.Length)];
                length = Lz4.Compress(pixels, buffer);
                break;
            case DectrisEncoding.Lz4Chunk:
                buffer = new byte[Lz4Chunk.MaxEncodedLength(pixels.Length)];
                length = Lz4Chunk.Encode(pixels, buffer);
                break;
            default:
                buffer = new byte[BitshuffleLz4.MaxEncodedLength(pixels.Length, elemSize)];
                length = BitshuffleLz4.Encode(pixels, buffer, elemSize);
                break;
        }
        return buffer[..length];
    }

    public static List<byte[]> V1Image(long frame, DectrisEncoding encoding, FrameInfo? info = null)
    {
        var i = info ?? Info;
        var payload = Encode(Pixels(frame, i), encoding, i.PixelType.SizeOf());
        var parts = new StreamV1Writer().ImageParts(1, frame, i, encoding, payload.Length);
        return [parts.Image, parts.Descriptor, payload, parts.Config];
    }

    public static byte[] V2Image(long frame, DectrisEncoding encoding, FrameInfo? info = null)
    {
        var i = info ?? Info;
        var payload = Encode(Pixels(frame, i), encoding, i.PixelType.SizeOf());
        return new StreamV2Writer().Image(1, frame, i, encoding, payload).ToArray();
    }

    public static ushort[] AsUInt16(byte[] bytes) => MemoryMarshal.Cast<byte, ushort>(bytes).ToArray();
}
