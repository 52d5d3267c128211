using System.Collections.Concurrent;
using Lima2.TestSupport;
using Tango.Client;

namespace Tango.NET.Tests.Client;

/// <summary>TangoTest registered in the embedded Tango database (scripts/tango-db.sh) under a fresh server
/// name, running; unregistered when the test class is done.</summary>
/// <remarks>cppTango reads TANGO_HOST with getenv, which Environment.SetEnvironmentVariable does not reach, so
/// this process names the database explicitly: <c>new Database(host, port)</c> and <c>tango://host:port/…</c>.</remarks>
public sealed class RegisteredTangoTest : IDisposable
{
    private readonly ChildProcess _process;

    public RegisteredTangoTest()
    {
        var hostPort = EmbeddedTangoDb.TangoHost.Split(':');
        (Host, Port) = (hostPort[0], int.Parse(hostPort[1]));
        Instance = $"cl{Guid.NewGuid():N}"[..10];
        Device = $"test/{Instance}/1";
        using (var db = OpenDatabase())
            db.AddServer(Server, "TangoTest", Device);
        _process = ChildProcess.Start("/usr/lib/tango/TangoTest", [Instance], EmbeddedTangoDb.Environment);
        _process.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(30));
    }

    public string Instance { get; }

    public string Server => $"TangoTest/{Instance}";

    public string Device { get; }

    public string Host { get; }

    public int Port { get; }

    public int Pid => _process.Id;

    /// <summary>The device's full name through the database: no -nodb suffix, no TANGO_HOST needed.</summary>
    public string Url => $"tango://{Host}:{Port}/{Device}";

    public Database OpenDatabase() => new(Host, Port);

    public void Dispose()
    {
        _process.Dispose();
        using var db = OpenDatabase();
        db.DeleteServer(Server);
    }
}

public sealed class DatabaseTests(RegisteredTangoTest tangoTest) : IClassFixture<RegisteredTangoTest>, IDisposable
{
    private static readonly string Unique = Guid.NewGuid().ToString("N")[..8];

    private readonly Database _db = tangoTest.OpenDatabase();

    public void Dispose() => _db.Dispose();

    [Fact]
    public void A_registered_server_is_listed_and_its_devices_are_known_until_deleted()
    {
        var server = $"ClientTest/{Unique}";
        string[] devices = [$"test/db{Unique}/1", $"test/db{Unique}/2"];
        _db.AddServer(server, "ClientTestClass", devices);
        try
        {
            Assert.Contains(server, _db.GetServerList("ClientTest/*"));
            var info = _db.GetDeviceInfo(devices[1]);
            Assert.Equal((devices[1], "ClientTestClass", server, false), (info.Name, info.ClassName, info.Server, info.Exported));
            _db.AddDevice($"test/db{Unique}/3", "ClientTestClass", server);
            Assert.Equal("ClientTestClass", _db.GetDeviceInfo($"test/db{Unique}/3").ClassName);
            _db.DeleteDevice($"test/db{Unique}/3");
            Assert.Equal("DB_DeviceNotDefined", Assert.Throws<DevFailedException>(() => _db.GetDeviceInfo($"test/db{Unique}/3")).Reason);
        }
        finally
        {
            _db.DeleteServer(server);
        }
        Assert.DoesNotContain(server, _db.GetServerList("ClientTest/*"));
        Assert.Equal("DB_DeviceNotDefined", Assert.Throws<DevFailedException>(() => _db.GetDeviceInfo(devices[0])).Reason);
    }

    [Fact]
    public void A_running_device_is_exported_with_its_class_host_and_pid()
    {
        Assert.Equal([tangoTest.Device], _db.GetDeviceExported($"test/{tangoTest.Instance}/*"));
        var info = _db.GetDeviceInfo(tangoTest.Device);
        Assert.True(info.Exported);
        Assert.Equal(("TangoTest", tangoTest.Server, tangoTest.Pid), (info.ClassName, info.Server, info.Pid));
        Assert.NotEmpty(info.Host);
        Assert.StartsWith("IOR:", info.Ior);
    }

