using System.Text.Json;
using Lima2.TestSupport;
using Tango.Client;

namespace Lima2.Server.Tests;

/// <summary>
/// config/bliss/lima2.yml (BLISS' Tango-direct Lima2 controller) and config/conductor/lima2-conductor.env
/// (lima2-conductor) name the devices that scripts/lima2-register.sh registers for config/beamline.yaml. The script
/// may build, so it shares the collection that runs alone on the 2 cores.
/// </summary>
[Collection(nameof(ScriptBuildTests))]
public sealed class IntegrationExamplesTests
{
    [Fact]
    public void The_BLISS_and_conductor_examples_resolve_to_the_registered_control_and_receivers_in_rank_order()
    {
        var env = EmbeddedTangoDb.Environment;
        var lima2Dir = Directory.CreateTempSubdirectory("lima2-examples-").FullName;
        using var db = new Database();
        var before = db.GetServerList("Lima2Server/*").ToHashSet();
        try
        {
            using (var register = ChildProcess.Start(Path.Combine(RepoPaths.Root, "scripts", "lima2-register.sh"),
                       [Path.Combine(RepoPaths.Root, "config", "beamline.yaml")],
                       new Dictionary<string, string?>(env) { ["LIMA2_DIR"] = lima2Dir }))
            {
                if (register.WaitForExit(TimeSpan.FromMinutes(5)) != 0)
                    throw new InvalidOperationException($"lima2-register.sh failed:\n{register.Output}");
            }
            var report = JsonDocument.Parse(Python.Run(Path.Combine(AppContext.BaseDirectory, "py", "integration_examples.py"),
                [Path.Combine(RepoPaths.Root, "config", "bliss", "lima2.yml"),
                 Path.Combine(RepoPaths.Root, "config", "conductor", "lima2-conductor.env")], environment: env)).RootElement;
            Assert.Empty(report.GetProperty("problems").EnumerateArray().Select(p => p.GetString()));
            var devices = report.GetProperty("devices").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            Assert.Equal(new Dictionary<string, string?>
            {
                ["id00/limacontrol/simulator"] = "LimaControl",
                ["id00/limareceiver/simulator@0"] = "LimaReceiver",
                ["id00/limareceiver/simulator@1"] = "LimaReceiver",
            }, devices);
        }
        finally
        {
            foreach (var server in db.GetServerList("Lima2Server/*").Where(s => !before.Contains(s)))
                db.DeleteServer(server);
            Directory.Delete(lima2Dir, recursive: true);
        }
    }
}
