using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// Starter needs seconds of quiet start-up (it sleeps in its init, then pings every server it knows): it runs alone,
/// not beside the suites' other systems.
/// </summary>
[CollectionDefinition(nameof(StarterTests), DisableParallelization = true)]
public sealed class StarterCollection;

/// <summary>The same system started by Debian's Starter through a StartDsPath symlink named Lima2Server.</summary>
[Collection(nameof(StarterTests))]
public sealed class StarterTests
{
    [Fact]
    public void Starter_starts_the_control_and_receivers_which_run_an_acquisition_and_DevStop_stops_them()
    {
        using var sys = new Lima2System(start: false);
        var env = EmbeddedTangoDb.Environment;
        var host = System.Net.Dns.GetHostName().Split('.')[0].ToLowerInvariant();
        var starterDevice = $"tango/admin/{host}";
        var ds = Path.Combine(sys.Root, "ds");
        Directory.CreateDirectory(ds);
        File.CreateSymbolicLink(Path.Combine(ds, "Lima2Server"), Lima2System.Executable);
        using (var db = new Tango.Client.Database())
        {
            db.AddServer($"Starter/{host}", "Starter", starterDevice);
            db.PutDeviceProperty(starterDevice, new Dictionary<string, string[]> { ["StartDsPath"] = [ds], ["LogFileHome"] = [sys.Root] });
        }
        var servers = sys.Instances.Select(i => $"Lima2Server/{i}").ToArray();
        try
        {
            using var starter = ChildProcess.Start("/usr/lib/tango/Starter", [host], env);
            JsonElement started;
            try
            {
                started = JsonDocument.Parse(sys.Python3("starter_run.py", [starterDevice, .. servers])).RootElement;
            }
            catch (InvalidOperationException e)
            {
                throw new InvalidOperationException($"{e.Message}\nStarter {(starter.HasExited ? $"exited ({starter.ExitCode})" : "runs")}:\n{starter.Output}", e);
            }
            Assert.Equal(servers.Order(), started.GetProperty("running").EnumerateArray().Select(e => e.GetString()!).Order());

            var s = sys.Run("""{"acq": {"nb_frames": 20, "expo_time": 100}, "det": {"generator": {"width": 64, "height": 64}}}""",
                $$$"""
                {"class_name": "LimaProcessingLegacy",
                 "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 0, "y": 0}, "dimensions": {"x": 8, "y": 8}}]},
                 "saving": {"enabled": true, "base_path": "{{{sys.Root}}}/starter", "filename_prefix": "st"}
                }
                """, "starter");
            Assert.False(s.GetProperty("failed").GetBoolean(), s.ToString());
            Assert.Equal(20, s.GetProperty("nb_frames_acquired").GetInt64());
            Assert.Equal(20, s.GetProperty("roi_rows").GetInt32());
            Assert.True(File.Exists(Path.Combine(sys.Root, "starter", "st_master.h5")));

            var stopped = JsonDocument.Parse(sys.Python3("starter_run.py", [starterDevice, .. servers, "--stop"])).RootElement;
            Assert.Empty(stopped.GetProperty("running").EnumerateArray());
        }
        finally
        {
            KillStartedFrom(ds);
        }
    }

    /// <summary>Starter's children run in sessions of their own: stop any left behind, by PID.</summary>
    private static void KillStartedFrom(string ds)
    {
        foreach (var entry in Directory.EnumerateDirectories("/proc").Select(Path.GetFileName))
        {
            if (!int.TryParse(entry, out var pid))
                continue;
            try
            {
                if (File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')[0].StartsWith(ds, StringComparison.Ordinal))
                    System.Diagnostics.Process.GetProcessById(pid).Kill();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // it ended meanwhile
            }
        }
    }
}
