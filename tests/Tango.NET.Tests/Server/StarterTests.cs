using System.Text.Json;
using Lima2.TestSupport;
using Tango.NET.Tests.Fixtures;

namespace Tango.NET.Tests.Server;

/// <summary>
/// Starter needs seconds of quiet start-up (it sleeps in its init, then pings every server it knows): it runs alone,
/// not beside the suite's other servers.
/// </summary>
[CollectionDefinition(nameof(StarterTests), DisableParallelization = true)]
public sealed class StarterCollection;

/// <summary>Debian's Starter finds TangoNetTest's apphost through StartDsPath, starts it and stops it.</summary>
[Collection(nameof(StarterTests))]
public sealed class StarterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Starter_starts_and_stops_the_csharp_server_and_sees_it_running()
    {
        var env = EmbeddedTangoDb.Environment;
        var host = System.Net.Dns.GetHostName().Split('.')[0].ToLowerInvariant();
        var starterDevice = $"tango/admin/{host}";
        var instance = $"st{FreePort.Next()}";
        var dir = Directory.CreateTempSubdirectory("tangonet-starter-");
        var dsPath = Path.Combine(dir.FullName, "ds");
        Directory.CreateDirectory(dsPath);
        // Starter runs <StartDsPath>/<ServerName> <instance>: the server name is the link's name
        File.CreateSymbolicLink(Path.Combine(dsPath, "TangoNetTest"), TangoNetTestServer.Executable);
        Admin(env, "--add-server", $"Starter/{host}", "Starter", starterDevice);
        Admin(env, "--add-property", starterDevice, "StartDsPath", dsPath);
        Admin(env, "--add-property", starterDevice, "LogFileHome", dir.FullName);
        Admin(env, "--add-server", $"TangoNetTest/{instance}", "TangoNetTest", $"test/{instance}/1");
        try
        {
            using var starter = ChildProcess.Start("/usr/lib/tango/Starter", [host], env);
            var script = Path.Combine(RepoPaths.Root, "tests", "Tango.NET.Tests", "py", "starter_checks.py");
            var output = Python.Run(script, [starterDevice, $"TangoNetTest/{instance}"], Timeout, env);
            var result = JsonDocument.Parse(output.Split('\n').Last(l => l.StartsWith("JSON:", StringComparison.Ordinal))[5..]).RootElement;
            Assert.True(result.GetProperty("running after DevStart").GetBoolean(), output + starter.Output);
            Assert.True(result.GetProperty("stopped after DevStop").GetBoolean(), output + starter.Output);
        }
        finally
        {
            KillStartedFrom(dsPath);
            Admin(env, "--delete-server", $"TangoNetTest/{instance}");
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Starter's children run in their own session: stop any left behind by PID.</summary>
    private static void KillStartedFrom(string dsPath)
    {
        foreach (var proc in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName))
        {
            if (!int.TryParse(proc, out var pid))
                continue;
            try
            {
                var argv0 = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')[0];
                if (argv0.StartsWith(dsPath, StringComparison.Ordinal))
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // the process ended meanwhile
            }
        }
    }

    private static void Admin(IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        using var admin = ChildProcess.Start("tango_admin", args, env);
        Assert.True(admin.WaitForExit(Timeout) == 0, $"tango_admin {string.Join(' ', args)}:\n{admin.Output}");
    }
}
