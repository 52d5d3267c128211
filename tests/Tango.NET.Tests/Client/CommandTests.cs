using Tango.Client;

namespace Tango.NET.Tests.Client;

/// <summary>TangoTest's DevXxx commands echo their argument: every command argument type round-trips.</summary>
public sealed class CommandTests(TangoTestServer server) : IClassFixture<TangoTestServer>, IDisposable
{
    private readonly DeviceProxy _device = new(server.Url());

    public void Dispose() => _device.Dispose();

    public static TheoryData<string, object> Echoes => new()
    {
        { "DevBoolean", true },
        { "DevShort", (short)-7 },
        { "DevUShort", (ushort)65535 },
        { "DevLong", int.MinValue },
        { "DevULong", uint.MaxValue },
        { "DevLong64", long.MinValue },
        { "DevULong64", ulong.MaxValue },
        { "DevFloat", 1.5f },
        { "DevDouble", -0.1 },
        { "DevString", "echo, Latin-1: ü ï ö é ©" },
        { "DevVarCharArray", new byte[] { 0, 1, 255 } },
        { "DevVarShortArray", new short[] { -1, 0, 1 } },
        { "DevVarUShortArray", new ushort[] { 0, 65535 } },
        { "DevVarLongArray", new[] { 1, -2, 3 } },
        { "DevVarULongArray", new[] { 0u, uint.MaxValue } },
        { "DevVarLong64Array", new[] { long.MaxValue, long.MinValue } },
        { "DevVarULong64Array", new[] { ulong.MaxValue } },
        { "DevVarFloatArray", new[] { 0.5f, -0.25f } },
        { "DevVarDoubleArray", new[] { Math.E, double.MaxValue } },
        { "DevVarStringArray", new[] { "one", "", "three" } },
    };

    [Theory]
    [MemberData(nameof(Echoes))]
    public void An_echo_command_returns_its_argument_unchanged(string command, object argument)
    {
        var result = _device.Command(command, argument);
        Assert.Equal(argument.GetType(), result!.GetType());
        Assert.Equal(argument, result);
    }

    [Fact]
    public void Long_string_and_double_string_arrays_round_trip()
    {
        var ls = _device.Command<LongStringArray>("DevVarLongStringArray", new LongStringArray([1, -2], ["a", "b", "c"]));
        Assert.Equal([1, -2], ls.Longs);
        Assert.Equal(["a", "b", "c"], ls.Strings);
        var ds = _device.Command<DoubleStringArray>("DevVarDoubleStringArray", new DoubleStringArray([0.5], ["x"]));
        Assert.Equal([0.5], ds.Doubles);
        Assert.Equal(["x"], ds.Strings);
    }

    [Fact]
    public void A_void_command_returns_null()
    {
        Assert.Null(_device.Command("DevVoid"));
    }

    [Fact]
    public void Arguments_are_converted_to_the_command_input_type()
    {
        Assert.Equal((short)12, _device.Command("DevShort", 12));
        Assert.Equal(new[] { 1.0, 2.0 }, _device.Command("DevVarDoubleArray", new List<int> { 1, 2 }));
        Assert.Equal(7L, _device.Command<long>("DevLong", 7));
    }

    [Fact]
    public void An_empty_array_round_trips()
    {
        Assert.Equal(Array.Empty<double>(), _device.Command("DevVarDoubleArray", Array.Empty<double>()));
        Assert.Equal(Array.Empty<string>(), _device.Command("DevVarStringArray", Array.Empty<string>()));
    }
}
