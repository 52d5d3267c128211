using System.Text.Json;
using System.Xml.Linq;
using Lima2.TestSupport;
using Tango.NET.Tests.Fixtures;
using Tango.Server;
using TangoNetTest;

namespace Tango.NET.Tests.Server;

/// <summary>pogo/TangoNetTest.xmi is generated from the C# declarations (set UPDATE_POGO_XMI=1 to rewrite it).</summary>
public sealed class PogoXmiTests
{
    public static readonly string Committed = Path.Combine(RepoPaths.Root, "pogo", "TangoNetTest.xmi");

    private static string Generate() => PogoXmi.Generate(typeof(TangoNetTestDevice), "Simulators",
        "TangoTest's interface in C#, on Tango.NET: DeviceServers/TangoNetTest");

    [Fact]
    public void The_committed_xmi_matches_the_csharp_declarations()
    {
        var generated = Generate();
        if (Environment.GetEnvironmentVariable("UPDATE_POGO_XMI") == "1")
            File.WriteAllText(Committed, generated);
        Assert.Equal(File.ReadAllText(Committed), generated);
    }

    [Fact]
    public void The_xmi_describes_types_access_and_allowed_states_as_Pogo_does()
    {
        var xsi = (XNamespace)"http://www.w3.org/2001/XMLSchema-instance";
        var cls = XDocument.Parse(Generate()).Root!.Element("classes")!;
        var attr = cls.Elements("attributes").Single(a => (string?)a.Attribute("name") == "double_scalar_rww");
        Assert.Equal("READ_WITH_WRITE", (string?)attr.Attribute("rwType"));
        Assert.Equal("pogoDsl:DoubleType", (string?)attr.Element("dataType")!.Attribute(xsi + "type"));
        var image = cls.Elements("attributes").Single(a => (string?)a.Attribute("name") == "ushort_image_ro");
        Assert.Equal(("Image", "8192", "8192"), ((string?)image.Attribute("attType"), (string?)image.Attribute("maxX"), (string?)image.Attribute("maxY")));
        var cmd = cls.Elements("commands").Single(c => (string?)c.Attribute("name") == "DevVarLongStringArray");
        Assert.Equal("pogoDsl:LongStringArrayType", (string?)cmd.Element("argin")!.Element("type")!.Attribute(xsi + "type"));
        var refused = cls.Elements("commands").Single(c => (string?)c.Attribute("name") == "OnlyWhenRunning");
        Assert.Equal(13, refused.Elements("excludedStates").Count()); // every state but RUNNING
        Assert.DoesNotContain("RUNNING", refused.Elements("excludedStates").Select(e => e.Value));
        var prop = cls.Elements("deviceProperties").Single(p => (string?)p.Attribute("name") == "UShort_image_ro_size");
        Assert.Equal("251", prop.Element("DefaultPropValue")!.Value);
        Assert.Equal(["Idle", "Acquiring", "Saving"],
            cls.Elements("attributes").Single(a => (string?)a.Attribute("name") == "enum_scalar").Elements("enumLabels").Select(e => e.Value));
    }
}

/// <summary>
/// The running TangoNetTest device is what pogo/TangoNetTest.xmi says (names, types, descriptions, units), and a Jive
/// user finds a plain ASCII description on every command argument, attribute and property: pogo_check.py, the check
/// Lima2's devices pass too.
/// </summary>
public sealed class TangoNetTestPogoTests(TangoNetTestServer server) : IClassFixture<TangoNetTestServer>
{
    [Fact]
    public void The_running_device_matches_its_xmi_and_every_command_attribute_and_property_is_described()
    {
        var device = $"tango://127.0.0.1:{server.Port}/{TangoNetTestServer.DeviceName}#dbase=no";
        var output = Python.Run(Path.Combine(RepoPaths.Root, "tests", "Tango.NET.Tests", "py", "pogo_check.py"),
            [PogoXmiTests.Committed, device], TimeSpan.FromSeconds(60));
        var report = JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{')))
            .RootElement.GetProperty("TangoNetTest");
        Assert.Empty(report.GetProperty("problems").EnumerateArray().Select(p => p.GetString()));
        Assert.Empty(report.GetProperty("undescribed").EnumerateArray().Select(u => u.GetString()));
        Assert.True(report.GetProperty("compared").GetInt32() >= 100, $"only {report.GetProperty("compared")} items compared");
    }
}
