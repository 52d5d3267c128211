using System.Text.Json;
using Lima2.TestSupport;
using Tango.Client;

namespace Tango.NET.Tests.Client;

/// <summary>Every attribute type and format of TangoTest, read and written from C#, cross-checked with PyTango.</summary>
public sealed class AttributeTypeTests(TangoTestServer server) : IClassFixture<TangoTestServer>, IDisposable
{
    private readonly DeviceProxy _device = new(server.Url());

    public void Dispose() => _device.Dispose();

    public static TheoryData<string, object> Scalars => new()
    {
        { "boolean_scalar", true },
        { "short_scalar", (short)-1234 },
        { "ushort_scalar", (ushort)65000 },
        { "long_scalar", -123456789 },
        { "ulong_scalar", 4000000000u },
        { "long64_scalar", -9_000_000_000_000_000_000L },
        { "ulong64_scalar", 18_000_000_000_000_000_000UL },
        { "float_scalar", 3.25f },
        { "double_scalar", Math.PI },
        { "uchar_scalar", (byte)200 },
        { "string_scalar", "hello Tango" },
    };

    [Theory]
    [MemberData(nameof(Scalars))]
    public void A_written_scalar_is_the_set_point_read_back(string attribute, object value)
    {
        _device.Write(attribute, value);
        var read = _device.ReadAttribute(attribute);
        Assert.Equal(value, read.WriteValue);
        Assert.Equal(value.GetType(), read.Value!.GetType());
        Assert.Equal((AttrDataFormat.Scalar, 1, 0), (read.Format, read.DimX, read.DimY));
    }

    [Fact]
    public void Several_attributes_written_in_one_call_are_each_the_set_point_read_back()
    {
        _device.WriteAttributes(new Dictionary<string, object>
        {
            ["long_scalar"] = 17, ["double_scalar"] = -2.5, ["string_scalar"] = "together", ["short_spectrum"] = new short[] { 1, -2, 3 },
        });
        var read = _device.ReadAttributes("long_scalar", "double_scalar", "string_scalar", "short_spectrum");
        Assert.Equal([17, -2.5, "together"], read.Take(3).Select(a => a.WriteValue));
        Assert.Equal(new short[] { 1, -2, 3 }, read[3].WriteValue);
    }

    [Fact]
    public void A_write_of_several_attributes_where_one_is_refused_names_it_and_writes_the_others()
    {
        var e = Assert.Throws<DevFailedException>(() => _device.WriteAttributes(new Dictionary<string, object>
        {
            ["double_scalar"] = 8.5, ["long_scalar_rww"] = 5,
        }));
        Assert.Equal("API_AttrNotWritable", e.Reason);
        Assert.StartsWith("long_scalar_rww: ", e.Errors[0].Description);
        Assert.Equal(8.5, _device.ReadAttribute("double_scalar").WriteValue);
    }

    public static TheoryData<string, Array> Spectra => new()
    {
        { "boolean_spectrum", new[] { true, false, true } },
        { "short_spectrum", new short[] { -1, 2, short.MaxValue } },
        { "ushort_spectrum", new ushort[] { 0, 1, ushort.MaxValue } },
        { "long_spectrum", new[] { int.MinValue, 0, int.MaxValue } },
        { "float_spectrum", new[] { 0.5f, -1.25f } },
        { "double_spectrum", new[] { 1e300, -2.5, 0 } },
        { "uchar_spectrum", new byte[] { 0, 128, 255 } },
        { "string_spectrum", new[] { "a", "", "b c" } },
    };

    [Theory]
    [MemberData(nameof(Spectra))]
    public void A_written_spectrum_is_the_set_point_read_back(string attribute, Array value)
    {
        _device.Write(attribute, value);
        var read = _device.ReadAttribute(attribute);
        Assert.Equal(value, Assert.IsAssignableFrom<Array>(read.WriteValue));
        Assert.Equal(value.Length, read.WrittenDimX);
        Assert.Equal(AttrDataFormat.Spectrum, read.Format);
    }

