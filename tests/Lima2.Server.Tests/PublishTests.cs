using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// scripts/publish.sh: Lima2Server and lima2 as self-contained linux-x64 apps for a server host without the .NET SDK
/// (docs/DEPLOY.md). It runs dotnet publish, so it shares the collection that runs alone on the 2 cores.
/// </summary>
[Collection(nameof(ScriptBuildTests))]
public sealed class PublishTests
{
    [Fact]
    public void The_published_self_contained_Lima2Server_registers_answers_pings_and_saves_an_acquisition_on_the_real_DB()
    {
        var folder = Directory.CreateTempSubdirectory("lima2-publish-").FullName;
        try
        {
            using (var publish = ChildProcess.Start(Path.Combine(RepoPaths.Root, "scripts", "publish.sh"), [folder]))
            {
                if (publish.WaitForExit(TimeSpan.FromMinutes(10)) != 0)
                    throw new InvalidOperationException($"publish.sh failed:\n{publish.Output}");
            }
            // self-contained: the runtime lies in the folder and the apps name no shared framework to look for
            Assert.True(File.Exists(Path.Combine(folder, "libcoreclr.so")), "no .NET runtime in the published folder");
            Assert.True(File.Exists(Path.Combine(folder, "libtangoshim.so")), "no Tango.NET shim in the published folder");
            foreach (var app in new[] { "Lima2Server", "lima2" })
            {
                var options = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, $"{app}.runtimeconfig.json"))).RootElement
                    .GetProperty("runtimeOptions");
                Assert.True(options.TryGetProperty("includedFrameworks", out _), $"{app} is not self-contained: {options}");
                Assert.False(options.TryGetProperty("framework", out _), $"{app} asks for a shared framework: {options}");
            }
            using (var cli = ChildProcess.Start(Path.Combine(folder, "lima2"), ["--help"]))
            {
                Assert.Equal(0, cli.WaitForExit(TimeSpan.FromSeconds(30)));
                Assert.Contains("stream", cli.Output);
            }

            using var sys = new Lima2System(receivers: 1, executable: Path.Combine(folder, "Lima2Server"));
            Python.Eval($"import tango\nfor name in {PythonList([sys.Control, .. sys.Receivers])}: tango.DeviceProxy(name).ping()",
                EmbeddedTangoDb.Environment);
            var run = sys.Run("""{"acq": {"nb_frames": 10, "expo_time": 100}, "det": {"generator": {"width": 64, "height": 64}}}""",
                $$$"""
                {"class_name": "LimaProcessingLegacy",
                 "saving": {"enabled": true, "base_path": "{{{sys.Root}}}/published", "filename_prefix": "pub"}
                }
                """, "published");
            Assert.False(run.GetProperty("failed").GetBoolean(), run.ToString());
            Assert.Equal(10, run.GetProperty("nb_frames_acquired").GetInt64());
            Assert.True(File.Exists(Path.Combine(sys.Root, "published", "pub_master.h5")), run.ToString());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static string PythonList(IEnumerable<string> names) => $"[{string.Join(", ", names.Select(n => $"'{n}'"))}]";
}
