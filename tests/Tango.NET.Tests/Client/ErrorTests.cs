using Lima2.TestSupport;
using Tango.Client;

namespace Tango.NET.Tests.Client;

public sealed class ErrorTests(TangoTestServer server) : IClassFixture<TangoTestServer>, IDisposable
{
    private readonly DeviceProxy _device = new(server.Url());

    public void Dispose() => _device.Dispose();

    [Fact]
    public void Reading_a_missing_attribute_fails_with_the_server_reason()
    {
        var e = Assert.Throws<DevFailedException>(() => _device.ReadAttribute("no_such_attribute"));
        Assert.Equal("API_AttrNotFound", e.Reason);
        Assert.Contains("no_such_attribute", e.Errors[0].Description);
        Assert.True(e.Errors.Count >= 2, e.ToString()); // cppTango adds its own API_AttributeFailed
    }

    [Fact]
    public void Running_a_missing_command_fails_with_the_server_reason()
    {
        Assert.Equal("API_CommandNotFound", Assert.Throws<DevFailedException>(() => _device.Command("NoSuchCommand")).Reason);
        Assert.Equal("API_CommandNotFound", Assert.Throws<DevFailedException>(() => _device.Command("NoSuchCommand", 5)).Reason);
    }

    [Fact]
    public void Writing_a_missing_attribute_fails_with_the_server_reason()
    {
        Assert.Equal("API_AttrNotFound", Assert.Throws<DevFailedException>(() => _device.Write("no_such_attribute", 1)).Reason);
    }

    [Fact]
    public void An_attribute_whose_read_throws_gives_the_same_error_stack_as_in_PyTango()
    {
        var e = Assert.Throws<DevFailedException>(() => _device.ReadAttribute("throw_exception"));
        Assert.Equal(PyTangoReasons(server.Url(), "read_attribute('throw_exception')"), Reasons(e));
    }

    [Fact]
    public void A_failing_attribute_among_several_fails_the_whole_read()
    {
        var e = Assert.Throws<DevFailedException>(() => _device.ReadAttributes("short_scalar_ro", "no_value"));
        Assert.Equal("API_AttrValueNotSet", e.Reason);
    }

    [Fact]
    public void A_device_the_server_does_not_have_fails_as_in_PyTango()
    {
        var url = $"tango://127.0.0.1:{server.Port}/sys/tg_test/99#dbase=no";
        var e = Assert.Throws<DevFailedException>(() =>
        {
            using var ghost = new DeviceProxy(url);
            ghost.Ping();
        });
        Assert.Equal("API_CorbaException", e.Reason);
        Assert.Equal(PyTangoReasons(url, "ping()"), Reasons(e));
    }

    [Fact]
    public void A_server_that_is_not_running_fails_as_in_PyTango()
    {
        var url = $"tango://127.0.0.1:{FreePort.Next()}/sys/tg_test/1#dbase=no";
        var e = Assert.Throws<DevFailedException>(() =>
        {
            using var nobody = new DeviceProxy(url);
            nobody.State();
        });
        Assert.Equal("API_CantConnectToDevice", e.Reason);
        Assert.Equal(PyTangoReasons(url, "state()"), Reasons(e));
    }

    private static string Reasons(DevFailedException e) => string.Join("|", e.Errors.Select(x => x.Reason));

    private static string PyTangoReasons(string url, string call) => Python.Eval($$"""
        import tango
        try:
            tango.DeviceProxy("{{url}}").{{call}}
        except tango.DevFailed as e:
            print("|".join(err.reason for err in e.args))
        """).Trim();
}