    [Fact]
    public void Device_properties_are_put_read_listed_and_deleted()
    {
        var device = tangoTest.Device;
        _db.PutDeviceProperty(device, new Dictionary<string, string[]>
        {
            ["receiver_topology"] = ["round_robin"],
            ["frame_info"] = ["""{"nb_channels":1,"dimensions":{"x":2048,"y":2048},"pixel_type":"gray16"}"""],
            ["ranks"] = ["1", "2", "3"],
        });
        var read = _db.GetDeviceProperty(device, "receiver_topology", "ranks", "missing");
        Assert.Equal(["round_robin"], read["receiver_topology"]);
        Assert.Equal(["1", "2", "3"], read["ranks"]);
        Assert.Empty(read["missing"]);
        Assert.Superset(new HashSet<string> { "receiver_topology", "frame_info", "ranks" }, _db.GetDeviceProperty(device).Keys.ToHashSet());

        var py = Python.Eval($$"""
            import tango
            print(tango.Database().get_device_property("{{device}}", ["frame_info"])["frame_info"][0])
            """, EmbeddedTangoDb.Environment);
        Assert.Equal("""{"nb_channels":1,"dimensions":{"x":2048,"y":2048},"pixel_type":"gray16"}""", py.Trim());

        _db.DeleteDeviceProperty(device, "receiver_topology", "ranks", "frame_info");
        Assert.Empty(_db.GetDeviceProperty(device, "receiver_topology")["receiver_topology"]);
    }

    [Fact]
    public void Class_properties_are_put_read_and_deleted()
    {
        var cls = $"ClientTestClass{Unique}";
        _db.PutClassProperty(cls, new Dictionary<string, string[]> { ["Version"] = ["1.2.3"] });
        Assert.Equal(["1.2.3"], _db.GetClassProperty(cls, "Version")["Version"]);
        Assert.Equal(["Version"], _db.GetClassProperty(cls).Keys);
        _db.DeleteClassProperty(cls, "Version");
        Assert.Empty(_db.GetClassProperty(cls, "Version")["Version"]);
    }

    [Fact]
    public void A_class_attribute_property_holds_a_schema_that_PyTango_reads_the_Lima2_way()
    {
        var cls = $"LimaReceiver{Unique}";
        const string schema = """{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"acq":{"type":"object"}}}""";
        _db.PutClassAttributeProperty(cls, new Dictionary<string, IReadOnlyDictionary<string, string[]>>
        {
            ["acq_params"] = new Dictionary<string, string[]> { ["schema"] = [schema], ["description"] = ["acquisition"] },
            ["proc_params"] = new Dictionary<string, string[]> { ["schema"] = ["{}"] },
        });
        try
        {
            var read = _db.GetClassAttributeProperty(cls, "acq_params", "proc_params", "nothing");
            Assert.Equal([schema], read["acq_params"]["schema"]);
            Assert.Equal(["acquisition"], read["acq_params"]["description"]);
            Assert.Equal(["{}"], read["proc_params"]["schema"]);
            Assert.Empty(read["nothing"]);

            // what lima2.client does: get_class_attribute_property(cls, "acq_params")["acq_params"]["schema"][0]
            var py = Python.Eval($$"""
                import tango
                print(tango.Database().get_class_attribute_property("{{cls}}", "acq_params")["acq_params"]["schema"][0])
                """, EmbeddedTangoDb.Environment);
            Assert.Equal(schema, py.Trim());

            _db.DeleteClassAttributeProperty(cls, "acq_params", "description");
            Assert.Equal(["schema"], _db.GetClassAttributeProperty(cls, "acq_params")["acq_params"].Keys);
        }
        finally
        {
            _db.DeleteClassAttributeProperty(cls, "acq_params", "schema", "description");
            _db.DeleteClassAttributeProperty(cls, "proc_params", "schema");
        }
        Assert.Empty(_db.GetClassAttributeProperty(cls, "acq_params")["acq_params"]);
    }

    [Fact]
    public void Device_attribute_properties_are_put_read_and_deleted()
    {
        var device = tangoTest.Device;
        _db.PutDeviceAttributeProperty(device, new Dictionary<string, IReadOnlyDictionary<string, string[]>>
        {
            ["double_scalar"] = new Dictionary<string, string[]> { ["unit"] = ["mm"], ["label"] = ["Position"] },
        });
        try
        {
            Assert.Equal(["mm"], _db.GetDeviceAttributeProperty(device, "double_scalar")["double_scalar"]["unit"]);
        }
        finally
        {
            _db.DeleteDeviceAttributeProperty(device, "double_scalar", "unit", "label");
        }
        Assert.Empty(_db.GetDeviceAttributeProperty(device, "double_scalar")["double_scalar"]);
    }

