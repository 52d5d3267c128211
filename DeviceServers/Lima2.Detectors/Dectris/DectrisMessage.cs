using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Zmq;

namespace Lima2.Detectors.Dectris;

/// <summary>How a DECTRIS image payload is encoded.</summary>
public enum DectrisEncoding
{
    /// <summary>Plain little-endian pixels (V1 <c>&lt;</c>, V2 plain typed array).</summary>
    Raw,

    /// <summary>One LZ4 block without header (V1 <c>lz4&lt;</c>).</summary>
    Lz4Block,

    /// <summary>HDF5 LZ4-filter chunk with its 12-byte header (V2 <c>"lz4"</c>).</summary>
    Lz4Chunk,

    /// <summary>HDF5 bitshuffle/LZ4 chunk (V1 <c>bs*-lz4&lt;</c>, V2 <c>"bslz4"</c>).</summary>
    BitshuffleLz4,
}

public enum DectrisMessageKind
{
    Header,
    Image,
    End,
}

/// <summary>The series header (V1 <c>dheader-1.0</c>, V2 <c>start</c>).</summary>
/// <param name="Detail">V1 <c>header_detail</c> (none, basic, all); V2: "basic"</param>
/// <param name="Frame">frame geometry when the header says it (V1 basic/all, V2)</param>
/// <param name="Images">images of the series (nimages × ntrigger) when the header says it</param>
/// <param name="Appendix">V1 <c>header_appendix</c> / V2 <c>user_data</c> as text</param>
/// <param name="Metadata">the detector facts the header gives (V1 basic/all part 2, V2 start); null when none</param>
/// <param name="Channels">the threshold channels of every image in their order (V2 <c>channels</c>, or a
/// <c>channels</c> key of V1 part 2), null when the header does not list them</param>
public sealed record DectrisHeader(long Series, string Detail, FrameInfo? Frame, long? Images, string? Appendix,
    DetectorMetadata? Metadata = null, IReadOnlyList<string>? Channels = null);

/// <summary>One image message, its payload still in the receive buffer.</summary>
public readonly ref struct DectrisImage
{
    public long Series { get; init; }

    /// <summary>The detector's frame number, 0-based (V1 <c>frame</c>, V2 <c>image_id</c>).</summary>
    public long Frame { get; init; }

    public FrameInfo Info { get; init; }

    public DectrisEncoding Encoding { get; init; }

    public ReadOnlySpan<byte> Payload { get; init; }

    /// <summary>Threshold channels the message carried besides the one read (multi-threshold detectors).</summary>
    public int OtherChannels { get; init; }

    /// <summary>Decodes the payload into <paramref name="pixels"/> (<see cref="FrameInfo.ByteSize"/> bytes).</summary>
    /// <exception cref="DectrisFormatException">the payload is corrupt or has the wrong size.</exception>
    public void DecodeInto(Span<byte> pixels)
    {
        var size = Info.ByteSize;
        // a message's own shape, damaged or not the series', must not make the decoder write past the buffer
        if (pixels.Length < size)
            throw new DectrisFormatException($"frame {Frame} is {Info} ({size} bytes), larger than the {pixels.Length} bytes of a frame", Frame);
        pixels = pixels[..size];
        try
        {
            var decoded = Encoding switch
            {
                DectrisEncoding.Raw => Copy(Payload, pixels),
                DectrisEncoding.Lz4Block => Lz4.Decompress(Payload, pixels),
                DectrisEncoding.Lz4Chunk => Lz4Chunk.Decode(Payload, pixels),
                _ => BitshuffleLz4.ReadDecodedLength(Payload) == size
                    ? BitshuffleLz4.Decode(Payload, pixels, Info.PixelType.SizeOf())
                    : throw new InvalidDataException(
                        $"the chunk announces {BitshuffleLz4.ReadDecodedLength(Payload)} bytes, a {Info} frame has {size}"),
            };
            if (decoded != size)
                throw new InvalidDataException($"{decoded} bytes once decoded, a {Info} frame has {size}");
        }
        catch (InvalidDataException e)
        {
            throw new DectrisFormatException($"frame {Frame}: {e.Message}", Frame);
        }
    }

    private static int Copy(ReadOnlySpan<byte> payload, Span<byte> pixels)
    {
        if (payload.Length != pixels.Length)
            return payload.Length;
        payload.CopyTo(pixels);
        return pixels.Length;
    }
}

/// <summary>A decoded message: a header, an image or the end of the series.</summary>
public ref struct DectrisMessage
{
    public DectrisMessageKind Kind;
    public DectrisHeader? Header;
    public DectrisImage Image;
    public long Series;
}

/// <summary>A message that is not what a DECTRIS detector sends; the text says what is wrong with it.</summary>
/// <param name="frame">the frame number, when the message got as far as saying it</param>
public sealed class DectrisFormatException(string message, long? frame = null) : Exception(message)
{
    public long? Frame { get; } = frame;
}

/// <summary>The parts of a multipart message, however they were received.</summary>
public interface IMessageParts
{
    int Count { get; }

    ReadOnlySpan<byte> this[int index] { get; }
}

/// <summary>The parts of a ZeroMQ message, read in place.</summary>
public readonly struct ZmqParts(ZmqMultipartMessage message) : IMessageParts
{
    public int Count => message.Count;

    public ReadOnlySpan<byte> this[int index] => message[index].Span;
}

/// <summary>Parts held in arrays (tests, encoders).</summary>
public readonly struct ArrayParts(IReadOnlyList<byte[]> parts) : IMessageParts
{
    public int Count => parts.Count;

    public ReadOnlySpan<byte> this[int index] => parts[index];
}

internal static class DectrisPixelTypes
{
    private static readonly PixelType[] All = Enum.GetValues<PixelType>();

    /// <summary>The numpy dtype name of every pixel type (the strings themselves, for readers that match them).</summary>
    public static readonly string[] DtypeNames = [.. All.Select(t => t.ToDtypeName())];

    /// <summary>A DECTRIS <c>type</c> / V2 <c>image_dtype</c> name (numpy's) as a pixel type.</summary>
    public static PixelType Parse(string name)
    {
        // Once per image message in V1: no enumeration of the enum, no allocation.
        for (var i = 0; i < DtypeNames.Length; i++)
            if (DtypeNames[i] == name)
                return All[i];
        throw new DectrisFormatException($"unknown pixel type '{name}'");
    }
}
