using Tango.NET.Tests.Fixtures;

namespace Tango.NET.Tests.Server;

/// <summary>How a C# server stops: each test starts its own TangoNetTest.</summary>
public sealed class ServerLifecycleTests
{
    private static readonly TimeSpan Exit = TimeSpan.FromSeconds(15);

    [Fact]
    public void SIGTERM_shuts_the_server_down_cleanly()
    {
        using var server = new TangoNetTestServer("sigterm");
        server.Process.Signal(15);
        Assert.Equal(0, server.Process.WaitForExit(Exit));
    }

    [Fact]
    public void Repeated_signals_shut_down_once_and_SIGHUP_is_ignored()
    {
        using var server = new TangoNetTestServer("signals");
        server.Process.Signal(1);
        Thread.Sleep(300);
        Assert.False(server.Process.HasExited, server.Process.Output);
        server.Process.Signal(15);
        server.Process.Signal(2);
        server.Process.Signal(15);
        Assert.Equal(0, server.Process.WaitForExit(Exit));
    }

    [Fact]
    public void The_admin_device_Kill_command_ends_the_process_with_exit_code_0()
    {
        using var server = new TangoNetTestServer("kill");
        server.Check("kill", server.AdminName);
        Assert.Equal(0, server.Process.WaitForExit(Exit));
    }
}
