using System.Formats.Cbor;
using System.Runtime.InteropServices;
using System.Text;
using Lima2.Core.Frames;

namespace Lima2.Detectors.Dectris;

/// <summary>
/// DECTRIS stream V2: one CBOR message per ZeroMQ message, starting with the self-describe tag 55799, a map
/// whose first key is <c>"type"</c> (<c>start</c>, <c>image</c>, <c>end</c>). Images are tag 40 multi-dimensional
/// arrays <c>[[height, width], typed array]</c>, the typed array (RFC 8746 tag) holding a byte string or a tag
/// 56500 <c>[algorithm, elem_size, bytes]</c> compressed one.
/// </summary>
public static class StreamV2
{
    public const ulong SelfDescribeTag = 55799;
    public const ulong MultiDimArrayTag = 40;
    public const ulong CompressionTag = 56500;

    /// <summary>One reader per receiving thread, reset for each message (an image message then makes no object).</summary>
    [ThreadStatic]
    private static CborReader? t_reader;

    /// <summary>Decodes one message; image payloads stay in <paramref name="message"/>.</summary>
    /// <param name="channel">which entry of an image's <c>data</c> map to read: its place in the start message's
    /// <c>channels</c> (the map lists them in that order)</param>
    /// <exception cref="DectrisFormatException">the message is not a well-formed V2 message.</exception>
    public static DectrisMessage Decode(ReadOnlyMemory<byte> message, int channel = 0)
    {
        var bytes = message.Span;
        if (bytes.Length < 3 || bytes[0] != 0xD9 || bytes[1] != 0xD9 || bytes[2] != 0xF7)
            throw new DectrisFormatException("not a stream V2 message: no CBOR self-describe tag (D9 D9 F7)");
        try
        {
            var reader = t_reader ??= new CborReader(ReadOnlyMemory<byte>.Empty, CborConformanceMode.Lax);
            reader.Reset(message);
            reader.ReadTag();
            reader.ReadStartMap();
            if (reader.PeekState() is not (CborReaderState.TextString or CborReaderState.StartIndefiniteLengthTextString)
                || !Utf8Text(reader).SequenceEqual("type"u8))
                throw new DectrisFormatException("the first key of a stream V2 message is not \"type\"");
            var type = Utf8Text(reader);
            return type.SequenceEqual("image"u8) ? ReadImage(reader, channel)
                : type.SequenceEqual("start"u8) ? ReadStart(reader, channel)
                : type.SequenceEqual("end"u8) ? ReadEnd(reader)
                : throw new DectrisFormatException($"unknown message type '{Encoding.UTF8.GetString(type)}'");
        }
        catch (Exception e) when (e is CborContentException or InvalidOperationException or OverflowException or FormatException)
        {
            throw new DectrisFormatException($"malformed CBOR: {e.Message}");
        }
    }

