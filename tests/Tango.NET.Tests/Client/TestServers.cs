using Lima2.TestSupport;

namespace Tango.NET.Tests.Client;

/// <summary>A Tango server started -nodb on a free loopback port, killed when the test class is done.</summary>
public abstract class NoDbServer : IDisposable
{
    private readonly ChildProcess _process;

    protected NoDbServer(string executable, IEnumerable<string> leadingArguments, IReadOnlyList<string> devices)
    {
        Port = FreePort.Next();
        Devices = devices;
        _process = ChildProcess.Start(executable,
            [.. leadingArguments, "-nodb", "-dlist", string.Join(",", devices), "-ORBendPoint", $"giop:tcp:127.0.0.1:{Port}"]);
        _process.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(30));
    }

    public int Port { get; }

    public IReadOnlyList<string> Devices { get; }

    /// <summary>The URL of the first (or given) device, for DeviceProxy and PyTango alike.</summary>
    public string Url(string? device = null) => $"tango://127.0.0.1:{Port}/{device ?? Devices[0]}#dbase=no";

    public void Dispose()
    {
        _process.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The C++ TangoTest of the Debian package, serving two devices.</summary>
public sealed class TangoTestServer() : NoDbServer("/usr/lib/tango/TangoTest", ["test"], ["sys/tg_test/7", "sys/tg_test/8"]);

/// <summary>The PyTango device of py/client_peer.py (enum, encoded, pushed events, slow and rendezvous commands).</summary>
public sealed class PeerServer() : NoDbServer(Python.Interpreter, [Script, "peer"], ["test/peer/1", "test/peer/2", "test/peer/3", "test/peer/4"])
{
    public static string Script => Path.Combine(RepoPaths.Root, "tests", "Tango.NET.Tests", "Client", "py", "client_peer.py");
}
