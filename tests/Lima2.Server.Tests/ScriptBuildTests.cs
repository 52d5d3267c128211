using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>It runs dotnet build on the 2 cores: alone.</summary>
[CollectionDefinition(nameof(ScriptBuildTests), DisableParallelization = true)]
public sealed class ScriptBuildCollection;

/// <summary>lima2_build (scripts/lima2-env.sh), which every lima2-*.sh script calls before it runs the apphost.</summary>
[Collection(nameof(ScriptBuildTests))]
public sealed class ScriptBuildTests
{
    private static readonly string Server = Path.Combine(RepoPaths.Root, "DeviceServers", "Lima2.Server");

    [Fact]
    public void The_scripts_build_once_after_a_source_changes_and_not_when_only_build_outputs_changed()
    {
        LimaBuild(); // whatever the checkout's state, built and stamped after this
        var generated = Directory.GetFiles(Path.Combine(Server, "obj"), "*.g.cs", SearchOption.AllDirectories);
        Assert.NotEmpty(generated);
        foreach (var file in generated)
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow); // as a build of another configuration or project leaves them
        Assert.DoesNotContain("building", LimaBuild());

        File.SetLastWriteTimeUtc(Path.Combine(Server, "Registration.cs"), DateTime.UtcNow);
        Assert.Contains("building Lima2Server", LimaBuild());
        Assert.DoesNotContain("building", LimaBuild());
    }

    private static string LimaBuild()
    {
        var lima2Dir = Directory.CreateTempSubdirectory("lima2-build-").FullName;
        try
        {
            using var bash = ChildProcess.Start("bash", ["-c", $"source '{RepoPaths.Root}/scripts/lima2-env.sh' && lima2_build"],
                new Dictionary<string, string?> { ["LIMA2_DIR"] = lima2Dir });
            var rc = bash.WaitForExit(TimeSpan.FromMinutes(5));
            return rc == 0 ? bash.Output : throw new InvalidOperationException($"lima2_build exited with {rc}:\n{bash.Output}");
        }
        finally
        {
            Directory.Delete(lima2Dir, recursive: true);
        }
    }
}
