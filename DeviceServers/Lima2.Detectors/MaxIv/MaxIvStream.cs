using System.Buffers;
using System.Text;
using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;

namespace Lima2.Detectors.MaxIv;

/// <summary>
/// MAX IV's unified stream (the streaming-receiver's "STINS" format, also what dranspose ingests): multipart
/// messages whose first part is a JSON object with <c>htype</c> and a <c>msg_number</c> monotonic over the stream —
/// <c>header</c> (+ optional detector configuration JSON, DECTRIS keys), <c>image</c> with <c>frame</c> (0-based),
/// <c>shape</c> [h, w] (or [C, h, w], one blob per threshold channel), <c>type</c> (numpy dtype name) and
/// <c>compression</c>, then the blob(s), and <c>series_end</c>.
/// </summary>
/// <remarks>
/// Compression <c>none</c> is raw little-endian pixels, <c>bslz4</c> the HDF5 bitshuffle/LZ4 chunk (filter 32008, as
/// DECTRIS sends it), <c>lz4</c> the HDF5 LZ4-filter chunk (filter 32004, 12-byte header, as DECTRIS stream V2's
/// <c>lz4</c>): every payload is a chunk a writer may store as it came.
/// </remarks>
public static class MaxIvStream
{
    public const string None = "none";
    public const string Lz4 = "lz4";
    public const string BitshuffleLz4 = "bslz4";

    /// <summary>Decodes one multipart message; image payloads stay in the parts.</summary>
    /// <param name="channel">which blob of a multi-threshold image to read (its place in the image's first axis)</param>
    /// <exception cref="DectrisFormatException">the message is not a well-formed MAX IV stream message.</exception>
    public static DectrisMessage Decode<TParts>(TParts parts, int channel = 0) where TParts : IMessageParts
    {
        if (parts.Count == 0)
            throw new DectrisFormatException("empty message");
        var first = Fields.Read(parts[0]);
        if (first.MessageNumber < 0 && first.Htype is "header" or "image" or "series_end")
            throw new DectrisFormatException($"{first.Htype} message without msg_number", first.Htype == "image" && first.Frame >= 0 ? first.Frame : null);
        return first.Htype switch
        {
            "header" => new DectrisMessage { Kind = DectrisMessageKind.Header, Header = DecodeHeader(parts) },
            "image" => new DectrisMessage { Kind = DectrisMessageKind.Image, Image = DecodeImage(parts, first, channel) },
            "series_end" => new DectrisMessage { Kind = DectrisMessageKind.End },
            null => throw new DectrisFormatException("part 1 has no htype"),
            var other => throw new DectrisFormatException($"unknown htype '{other}'"),
        };
    }

    /// <summary>The payload encoding a <c>compression</c> value names.</summary>
    public static DectrisEncoding ParseCompression(string? compression) => compression switch
    {
        None => DectrisEncoding.Raw,
        Lz4 => DectrisEncoding.Lz4Chunk,
        BitshuffleLz4 => DectrisEncoding.BitshuffleLz4,
        _ => throw new DectrisFormatException($"unsupported compression '{compression}' (none, lz4, bslz4)"),
    };

    /// <summary>The <c>compression</c> value of a payload encoding.</summary>
    public static string CompressionName(DectrisEncoding encoding) => encoding switch
    {
        DectrisEncoding.Raw => None,
        DectrisEncoding.Lz4Chunk => Lz4,
        DectrisEncoding.BitshuffleLz4 => BitshuffleLz4,
        _ => throw new ArgumentException($"the MAX IV stream has no {encoding} payload", nameof(encoding)),
    };

    /// <summary>The header says no geometry (the first image does); a second part, when sent, is the detector's configuration.</summary>
    private static DectrisHeader DecodeHeader<TParts>(TParts parts) where TParts : IMessageParts
    {
        if (parts.Count > 2)
            throw new DectrisFormatException($"a header has 1 or 2 parts, this one has {parts.Count}");
        if (parts.Count == 1)
            return new DectrisHeader(0, "none", null, null, null);
        var (frame, images, metadata, channels) = StreamV1.ReadConfig(parts[1]);
        return new DectrisHeader(0, "basic", frame, images, null, metadata, channels);
    }

    private static DectrisImage DecodeImage<TParts>(TParts parts, Fields first, int channel) where TParts : IMessageParts
    {
        var frame = first.Frame;
        if (frame < 0)
            throw new DectrisFormatException("an image message without a frame number");
        if (first.Width <= 0 || first.Height <= 0 || first.Channels <= 0)
            throw new DectrisFormatException($"frame {frame} has no valid shape [h, w] or [channels, h, w]", frame);
        if (parts.Count != 1 + first.Channels)
            throw new DectrisFormatException($"frame {frame} of {first.Channels} channel(s) has {parts.Count - 1} blob(s)", frame);
        if (channel >= first.Channels)
            throw new DectrisFormatException($"frame {frame} has {first.Channels} threshold channel(s), channel {channel + 1} is the one to read", frame);
        PixelType type;
        DectrisEncoding encoding;
        try
        {
            type = DectrisPixelTypes.Parse(first.Type ?? throw new DectrisFormatException("no type"));
            encoding = ParseCompression(first.Compression);
        }
        catch (DectrisFormatException e)
        {
            throw new DectrisFormatException($"frame {frame}: {e.Message}", frame);
        }
        var info = new FrameInfo(first.Width, first.Height, type);
        var blob = parts[1 + channel];
        if (encoding == DectrisEncoding.Raw && blob.Length != info.ByteSize)
            throw new DectrisFormatException($"frame {frame}: a raw {info} frame has {info.ByteSize} bytes, the blob has {blob.Length}", frame);
        return new DectrisImage { Frame = frame, Info = info, Encoding = encoding, Payload = blob, OtherChannels = first.Channels - 1 };
    }

