using System.IO.Compression;
using System.Xml.Linq;
using Lima2.TestSupport;
using Tango.Client;

namespace Tango.NET.Tests.Server;

/// <summary>It runs dotnet pack and dotnet build on the 2 cores: alone.</summary>
[CollectionDefinition(nameof(PackageTests), DisableParallelization = true)]
public sealed class PackageCollection;

/// <summary>
/// The Tango.NET NuGet package (dotnet pack) carries the native shim for linux-x64, so examples/Motor builds from the
/// package alone (a folder feed, no project reference, no cmake) and serves on the real Tango DB.
/// </summary>
[Collection(nameof(PackageTests))]
public sealed class PackageTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void The_Motor_example_builds_from_the_package_alone_and_PyTango_reads_and_drives_it_through_the_DB()
    {
        var env = EmbeddedTangoDb.Environment;
        var work = Directory.CreateTempSubdirectory("tango-net-package-").FullName;
        var instance = $"pkg{FreePort.Next()}";
        var device = $"test/motor_{instance}/1";
        using var db = new Database();
        try
        {
            var feed = Path.Combine(work, "feed");
            Dotnet(RepoPaths.Root, "pack", Path.Combine(RepoPaths.Root, "DeviceServers", "Tango.NET", "Tango.NET.csproj"),
                "--configuration", "Release", "--no-build", "--output", feed);
            var package = Assert.Single(Directory.GetFiles(feed, "Tango.NET.*.nupkg"));
            byte[] packedShim;
            using (var zip = ZipFile.OpenRead(package))
            {
                Assert.NotNull(zip.GetEntry("lib/net10.0/Tango.NET.dll"));
                using (var shim = zip.GetEntry("runtimes/linux-x64/native/libtangoshim.so")!.Open())
                using (var copy = new MemoryStream())
                {
                    shim.CopyTo(copy);
                    packedShim = copy.ToArray();
                }
                XNamespace ns = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd";
                using var nuspec = zip.GetEntry("Tango.NET.nuspec")!.Open();
                var metadata = XDocument.Load(nuspec).Root!.Element(ns + "metadata")!;
                Assert.Equal("LGPL-3.0-or-later", metadata.Element(ns + "license")!.Value);
                Assert.Contains(metadata.Descendants(ns + "dependency"), d => (string?)d.Attribute("id") == "NLog");
            }

            // the example as a user has it: its own folder, the feed and this machine's package cache as the only
            // sources (no network), a packages folder of its own so no earlier Tango.NET package is reused
            var motor = Path.Combine(work, "Motor");
            Directory.CreateDirectory(motor);
            foreach (var file in new[] { "Motor.csproj", "Program.cs" })
                File.Copy(Path.Combine(RepoPaths.Root, "examples", "Motor", file), Path.Combine(motor, file));
            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            File.WriteAllText(Path.Combine(motor, "nuget.config"), new XDocument(new XElement("configuration",
                new XElement("config", Add("globalPackagesFolder", Path.Combine(work, "packages"))),
                new XElement("packageSources", new XElement("clear"), Add("tango-net", feed), Add("cache", cache)))).ToString());
            Dotnet(motor, "build", "--configuration", "Release");
            var bin = Path.Combine(motor, "bin", "Release", "net10.0");
            Assert.Equal(packedShim, File.ReadAllBytes(Path.Combine(bin, "runtimes", "linux-x64", "native", "libtangoshim.so")));

            db.AddServer($"Motor/{instance}", "Motor", device);
            using var server = ChildProcess.Start(Path.Combine(bin, "Motor"), [instance], env);
            server.WaitForOutput("Ready to accept request", Timeout);
            var read = Python.Eval(
                $"import tango\nd = tango.DeviceProxy('{device}')\nd.Position = 12.5\nprint(d.Position, d.state())\n"
                + "d.Home()\nc = d.get_attribute_config('Position')\nprint(d.Position, d.Moves, c.unit, c.max_value)", env);
            Assert.Equal(["12.5 ON", "0.0 1 mm 100"], read.Trim().Split('\n'));
            server.Signal(15);
            Assert.Equal(0, server.WaitForExit(Timeout));
        }
        finally
        {
            db.DeleteServer($"Motor/{instance}");
            Directory.Delete(work, recursive: true);
        }
    }

    private static XElement Add(string key, string value) => new("add", new XAttribute("key", key), new XAttribute("value", value));

    private static void Dotnet(string folder, params string[] args)
    {
        using var dotnet = ChildProcess.Start("dotnet", [.. args, "--nologo"], workingDirectory: folder);
        var rc = dotnet.WaitForExit(TimeSpan.FromMinutes(5));
        Assert.True(rc == 0, $"dotnet {string.Join(' ', args)} exited with {rc}:\n{dotnet.Output}");
    }
}
