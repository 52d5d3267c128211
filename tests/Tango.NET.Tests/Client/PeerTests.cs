using System.Collections.Concurrent;
using Lima2.TestSupport;
using Tango.Client;

namespace Tango.NET.Tests.Client;

/// <summary>What TangoTest 9.3.4 cannot show, against a PyTango device: DevEnum, DevEncoded, state spectra,
/// Latin-1 strings, pushed events, timeouts, and calls that really run in parallel.</summary>
public sealed class PeerTests(PeerServer server) : IClassFixture<PeerServer>, IDisposable
{
    private static readonly TimeSpan EventWait = TimeSpan.FromSeconds(30); // bounds a hang only: a loaded machine delays events by seconds

    private readonly DeviceProxy _device = new(server.Url());

    public void Dispose() => _device.Dispose();

    private enum AcqState
    {
        Idle,
        Prepared,
        Running,
    }

    [Fact]
    public void An_enum_attribute_reads_as_its_index_with_labels_in_the_config()
    {
        var config = _device.GetAttributeConfig("acq_state");
        Assert.Equal(TangoType.DevEnum, config.DataType);
        Assert.Equal(["idle", "prepared", "running", "stopped", "fault", "terminate"], config.EnumLabels);

        _device.Write("acq_state", AcqState.Running);
        var read = _device.ReadAttribute("acq_state");
        Assert.Equal(TangoType.DevEnum, read.Type);
        Assert.Equal((short)2, read.Value);
        Assert.Equal(AcqState.Running, read.Get<AcqState>());
        _device.Write("acq_state", (short)1);
        Assert.Equal(AcqState.Prepared, _device.Read<AcqState>("acq_state"));
    }

    [Fact]
    public void An_encoded_attribute_round_trips_format_and_bytes()
    {
        byte[] bytes = [0, 1, 2, 254, 255];
        _device.Write("encoded", new DevEncoded("DENSE_FRAME", bytes));
        var read = _device.Read<DevEncoded>("encoded");
        Assert.Equal("DENSE_FRAME", read.Format);
        Assert.Equal(bytes, read.Data);
    }

    [Fact]
    public void An_encoded_command_argument_round_trips()
    {
        var result = _device.Command<DevEncoded>("EchoEncoded", new DevEncoded("STRUCTURED_ARRAY", [9, 8, 7]));
        Assert.Equal("STRUCTURED_ARRAY", result.Format);
        Assert.Equal([9, 8, 7], result.Data);
        var empty = _device.Command<DevEncoded>("EchoEncoded", new DevEncoded("", []));
        Assert.Equal("", empty.Format);
        Assert.Empty(empty.Data);
    }

    [Fact]
    public void A_state_spectrum_reads_as_DevState_values()
    {
        Assert.Equal([DevState.On, DevState.Fault, DevState.Running], _device.Read<DevState[]>("states"));
    }

    [Fact]
    public void Strings_travel_as_Latin1_both_ways()
    {
        using var device = new DeviceProxy(server.Url("test/peer/2"));
        Python.Eval($$"""
            import tango
            tango.DeviceProxy("{{server.Url("test/peer/2")}}").write_attribute("latin1", "caf\u00e9 \u00b5s")
            """);
        Assert.Equal("caf\u00e9 \u00b5s", device.Read<string>("latin1"));
        device.Write("latin1", "\u00c5ngstr\u00f6m \u00b0C \u00ff");
        var py = Python.Eval($$"""
            import tango
            print(ascii(tango.DeviceProxy("{{server.Url("test/peer/2")}}").read_attribute("latin1").value))
            """);
        Assert.Equal("'\\xc5ngstr\\xf6m \\xb0C \\xff'", py.Trim());
    }

    [Fact]
    public void A_long_image_round_trips()
    {
        var image = new[,] { { 1, 2, 3 }, { 4, 5, int.MinValue } };
        _device.Write("long_image", image);
        Assert.Equal(image, _device.Read<int[,]>("long_image"));
    }

