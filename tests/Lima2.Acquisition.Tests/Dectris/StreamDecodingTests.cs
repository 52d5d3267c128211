using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

public class StreamDecodingTests
{
    [Theory]
    [InlineData("none", false, 1)]
    [InlineData("basic", false, 2)]
    [InlineData("basic", true, 3)]
    [InlineData("all", false, 8)]
    [InlineData("all", true, 9)]
    public void V1_headers_of_every_detail_level_decode_with_their_part_count(string detail, bool appendix, int parts)
    {
        var message = StreamV1Writer.Header(4, detail, Info, 100, appendix ? "{\"user\":1}" : null);
        Assert.Equal(parts, message.Count);
        var decoded = StreamV1.Decode(new ArrayParts(message));
        Assert.Equal(DectrisMessageKind.Header, decoded.Kind);
        Assert.Equal(4, decoded.Header!.Series);
        Assert.Equal(detail, decoded.Header.Detail);
        Assert.Equal(detail == "none" ? null : Info, decoded.Header.Frame);
        Assert.Equal(detail == "none" ? null : 100L, decoded.Header.Images);
        Assert.Equal(appendix ? "{\"user\":1}" : null, decoded.Header.Appendix);
    }

    [Fact]
    public void A_V1_header_missing_parts_for_its_detail_level_is_rejected()
    {
        var message = StreamV1Writer.Header(4, "all", Info, 100).Take(5).ToList();
        var error = Assert.Throws<DectrisFormatException>(() => StreamV1.Decode(new ArrayParts(message)));
        Assert.Contains("detail 'all' has 8 parts", error.Message);
    }

    [Fact]
    public void A_V1_headers_pixel_mask_is_read_and_one_that_does_not_fill_its_shape_is_rejected()
    {
        var message = StreamV1Writer.Header(4, "all", Info, 100).ToList();
        Assert.Equal(EmulatedDetector.PixelMask(Info), StreamV1.Decode(new ArrayParts(message)).Header!.Metadata!.PixelMask);

        message[5] = message[5][..^4]; // one uint32 short
        var error = Assert.Throws<DectrisFormatException>(() => StreamV1.Decode(new ArrayParts(message)));
        Assert.Contains($"the pixel mask is {Info.Width}x{Info.Height} uint32", error.Message);
    }

    [Theory]
    [InlineData(DectrisEncoding.Raw)]
    [InlineData(DectrisEncoding.Lz4Block)]
    [InlineData(DectrisEncoding.BitshuffleLz4)]
    public void V1_images_decode_pixel_exact_for_each_encoding(DectrisEncoding encoding)
    {
        var decoded = StreamV1.Decode(new ArrayParts(V1Image(12, encoding)));
        Assert.Equal(DectrisMessageKind.Image, decoded.Kind);
        Assert.Equal(12, decoded.Image.Frame);
        Assert.Equal(Info, decoded.Image.Info);
        Assert.Equal(encoding, decoded.Image.Encoding);
        var pixels = new byte[Info.ByteSize];
        decoded.Image.DecodeInto(pixels);
        Assert.Equal(Pixels(12), pixels);
    }

    [Theory]
    [InlineData(DectrisEncoding.Raw)]
    [InlineData(DectrisEncoding.Lz4Block)]
    [InlineData(DectrisEncoding.BitshuffleLz4)]
    public void A_V1_image_message_is_read_and_decoded_into_its_buffer_without_allocating(DectrisEncoding encoding)
    {
        var info = new FrameInfo(512, 64, PixelType.Gray16); // several bitshuffle blocks
        var parts = new ArrayParts(V1Image(5, encoding, info));
        var pixels = new byte[info.ByteSize];
        ReceiveOne(parts, pixels); // the first one compiles and fills the static tables
        var before = GC.GetAllocatedBytesForCurrentThread();
        ReceiveOne(parts, pixels);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(Pixels(5, info), pixels);

        static void ReceiveOne(ArrayParts parts, byte[] pixels) => StreamV1.Decode(parts).Image.DecodeInto(pixels);
    }

