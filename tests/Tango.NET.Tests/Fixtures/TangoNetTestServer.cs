using System.Text.Json;
using Lima2.TestSupport;

namespace Tango.NET.Tests.Fixtures;

/// <summary>
/// TangoNetTest started without a DB on a free loopback port, device sys/tg_test/1; stopped when disposed.
/// Shared by the tests of a class (xunit class fixture) to keep the number of server starts low.
/// </summary>
public sealed class TangoNetTestServer : IDisposable
{
    public const string DeviceName = "sys/tg_test/1";

    public TangoNetTestServer() : this("test")
    {
    }

    internal TangoNetTestServer(string instance, params string[] extraArgs)
    {
        Instance = instance;
        Port = FreePort.Next();
        Process = ChildProcess.Start(Executable,
            [instance, .. extraArgs, "-nodb", "-dlist", DeviceName, "-ORBendPoint", $"giop:tcp:127.0.0.1:{Port}"]);
        Process.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(20));
    }

    public string Instance { get; }

    public int Port { get; }

    public ChildProcess Process { get; }

    public string AdminName => $"dserver/TangoNetTest/{Instance}";

    /// <summary>The apphost next to the test assembly (the test project references TangoNetTest).</summary>
    public static string Executable => Path.Combine(AppContext.BaseDirectory, "TangoNetTest");

    public static string Script => Path.Combine(RepoPaths.Root, "tests", "Tango.NET.Tests", "py", "server_checks.py");

    /// <summary>Runs one check of py/server_checks.py against this server and returns what it observed.</summary>
    public JsonElement Check(string check, string? device = null, params string[] extra)
    {
        var output = Python.Run(Script, [check, Port.ToString(), device ?? DeviceName, .. extra], TimeSpan.FromSeconds(60));
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith("JSON:", StringComparison.Ordinal))
                   ?? throw new InvalidOperationException($"no result from {check}:\n{output}\nserver:\n{Process.Output}");
        return JsonDocument.Parse(line["JSON:".Length..]).RootElement;
    }

    public void Dispose() => Process.Dispose();
}