    private static DectrisMessage ReadStart(CborReader reader, int channel)
    {
        long series = 0, images = -1;
        int width = 0, height = 0;
        PixelType? type = null;
        string? userData = null;
        List<string>? channels = null;
        double? translationZ = null, energy = null;
        var metadata = new DetectorMetadata();
        while (reader.PeekState() != CborReaderState.EndMap)
        {
            switch (reader.ReadTextString())
            {
                case "pixel_size_x": metadata = metadata with { XPixelSize = Number(reader) }; break;
                case "pixel_size_y": metadata = metadata with { YPixelSize = Number(reader) }; break;
                case "detector_distance": metadata = metadata with { Distance = Number(reader) }; break;
                case "detector_translation": translationZ = TranslationZ(reader); break;
                case "beam_center_x": metadata = metadata with { BeamCenterX = Number(reader) }; break;
                case "beam_center_y": metadata = metadata with { BeamCenterY = Number(reader) }; break;
                case "count_time": metadata = metadata with { CountTime = Number(reader) }; break;
                case "frame_time": metadata = metadata with { FrameTime = Number(reader) }; break;
                case "saturation_value": metadata = metadata with { SaturationValue = Number(reader) is { } s ? (long)s : null }; break;
                case "sensor_material" when reader.PeekState() == CborReaderState.TextString:
                    metadata = metadata with { SensorMaterial = reader.ReadTextString() };
                    break;
                case "sensor_thickness": metadata = metadata with { SensorThickness = Number(reader) }; break;
                case "incident_wavelength": metadata = metadata with { IncidentWavelength = Number(reader) }; break;
                case "incident_energy": energy = Number(reader); break;
                case "bit_depth_readout": metadata = metadata with { BitDepthReadout = Number(reader) is { } bits ? (int)bits : null }; break;
                case "detector_description" when reader.PeekState() == CborReaderState.TextString:
                    metadata = metadata with { Description = reader.ReadTextString() };
                    break;
                case "series_id": series = reader.ReadInt64(); break;
                case "image_size_x": width = reader.ReadInt32(); break;
                case "image_size_y": height = reader.ReadInt32(); break;
                case "image_dtype": type = DectrisPixelTypes.Parse(reader.ReadTextString()); break;
                case "number_of_images": images = reader.ReadInt64(); break;
                case "channels" when reader.PeekState() == CborReaderState.StartArray:
                    channels = [];
                    reader.ReadStartArray();
                    while (reader.PeekState() != CborReaderState.EndArray)
                        channels.Add(reader.ReadTextString());
                    reader.ReadEndArray();
                    break;
                case "user_data" when reader.PeekState() == CborReaderState.TextString: userData = reader.ReadTextString(); break;
                case "pixel_mask" when reader.PeekState() == CborReaderState.StartMap:
                    metadata = metadata with { PixelMask = ReadPixelMask(reader, channel) };
                    break;
                default: reader.SkipValue(); break;
            }
        }
        FrameInfo? frame = width > 0 && height > 0 && type is { } t ? new FrameInfo(width, height, t) : null;
        // detector_translation is the detector's position from the sample: its z is the distance when none is given
        if (metadata.Distance is null && translationZ is { } z)
            metadata = metadata with { Distance = z };
        if (metadata.IncidentWavelength is null)
            metadata = metadata with { IncidentWavelength = DetectorMetadata.WavelengthOf(energy) };
        var header = new DectrisHeader(series, "basic", frame, images >= 0 ? images : null, userData, metadata, channels);
        return new DectrisMessage { Kind = DectrisMessageKind.Header, Header = header, Series = series };
    }

    /// <summary>
    /// The pixel mask of threshold <paramref name="channel"/> (or of the first, when there are fewer masks), from
    /// <c>pixel_mask</c>: channel name → tag 40 [[height, width], tag 70 uint32 little-endian array].
    /// </summary>
    private static uint[] ReadPixelMask(CborReader reader, int channel)
    {
        uint[]? mask = null;
        reader.ReadStartMap();
        for (var entry = 0; reader.PeekState() != CborReaderState.EndMap; entry++)
        {
            reader.SkipValue(); // the channel's name
            if (mask is not null && entry != channel)
            {
                reader.SkipValue();
                continue;
            }
            if ((ulong)reader.ReadTag() != MultiDimArrayTag || reader.ReadStartArray() != 2 || reader.ReadStartArray() != 2)
                throw new DectrisFormatException("a pixel mask is a tag 40 array [[height, width], data]");
            var height = reader.ReadInt64();
            var width = reader.ReadInt64();
            reader.ReadEndArray();
            if ((ulong)reader.ReadTag() != 70)
                throw new DectrisFormatException("a pixel mask is a tag 70 (uint32 little-endian) typed array");
            var bytes = reader.ReadByteString();
            reader.ReadEndArray();
            if (height <= 0 || width <= 0 || bytes.Length != height * width * sizeof(uint))
                throw new DectrisFormatException($"a [{height}, {width}] uint32 pixel mask has {bytes.Length} bytes");
            mask = MemoryMarshal.Cast<byte, uint>(bytes).ToArray();
        }
        reader.ReadEndMap();
        return mask ?? throw new DectrisFormatException("pixel_mask has no channel");
    }