    [Theory]
    [InlineData(DectrisEncoding.Raw)]
    [InlineData(DectrisEncoding.Lz4Chunk)]
    [InlineData(DectrisEncoding.BitshuffleLz4)]
    public void A_V2_image_message_is_read_and_decoded_into_its_buffer_without_allocating(DectrisEncoding encoding)
    {
        var info = new FrameInfo(512, 64, PixelType.Gray16);
        var message = V2Image(5, encoding, info);
        var pixels = new byte[info.ByteSize];
        ReceiveOne(message, pixels);
        var before = GC.GetAllocatedBytesForCurrentThread();
        ReceiveOne(message, pixels);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(Pixels(5, info), pixels);

        static void ReceiveOne(byte[] message, byte[] pixels) => StreamV2.Decode(message).Image.DecodeInto(pixels);
    }

    [Theory]
    [InlineData(DectrisEncoding.Raw)]
    [InlineData(DectrisEncoding.Lz4Chunk)]
    [InlineData(DectrisEncoding.BitshuffleLz4)]
    public void V2_images_decode_pixel_exact_for_each_encoding(DectrisEncoding encoding)
    {
        var message = V2Image(5, encoding);
        Assert.Equal(new byte[] { 0xD9, 0xD9, 0xF7 }, message[..3]);
        var decoded = StreamV2.Decode(message);
        Assert.Equal(DectrisMessageKind.Image, decoded.Kind);
        Assert.Equal(5, decoded.Image.Frame);
        Assert.Equal(Info, decoded.Image.Info);
        var pixels = new byte[Info.ByteSize];
        decoded.Image.DecodeInto(pixels);
        Assert.Equal(Pixels(5), pixels);
    }

    [Fact]
    public void V2_start_and_end_carry_series_geometry_and_image_count()
    {
        var writer = new StreamV2Writer();
        var start = StreamV2.Decode(writer.Start(9, Info, 42, "hello"));
        Assert.Equal(DectrisMessageKind.Header, start.Kind);
        Assert.Equal(new DectrisHeader(9, "basic", Info, 42, "hello", EmulatedDetector.Metadata(Info)),
            start.Header! with { Channels = null });
        Assert.Equal(["threshold_1"], start.Header.Channels!);
        var end = StreamV2.Decode(writer.End(9));
        Assert.Equal(DectrisMessageKind.End, end.Kind);
        Assert.Equal(9, end.Series);
        Assert.Equal(DectrisMessageKind.End, StreamV1.Decode(new ArrayParts([StreamV1Writer.End(3)])).Kind);
    }