    /// <summary>The fields of the first part, read without building a document; an image message makes no string.</summary>
    private struct Fields
    {
        private static readonly string[] Htypes = ["header", "image", "series_end"];
        private static readonly string[] Compressions = [None, Lz4, BitshuffleLz4];

        public string? Htype;
        public string? Type;
        public string? Compression;
        public long MessageNumber;
        public long Frame;
        public int Width;
        public int Height;
        public int Channels;

        public static Fields Read(ReadOnlySpan<byte> json)
        {
            var fields = new Fields { MessageNumber = -1, Frame = -1, Channels = 1 };
            try
            {
                var reader = new Utf8JsonReader(json);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                    throw new DectrisFormatException("part 1 is not a JSON object");
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("htype"u8))
                        fields.Htype = JsonText.Read(ref reader, Htypes);
                    else if (reader.ValueTextEquals("type"u8))
                        fields.Type = JsonText.Read(ref reader, DectrisPixelTypes.DtypeNames);
                    else if (reader.ValueTextEquals("compression"u8))
                        fields.Compression = JsonText.Read(ref reader, Compressions);
                    else if (reader.ValueTextEquals("msg_number"u8))
                        fields.MessageNumber = NonNegative(ref reader, "msg_number");
                    else if (reader.ValueTextEquals("frame"u8))
                        fields.Frame = NonNegative(ref reader, "frame");
                    else if (reader.ValueTextEquals("shape"u8))
                        ReadShape(ref reader, ref fields);
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
                return fields;
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                throw new DectrisFormatException($"part 1 is not valid JSON: {e.Message}", fields.Htype == "image" && fields.Frame >= 0 ? fields.Frame : null);
            }
        }

        /// <summary>[h, w] or [C, h, w] (numpy's order, slowest axis first).</summary>
        private static void ReadShape(ref Utf8JsonReader reader, ref Fields fields)
        {
            Span<int> dims = stackalloc int[3];
            var count = 0;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                throw new DectrisFormatException("shape is not [h, w] or [channels, h, w]");
            while (reader.Read() && reader.TokenType == JsonTokenType.Number)
            {
                if (count == 3)
                    throw new DectrisFormatException("shape has more than 3 dimensions");
                dims[count++] = reader.GetInt32();
            }
            if (reader.TokenType != JsonTokenType.EndArray || count < 2)
                throw new DectrisFormatException("shape is not [h, w] or [channels, h, w]");
            (fields.Channels, fields.Height, fields.Width) = count == 3 ? (dims[0], dims[1], dims[2]) : (1, dims[0], dims[1]);
        }

        private static long NonNegative(ref Utf8JsonReader reader, string name)
        {
            reader.Read();
            var value = reader.GetInt64();
            return value >= 0 ? value : throw new DectrisFormatException($"{name} {value} is negative");
        }
    }
}

/// <summary>
/// Builds MAX IV stream messages (the stand-in detector, the receiver's re-publisher, tests). The JSON parts are
/// valid until the next call; <c>msg_number</c> counts every message the writer made.
/// </summary>
public sealed class MaxIvStreamWriter
{
    private readonly ArrayBufferWriter<byte> _json = new();
    private long _messages;

    /// <summary>The header's JSON part; <paramref name="filename"/> where the series is saved, if anywhere.</summary>
    public ReadOnlyMemory<byte> Header(string? filename = null) => Write(w =>
    {
        if (filename is not null)
            w.WriteString("filename", filename);
    }, "header");

    /// <summary>An image's JSON part; the payload follows as the second part.</summary>
    /// <param name="extra">more fields for consumers (e.g. the receiver index of a re-published frame)</param>
    public ReadOnlyMemory<byte> Image(long frame, FrameInfo info, DectrisEncoding encoding, Action<Utf8JsonWriter>? extra = null) => Write(w =>
    {
        w.WriteNumber("frame", frame);
        w.WriteStartArray("shape");
        w.WriteNumberValue(info.Height);
        w.WriteNumberValue(info.Width);
        w.WriteEndArray();
        w.WriteString("type", info.PixelType.ToDtypeName());
        w.WriteString("compression", MaxIvStream.CompressionName(encoding));
        extra?.Invoke(w);
    }, "image");

    /// <summary>The end of the series; <paramref name="extra"/> adds fields (what a consumer needs to fill its gaps).</summary>
    public ReadOnlyMemory<byte> End(Action<Utf8JsonWriter>? extra = null) => Write(w => extra?.Invoke(w), "series_end");

    private ReadOnlyMemory<byte> Write(Action<Utf8JsonWriter> body, string htype)
    {
        _json.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_json))
        {
            writer.WriteStartObject();
            writer.WriteString("htype", htype);
            writer.WriteNumber("msg_number", _messages++);
            body(writer);
            writer.WriteEndObject();
        }
        return _json.WrittenMemory;
    }
}