    [Fact]
    public void A_device_registered_in_the_database_is_reached_through_it()
    {
        using var device = new DeviceProxy(tangoTest.Url);
        Assert.Equal(("TangoTest", tangoTest.Server), (device.Info().ClassName, device.Info().ServerId));
        Assert.Equal(DevState.Running, device.State());
        Assert.Equal(tangoTest.Device, device.Name);
    }

    [Fact]
    public void With_the_cache_source_only_polled_attributes_can_be_read()
    {
        using var device = new DeviceProxy(tangoTest.Url);
        device.PollAttribute("long_scalar", TimeSpan.FromMilliseconds(100));
        try
        {
            device.Source = DevSource.Cache;
            Assert.IsType<int>(ReadOnceFilled(device, "long_scalar").Value);
            Assert.Contains(Assert.Throws<DevFailedException>(() => device.ReadAttribute("short_scalar_ro")).Errors,
                e => e.Reason == "API_AttrNotPolled");
            device.Source = DevSource.Dev;
            Assert.IsType<short>(device.Read<short>("short_scalar_ro"));
        }
        finally
        {
            device.StopPollAttribute("long_scalar");
        }
    }

    // The polling buffer is empty until the first poll: API_NoDataYet until then (seconds on a loaded machine).
    private static DeviceAttribute ReadOnceFilled(DeviceProxy device, string attribute)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                return device.ReadAttribute(attribute);
            }
            catch (DevFailedException e) when (DateTime.UtcNow < deadline && e.Errors.Any(x => x.Reason == "API_NoDataYet"))
            {
                Thread.Sleep(50);
            }
        }
    }

    [Fact]
    public void Periodic_events_of_a_polled_attribute_arrive()
    {
        using var device = new DeviceProxy(tangoTest.Url);
        device.PollAttribute("double_scalar", TimeSpan.FromMilliseconds(100));
        try
        {
            var events = new BlockingCollection<EventData>();
            using (device.Subscribe("double_scalar", EventType.Periodic, events.Add))
            {
                for (var i = 0; i < 3; i++)
                {
                    Assert.True(events.TryTake(out var e, TimeSpan.FromSeconds(30)), "no periodic event");
                    Assert.False(e.IsError, e.Error?.ToString());
                    Assert.Equal(TangoType.DevDouble, e.Value!.Type);
                    Assert.EndsWith("double_scalar", e.AttributeName);
                }
            }
            // Change events need abs_change/rel_change: the server says so, and the subscription fails cleanly.
            var error = Assert.Throws<DevFailedException>(() => device.Subscribe("double_scalar", EventType.Change, _ => { }));
            Assert.Contains(error.Errors, x => x.Reason == "API_EventPropertiesNotSet");
        }
        finally
        {
            device.StopPollAttribute("double_scalar");
        }
    }

    // In -nodb mode cppTango 9.3.4 servers (TangoTest and PyTango alike) crash on set_attribute_config: this one
    // needs the DB.
    [Fact]
    public void Attribute_configuration_events_bring_the_configuration_another_client_set()
    {
        using var device = new DeviceProxy(tangoTest.Url);
        var configs = new BlockingCollection<EventData>();
        using var subscription = device.Subscribe("long_image_ro", EventType.AttrConf, configs.Add);
        Assert.True(configs.TryTake(out var current, TimeSpan.FromSeconds(5)), "no configuration during subscribe");
        Assert.False(current.IsError, current.Error?.ToString());
        Assert.Equal("attr_conf", current.EventName);
        Assert.Equal(("long_image_ro", TangoType.DevLong, AttrDataFormat.Image),
            (current.Config!.Name, current.Config.DataType, current.Config.DataFormat));
        var label = $"Pixels {Unique}";
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        EventData? changed = null;
        // an event pushed right after subscribing can be lost (ZMQ slow joiner): set it again until one arrives
        while (changed is null && DateTime.UtcNow < deadline)
        {
            Python.Eval($$"""
                import tango
                p = tango.DeviceProxy("{{tangoTest.Url}}")
                c = p.get_attribute_config("long_image_ro")
                c.label, c.unit = "{{label}}", "counts"
                p.set_attribute_config(c)
                """, EmbeddedTangoDb.Environment);
            while (changed is null && configs.TryTake(out var e, TimeSpan.FromSeconds(1)))
                changed = e.Config?.Label == label ? e : null;
        }
        Assert.NotNull(changed);
        Assert.False(changed.IsError, changed.Error?.ToString());
        Assert.Equal("counts", changed.Config!.Unit);
    }
}