    [Fact]
    public void A_slow_command_times_out_after_the_proxy_timeout()
    {
        using var device = new DeviceProxy(server.Url());
        device.Timeout = TimeSpan.FromMilliseconds(300);
        var e = Assert.Throws<DevFailedException>(() => device.Command("Sleep", 1.0));
        Assert.Contains(e.Errors, x => x.Reason == "API_DeviceTimedOut");
    }

    [Fact]
    public void ReadInto_copies_an_image_into_the_caller_buffer_with_its_shape()
    {
        _device.Write("long_image", new[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        var buffer = new int[10];
        var info = _device.ReadInto<int>("long_image", buffer);
        Assert.Equal((AttrDataFormat.Image, 3, 2, 6, AttrQuality.Valid), (info.Format, info.DimX, info.DimY, info.Count, info.Quality));
        Assert.Equal([1, 2, 3, 4, 5, 6, 0, 0, 0, 0], buffer);
        Assert.Throws<InvalidCastException>(() => _device.ReadInto<double>("long_image", new double[10]));
        Assert.Throws<ArgumentException>(() => _device.ReadInto<int>("long_image", new int[5]));
    }

    [Fact]
    public void Change_events_arrive_with_values_and_stop_after_dispose()
    {
        var values = new BlockingCollection<int>();
        int first;
        using (_device.Subscribe("counter", EventType.Change, e =>
               {
                   Assert.False(e.IsError, e.Error?.ToString());
                   Assert.Equal(EventType.Change, e.Type);
                   values.Add(e.Value!.Get<int>());
               }))
        {
            first = Take(values); // the current value, read during subscribe
            first = PushUntil(() => _device.Command("Push", 1), values, v => v > first);
            _device.Command("Push", 3);
            Assert.Equal([first + 1, first + 2, first + 3], DistinctUntil(values, first + 3));
        }
        _device.Command("Push", 2);
        Thread.Sleep(300); // gives a late event the chance to show up
        Assert.DoesNotContain(values.ToArray(), v => v > first + 3);
    }

    [Fact]
    public void Data_ready_events_carry_the_pushed_counter()
    {
        var counters = new BlockingCollection<int>();
        var dataType = TangoType.DevVoid;
        using var subscription = _device.Subscribe("counter", EventType.DataReady, e =>
        {
            Assert.False(e.IsError, e.Error?.ToString());
            dataType = e.DataType;
            counters.Add(e.Counter);
        });
        Assert.Equal(4, PushUntil(() => _device.Command("Push", 4), counters, c => c == 4));
        Assert.Equal(TangoType.DevLong64, dataType); // PyTango's int
    }

    [Theory]
    [InlineData(EventType.Archive, "archive")]
    [InlineData(EventType.User, "user_event")]
    public void Archive_and_user_events_arrive(EventType type, string eventName)
    {
        var values = new BlockingCollection<(string Name, long Value)>();
        using var subscription = _device.Subscribe("counter", type, e =>
        {
            Assert.False(e.IsError, e.Error?.ToString());
            values.Add((e.EventName, e.Value!.Get<long>()));
        });
        var pushed = PushUntil(() => _device.Command("PushOthers", 4711), values, v => v.Value == 4711);
        Assert.Equal((eventName, 4711L), pushed);
    }

    [Fact]
    public void An_error_pushed_by_the_server_arrives_as_an_error_event()
    {
        var errors = new BlockingCollection<EventData>();
        using var subscription = _device.Subscribe("counter", EventType.Change, e =>
        {
            if (e.IsError)
                errors.Add(e);
        });
        var e = PushUntil(() => _device.Command("PushError", "PEER_Broken"), errors, _ => true);
        Assert.Equal("PEER_Broken", e.Error!.Reason);
        Assert.Equal("pushed on purpose", e.Error.Errors[0].Description);
        Assert.Null(e.Value);
    }

    [Fact]
    public void Subscribing_to_a_missing_attribute_fails_with_the_server_reason()
    {
        var e = Assert.Throws<DevFailedException>(() => _device.Subscribe("nope", EventType.Change, _ => { }));
        Assert.Contains(e.Errors, x => x.Reason == "API_AttrNotFound");
    }

    [Fact]
    public void A_stateless_subscription_to_a_server_that_is_down_succeeds_and_reports_the_error()
    {
        using var absent = new DeviceProxy($"tango://127.0.0.1:{FreePort.Next()}/test/peer/1#dbase=no");
        var errors = new BlockingCollection<DevFailedException>();
        Assert.Throws<DevFailedException>(() => absent.Subscribe("counter", EventType.Change, _ => { }));
        using var subscription = absent.Subscribe("counter", EventType.Change, e =>
        {
            if (e.Error is not null)
                errors.Add(e.Error);
        }, stateless: true);
        Assert.True(errors.TryTake(out var error, EventWait), "no error event");
        Assert.Contains(error.Errors, x => x.Reason == "API_CantConnectToDevice");
    }

    [Fact]
    public void A_callback_that_throws_does_not_break_event_delivery()
    {
        var seen = new BlockingCollection<int>();
        using var subscription = _device.Subscribe("counter", EventType.Change, e =>
        {
            seen.Add(e.Value!.Get<int>());
            throw new InvalidOperationException("callback bug");
        });
        var first = Take(seen);
        var second = PushUntil(() => _device.Command("Push", 1), seen, v => v > first);
        _device.Command("Push", 1);
        Assert.Equal(second + 1, Take(seen));
    }

    [Fact]
    public async Task Async_calls_fan_out_to_several_devices_in_parallel()
    {
        var devices = server.Devices.Select(d => new DeviceProxy(server.Url(d))).ToList();
        try
        {
            // Meet(n) returns only when n devices run it at the same time (a barrier in the server): with
            // calls that did not overlap, the first would wait 5 s and fail.
            var names = await Task.WhenAll(devices.Select(d => d.CommandAsync<string>("Meet", devices.Count)));
            Assert.Equal(server.Devices, names);

            await Task.WhenAll(devices.Select((d, i) => d.WriteAsync("acq_state", (short)(i % 3))));
            var states = await Task.WhenAll(devices.Select(d => d.ReadAsync<short>("acq_state")));
            Assert.Equal([0, 1, 2, 0], states);
        }
        finally
        {
            devices.ForEach(d => d.Dispose());
        }
    }

    [Fact]
    public async Task An_async_call_that_fails_faults_its_task_with_the_server_error()
    {
        var e = await Assert.ThrowsAsync<DevFailedException>(() => _device.CommandAsync("NoSuchCommand"));
        Assert.Equal("API_CommandNotFound", e.Reason);
    }

    // ZeroMQ drops what a publisher sends before a new subscriber's filter has reached it ("slow joiner"): an
    // event pushed right after Subscribe returned was lost about once in five runs of this suite on a loaded
    // machine (never in 8 + 8 isolated tries, C# and PyTango alike). Push until one arrives.
    private static T PushUntil<T>(Action push, BlockingCollection<T> events, Func<T, bool> expected)
    {
        var deadline = DateTime.UtcNow + EventWait;
        while (DateTime.UtcNow < deadline)
        {
            push();
            while (events.TryTake(out var e, TimeSpan.FromMilliseconds(200)))
            {
                if (expected(e))
                    return e;
            }
        }
        throw new TimeoutException("the pushed event never arrived");
    }

    private static int Take(BlockingCollection<int> values) =>
        values.TryTake(out var v, EventWait) ? v : throw new TimeoutException("no event");

    // cppTango pushes the first change event twice; values that repeat are collapsed.
    private static List<int> DistinctUntil(BlockingCollection<int> values, int last)
    {
        var seen = new List<int>();
        while (seen.Count == 0 || seen[^1] != last)
        {
            var v = Take(values);
            if (seen.Count == 0 || seen[^1] != v)
                seen.Add(v);
        }
        return seen;
    }
}