    /// <summary>An integer or floating-point value; anything else is skipped and stays unknown.</summary>
    private static double? Number(CborReader reader)
    {
        switch (reader.PeekState())
        {
            case CborReaderState.UnsignedInteger or CborReaderState.NegativeInteger:
                return reader.ReadInt64();
            case CborReaderState.HalfPrecisionFloat or CborReaderState.SinglePrecisionFloat or CborReaderState.DoublePrecisionFloat:
                return reader.ReadDouble();
            default:
                reader.SkipValue();
                return null;
        }
    }

    /// <summary>The z of <c>detector_translation</c> <c>[x, y, z]</c> (m), or null when it is no such array.</summary>
    private static double? TranslationZ(CborReader reader)
    {
        if (reader.PeekState() != CborReaderState.StartArray)
        {
            reader.SkipValue();
            return null;
        }
        var length = reader.ReadStartArray();
        double? z = null;
        for (var i = 0; reader.PeekState() != CborReaderState.EndArray; i++)
        {
            var value = Number(reader);
            if (i == 2 && length == 3)
                z = value;
        }
        reader.ReadEndArray();
        return z;
    }

    private static DectrisMessage ReadEnd(CborReader reader)
    {
        long series = 0;
        while (reader.PeekState() != CborReaderState.EndMap)
        {
            if (reader.ReadTextString() == "series_id")
                series = reader.ReadInt64();
            else
                reader.SkipValue();
        }
        return new DectrisMessage { Kind = DectrisMessageKind.End, Series = series };
    }

    private static DectrisMessage ReadImage(CborReader reader, int channel)
    {
        long series = 0, frame = -1;
        DectrisImage image = default;
        var hasData = false;
        while (reader.PeekState() != CborReaderState.EndMap)
        {
            var key = Utf8Text(reader);
            if (key.SequenceEqual("series_id"u8))
                series = reader.ReadInt64();
            else if (key.SequenceEqual("image_id"u8))
                frame = reader.ReadInt64();
            else if (key.SequenceEqual("data"u8))
            {
                try
                {
                    image = ReadData(reader, channel);
                }
                catch (DectrisFormatException e) when (frame >= 0)
                {
                    throw new DectrisFormatException($"image {frame}: {e.Message}", frame);
                }
                catch (Exception e) when (frame >= 0 && e is CborContentException or InvalidOperationException or OverflowException or FormatException)
                {
                    throw new DectrisFormatException($"image {frame}: malformed CBOR: {e.Message}", frame);
                }
                hasData = true;
            }
            else
                reader.SkipValue();
        }
        if (frame < 0)
            throw new DectrisFormatException("an image message without image_id");
        if (!hasData)
            throw new DectrisFormatException($"image {frame} has no data");
        image = new DectrisImage
        {
            Series = series, Frame = frame, Info = image.Info, Encoding = image.Encoding, Payload = image.Payload, OtherChannels = image.OtherChannels,
        };
        return new DectrisMessage { Kind = DectrisMessageKind.Image, Image = image, Series = series };
    }

