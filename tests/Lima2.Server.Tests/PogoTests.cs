using System.Text.Json;
using Lima2.Server.Devices;
using Lima2.TestSupport;
using Tango.Server;

namespace Lima2.Server.Tests;

/// <summary>pogo/*.xmi say what the running devices are: command and attribute names, types, descriptions and
/// units, property descriptions; and a Jive user finds a description on every one of them.</summary>
public sealed class PogoTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    private static readonly string[] Classes =
        ["LimaControl", "LimaReceiver", "LimaProcessingLegacy", "LimaProcessingSmx", "LimaProcessingXpcs", "LimaProcessingFailing"];

    [Fact]
    public void Each_Pogo_XMI_matches_the_commands_and_attributes_of_the_running_device_of_its_class()
    {
        var report = Report();
        foreach (var cls in Classes)
        {
            var r = report.GetProperty(cls);
            Assert.Empty(r.GetProperty("problems").EnumerateArray().Select(p => $"{cls}: {p.GetString()}"));
            Assert.True(r.GetProperty("compared").GetInt32() >= 5, $"{cls}: only {r.GetProperty("compared")} items compared");
        }
    }

    [Fact]
    public void Every_command_attribute_and_property_that_PyTango_lists_has_a_plain_ASCII_description()
    {
        var report = Report();
        Assert.Empty(Classes.SelectMany(cls => report.GetProperty(cls).GetProperty("undescribed").EnumerateArray()
            .Select(u => $"{cls}: {u.GetString()}")));
    }

    private JsonElement Report()
    {
        var sys = fixture.System;
        return JsonDocument.Parse(sys.Python3("lima2_pogo_check.py", Path.Combine(RepoPaths.Root, "pogo"), sys.Control, sys.Receivers[0])).RootElement;
    }
}

/// <summary>pogo/*.xmi are what <c>Lima2Server --pogo</c> writes from the declarations (UPDATE_POGO_XMI=1 rewrites them).</summary>
public sealed class PogoFileTests
{
    [Fact]
    public void The_committed_xmi_files_are_the_ones_the_declarations_generate()
    {
        foreach (var type in DeviceClasses.All)
        {
            var path = Path.Combine(RepoPaths.Root, "pogo", $"{ClassSpec.From(type).Name}.xmi");
            var generated = DeviceClasses.PogoXmi(type);
            if (Environment.GetEnvironmentVariable("UPDATE_POGO_XMI") == "1")
                File.WriteAllText(path, generated);
            Assert.Equal(File.ReadAllText(path), generated);
        }
    }
}
