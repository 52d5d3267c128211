using System.Text.Json;
using Lima2.TestSupport;
using Tango.NET.Tests.Fixtures;

namespace Tango.NET.Tests.Server;

/// <summary>TangoNetTest registered with tango_admin in the embedded Tango DB (scripts/tango-db.sh).</summary>
public sealed class RealDatabaseTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void Properties_memorized_attributes_and_devices_created_at_run_time_live_in_the_DB()
    {
        var env = EmbeddedTangoDb.Environment;
        var instance = $"db{FreePort.Next()}";
        var device = $"test/tnt_{instance}/1";
        Admin(env, "--add-server", $"TangoNetTest/{instance}", "TangoNetTest", device);
        try
        {
            Admin(env, "--add-property", device, "UShort_image_ro_size", "64");
            Python.Eval("import tango; db = tango.Database(); db.put_class_property('TangoNetTest', {'Greeting': 'bonjour'}); "
                        + "db.put_class_attribute_property('TangoNetTest', {'limited': {'unit': 'cm'}})", env);

            JsonElement first;
            using (var server = Start(instance, env))
            {
                first = Check("first", device, env);
                server.Signal(15);
                Assert.Equal(0, server.WaitForExit(Timeout));
            }
            Assert.Equal([64, 64], first.GetProperty("ushort_image_ro shape").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(64, first.GetProperty("properties").GetProperty("UShort_image_ro_size").GetInt32());
            Assert.Equal("bonjour", first.GetProperty("properties").GetProperty("Greeting").GetString());
            Assert.Equal("cm", first.GetProperty("limited unit").GetString()); // class attribute property beats the code's "mm"
            Assert.Equal("ON", first.GetProperty("dyn state").GetString());
            Assert.Equal(["test/dyndb/1"], first.GetProperty("exported after create").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("TangoNetDynamic", first.GetProperty("dyn class").GetString());
            Assert.Equal(["7.25"], first.GetProperty("memorized in the DB").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(4.5, first.GetProperty("memorized at creation").GetDouble());
            Assert.Empty(first.GetProperty("exported after delete").EnumerateArray());
            Assert.False(first.GetProperty("defined after delete").GetBoolean());

            // the memorized value written by the first run is written back at start-up
            using (var again = Start(instance, env))
            {
                Assert.Equal(2, Check("second", device, env).GetProperty("enum_scalar").GetInt32());
                again.Signal(15);
                Assert.Equal(0, again.WaitForExit(Timeout));
            }
        }
        finally
        {
            Admin(env, "--delete-server", $"TangoNetTest/{instance}");
            Python.Eval("import tango; db = tango.Database(); db.delete_class_property('TangoNetTest', ['Greeting']); "
                        + "db.delete_class_attribute_property('TangoNetTest', {'limited': ['unit']})", env);
        }
    }

    [Fact]
    public void A_device_whose_mandatory_property_is_not_in_the_DB_does_not_start_and_says_which_property()
    {
        var env = EmbeddedTangoDb.Environment;
        var instance = $"mp{FreePort.Next()}";
        var device = $"test/cfg_{instance}/1";
        var missing = $"Device property Address of {device} is mandatory and not set in the Tango DB";
        Admin(env, "--add-server", $"TangoNetTest/{instance}", "TangoNetConfigured", device);
        try
        {
            using (var refused = ChildProcess.Start(TangoNetTestServer.Executable, [instance], env))
            {
                Assert.NotEqual(0, refused.WaitForExit(Timeout));
                Assert.Contains(missing, refused.Output);
                Assert.DoesNotContain("Ready to accept request", refused.Output);
            }

            Admin(env, "--add-property", device, "Address", "det1:9999");
            using var server = Start(instance, env);
            var result = Check("mandatory", device, env);
            Assert.Equal("det1:9999", result.GetProperty("address").GetString());
            Assert.Equal("ON", result.GetProperty("state").GetString());
            // the Init command reads the properties again: once deleted from the DB, Init fails with the same sentence
            Assert.Equal("API_MissingDeviceProperty", result.GetProperty("init without it").GetProperty("reason").GetString());
            Assert.Equal(missing, result.GetProperty("init without it").GetProperty("desc").GetString());
            server.Signal(15);
            Assert.Equal(0, server.WaitForExit(Timeout));
        }
        finally
        {
            Admin(env, "--delete-server", $"TangoNetTest/{instance}");
        }
    }

    private static ChildProcess Start(string instance, IReadOnlyDictionary<string, string?> env)
    {
        var server = ChildProcess.Start(TangoNetTestServer.Executable, [instance], env);
        server.WaitForOutput("Ready to accept request", Timeout);
        return server;
    }

    private static JsonElement Check(string check, string device, IReadOnlyDictionary<string, string?> env)
    {
        var script = Path.Combine(RepoPaths.Root, "tests", "Tango.NET.Tests", "py", "db_checks.py");
        var output = Python.Run(script, [check, device], Timeout, env);
        var line = output.Split('\n').Last(l => l.StartsWith("JSON:", StringComparison.Ordinal));
        return JsonDocument.Parse(line["JSON:".Length..]).RootElement;
    }

    private static void Admin(IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        using var admin = ChildProcess.Start("tango_admin", args, env);
        Assert.True(admin.WaitForExit(Timeout) == 0, $"tango_admin {string.Join(' ', args)}:\n{admin.Output}");
    }
}