    /// <summary>Entry <paramref name="channel"/> of <c>data</c>: the threshold this receiver takes; the others are skipped.</summary>
    private static DectrisImage ReadData(CborReader reader, int channel)
    {
        reader.ReadStartMap();
        for (var entry = 0; ; entry++)
        {
            if (reader.PeekState() == CborReaderState.EndMap)
                throw new DectrisFormatException(entry == 0 ? "image data has no channel"
                    : $"image data has {entry} channels, channel {channel + 1} is the one to read");
            if (entry == channel)
                break;
            reader.SkipValue();
            reader.SkipValue();
        }
        reader.SkipValue(); // the channel's name
        if ((ulong)reader.ReadTag() != MultiDimArrayTag)
            throw new DectrisFormatException("image data is not a tag 40 multi-dimensional array");
        if (reader.ReadStartArray() != 2 || reader.ReadStartArray() != 2)
            throw new DectrisFormatException("a multi-dimensional array is [[height, width], data]");
        var height = reader.ReadInt32();
        var width = reader.ReadInt32();
        reader.ReadEndArray();
        var tag = (ulong)reader.ReadTag();
        var type = tag switch
        {
            64 => PixelType.Gray8,
            72 => PixelType.Gray8s,
            69 => PixelType.Gray16,
            77 => PixelType.Gray16s,
            70 => PixelType.Gray32,
            78 => PixelType.Gray32s,
            85 => PixelType.Gray32f,
            86 => PixelType.Gray64f,
            _ => throw new DectrisFormatException($"typed array tag {tag} is no little-endian pixel type"),
        };
        if (width <= 0 || height <= 0)
            throw new DectrisFormatException($"image dimensions [{height}, {width}] are not positive");
        var info = new FrameInfo(width, height, type);
        DectrisEncoding encoding;
        ReadOnlyMemory<byte> payload;
        if (reader.PeekState() == CborReaderState.Tag)
        {
            if ((ulong)reader.ReadTag() != CompressionTag)
                throw new DectrisFormatException("a typed array holds a byte string or a tag 56500 compressed one");
            if (reader.ReadStartArray() != 3)
                throw new DectrisFormatException("tag 56500 is [algorithm, elem_size, bytes]");
            var algorithm = Utf8Text(reader);
            encoding = algorithm.SequenceEqual("bslz4"u8) ? DectrisEncoding.BitshuffleLz4
                : algorithm.SequenceEqual("lz4"u8) ? DectrisEncoding.Lz4Chunk
                : throw new DectrisFormatException($"unsupported compression '{Encoding.UTF8.GetString(algorithm)}'");
            var elemSize = reader.ReadInt32();
            payload = reader.ReadDefiniteLengthByteString();
            reader.ReadEndArray();
            if (elemSize != type.SizeOf())
                throw new DectrisFormatException($"compressed elem_size {elemSize} does not fit {type.ToDtypeName()} pixels");
        }
        else
        {
            payload = reader.ReadDefiniteLengthByteString();
            encoding = DectrisEncoding.Raw;
            if (payload.Length != info.ByteSize)
                throw new DectrisFormatException($"a raw {info} frame has {info.ByteSize} bytes, the array has {payload.Length}");
        }
        reader.ReadEndArray();
        var others = channel;
        for (; reader.PeekState() != CborReaderState.EndMap; others++)
        {
            reader.SkipValue();
            reader.SkipValue();
        }
        reader.ReadEndMap();
        return new DectrisImage { Info = info, Encoding = encoding, Payload = payload.Span, OtherChannels = others };
    }

    /// <summary>A text string as UTF-8: in place when it has a definite length, as detectors write it.</summary>
    private static ReadOnlySpan<byte> Utf8Text(CborReader reader) =>
        reader.PeekState() == CborReaderState.StartIndefiniteLengthTextString
            ? Encoding.UTF8.GetBytes(reader.ReadTextString())
            : reader.ReadDefiniteLengthTextStringBytes().Span;
}

/// <summary>Builds V2 messages as a DECTRIS detector sends them (for the emulator and tests).</summary>
public sealed class StreamV2Writer
{
    private readonly CborWriter _writer = new(CborConformanceMode.Lax, convertIndefiniteLengthEncodings: false);
    private readonly string _uniqueId;
    private byte[] _buffer = [];

    private static readonly string[] SingleChannel = ["threshold_1"];

    public StreamV2Writer()
        : this(Ulid())
    {
    }

    /// <summary>A writer whose messages carry <paramref name="other"/>'s series_unique_id (several threads writing one series).</summary>
    public StreamV2Writer(StreamV2Writer other)
        : this(other._uniqueId)
    {
    }

    private StreamV2Writer(string uniqueId) => _uniqueId = uniqueId;

