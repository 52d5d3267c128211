using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>pogo/*.xmi say what the running devices are: command and attribute names and types.</summary>
public sealed class PogoTests(SystemFixture fixture) : IClassFixture<SystemFixture>
{
    [Fact]
    public void Each_Pogo_XMI_matches_the_commands_and_attributes_of_the_running_device_of_its_class()
    {
        var sys = fixture.System;
        var report = JsonDocument.Parse(sys.Python3("pogo_check.py", Path.Combine(RepoPaths.Root, "pogo"), sys.Control, sys.Receivers[0])).RootElement;
        foreach (var cls in new[] { "LimaControl", "LimaReceiver", "LimaProcessingLegacy", "LimaProcessingSmx", "LimaProcessingXpcs", "LimaProcessingFailing" })
        {
            var r = report.GetProperty(cls);
            Assert.Empty(r.GetProperty("problems").EnumerateArray().Select(p => $"{cls}: {p.GetString()}"));
            Assert.True(r.GetProperty("compared").GetInt32() >= 5, $"{cls}: only {r.GetProperty("compared")} items compared");
        }
    }
}
