using Lima2.TestSupport;
using Tango.NET.Tests.Fixtures;

namespace Tango.NET.Tests.Server;

/// <summary>NLog messages of device code go through Tango logging, filtered by the -v level.</summary>
public sealed class LoggingTests
{
    private static void Dump(TangoNetTestServer server) =>
        Python.Eval($"import tango; tango.DeviceProxy('tango://127.0.0.1:{server.Port}/{TangoNetTestServer.DeviceName}#dbase=no')"
                    + ".command_inout('DumpExecutionState')");

    [Fact]
    public void With_v2_info_messages_reach_the_console_as_the_devices_and_debug_ones_do_not()
    {
        using var server = new TangoNetTestServer("logv2", "-v2");
        Dump(server);
        server.Process.WaitForOutput("execution state: Running", TimeSpan.FromSeconds(30));
        var line = server.Process.Output.Split('\n').First(l => l.Contains("execution state", StringComparison.Ordinal));
        Assert.Contains($"INFO {TangoNetTestServer.DeviceName}", line);
        Assert.DoesNotContain("debug details", server.Process.Output);
    }

    [Fact]
    public void Without_v_nothing_is_printed()
    {
        using var server = new TangoNetTestServer("logv0");
        Dump(server);
        Thread.Sleep(200);
        Assert.DoesNotContain("execution state", server.Process.Output);
    }
}