    /// <param name="channels">the threshold channels of every image (<c>threshold_1</c> alone by default)</param>
    /// <param name="pixelMask">send the emulated detector's pixel mask (<see cref="EmulatedDetector.PixelMask"/>) for each channel</param>
    public byte[] Start(long series, FrameInfo frame, long images, string? userData = null, IReadOnlyList<string>? channels = null,
        bool pixelMask = false)
    {
        channels ??= SingleChannel;
        Begin("start", 21 + (userData is null ? 0 : 1) + (pixelMask ? 1 : 0));
        _writer.WriteTextString("series_id");
        _writer.WriteInt64(series);
        _writer.WriteTextString("series_unique_id");
        _writer.WriteTextString(_uniqueId);
        _writer.WriteTextString("channels");
        _writer.WriteStartArray(channels.Count);
        foreach (var channel in channels)
            _writer.WriteTextString(channel);
        _writer.WriteEndArray();
        _writer.WriteTextString("image_size_x");
        _writer.WriteInt32(frame.Width);
        _writer.WriteTextString("image_size_y");
        _writer.WriteInt32(frame.Height);
        _writer.WriteTextString("image_dtype");
        _writer.WriteTextString(frame.PixelType.ToDtypeName());
        _writer.WriteTextString("number_of_images");
        _writer.WriteInt64(images);
        var detector = EmulatedDetector.Metadata(frame);
        foreach (var (key, value) in new (string, double)[]
                 {
                     ("count_time", detector.CountTime!.Value), ("frame_time", detector.FrameTime!.Value),
                     ("pixel_size_x", detector.XPixelSize!.Value), ("pixel_size_y", detector.YPixelSize!.Value),
                     ("detector_distance", detector.Distance!.Value), ("beam_center_x", detector.BeamCenterX!.Value),
                     ("beam_center_y", detector.BeamCenterY!.Value), ("incident_wavelength", detector.IncidentWavelength!.Value),
                     ("incident_energy", EmulatedDetector.PhotonEnergy), ("sensor_thickness", detector.SensorThickness!.Value),
                     ("bit_depth_readout", detector.BitDepthReadout!.Value),
                 })
        {
            _writer.WriteTextString(key);
            _writer.WriteDouble(value);
        }
        _writer.WriteTextString("sensor_material");
        _writer.WriteTextString(detector.SensorMaterial!);
        _writer.WriteTextString("detector_description");
        _writer.WriteTextString(detector.Description!);
        if (userData is not null)
        {
            _writer.WriteTextString("user_data");
            _writer.WriteTextString(userData);
        }
        if (pixelMask)
        {
            _writer.WriteTextString("pixel_mask");
            _writer.WriteStartMap(channels.Count);
            var mask = MemoryMarshal.AsBytes(EmulatedDetector.PixelMask(frame).AsSpan());
            foreach (var channel in channels)
                WriteChannel(channel, frame with { PixelType = PixelType.Gray32 }, DectrisEncoding.Raw, mask);
            _writer.WriteEndMap();
        }
        _writer.WriteEndMap();
        return _writer.Encode();
    }

    /// <summary>One image message of a single-threshold series, valid until the next call.</summary>
    /// <param name="userData">the image's user_data (the receiver's re-publisher puts the frame's results there)</param>
    public ReadOnlyMemory<byte> Image(long series, long frame, FrameInfo info, DectrisEncoding encoding, ReadOnlySpan<byte> payload,
        string? userData = null)
    {
        BeginImage(series, frame, 1, userData is null ? 8 : 9);
        WriteChannel(SingleChannel[0], info, encoding, payload);
        return EndImage(userData);
    }

    /// <summary>One image message with an entry per threshold channel, in the order of <paramref name="channels"/>.</summary>
    public ReadOnlyMemory<byte> Image(long series, long frame, FrameInfo info, DectrisEncoding encoding,
        IReadOnlyList<string> channels, IReadOnlyList<byte[]> payloads)
    {
        if (channels.Count != payloads.Count)
            throw new ArgumentException($"{channels.Count} channels, {payloads.Count} payloads", nameof(payloads));
        BeginImage(series, frame, channels.Count, 8);
        for (var c = 0; c < channels.Count; c++)
            WriteChannel(channels[c], info, encoding, payloads[c]);
        return EndImage(null);
    }

