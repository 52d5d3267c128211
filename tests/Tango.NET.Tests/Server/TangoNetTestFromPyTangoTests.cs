using System.Text.Json;
using Tango.NET.Tests.Fixtures;

namespace Tango.NET.Tests.Server;

/// <summary>PyTango, the real peer, drives the C# TangoNetTest server (one server for all these tests).</summary>
public sealed class TangoNetTestFromPyTangoTests(TangoNetTestServer server) : IClassFixture<TangoNetTestServer>
{
    /// <summary>Each entry of a check is [ok, sent, got]: every failing one is listed.</summary>
    private static void AllSame(JsonElement result)
    {
        var failures = result.EnumerateObject()
            .Where(p => p.Value.ValueKind == JsonValueKind.Array && p.Value[0].ValueKind == JsonValueKind.False)
            .Select(p => $"{p.Name}: sent {p.Value[1]} got {p.Value[2]}")
            .ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static (string Reason, string Desc, string Origin)[] Errors(JsonElement e) =>
        e.EnumerateArray().Select(x => (x.GetProperty("reason").GetString()!, x.GetProperty("desc").GetString()!,
            x.GetProperty("origin").GetString()!)).ToArray();

    [Fact]
    public void Every_type_round_trips_through_attributes_and_commands()
    {
        var result = server.Check("roundtrip");
        AllSame(result);
        // the check covered every kind it claims to: scalars, spectra, images, rww and each DevXxx command
        var names = result.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(34, names.Count(n => n.StartsWith("attr ", StringComparison.Ordinal)));
        Assert.Equal(27, names.Count(n => n.StartsWith("cmd ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Read_only_attributes_serve_the_values_computed_in_csharp_with_their_configuration()
    {
        var result = server.Check("read_only");
        AllSame(result);
        Assert.Equal([251, 251], result.GetProperty("ushort_image_ro_shape").EnumerateArray().Select(e => e.GetInt32()));
        var aboveMax = Errors(result.GetProperty("limited above max"));
        Assert.Equal("API_WAttrOutsideLimit", aboveMax[0].Reason);
        Assert.Equal("ATTR_ALARM", result.GetProperty("limited quality").GetString());
    }

    [Fact]
    public void Exceptions_arrive_as_DevFailed_with_reason_description_and_origin()
    {
        var result = server.Check("failures");

        var thrown = Errors(result.GetProperty("throw_exception"));
        Assert.Equal(("TangoTest_Exception", "Exception thrown on purpose by throw_exception", "throw_exception"), thrown[0]);

        var plain = Errors(result.GetProperty("ThrowError"));
        Assert.Equal(("InvalidOperationException", "it broke", "ThrowError"), plain[0]);

        // the server sends two errors; the client's command_inout stacks its API_CommandFailed under them
        var two = Errors(result.GetProperty("ThrowTwoErrors"));
        Assert.Equal(["LIMA_Exception", "LIMA_Cause", "API_CommandFailed"], two.Select(e => e.Reason));
        Assert.Equal(("LIMA_Exception", "{\"error\": \"overrun\"}", "TangoNetTest::ThrowTwoErrors"), two[0]);
        Assert.Equal("LIMA_Cause", two[1].Reason);
        Assert.Equal(2, result.GetProperty("ThrowTwoErrors")[1].GetProperty("severity").GetInt32());

        // cppTango checks a DevEnum write against the labels before C# sees it
        Assert.Equal("API_WAttrOutsideLimit", Errors(result.GetProperty("bad enum"))[0].Reason);
    }

    [Fact]
    public void OnError_maps_the_exceptions_of_a_read_a_write_and_a_command_to_the_devices_own_DevFailed()
    {
        var result = server.Check("failures");

        Assert.Equal(("TangoNetTest_HardwareFault", "hardware_fault: the detector did not answer", "TangoNetTest::hardware_fault"),
            Errors(result.GetProperty("hardware_fault read"))[0]);
        Assert.Equal(("TangoNetTest_HardwareFault", "hardware_fault: the detector refused 3", "TangoNetTest::hardware_fault"),
            Errors(result.GetProperty("hardware_fault write"))[0]);
        Assert.Equal(("TangoNetTest_HardwareFault", "FailHardware: no power", "TangoNetTest::FailHardware"),
            Errors(result.GetProperty("FailHardware"))[0]);
        // exceptions the hook returns unchanged keep the default mapping (reason = type name, origin = member)
        Assert.Equal(("InvalidOperationException", "it broke", "ThrowError"), Errors(result.GetProperty("ThrowError"))[0]);
    }

    [Fact]
    public void A_command_that_releases_the_monitor_lets_other_clients_read_while_it_works_past_the_monitor_timeout()
    {
        var result = server.Check("long_work", null, "LongWork");
        Assert.Equal(JsonValueKind.Null, result.GetProperty("command_error").ValueKind);
        var reads = result.GetProperty("reads").EnumerateArray().ToList();
        Assert.NotEmpty(reads);
        Assert.All(reads, r => Assert.True(r.GetProperty("ok").GetBoolean(), r.ToString()));
        Assert.Contains(reads, r => r.GetProperty("during_work").GetBoolean());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("after").ValueKind);
    }

    [Fact]
    public void A_plain_command_that_works_past_the_monitor_timeout_makes_concurrent_reads_fail()
    {
        // the failure ReleasesMonitor exists for: cppTango gives up waiting for the device monitor after 3.2 s
        var result = server.Check("long_work", null, "LongWorkHoldingMonitor");
        Assert.Equal(JsonValueKind.Null, result.GetProperty("command_error").ValueKind);
        var first = result.GetProperty("reads")[0];
        Assert.False(first.GetProperty("ok").GetBoolean());
        Assert.Contains("serialization", first.GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("after").ValueKind);
    }

    [Fact]
    public void Jive_reads_command_descriptions_and_the_property_wizard_from_the_declarations()
    {
        var result = server.Check("descriptions", null, server.AdminName);
        string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();
        var commands = result.GetProperty("commands");
        // a void argument says what the command does; a declared argument description wins
        Assert.Equal(["Does nothing, only while RUNNING", "Does nothing, only while RUNNING"], Strings(commands.GetProperty("OnlyWhenRunning")));
        Assert.Equal(["the new status", "Sets the status text"], Strings(commands.GetProperty("SetStatusText")));
        Assert.Equal(["Any DevDouble value", "Echo of the argin value"], Strings(commands.GetProperty("DevDouble")));
        Assert.Equal(["Allowed only while counter is even (the IsEvenOnlyAllowed convention)", "The counter"],
            Strings(commands.GetProperty("EvenOnly")));
        // QueryWizard*Property: name, description, default, for each property
        Assert.Equal(["UShort_image_ro_size", "Width and height of ushort_image_ro", "251"], Strings(result.GetProperty("device properties")));
        Assert.Equal(["Greeting", "A class-wide greeting, to show class properties", "hello"], Strings(result.GetProperty("class properties")));
        Assert.Equal(["Label", "The text of the label attribute", "none"], Strings(result.GetProperty("TangoNetDynamic device properties")));
    }

    [Fact]
    public void Commands_are_refused_by_state_and_by_IsAllowed_and_status_is_what_code_set()
    {
        var result = server.Check("failures");
        Assert.Equal("RUNNING", result.GetProperty("state before").GetString());
        Assert.Equal(JsonValueKind.Null, result.GetProperty("OnlyWhenRunning (running)").ValueKind);
        Assert.Equal("FAULT", result.GetProperty("state after switch").GetString());
        Assert.Equal("API_CommandNotAllowed", Errors(result.GetProperty("OnlyWhenRunning (fault)"))[0].Reason);
        var evenOnly = result.GetProperty("EvenOnly");
        if (result.GetProperty("counter even").GetBoolean())
            Assert.Equal(JsonValueKind.Null, evenOnly.ValueKind);
        else
            Assert.Equal("API_CommandNotAllowed", Errors(evenOnly)[0].Reason);
        Assert.Equal("all good", result.GetProperty("status").GetString());
    }

    [Fact]
    public void Change_archive_user_and_data_ready_events_pushed_from_a_csharp_thread_reach_a_subscriber()
    {
        var result = server.Check("events");
        Assert.Empty(result.GetProperty("errors").EnumerateArray());
        var received = result.GetProperty("received");
        foreach (var kind in new[] { "change", "archive", "user", "data_ready" })
        {
            var values = received.GetProperty(kind).EnumerateArray().Select(e => e.GetInt32()).ToList();
            Assert.True(values.Count >= 20, $"{kind}: {values.Count} events");
            // consecutive counter values, in order (cppTango may repeat the first one)
            var distinct = values.Distinct().ToList();
            Assert.Equal(Enumerable.Range(distinct[0], distinct.Count), distinct);
        }
    }

    [Fact]
    public void Events_posted_by_a_thread_that_a_command_waits_for_arrive_in_order_while_a_client_reads()
    {
        var result = server.Check("posted_events", null, "300");

        Assert.Equal(0, result.GetProperty("post failures").GetInt32());
        // every value, in the order posted (cppTango may repeat the first one)
        var received = result.GetProperty("received").EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(received.Order(), received);
        Assert.Equal(Enumerable.Range(1, 300), received.Distinct());
        Assert.Empty(result.GetProperty("event errors").EnumerateArray());
        var reads = result.GetProperty("reads");
        Assert.True(reads.GetProperty("ok").GetInt32() > 0);
        Assert.Empty(reads.GetProperty("errors").EnumerateArray());
        // the pitfall the queue avoids: a direct push from that thread waits for the monitor the command holds, and fails
        Assert.Equal(1, result.GetProperty("direct push failures").GetInt32());
    }

    [Fact]
    public void Polling_set_through_the_admin_device_serves_cache_reads_and_history()
    {
        var result = server.Check("polling", null, server.AdminName);
        Assert.True(result.GetProperty("is_polled").GetBoolean());
        Assert.Equal(100, result.GetProperty("period").GetInt32());
        var cache = result.GetProperty("cache reads").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.True(cache[1] >= cache[0]);
        var history = result.GetProperty("history").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(5, history.Length);
        Assert.Equal(history.Order(), history);
        Assert.False(result.GetProperty("is_polled after removal").GetBoolean());
        Assert.Equal("[true,250]", result.GetProperty("polled by code").GetRawText().Replace(" ", ""));
        Assert.False(result.GetProperty("polled by code after stop").GetBoolean());
        // 251 x 251 pixels of x + y: each sum of the six reads (cache and device) is 251 * 251 * 250
        Assert.Equal(Enumerable.Repeat(251L * 251 * 250, 6), result.GetProperty("shared image sums").EnumerateArray().Select(e => e.GetInt64()));
    }

    [Fact]
    public void Dynamic_attributes_and_devices_come_and_go_at_run_time()
    {
        var result = server.Check("dynamic");
        Assert.True(result.GetProperty("listed").GetBoolean());
        Assert.Equal(3.5, result.GetProperty("read").GetDouble());
        Assert.Equal("V", result.GetProperty("unit").GetString());
        Assert.False(result.GetProperty("listed after removal").GetBoolean());

        Assert.Contains("TangoNetDynamic::test/dyn/1", result.GetProperty("devices").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("ON", result.GetProperty("dyn state").GetString());
        Assert.Equal("test/dyn/1 holds 2.5", result.GetProperty("dyn status").GetString());
        Assert.Equal("none", result.GetProperty("dyn label").GetString());
        Assert.Equal("TangoNet_DeviceExists", Errors(result.GetProperty("duplicate"))[0].Reason);
        Assert.DoesNotContain("TangoNetDynamic::test/dyn/1",
            result.GetProperty("devices after delete").EnumerateArray().Select(e => e.GetString()));
        Assert.NotEqual(JsonValueKind.Null, result.GetProperty("deleted device").ValueKind);
        Assert.Equal("test/dyn/2 On", result.GetProperty("from a thread").GetString());
        Assert.Equal(["TangoNetTest::sys/tg_test/1"], result.GetProperty("devices at the end").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Reading_a_scalar_or_an_image_allocates_nothing_in_the_server()
    {
        var result = server.Check("allocations");
        // bytes per read, process-wide: any allocation per read is at least an object header (16 bytes), so less
        // than one byte per read leaves room only for the runtime's own occasional allocations
        foreach (var name in new[] { "long_scalar", "double_scalar", "boolean_scalar", "ulong64_scalar", "enum_scalar",
                     "state_scalar", "quality_scalar", "string_scalar", "ushort_image_ro", "long_image_ro" })
            Assert.True(result.GetProperty(name).GetDouble() < 1, $"{name}: {result.GetProperty(name).GetDouble()} bytes per read");
        // the counter does see what a read allocates (a string spectrum is marshalled through a managed holder)
        Assert.True(result.GetProperty("string_spectrum_ro").GetDouble() >= 16, result.GetProperty("string_spectrum_ro").ToString());
    }
}
