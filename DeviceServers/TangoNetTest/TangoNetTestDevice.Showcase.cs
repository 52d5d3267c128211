using System.Text.Json;
using Tango;
using Tango.Server;

namespace TangoNetTest;

// What TangoTest lacks and a C# device server needs: DevEnum, DevEncoded, errors with several entries, commands
// refused by state, events pushed from code, dynamic attributes and devices created at run time. Expert level,
// so that operator GUIs show TangoTest's interface only.
public sealed partial class TangoNetTestDevice
{
    private Thread? _pusher;
    private volatile bool _pushing;
    private int _counter;
    private volatile int _posted;
    private string? _failNext; // "Init" or "Delete": that lifecycle call fails once

    public enum Mode { Idle, Acquiring, Saving }

    [ClassProperty(Description = "A class-wide greeting, to show class properties")]
    public string Greeting { get; set; } = "hello";

    [Attr("greeting", DisplayLevel = DispLevel.Expert, Description = "The class property Greeting")] public string GreetingAttr => Greeting;

    [Attr("enum_scalar", DisplayLevel = DispLevel.Expert, Memorized = true, Description = "A memorized DevEnum: Idle, Acquiring or Saving")]
    public Mode EnumScalar { get; set; }

    [Attr("encoded_scalar", DisplayLevel = DispLevel.Expert, Description = "A read/write DevEncoded value (format string and bytes)")]
    public DevEncoded EncodedScalar { get; set; } = new("raw", [1, 2, 3]);

    [Attr("state_scalar", DisplayLevel = DispLevel.Expert, Description = "The device's state, as a DevState attribute")]
    public DevState StateScalar => State;