    private void BeginImage(long series, long frame, int channels, int keys)
    {
        Begin("image", keys);
        _writer.WriteTextString("series_id");
        _writer.WriteInt64(series);
        _writer.WriteTextString("series_unique_id");
        _writer.WriteTextString(_uniqueId);
        _writer.WriteTextString("image_id");
        _writer.WriteInt64(frame);
        foreach (var (key, ticks) in new[] { ("start_time", frame * 50_000L), ("stop_time", frame * 50_000L + 49_700), ("real_time", 49_700L) })
        {
            _writer.WriteTextString(key);
            _writer.WriteStartArray(2);
            _writer.WriteInt64(ticks);
            _writer.WriteInt64(50_000_000);
            _writer.WriteEndArray();
        }
        _writer.WriteTextString("data");
        _writer.WriteStartMap(channels);
    }

    private void WriteChannel(string channel, FrameInfo info, DectrisEncoding encoding, ReadOnlySpan<byte> payload)
    {
        _writer.WriteTextString(channel);
        _writer.WriteTag((CborTag)StreamV2.MultiDimArrayTag);
        _writer.WriteStartArray(2);
        _writer.WriteStartArray(2);
        _writer.WriteInt32(info.Height);
        _writer.WriteInt32(info.Width);
        _writer.WriteEndArray();
        _writer.WriteTag((CborTag)TypedArrayTag(info.PixelType));
        if (encoding == DectrisEncoding.Raw)
            _writer.WriteByteString(payload);
        else
        {
            _writer.WriteTag((CborTag)StreamV2.CompressionTag);
            _writer.WriteStartArray(3);
            _writer.WriteTextString(encoding switch
            {
                DectrisEncoding.BitshuffleLz4 => "bslz4",
                DectrisEncoding.Lz4Chunk => "lz4",
                _ => throw new ArgumentException($"V2 has no {encoding} encoding", nameof(encoding)),
            });
            _writer.WriteInt32(info.PixelType.SizeOf());
            _writer.WriteByteString(payload);
            _writer.WriteEndArray();
        }
        _writer.WriteEndArray();
    }

    private ReadOnlyMemory<byte> EndImage(string? userData)
    {
        _writer.WriteEndMap();
        if (userData is not null)
        {
            _writer.WriteTextString("user_data");
            _writer.WriteTextString(userData);
        }
        _writer.WriteEndMap();
        if (_buffer.Length < _writer.BytesWritten)
            _buffer = new byte[_writer.BytesWritten];
        return _buffer.AsMemory(0, _writer.Encode(_buffer));
    }

    /// <param name="userData">more for consumers (the receiver's re-publisher says where its frames were saved)</param>
    public byte[] End(long series, string? userData = null)
    {
        Begin("end", userData is null ? 3 : 4);
        _writer.WriteTextString("series_id");
        _writer.WriteInt64(series);
        _writer.WriteTextString("series_unique_id");
        _writer.WriteTextString(_uniqueId);
        if (userData is not null)
        {
            _writer.WriteTextString("user_data");
            _writer.WriteTextString(userData);
        }
        _writer.WriteEndMap();
        return _writer.Encode();
    }

    private void Begin(string type, int keys)
    {
        _writer.Reset();
        _writer.WriteTag(CborTag.SelfDescribeCbor);
        _writer.WriteStartMap(keys);
        _writer.WriteTextString("type");
        _writer.WriteTextString(type);
    }

    private static ulong TypedArrayTag(PixelType type) => type switch
    {
        PixelType.Gray8 => 64,
        PixelType.Gray8s => 72,
        PixelType.Gray16 => 69,
        PixelType.Gray16s => 77,
        PixelType.Gray32 => 70,
        PixelType.Gray32s => 78,
        PixelType.Gray32f => 85,
        _ => 86,
    };

    private static string Ulid()
    {
        const string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        return string.Create(26, Random.Shared, (chars, random) =>
        {
            for (var i = 0; i < chars.Length; i++)
                chars[i] = alphabet[random.Next(alphabet.Length)];
        });
    }
}