    [Theory]
    [InlineData("{\"htype\":\"dfoo-1.0\"}", "unknown htype 'dfoo-1.0'")]
    [InlineData("{\"series\":1}", "no htype")]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    public void V1_messages_that_are_not_DECTRIS_say_why(string first, string reason)
    {
        var error = Assert.Throws<DectrisFormatException>(() => StreamV1.Decode(new ArrayParts([Encoding.UTF8.GetBytes(first)])));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void V1_image_with_a_size_that_does_not_match_its_blob_is_rejected()
    {
        var parts = V1Image(3, DectrisEncoding.Raw);
        parts[2] = parts[2][..^2];
        var error = Assert.Throws<DectrisFormatException>(() => StreamV1.Decode(new ArrayParts(parts)));
        Assert.Contains("the blob has", error.Message);

        var wrongShape = V1Image(3, DectrisEncoding.Raw, Info with { Width = Info.Width + 1 });
        wrongShape[2] = Pixels(3);
        wrongShape[1] = new StreamV1Writer().ImageParts(1, 3, Info with { Width = Info.Width + 1 }, DectrisEncoding.Raw, wrongShape[2].Length).Descriptor;
        Assert.Throws<DectrisFormatException>(() => StreamV1.Decode(new ArrayParts(wrongShape)));
    }

    [Fact]
    public void A_compressed_frame_of_the_wrong_size_is_rejected_when_decoded()
    {
        var other = new FrameInfo(10, 10, PixelType.Gray16);
        var parts = V1Image(3, DectrisEncoding.BitshuffleLz4, other);
        // The descriptor claims the usual frame size, the chunk holds a 10x10 frame.
        parts[1] = new StreamV1Writer().ImageParts(1, 3, Info, DectrisEncoding.BitshuffleLz4, parts[2].Length).Descriptor;
        var image = StreamV1.Decode(new ArrayParts(parts)).Image;
        var pixels = new byte[Info.ByteSize];
        try
        {
            image.DecodeInto(pixels);
            Assert.Fail("decoded a frame of the wrong size");
        }
        catch (DectrisFormatException e)
        {
            Assert.Contains("announces 200 bytes", e.Message);
        }
    }

    [Fact]
    public void V2_messages_without_signature_or_with_type_not_first_are_rejected()
    {
        Assert.Contains("D9 D9 F7", Assert.Throws<DectrisFormatException>(() => StreamV2.Decode(new byte[] { 0xA1, 0x61, 0x61, 0x01 })).Message);
        // 55799({"series_id": 1, "type": "end"})
        var wrongOrder = Convert.FromHexString("D9D9F7A2697365726965735F696401647479706563656E64");
        Assert.Contains("first key", Assert.Throws<DectrisFormatException>(() => StreamV2.Decode(wrongOrder)).Message);
        // 55799({"type": "bogus"})
        var unknown = Convert.FromHexString("D9D9F7A164747970656562F6775073");
        Assert.Throws<DectrisFormatException>(() => StreamV2.Decode(unknown));
    }

    [Fact]
    public void A_V2_image_whose_damaged_shape_is_larger_than_the_buffer_is_a_format_error()
    {
        // the case the property below found: a flipped byte of the image's shape made the decoder slice past its buffer
        var pixels = new byte[Info.ByteSize];
        var image = StreamV2.Decode(V2Image(1, DectrisEncoding.BitshuffleLz4)).Image;
        var larger = image with { Info = Info with { Width = Info.Width + 1 } };
        string? error = null;
        try
        {
            larger.DecodeInto(pixels); // a ref struct: no lambda for Assert.Throws
        }
        catch (DectrisFormatException e)
        {
            error = e.Message;
        }
        Assert.Contains($"larger than the {Info.ByteSize} bytes of a frame", error);
    }

    [Fact]
    public void Truncated_or_corrupted_messages_only_ever_raise_format_errors() =>
        Prop.ForAll(Gen.Choose(0, 1 << 20).ToArbitrary(), Gen.Choose(0, 255).ToArbitrary(), Gen.Elements(0, 1, 2, 3).ToArbitrary(), (at, value, kind) =>
        {
            var encoding = kind < 2 ? DectrisEncoding.BitshuffleLz4 : DectrisEncoding.Raw;
            var pixels = new byte[Info.ByteSize];
            if (kind % 2 == 0)
            {
                var message = V2Image(1, encoding);
                var damaged = at % 2 == 0 ? message[..(at % message.Length)] : Flip(message, at, value);
                return OnlyFormatErrors(() =>
                {
                    var decoded = StreamV2.Decode(damaged);
                    if (decoded.Kind == DectrisMessageKind.Image)
                        decoded.Image.DecodeInto(pixels);
                });
            }
            var parts = V1Image(1, encoding == DectrisEncoding.Raw ? DectrisEncoding.Lz4Block : encoding);
            var part = at % parts.Count;
            parts[part] = at % 3 == 0 ? parts[part][..(at % (parts[part].Length + 1))] : Flip(parts[part], at, value);
            return OnlyFormatErrors(() =>
            {
                var decoded = StreamV1.Decode(new ArrayParts(parts));
                if (decoded.Kind == DectrisMessageKind.Image)
                    decoded.Image.DecodeInto(pixels);
            });
        }).QuickCheckThrowOnFailure();

    private static byte[] Flip(byte[] message, int at, int value)
    {
        var copy = message.ToArray();
        if (copy.Length > 0)
            copy[at % copy.Length] ^= (byte)(value | 1);
        return copy;
    }

    private static bool OnlyFormatErrors(Action decode)
    {
        try
        {
            decode();
        }
        catch (DectrisFormatException)
        {
        }
        return true;
    }

    [Fact]
    public void Python_cbor2_reads_our_V2_images_and_we_read_a_V2_image_built_by_python()
    {
        var folder = Directory.CreateTempSubdirectory("v2-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(folder, "ours.cbor"), V2Image(7, DectrisEncoding.BitshuffleLz4));
            File.WriteAllBytes(Path.Combine(folder, "pixels.raw"), Pixels(7));
            var output = Python.Run(PythonScripts.Path("v2_check.py"), [folder, Info.Height.ToString(), Info.Width.ToString()]);
            Assert.Contains("ours ok", output);

            var theirs = File.ReadAllBytes(Path.Combine(folder, "theirs.cbor"));
            var decoded = StreamV2.Decode(theirs);
            Assert.Equal(3, decoded.Image.Frame);
            Assert.Equal(Info, decoded.Image.Info);
            var pixels = new byte[Info.ByteSize];
            decoded.Image.DecodeInto(pixels);
            Assert.Equal(Pixels(7), pixels);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
