using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.TestSupport;

namespace Lima2.Protocol.Tests;

/// <summary>Our DevEncoded payloads, decoded by numpy exactly as lima2-client decodes them.</summary>
public sealed class EncodedLayoutsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lima2-encoded-").FullName;

    private JsonElement DecodeWithNumpy(string format, byte[] data)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, data);
        var script = Path.Combine(AppContext.BaseDirectory, "py", "decode.py");
        return JsonDocument.Parse(Python.Run(script, [format, path])).RootElement;
    }

    [Fact]
    public void Dense_frame_decodes_to_the_same_pixels_shape_and_index()
    {
        var pixels = Enumerable.Range(0, 12).Select(i => (ushort)(i * 1000 + 7)).ToArray();
        using var frame = Frame.FromArray(pixels, width: 4, height: 3, index: 41);

        var encoded = EncodedLayouts.Dense(frame);
        var decoded = DecodeWithNumpy(encoded.Format, encoded.Data);

        Assert.Equal("DENSE_FRAME", encoded.Format);
        Assert.Equal(41, decoded.GetProperty("frame_idx").GetInt32());
        Assert.Equal("<u2", decoded.GetProperty("dtype").GetString());
        Assert.Equal([1, 3, 4], decoded.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(pixels.Select(p => (int)p), decoded.GetProperty("pixels").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Float_dense_frame_keeps_its_pixel_type()
    {
        float[] pixels = [0.5f, -1.25f, 3e6f, float.Epsilon];
        using var frame = Frame.FromArray(pixels, width: 2, height: 2, index: 3);

        var decoded = DecodeWithNumpy("DENSE_FRAME", EncodedLayouts.Dense(frame).Data);

        Assert.Equal("<f4", decoded.GetProperty("dtype").GetString());
        Assert.Equal(pixels, decoded.GetProperty("pixels").EnumerateArray().Select(e => e.GetSingle()));
    }

    [Fact]
    public void Roi_statistics_rows_decode_field_by_field_in_frame_major_order()
    {
        RoiStatisticsRecord[] rows =
        [
            new(FrameIdx: 0, RecvIdx: 0, Min: 1, Max: 9, Avg: 4.5f, Std: 2.25f, Sum: 1e12 + 0.5),
            new(FrameIdx: 0, RecvIdx: 0, Min: -3, Max: 0, Avg: -1, Std: 0, Sum: -7),
            new(FrameIdx: 2, RecvIdx: 1, Min: 0, Max: 65535, Avg: 100, Std: 10, Sum: 4096),
        ];

        var encoded = EncodedLayouts.Structured<RoiStatisticsRecord>(rows);
        var decoded = DecodeWithNumpy("STRUCTURED_ARRAY:roi", encoded.Data).GetProperty("rows");

        Assert.Equal("STRUCTURED_ARRAY", encoded.Format);
        Assert.Equal(rows.Length, decoded.GetArrayLength());
        for (var i = 0; i < rows.Length; i++)
        {
            var r = decoded[i].EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal([rows[i].FrameIdx, rows[i].RecvIdx, rows[i].Min, rows[i].Max, rows[i].Avg, rows[i].Std, rows[i].Sum], r);
        }
    }

    [Fact]
    public void An_empty_pop_is_a_header_with_no_rows()
    {
        var decoded = DecodeWithNumpy("STRUCTURED_ARRAY:peaks", EncodedLayouts.Structured<PeakCounterRecord>([]).Data);

        Assert.Equal(0, decoded.GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public void Frame_idx_rows_put_the_receiver_index_first()
    {
        var decoded = DecodeWithNumpy("STRUCTURED_ARRAY:frame_idx",
            EncodedLayouts.Structured<FrameIdxRecord>([new(RecvIdx: 5, FrameIdx: 11)]).Data);

        Assert.Equal([5.0, 11.0], decoded.GetProperty("rows")[0].EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public void Smx_sparse_frame_decodes_pixels_and_background_profile()
    {
        int[] index = [3, 70, 1023];
        float[] intensity = [12.5f, 300, 7];
        float[] avg = [1, 2, 3, 4];
        float[] std = [0.5f, 0.25f, 0.125f, 1];

        var encoded = EncodedLayouts.SmxSparse(64, 16, 9, index, intensity, avg, std);
        var decoded = DecodeWithNumpy(encoded.Format, encoded.Data);

        Assert.Equal("SMX_SPARSE_FRAME", encoded.Format);

        Assert.Equal([16, 64], decoded.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(9, decoded.GetProperty("frame_idx").GetInt32());
        Assert.Equal(index, decoded.GetProperty("index").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(intensity, decoded.GetProperty("intensity").EnumerateArray().Select(e => e.GetSingle()));
        Assert.Equal(avg, decoded.GetProperty("background_avg").EnumerateArray().Select(e => e.GetSingle()));
        Assert.Equal(std, decoded.GetProperty("background_std").EnumerateArray().Select(e => e.GetSingle()));
    }

    [Fact]
    public void Smx_sparse_frame_refuses_a_side_longer_than_its_16_bit_header_field()
    {
        var error = Assert.Throws<ArgumentException>(() => EncodedLayouts.SmxSparse(70_000, 16, 0, [], [], [], []));
        Assert.Equal("SMX_SPARSE_FRAME holds at most 65535 px a side, not 70000x16", error.Message);
    }

    [Fact]
    public void Xpcs_sparse_frame_decodes_indices_and_counts()
    {
        var decoded = DecodeWithNumpy("SPARSE_FRAME", EncodedLayouts.Sparse(8, 8, 4, [0, 63], [1, 65535]).Data);

        Assert.Equal([0, 63], decoded.GetProperty("index").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([1, 65535], decoded.GetProperty("intensity").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Sparse_frame_refuses_mismatched_lengths()
    {
        Assert.Throws<ArgumentException>(() => EncodedLayouts.Sparse(8, 8, 0, [1, 2], [1]));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
