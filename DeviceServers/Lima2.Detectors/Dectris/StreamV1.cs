using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lima2.Core.Frames;

namespace Lima2.Detectors.Dectris;

/// <summary>
/// DECTRIS stream V1 ("legacy"): multipart messages of JSON parts and binary blobs —
/// <c>dheader-1.0</c> (1, 2 or 8 parts for header_detail none/basic/all, plus an optional appendix),
/// <c>dimage-1.0</c> + <c>dimage_d-1.0</c> + blob + <c>dconfig-1.0</c> (+ optional appendix),
/// <c>dseries_end-1.0</c>.
/// </summary>
public static class StreamV1
{
    /// <summary>Decodes one multipart message; image payloads stay in the parts.</summary>
    /// <param name="channel">which blob of a multi-threshold image to read (its place among the image's channels)</param>
    /// <exception cref="DectrisFormatException">the message is not a well-formed V1 message.</exception>
    public static DectrisMessage Decode<TParts>(TParts parts, int channel = 0) where TParts : IMessageParts
    {
        if (parts.Count == 0)
            throw new DectrisFormatException("empty message");
        var first = JsonFields.Read(parts[0], "part 1");
        return first.Htype switch
        {
            "dheader-1.0" => new DectrisMessage { Kind = DectrisMessageKind.Header, Header = DecodeHeader(parts, first), Series = first.Series },
            "dimage-1.0" => new DectrisMessage { Kind = DectrisMessageKind.Image, Image = DecodeImage(parts, first, channel), Series = first.Series },
            "dseries_end-1.0" => new DectrisMessage { Kind = DectrisMessageKind.End, Series = first.Series },
            null => throw new DectrisFormatException("part 1 has no htype"),
            var other => throw new DectrisFormatException($"unknown htype '{other}'"),
        };
    }

    private static DectrisHeader DecodeHeader<TParts>(TParts parts, JsonFields first) where TParts : IMessageParts
    {
        var detail = first.HeaderDetail ?? throw new DectrisFormatException("dheader-1.0 without header_detail");
        var expected = detail switch
        {
            "none" => 1,
            "basic" => 2,
            "all" => 8,
            _ => throw new DectrisFormatException($"header_detail '{detail}' is none of none, basic, all"),
        };
        if (parts.Count != expected && parts.Count != expected + 1)
            throw new DectrisFormatException(
                $"a header with detail '{detail}' has {expected} parts (+1 appendix), this one has {parts.Count}");
        FrameInfo? frame = null;
        long? images = null;
        DetectorMetadata? metadata = null;
        List<string>? channels = null;
        if (expected >= 2)
            (frame, images, metadata, channels) = ReadConfig(parts[1]);
        if (expected == 8)
        {
            foreach (var (index, htype) in new[] { (2, "dflatfield-1.0"), (4, "dpixelmask-1.0"), (6, "dcountrate_table-1.0") })
            {
                var found = JsonFields.Read(parts[index], $"part {index + 1}").Htype;
                if (found != htype)
                    throw new DectrisFormatException($"part {index + 1} of the header is '{found}', '{htype}' expected");
            }
            metadata = metadata! with { PixelMask = PixelMask(JsonFields.Read(parts[4], "part 5"), parts[5]) };
        }
        var appendix = parts.Count == expected + 1 ? Encoding.UTF8.GetString(parts[expected]) : null;
        return new DectrisHeader(first.Series, detail, frame, images, appendix, metadata, channels);
    }

    /// <summary>The detector's pixel mask (parts 5 and 6 of a header with detail all): uint32 NXmx bits, shape [x, y].</summary>
    private static uint[] PixelMask(JsonFields descriptor, ReadOnlySpan<byte> blob)
    {
        if (descriptor.Type != "uint32" || descriptor.Width <= 0 || descriptor.Height <= 0 || descriptor.Channels != 1)
            throw new DectrisFormatException("part 5 of the header does not describe a uint32 pixel mask of shape [x, y]");
        var pixels = (long)descriptor.Width * descriptor.Height;
        if (blob.Length != pixels * sizeof(uint))
            throw new DectrisFormatException(
                $"the pixel mask is {descriptor.Width}x{descriptor.Height} uint32 ({pixels * sizeof(uint)} bytes), part 6 has {blob.Length} bytes");
        return MemoryMarshal.Cast<byte, uint>(blob).ToArray();
    }

