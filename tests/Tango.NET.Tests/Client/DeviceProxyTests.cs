using Tango.Client;

namespace Tango.NET.Tests.Client;

public sealed class DeviceProxyTests(TangoTestServer server) : IClassFixture<TangoTestServer>, IDisposable
{
    private readonly DeviceProxy _device = new(server.Url());

    public void Dispose() => _device.Dispose();

    [Fact]
    public void Ping_state_and_status_come_from_the_device()
    {
        Assert.True(_device.Ping() > TimeSpan.Zero);
        Assert.Equal(DevState.Running, _device.State());
        Assert.Equal("The device is in RUNNING state.", _device.Status());
    }

    [Fact]
    public void Info_names_the_class_and_the_server()
    {
        var info = _device.Info();
        Assert.Equal("TangoTest", info.ClassName);
        Assert.Equal("TangoTest/test", info.ServerId);
        Assert.Equal("sys/tg_test/7", _device.Name);
    }

    [Fact]
    public void Timeout_is_three_seconds_by_default_and_can_be_changed()
    {
        using var other = new DeviceProxy(server.Url());
        Assert.Equal(TimeSpan.FromSeconds(3), other.Timeout);
        other.Timeout = TimeSpan.FromMilliseconds(1500);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), other.Timeout);
    }

    [Fact]
    public void Attribute_list_holds_every_TangoTest_attribute()
    {
        var list = _device.GetAttributeList();
        Assert.Contains("double_scalar", list);
        Assert.Contains("ushort_image_ro", list);
        Assert.Contains("State", list);
        Assert.Equal(62, list.Count);
    }

    [Fact]
    public void Attribute_config_tells_type_format_access_and_dimensions()
    {
        var scalar = _device.GetAttributeConfig("double_scalar_w");
        Assert.Equal((TangoType.DevDouble, AttrDataFormat.Scalar, AttrWriteType.Write), (scalar.DataType, scalar.DataFormat, scalar.Writable));
        var image = _device.GetAttributeConfig("ushort_image_ro");
        Assert.Equal((TangoType.DevUShort, AttrDataFormat.Image, AttrWriteType.Read, 8192, 8192),
            (image.DataType, image.DataFormat, image.Writable, image.MaxDimX, image.MaxDimY));
        Assert.Equal("double_scalar_w", scalar.Name);
        Assert.Empty(scalar.EnumLabels);
    }

    [Fact]
    public void Command_list_gives_each_signature()
    {
        var commands = _device.CommandListQuery().ToDictionary(c => c.Name);
        Assert.Equal((TangoType.DevVarLongStringArray, TangoType.DevVarLongStringArray),
            (commands["DevVarLongStringArray"].InType, commands["DevVarLongStringArray"].OutType));
        Assert.Equal((TangoType.DevVoid, TangoType.DevState), (commands["State"].InType, commands["State"].OutType));
    }

    [Fact]
    public void State_and_Status_read_as_attributes_too()
    {
        Assert.Equal(DevState.Running, _device.Read<DevState>("State"));
        Assert.Equal(_device.Status(), _device.Read<string>("Status"));
        Assert.Equal(DevState.Running, _device.Command<DevState>("State"));
    }

    [Fact]
    public void Read_attributes_reads_several_in_one_call()
    {
        var values = _device.ReadAttributes("short_scalar_ro", "double_spectrum_ro", "ushort_image_ro");
        Assert.Equal(["short_scalar_ro", "double_spectrum_ro", "ushort_image_ro"], values.Select(v => v.Name));
        Assert.IsType<short>(values[0].Value);
        Assert.Equal(256, Assert.IsType<double[]>(values[1].Value).Length);
        var image = Assert.IsType<ushort[,]>(values[2].Value);
        Assert.Equal((251, 251), (image.GetLength(0), image.GetLength(1)));
        Assert.Equal((251, 251), (values[2].DimX, values[2].DimY));
        Assert.All(values, v => Assert.Equal(AttrQuality.Valid, v.Quality));
        Assert.All(values, v => Assert.InRange(v.Time, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1)));
    }

    [Fact]
    public async Task One_proxy_serves_calls_from_many_threads_at_once()
    {
        var calls = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 50; i++)
            {
                var value = t * 1000 + i;
                Assert.Equal(value, _device.Command<int>("DevLong", value));
                Assert.Equal(new[] { value, -value }, _device.Command("DevVarLongArray", new[] { value, -value }));
                Assert.Equal("API_AttrNotFound", Assert.Throws<DevFailedException>(() => _device.ReadAttribute($"nothing{value}")).Reason);
            }
        }));
        await Task.WhenAll(calls);
    }

    [Fact]
    public void Polling_is_started_queried_and_stopped()
    {
        Assert.False(_device.IsAttributePolled("long_scalar_rww"));
        _device.PollAttribute("long_scalar_rww", TimeSpan.FromMilliseconds(250));
        Assert.Equal(TimeSpan.FromMilliseconds(250), _device.GetAttributePollPeriod("long_scalar_rww"));
        _device.StopPollAttribute("long_scalar_rww");
        Assert.Null(_device.GetAttributePollPeriod("long_scalar_rww"));
    }
}