    /// <summary>A value with its quality and acquisition time.</summary>
    [Attr("quality_scalar", DisplayLevel = DispLevel.Expert,
        Description = "42.5 with quality CHANGING and a fixed acquisition time (1700000000.25 s since 1970)")]
    public AttrValue<double> QualityScalar => new(42.5, AttrQuality.Changing, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_250));

    [Attr("limited", DisplayLevel = DispLevel.Expert, Unit = "mm", Label = "Limited value", MinValue = 0, MaxValue = 10,
        MinAlarm = 1, MaxAlarm = 9, Description = "A value with limits and alarms")]
    public double Limited { get; set; } = 5;

    /// <summary>Pushed by code: a change event per increment, and a data-ready event.</summary>
    [Attr("counter", DisplayLevel = DispLevel.Expert, PushChangeEvent = true, PushArchiveEvent = true, DataReadyEvent = true,
        Description = "Incremented by PushEvents, which pushes change, archive, user and data-ready events of it")]
    public int Counter => _counter;

    [Attr("polled_counter", DisplayLevel = DispLevel.Expert, Description = "Increments counter at each read: a value that changes under polling")]
    public int PolledCounter => Interlocked.Increment(ref _counter);

    /// <summary>Managed bytes the process has allocated so far (precise): read before and after N reads of an
    /// attribute on an otherwise idle server, it shows what those reads allocated.</summary>
    [Attr("allocated_bytes", DisplayLevel = DispLevel.Expert, Unit = "B",
        Description = "Managed bytes the process has allocated so far: read before and after N reads of an attribute, it shows what they allocated")]
    public long AllocatedBytes => GC.GetTotalAllocatedBytes(precise: true);

    /// <summary>Allowed only while RUNNING (a refused call says API_CommandNotAllowed).</summary>
    [Command(DisplayLevel = DispLevel.Expert, AllowedStates = [DevState.Running], Description = "Does nothing, only while RUNNING")]
    public void OnlyWhenRunning() { }

    /// <summary>Allowed by the IsXxxAllowed convention: only when the counter is even.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Allowed only while counter is even (the IsEvenOnlyAllowed convention)", OutDescription = "The counter")]
    public int EvenOnly() => _counter;

    public bool IsEvenOnlyAllowed() => _counter % 2 == 0;

    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Fails with an InvalidOperationException carrying the message", InDescription = "The error's message")]
    public void ThrowError(string message) => throw new InvalidOperationException(message);

    /// <summary>Reading or writing it fails with a <see cref="HardwareFault"/>, which <see cref="OnError"/> maps.</summary>
    [Attr("hardware_fault", DisplayLevel = DispLevel.Expert,
        Description = "Reading or writing it fails with a HardwareFault, which the error hook maps to TangoNetTest_HardwareFault")]
    public int HardwareFaultAttr
    {
        get => throw new HardwareFault("the detector did not answer");
        set => throw new HardwareFault($"the detector refused {value}");
    }

    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Fails with a HardwareFault carrying the message, which the error hook maps", InDescription = "The error's message")]
    public void FailHardware(string message) => throw new HardwareFault(message);

    /// <summary>The next <c>member</c> ("Init" or "Delete", both run by the Init command) fails with a
    /// <see cref="HardwareFault"/>, once: the error hook maps lifecycle failures too.</summary>
    [Command(DisplayLevel = DispLevel.Expert, InDescription = "Init or Delete",
        Description = "The next Init or Delete (both run by the Init command) fails once with a HardwareFault")]
    public void FailNextLifecycle(string member) => _failNext = member is "Init" or "Delete"
        ? member
        : throw new ArgumentException($"{member} is neither Init nor Delete", nameof(member));

    private void FailIfAsked(string member)
    {
        if (_failNext != member)
            return;
        _failNext = null;
        throw new HardwareFault($"{member} failed on purpose");
    }

    /// <summary>The error hook: this device's own failures become one DevFailed naming the member; any other
    /// exception is reported as the binding does by default.</summary>
    protected override Exception OnError(Exception error, string member) => error is HardwareFault
        ? new DevFailedException("TangoNetTest_HardwareFault", $"{member}: {error.Message}", $"TangoNetTest::{member}")
        : error;

    /// <summary>Two errors, as Lima2 raises them: a LIMA_Exception with a JSON description, over a cause.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Fails with two errors as Lima2 raises them: a LIMA_Exception over a cause",
        InDescription = "The LIMA_Exception's JSON description")]
    public void ThrowTwoErrors(string json) => throw new DevFailedException([
        new DevError("LIMA_Exception", json, "TangoNetTest::ThrowTwoErrors"),
        new DevError("LIMA_Cause", "the underlying cause", "processing", ErrSeverity.Panic),
    ]);

    /// <summary>Long work that leaves the device free meanwhile: reads and other commands are served while it runs.</summary>
    [Command(DisplayLevel = DispLevel.Expert, ReleasesMonitor = true, InDescription = "seconds",
        Description = "Sleeps with the device monitor released: reads and other commands are served meanwhile")]
    public void LongWork(double seconds) => Thread.Sleep(TimeSpan.FromSeconds(seconds));

    /// <summary>The same work holding the device monitor, as any plain command does: concurrent requests wait.</summary>
    [Command(DisplayLevel = DispLevel.Expert, InDescription = "seconds",
        Description = "Sleeps holding the device monitor, as a plain command does: concurrent requests wait")]
    public void LongWorkHoldingMonitor(double seconds) => Thread.Sleep(TimeSpan.FromSeconds(seconds));

    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Echoes its argument", InDescription = "Any DevEncoded value", OutDescription = "Echo of the argin value")]
    public DevEncoded DevEncodedEcho(DevEncoded v) => v;

    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Echoes its argument", InDescription = "Any DevState value", OutDescription = "Echo of the argin value")]
    public DevState DevStateEcho(DevState v) => v;

    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Echoes its argument", InDescription = "Any array of booleans", OutDescription = "Echo of the argin value")]
    public bool[] DevVarBooleanArray(bool[] v) => v;

    [Command(DisplayLevel = DispLevel.Expert, Description = "Sets the status text", InDescription = "the new status")]
    public void SetStatusText(string status) => Status = status;

    /// <summary>Pushes <paramref name="count"/> change/archive/user/data-ready events from a C# thread.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Pushes change, archive, user and data-ready events of counter from a C# thread, 10 ms apart",
        InDescription = "How many of each")]
    public void PushEvents(int count)
    {
        StopPushing();
        _pushing = true;
        _pusher = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < count && _pushing; i++)
                {
                    var v = Interlocked.Increment(ref _counter);
                    PushChangeEvent("counter", v);
                    PushArchiveEvent("counter", v);
                    PushUserEvent("counter", v);
                    PushDataReadyEvent("counter", v);
                    Thread.Sleep(10);
                }
            }
            catch (DevFailedException e)
            {
                // e.g. the device monitor timed out while Init or shutdown deleted the device
                Console.Error.WriteLine($"{Name}: pushing stopped: {e}");
            }
        }) { Name = "pusher", IsBackground = true };
        _pusher.Start();
    }

    /// <summary>Sent by a thread that a command waits for (see <see cref="PostFromWaitedThread"/>).</summary>
    [Attr("posted", DisplayLevel = DispLevel.Expert, PushChangeEvent = true,
        Description = "The last value PostFromWaitedThread or PushFromWaitedThread sent as a change event")]
    public int Posted => _posted;

    /// <summary>Change events 1..count of <c>posted</c>, posted by a thread this command waits for while it holds the
    /// device monitor, as Stop waits for the end of a run that pushes its state. Returns how many posts failed.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Posts change events 1 to count of posted from a thread this command waits for while holding the monitor",
        InDescription = "count", OutDescription = "How many posts failed")]
    public int PostFromWaitedThread(int count) => FromWaitedThread(count, v => PostChangeEvent("posted", v));

    /// <summary>The same with direct pushes: each waits for the monitor this command holds until cppTango's monitor
    /// timeout (3.2 s) and fails. Returns how many pushes failed.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Pushes change events 1 to count of posted from a thread this command waits for: each push waits for the monitor and fails",
        InDescription = "count", OutDescription = "How many pushes failed")]
    public int PushFromWaitedThread(int count) => FromWaitedThread(count, v => PushChangeEvent("posted", v));

    private int FromWaitedThread(int count, Action<int> send)
    {
        var failures = 0;
        var thread = new Thread(() =>
        {
            for (var v = 1; v <= count; v++)
            {
                _posted = v;
                try
                {
                    send(v);
                }
                catch (DevFailedException)
                {
                    failures++;
                }
            }
        }) { Name = "waited for" };
        thread.Start();
        thread.Join();
        return failures;
    }

    /// <summary>Polling set by code: [period in ms, 0 to stop], [attribute name].</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Sets the polling of an attribute from code", InDescription = "[period in ms, 0 to stop], [attribute name]")]
    public void Poll(LongStringArray periodAndName) => PollAttribute(periodAndName.Strings[0], periodAndName.Longs[0]);

    /// <summary>Adds a read/write DevDouble attribute to this device only.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Adds a read/write DevDouble attribute (unit V) to this device only", InDescription = "The attribute's name")]
    public void AddDynamicAttribute(string name)
    {
        var value = 0.0;
        AddAttribute(name, () => value, v => value = v, new AttrAttribute { Unit = "V" });
    }

    [Command(DisplayLevel = DispLevel.Expert, Description = "Removes an attribute AddDynamicAttribute added", InDescription = "The attribute's name")]
    public void RemoveDynamicAttribute(string name) => RemoveAttribute(name);

    /// <summary>Creates a TangoNetDynamic device while the server runs.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Creates a TangoNetDynamic device while the server runs", InDescription = "The device's name")]
    public void CreateDevice(string name) => Server.CreateDevice("TangoNetDynamic", name);

    [Command(DisplayLevel = DispLevel.Expert, Description = "Deletes a device CreateDevice created", InDescription = "The device's name")]
    public void DeleteDevice(string name) => Server.DeleteDevice(name);

    /// <summary>Creates and deletes a device from a plain .NET thread, as an acquisition thread would.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "Creates and deletes a TangoNetDynamic device from a plain .NET thread",
        InDescription = "The device's name", OutDescription = "The device's name and state while it existed")]
    public string CreateAndDeleteFromThread(string name)
    {
        string? status = null;
        var thread = new Thread(() =>
        {
            var device = Server.CreateDevice("TangoNetDynamic", name);
            status = $"{device.Name} {device.State}";
            Server.DeleteDevice(name);
        });
        thread.Start();
        thread.Join();
        return status ?? "";
    }

    [Command(DisplayLevel = DispLevel.Expert, Description = "Lists the server's devices", OutDescription = "class::name of each device, sorted")]
    public string[] ListDevices() => Server.Devices.Select(d => $"{d.ClassName}::{d.Name}").Order().ToArray();

    /// <summary>A JSON summary of what the device read from its properties.</summary>
    [Command(DisplayLevel = DispLevel.Expert,
        Description = "What the device read from its properties", OutDescription = "JSON: UShort_image_ro_size and Greeting")]
    public string Properties() => JsonSerializer.Serialize(new { UShort_image_ro_size, Greeting });

    protected override void Delete()
    {
        StopPushing();
        FailIfAsked("Delete");
    }

    private void StopPushing()
    {
        _pushing = false;
        _pusher?.Join();
        _pusher = null;
    }
}

/// <summary>A failure of the (imaginary) hardware, mapped to a DevFailed by <see cref="TangoNetTestDevice.OnError"/>.</summary>
public sealed class HardwareFault(string message) : Exception(message);

/// <summary>A second class: the devices TangoNetTest creates and deletes at run time.</summary>
[TangoClass("TangoNetDynamic")]
public sealed class TangoNetDynamicDevice : Device
{
    [DeviceProperty(Description = "The text of the label attribute")] public string Label { get; set; } = "none";

    [Attr("label", Description = "The Label device property")] public string LabelAttr => Label;

    [Attr("value", Memorized = true, Description = "A memorized read/write double")] public double Value { get; set; }

    protected override void Init() => State = DevState.On;

    protected override string ReadStatus() => $"{Name} holds {Value}";
}