    /// <summary>A detector configuration JSON (part 2; also the MAX IV stream's header metadata): geometry, image count, facts, channels.</summary>
    internal static (FrameInfo?, long?, DetectorMetadata, List<string>?) ReadConfig(ReadOnlySpan<byte> json)
    {
        try
        {
            using var config = JsonDocument.Parse(json.ToArray());
            var root = config.RootElement;
            long? Get(string key) => root.TryGetProperty(key, out var v) && v.TryGetInt64(out var n) ? n : null;
            FrameInfo? frame = null;
            if (Get("x_pixels_in_detector") is { } x && Get("y_pixels_in_detector") is { } y)
            {
                var type = Get("bit_depth_image") switch
                {
                    8 => PixelType.Gray8,
                    16 => PixelType.Gray16,
                    32 => PixelType.Gray32,
                    null => (PixelType?)null,
                    var bits => throw new DectrisFormatException($"bit_depth_image {bits} is none of 8, 16, 32"),
                };
                if (type is { } t)
                    frame = new FrameInfo((int)x, (int)y, t);
            }
            long? images = Get("nimages") is { } n ? n * (Get("ntrigger") ?? 1) : null;
            // not a SIMPLON key: a multi-threshold stream may name its blobs; without it they are threshold_1, threshold_2, ...
            List<string>? channels = root.TryGetProperty("channels", out var c) && c.ValueKind == JsonValueKind.Array
                && c.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String)
                ? [.. c.EnumerateArray().Select(e => e.GetString()!)] : null;
            return (frame, images, ReadMetadata(root), channels);
        }
        catch (JsonException e)
        {
            throw new DectrisFormatException($"the detector configuration (part 2) is not JSON: {e.Message}");
        }
    }

    /// <summary>
    /// The detector facts of part 2 (SIMPLON units: m, s, pixels, Å, eV); absent or mistyped keys stay unknown. The
    /// wavelength is <c>wavelength</c>, or else the one of <c>photon_energy</c>.
    /// </summary>
    private static DetectorMetadata ReadMetadata(JsonElement root)
    {
        double? Number(string key) => root.TryGetProperty(key, out var v) && v.TryGetDouble(out var x) ? x : null;
        string? Text(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return new DetectorMetadata
        {
            XPixelSize = Number("x_pixel_size"),
            YPixelSize = Number("y_pixel_size"),
            Distance = Number("detector_distance"),
            BeamCenterX = Number("beam_center_x"),
            BeamCenterY = Number("beam_center_y"),
            CountTime = Number("count_time"),
            FrameTime = Number("frame_time"),
            // the count above which the detector's count-rate correction gives up: its saturation value
            SaturationValue = Number("countrate_correction_count_cutoff") is { } cutoff ? (long)cutoff : null,
            SensorMaterial = Text("sensor_material"),
            SensorThickness = Number("sensor_thickness"),
            IncidentWavelength = Number("wavelength") ?? DetectorMetadata.WavelengthOf(Number("photon_energy")),
            BitDepthReadout = Number("bit_depth_readout") is { } bits ? (int)bits : null,
            Description = Text("description"),
        };
    }

    private static DectrisImage DecodeImage<TParts>(TParts parts, JsonFields first, int channel) where TParts : IMessageParts
    {
        try
        {
            return DecodeImageParts(parts, first, channel);
        }
        catch (DectrisFormatException e) when (e.Frame is null && first.Frame >= 0)
        {
            throw new DectrisFormatException(e.Message, first.Frame);
        }
    }

    /// <summary>
    /// A single-threshold image has one blob and <c>shape</c> [x, y]; a multi-threshold one has [x, y, C] (numpy's
    /// (C, h, w) written fastest axis first, as V1 writes [x, y]), a blob per channel and <c>size</c> their total.
    /// </summary>
    private static DectrisImage DecodeImageParts<TParts>(TParts parts, JsonFields first, int channel) where TParts : IMessageParts
    {
        if (first.Frame < 0)
            throw new DectrisFormatException("dimage-1.0 without a frame number");
        if (parts.Count < 2)
            throw new DectrisFormatException($"an image message has 4 parts (+1 appendix), frame {first.Frame} has {parts.Count}");
        var d = JsonFields.Read(parts[1], "part 2");
        if (d.Htype != "dimage_d-1.0")
            throw new DectrisFormatException($"part 2 of frame {first.Frame} is '{d.Htype}', 'dimage_d-1.0' expected");
        if (d.Width <= 0 || d.Height <= 0 || d.Channels <= 0)
            throw new DectrisFormatException($"frame {first.Frame} has no valid shape [x, y] or [x, y, channels]");
        var channels = d.Channels;
        if (parts.Count != channels + 3 && parts.Count != channels + 4)
            throw new DectrisFormatException(
                $"an image message has {channels + 3} parts (+1 appendix) for {channels} channel(s), frame {first.Frame} has {parts.Count}");
        if (channel >= channels)
            throw new DectrisFormatException($"frame {first.Frame} has {channels} threshold channel(s), channel {channel + 1} is the one to read");
        var type = DectrisPixelTypes.Parse(d.Type ?? throw new DectrisFormatException($"frame {first.Frame} has no type"));
        var encoding = ParseEncoding(d.Encoding, type, first.Frame);
        long blobs = 0;
        for (var c = 0; c < channels; c++)
            blobs += parts[2 + c].Length;
        if (d.Size != blobs)
            throw new DectrisFormatException($"frame {first.Frame}: dimage_d says {d.Size} bytes, the blob{(channels > 1 ? "s have" : " has")} {blobs}");
        var blob = parts[2 + channel];
        var info = new FrameInfo(d.Width, d.Height, type);
        if (encoding == DectrisEncoding.Raw && blob.Length != info.ByteSize)
            throw new DectrisFormatException($"frame {first.Frame}: a raw {info} frame has {info.ByteSize} bytes, the blob has {blob.Length}");
        var config = JsonFields.Read(parts[2 + channels], channels == 1 ? "part 4" : "the dconfig part"); // no string made per image
        if (config.Htype != "dconfig-1.0")
            throw new DectrisFormatException($"part {3 + channels} of frame {first.Frame} is '{config.Htype}', 'dconfig-1.0' expected");
        return new DectrisImage
        {
            Series = first.Series, Frame = first.Frame, Info = info, Encoding = encoding, Payload = blob, OtherChannels = channels - 1,
        };
    }

    /// <summary>The encoding grammar <c>[bs&lt;bits&gt;][-][lz4][&lt;|&gt;]</c>; only little-endian is accepted.</summary>
    private static DectrisEncoding ParseEncoding(string? encoding, PixelType type, long frame)
    {
        switch (encoding)
        {
            case "<":
                return DectrisEncoding.Raw;
            case "lz4<":
                return DectrisEncoding.Lz4Block;
            case not null when encoding.StartsWith("bs", StringComparison.Ordinal) && encoding.EndsWith("-lz4<", StringComparison.Ordinal)
                && int.TryParse(encoding.AsSpan(2, encoding.Length - 7), out var bits):
                if (bits != 8 * type.SizeOf())
                    throw new DectrisFormatException($"frame {frame}: encoding '{encoding}' does not fit {type.ToDtypeName()} pixels");
                return DectrisEncoding.BitshuffleLz4;
            default:
                throw new DectrisFormatException($"frame {frame}: unsupported encoding '{encoding}'");
        }
    }

    /// <summary>
    /// The fields of V1 JSON parts we use, read without building a document. An image message makes no string:
    /// names are compared as UTF-8, and the values a detector sends are the literals below.
    /// </summary>
    private struct JsonFields
    {
        private static readonly string[] Htypes =
        [
            "dheader-1.0", "dimage-1.0", "dimage_d-1.0", "dconfig-1.0", "dseries_end-1.0",
            "dflatfield-1.0", "dpixelmask-1.0", "dcountrate_table-1.0",
        ];

        private static readonly string[] Encodings = ["<", "lz4<", "bs8-lz4<", "bs16-lz4<", "bs32-lz4<", "bs64-lz4<"];

        public string? Htype;
        public string? HeaderDetail;
        public string? Type;
        public string? Encoding;
        public long Series;
        public long Frame;
        public long Size;
        public int Width;
        public int Height;
        public int Channels;

        public static JsonFields Read(ReadOnlySpan<byte> json, string where)
        {
            var fields = new JsonFields { Frame = -1, Size = -1, Channels = 1 };
            try
            {
                var reader = new Utf8JsonReader(json);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                    throw new DectrisFormatException($"{where} is not a JSON object");
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("htype"u8))
                        fields.Htype = JsonText.Read(ref reader, Htypes);
                    else if (reader.ValueTextEquals("header_detail"u8))
                        fields.HeaderDetail = JsonText.Read(ref reader, []);
                    else if (reader.ValueTextEquals("type"u8))
                        fields.Type = JsonText.Read(ref reader, DectrisPixelTypes.DtypeNames);
                    else if (reader.ValueTextEquals("encoding"u8))
                        fields.Encoding = JsonText.Read(ref reader, Encodings);
                    else if (reader.ValueTextEquals("series"u8))
                        fields.Series = Int64(ref reader);
                    else if (reader.ValueTextEquals("frame"u8))
                        fields.Frame = Int64(ref reader);
                    else if (reader.ValueTextEquals("size"u8))
                        fields.Size = Int64(ref reader);
                    else if (reader.ValueTextEquals("shape"u8))
                    {
                        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray || !reader.Read())
                            throw new DectrisFormatException($"{where}: shape is not [x, y]");
                        fields.Width = reader.GetInt32();
                        reader.Read();
                        fields.Height = reader.GetInt32();
                        if (reader.Read() && reader.TokenType == JsonTokenType.Number)
                        {
                            fields.Channels = reader.GetInt32();
                            reader.Read();
                        }
                        if (reader.TokenType != JsonTokenType.EndArray)
                            throw new DectrisFormatException($"{where}: shape is not [x, y] or [x, y, channels]");
                    }
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
                throw new DectrisFormatException($"{where} is not valid JSON: {e.Message}");
            }
        }

        private static long Int64(ref Utf8JsonReader reader)
        {
            reader.Read();
            return reader.GetInt64();
        }
    }
}

