using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// Starter needs seconds of quiet start-up (it sleeps in its init, then pings every server it knows): it runs alone,
/// not beside the suites' other systems.
/// </summary>
[CollectionDefinition(nameof(StarterTests), DisableParallelization = true)]
public sealed class StarterCollection;

/// <summary>
/// The same system registered under a site's Starter (as <c>LIMA2_STARTER=1 scripts/lima2-register.sh</c> does) and
/// started by Debian's Starter through a StartDsPath symlink named Lima2Server.
/// </summary>
[Collection(nameof(StarterTests))]
public sealed class StarterTests
{
    [Fact]
    public void Registration_puts_the_servers_under_Starter_keeping_its_settings_and_re_registration_keeps_them_exported()
    {
        var env = EmbeddedTangoDb.Environment;
        var host = Beamline.ThisHost;
        var starterDevice = $"tango/admin/{host}";
        var site = Directory.CreateTempSubdirectory("lima2-site-").FullName;
        var ds = Path.Combine(site, "lima2-ds");
        Directory.CreateDirectory(ds);
        File.CreateSymbolicLink(Path.Combine(ds, "Lima2Server"), Lima2System.Executable);
        string[] siteDsPath = ["/usr/lib/tango"]; // the site's own servers (TangoTest) stay startable
        var siteLogs = Directory.CreateDirectory(Path.Combine(site, "starter-logs")).FullName;
        using var db = new Tango.Client.Database();
        db.AddServer($"Starter/{host}", "Starter", starterDevice);
        db.PutDeviceProperty(starterDevice, new Dictionary<string, string[]> { ["StartDsPath"] = siteDsPath, ["LogFileHome"] = [siteLogs] });
        try
        {
            using var sys = new Lima2System(start: false, beamlineSettings: $"start_ds_path: {ds}\nstartup_level: 2");
            var servers = sys.Instances.Select(i => $"Lima2Server/{i}").ToArray();
            AssertStarterSettings(db, starterDevice, [.. siteDsPath, ds], siteLogs);
            foreach (var server in servers)
                Assert.Equal(new Tango.Client.DbServerInfo(server, host, Controlled: true, StartupLevel: 2), db.GetServerInfo(server));

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
            // Astor's view: each server ON, controlled, at level 2
            var rows = started.GetProperty("servers").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetString()!).ToArray());
            Assert.Equal(servers.Order(), rows.Select(r => r[0]).Order());
            Assert.All(rows, r => Assert.Equal(["ON", "1", "2"], r[1..4]));

            // registering a running system again adds nothing that exists: devices, admin devices and Starter stay exported
            sys.Register();
            AssertStarterSettings(db, starterDevice, [.. siteDsPath, ds], siteLogs);
            string[] devices = [sys.Control, .. sys.Receivers, .. servers.Select(s => $"dserver/{s}"), starterDevice];
            Assert.All(devices, d => Assert.True(db.GetDeviceInfo(d).Exported, $"{d} unexported by re-registration"));

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
            Directory.Delete(site, recursive: true);
        }
    }

    private static void AssertStarterSettings(Tango.Client.Database db, string starter, string[] dsPath, string logs)
    {
        var properties = db.GetDeviceProperty(starter, "StartDsPath", "LogFileHome");
        Assert.Equal(dsPath, properties["StartDsPath"]);
        Assert.Equal([logs], properties["LogFileHome"]);
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