    // long_image is missing: writing it crashes the TangoTest of Debian's 9.3.4 (with PyTango too); DevLong
    // images are written in PeerTests.
    public static TheoryData<string, Array> Images => new()
    {
        { "boolean_image", new[,] { { true, false, false }, { false, true, true } } },
        { "short_image", new short[,] { { 1, 2, 3 }, { -4, -5, -6 } } },
        { "ushort_image", new ushort[,] { { 1, 2, 3 }, { 4, 5, 65535 } } },
        { "float_image", new[,] { { 0.5f, 1, 2 }, { 3, 4, 5 } } },
        { "double_image", new[,] { { 0.25, 1, 2 }, { 3, 4, -5 } } },
        { "uchar_image", new byte[,] { { 1, 2, 3 }, { 4, 5, 255 } } },
        { "string_image", new[,] { { "a", "b", "c" }, { "d", "e", "f" } } },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void A_written_image_is_the_set_point_read_back_with_its_shape(string attribute, Array value)
    {
        _device.Write(attribute, value);
        var read = _device.ReadAttribute(attribute);
        var written = Assert.IsAssignableFrom<Array>(read.WriteValue);
        Assert.Equal((2, 2, 3), (written.Rank, written.GetLength(0), written.GetLength(1)));
        Assert.Equal(value, written);
        Assert.Equal((3, 2), (read.WrittenDimX, read.WrittenDimY));
    }

    public static TheoryData<string, Type> ReadOnly => new()
    {
        { "short_scalar_ro", typeof(short) },
        { "boolean_spectrum_ro", typeof(bool[]) },
        { "long64_spectrum_ro", typeof(long[]) },
        { "ulong_spectrum_ro", typeof(uint[]) },
        { "ulong64_spectrum_ro", typeof(ulong[]) },
        { "string_spectrum_ro", typeof(string[]) },
        { "wave", typeof(double[]) },
        { "boolean_image_ro", typeof(bool[,]) },
        { "float_image_ro", typeof(float[,]) },
        { "long64_image_ro", typeof(long[,]) },
        { "ulong_image_ro", typeof(uint[,]) },
        { "ulong64_image_ro", typeof(ulong[,]) },
        { "string_image_ro", typeof(string[,]) },
        { "ushort_image_ro", typeof(ushort[,]) },
    };

    [Theory]
    [MemberData(nameof(ReadOnly))]
    public void Read_only_attributes_read_as_their_CLR_type(string attribute, Type type)
    {
        var read = _device.ReadAttribute(attribute);
        Assert.IsType(type, read.Value);
        Assert.Null(read.WriteValue);
        if (read.Value is Array { Rank: 2 } image)
            Assert.Equal((read.DimY, read.DimX), (image.GetLength(0), image.GetLength(1)));
    }

    [Fact]
    public void Values_are_converted_to_the_attribute_type_on_write_and_on_request()
    {
        _device.Write("short_scalar", 42); // an int becomes DevShort
        Assert.Equal((short)42, _device.ReadAttribute("short_scalar").WriteValue);
        _device.Write("double_spectrum", new[] { 1, 2, 3 });
        Assert.Equal(new[] { 1.0, 2, 3 }, _device.ReadAttribute("double_spectrum").WriteValue);
        var asDoubles = _device.Read<double[,]>("short_image_ro");
        Assert.Equal(_device.ReadAttribute("short_image_ro").DimX, asDoubles.GetLength(1));
        Assert.Equal(251 * 251, _device.Read<int[]>("ushort_image_ro").Length); // an image flattened on request
    }

    [Fact]
    public void A_value_of_the_wrong_shape_is_refused_before_it_is_sent()
    {
        var e = Assert.Throws<ArgumentException>(() => _device.Write("short_image", new short[] { 1, 2 }));
        Assert.Contains("Image", e.Message);
    }

    [Fact]
    public void Values_written_from_CSharp_read_the_same_in_PyTango()
    {
        using var device = new DeviceProxy(server.Url("sys/tg_test/8"));
        device.Write("long_scalar", 271828);
        device.Write("double_spectrum", new[] { 0.5, -1.5, 1e-3 });
        device.Write("ushort_image", new ushort[,] { { 1, 2 }, { 3, 4 }, { 5, 65535 } });
        device.Write("string_spectrum", new[] { "x", "y z" });
        device.Write("boolean_scalar", false);
        var py = Python.Eval($$"""
            import json, tango
            d = tango.DeviceProxy("{{server.Url("sys/tg_test/8")}}")
            out = {}
            for a in ["long_scalar", "double_spectrum", "ushort_image", "string_spectrum", "boolean_scalar"]:
                w = d.read_attribute(a).w_value
                out[a] = w.tolist() if hasattr(w, "tolist") else list(w) if isinstance(w, tuple) else w
            print(json.dumps(out))
            """);
        var seen = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(py.Trim())!;
        Assert.Equal(271828, seen["long_scalar"].GetInt32());
        Assert.Equal([0.5, -1.5, 1e-3], seen["double_spectrum"].EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal("[[1,2],[3,4],[5,65535]]", seen["ushort_image"].GetRawText().Replace(" ", ""));
        Assert.Equal(["x", "y z"], seen["string_spectrum"].EnumerateArray().Select(e => e.GetString()));
        Assert.False(seen["boolean_scalar"].GetBoolean());
    }

    [Fact]
    public void Values_written_from_PyTango_read_the_same_in_CSharp()
    {
        Python.Eval($$"""
            import numpy, tango
            d = tango.DeviceProxy("{{server.Url("sys/tg_test/8")}}")
            d.write_attribute("ulong64_scalar", 2**64 - 2)
            d.write_attribute("float_spectrum", numpy.array([0.25, -8.0], dtype=numpy.float32))
            d.write_attribute("short_image", numpy.array([[1, -2, 3], [4, 5, -32768]], dtype=numpy.int16))
            d.write_attribute("string_image", [["a", "b"], ["c", "d"]])
            """);
        using var device = new DeviceProxy(server.Url("sys/tg_test/8"));
        Assert.Equal(ulong.MaxValue - 1, device.ReadAttribute("ulong64_scalar").WriteValue);
        Assert.Equal(new[] { 0.25f, -8f }, device.ReadAttribute("float_spectrum").WriteValue);
        Assert.Equal(new short[,] { { 1, -2, 3 }, { 4, 5, short.MinValue } }, device.ReadAttribute("short_image").WriteValue);
        Assert.Equal(new[,] { { "a", "b" }, { "c", "d" } }, device.ReadAttribute("string_image").WriteValue);
    }

    [Fact]
    public void A_read_only_image_has_the_shape_PyTango_sees()
    {
        var py = Python.Eval($$"""
            import tango
            v = tango.DeviceProxy("{{server.Url()}}").read_attribute("ushort_image_ro")
            print(v.dim_x, v.dim_y, v.value.shape[0], v.value.shape[1], v.value.dtype)
            """);
        var read = _device.ReadAttribute("ushort_image_ro");
        var image = (ushort[,])read.Value!;
        Assert.Equal(py.Trim(), $"{read.DimX} {read.DimY} {image.GetLength(0)} {image.GetLength(1)} uint16");
    }
}