/// <summary>The JSON parts of a V1 image message: <c>dimage-1.0</c>, <c>dimage_d-1.0</c>, <c>dconfig-1.0</c>.</summary>
public readonly record struct V1ImageParts(byte[] Image, byte[] Descriptor, byte[] Config);

/// <summary>Builds V1 messages as a DECTRIS detector sends them (for the emulator and tests).</summary>
public sealed class StreamV1Writer
{
    private readonly ArrayBufferWriter<byte> _json = new();

    /// <param name="channels">names of the blobs of a multi-threshold series, listed as <c>channels</c> in part 2</param>
    public static IReadOnlyList<byte[]> Header(long series, string detail, FrameInfo frame, long images, string? appendix = null,
        IReadOnlyList<string>? channels = null)
    {
        var parts = new List<byte[]> { Json(new { htype = "dheader-1.0", series, header_detail = detail }) };
        if (detail is "basic" or "all")
        {
            var detector = EmulatedDetector.Metadata(frame);
            var config = new Dictionary<string, object>
            {
                ["x_pixels_in_detector"] = frame.Width,
                ["y_pixels_in_detector"] = frame.Height,
                ["bit_depth_image"] = 8 * frame.PixelType.SizeOf(),
                ["bit_depth_readout"] = detector.BitDepthReadout!,
                ["nimages"] = images,
                ["ntrigger"] = 1,
                ["compression"] = "bslz4",
                ["description"] = detector.Description!,
                ["count_time"] = detector.CountTime!,
                ["frame_time"] = detector.FrameTime!,
                ["x_pixel_size"] = detector.XPixelSize!,
                ["y_pixel_size"] = detector.YPixelSize!,
                ["detector_distance"] = detector.Distance!,
                ["beam_center_x"] = detector.BeamCenterX!,
                ["beam_center_y"] = detector.BeamCenterY!,
                ["wavelength"] = detector.IncidentWavelength!,
                ["photon_energy"] = EmulatedDetector.PhotonEnergy,
                ["sensor_material"] = detector.SensorMaterial!,
                ["sensor_thickness"] = detector.SensorThickness!,
            };
            if (channels is not null)
                config["channels"] = channels;
            parts.Add(Json(config));
        }
        if (detail == "all")
        {
            var pixels = frame.PixelCount;
            parts.Add(Json(new { htype = "dflatfield-1.0", shape = new[] { frame.Width, frame.Height }, type = "float32" }));
            parts.Add(Ones(pixels));
            parts.Add(Json(new { htype = "dpixelmask-1.0", shape = new[] { frame.Width, frame.Height }, type = "uint32" }));
            parts.Add(MemoryMarshal.AsBytes(EmulatedDetector.PixelMask(frame).AsSpan()).ToArray());
            parts.Add(Json(new { htype = "dcountrate_table-1.0", shape = new[] { 2, 2 }, type = "float32" }));
            parts.Add(new byte[16]);
        }
        if (appendix is not null)
            parts.Add(Encoding.UTF8.GetBytes(appendix));
        return parts;
    }

    /// <summary>The JSON parts of an image message; it is sent as Image, Descriptor, the payload(s), Config.</summary>
    /// <param name="payloadLength">bytes of the payload, of all of them when there are several</param>
    /// <param name="channels">threshold channels, a payload each (shape [x, y, channels] when more than one)</param>
    public V1ImageParts ImageParts(long series, long frame, FrameInfo info, DectrisEncoding encoding, long payloadLength, int channels = 1)
    {
        var encodingName = encoding switch
        {
            DectrisEncoding.Raw => "<",
            DectrisEncoding.Lz4Block => "lz4<",
            DectrisEncoding.BitshuffleLz4 => $"bs{8 * info.PixelType.SizeOf()}-lz4<",
            _ => throw new ArgumentException($"V1 has no {encoding} encoding", nameof(encoding)),
        };
        var d = Write(w =>
        {
            w.WriteString("htype", "dimage_d-1.0");
            w.WriteStartArray("shape");
            w.WriteNumberValue(info.Width);
            w.WriteNumberValue(info.Height);
            if (channels > 1)
                w.WriteNumberValue(channels);
            w.WriteEndArray();
            w.WriteString("type", info.PixelType.ToDtypeName());
            w.WriteString("encoding", encodingName);
            w.WriteNumber("size", payloadLength);
        });
        // The detector's hash is the MD5 of the dimage_d part (no reader checks it).
        var hash = Convert.ToHexStringLower(MD5.HashData(d));
        var image = Write(w =>
        {
            w.WriteString("htype", "dimage-1.0");
            w.WriteNumber("series", series);
            w.WriteNumber("frame", frame);
            w.WriteString("hash", hash);
        });
        var config = Write(w =>
        {
            w.WriteString("htype", "dconfig-1.0");
            w.WriteNumber("start_time", frame * 1_000_000);
            w.WriteNumber("stop_time", frame * 1_000_000 + 994_000);
            w.WriteNumber("real_time", 994_000);
        });
        return new V1ImageParts(image, d, config);
    }

    public static byte[] End(long series) => Json(new { htype = "dseries_end-1.0", series });

    private byte[] Write(Action<Utf8JsonWriter> body)
    {
        _json.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_json))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return _json.WrittenSpan.ToArray();
    }

    private static byte[] Json<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value);

    private static byte[] Ones(int count)
    {
        var ones = new float[count];
        Array.Fill(ones, 1f);
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(ones.AsSpan()).ToArray();
    }
}
