using System.Linq.Expressions;
using Tango.Interop;

namespace Tango.Server;

/// <summary>
/// Base class of a Tango device written in C#. Declare the interface with <see cref="TangoClassAttribute"/>,
/// <see cref="AttrAttribute"/>, <see cref="CommandAttribute"/>, <see cref="DevicePropertyAttribute"/>; override
/// <see cref="Init"/> and <see cref="Delete"/> for the lifecycle and <see cref="OnError"/> to map exceptions.
/// cppTango creates one instance per device (again after the admin device's DevRestart) and calls it on its own
/// threads, serialised per device. The binding's side of the class is in Device.Binding.cs.
/// </summary>
public abstract partial class Device
{
    internal ClassBinding Class { get; set; } = null!;

    /// <summary>The device name (domain/family/member), lower case as cppTango keeps it.</summary>
    public string Name { get; internal set; } = "";

    /// <summary>This device's logger: messages go to Tango logging (-v levels, logging targets) as this device's.</summary>
    public NLog.Logger Logger => _logger ??= NLog.LogManager.GetLogger($"{ClassName}.{Name}")
        .WithProperty(TangoLogTarget.DeviceProperty, this);

    /// <summary>The Tango class name.</summary>
    public string ClassName => Class.Spec.Name;

    /// <summary>The server this device runs in.</summary>
    public TangoServer Server => TangoServer.Current ?? throw new InvalidOperationException("no server is running");

    /// <summary>The device state (<c>set_state</c> / <c>get_state</c>).</summary>
    public DevState State
    {
        get => _native.Call(ServerProxy.DevGetState, DevState.Unknown);
        set => _native.Call(dev => ServerProxy.DevSetState(dev, value));
    }

    /// <summary>The device status (<c>set_status</c>).</summary>
    public string Status
    {
        get => _status;
        set
        {
            _status = value;
            _native.Call(dev => ServerProxy.DevSetStatus(dev, value));
        }
    }

    /// <summary><c>init_device</c>: at creation and on the Init command, after the properties were read.</summary>
    protected internal virtual void Init()
    {
    }

    /// <summary><c>delete_device</c>: on the Init command and before the device is destroyed. Stop every thread
    /// that uses this device here; pushes after this return are dropped.</summary>
    protected internal virtual void Delete()
    {
    }

    /// <summary>Override to compute the state when a client reads it (<c>dev_state</c>).</summary>
    protected internal virtual DevState ReadState() => State;

    /// <summary>Override to compute the status when a client reads it (<c>dev_status</c>).</summary>
    protected internal virtual string ReadStatus() => Status;

    /// <summary>
    /// The one place where a device maps its exceptions to what the client sees (PyTango's
    /// <c>always_executed_hook</c>, JTango's <c>@AroundInvoke</c>). Called, on the request's thread, when an
    /// attribute read or write, a command, an is-allowed check, State, Status, Init or Delete of this device
    /// throws, before the error goes to the client. <paramref name="member"/> is the Tango name of the attribute
    /// or command ("State", "Status", "Init", "Delete" for those). Return the exception to report: a
    /// <see cref="DevFailedException"/> keeps its reason/desc/origin, any other one becomes one error with
    /// reason = its type name, desc = its message, origin = <paramref name="member"/>. The default returns
    /// <paramref name="error"/> unchanged. If the override throws, that is logged and the original error is reported.
    /// </summary>
    protected internal virtual Exception OnError(Exception error, string member) => error;

    // ---- events: declare the attribute with PushChangeEvent / PushArchiveEvent / DataReadyEvent = true ----

    /// <summary>Pushes a change event now, from any thread but one that a command holding the device monitor waits
    /// for (use <see cref="PostChangeEvent"/> there).</summary>
    public void PushChangeEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Push(attribute, TnsEventKind.Change, value, quality);

    public void PushArchiveEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Push(attribute, TnsEventKind.Archive, value, quality);

    /// <summary>Pushes a user event (always sent, no criteria).</summary>
    public void PushUserEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Push(attribute, TnsEventKind.User, value, quality);

    /// <summary>Tells data-ready subscribers that new data is available.</summary>
    public void PushDataReadyEvent(string attribute, int counter)
    {
        if (!_deleting)
            _native.Call(dev => ServerProxy.DevPushDataReady(dev, attribute, counter));
    }

    /// <summary>
    /// Queues a change event and returns at once; this device's posted events are pushed in the order they were
    /// posted, by a task of their own. Use it from threads that a command holding the device monitor may wait for
    /// (a run's end that a Stop command waits for): a direct push there blocks until the monitor timeout and fails.
    /// The value is pushed as it is when its turn comes: post values nobody changes afterwards. Failures are logged;
    /// when more than 4096 events wait, the oldest give way. Events posted before <see cref="Delete"/> starts are
    /// not pushed after it.
    /// </summary>
    public void PostChangeEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Post(() => PushChangeEvent(attribute, value, quality));

    /// <summary>Queues an archive event (see <see cref="PostChangeEvent"/>).</summary>
    public void PostArchiveEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Post(() => PushArchiveEvent(attribute, value, quality));

    /// <summary>Queues a user event (see <see cref="PostChangeEvent"/>).</summary>
    public void PostUserEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Post(() => PushUserEvent(attribute, value, quality));

    /// <summary>Queues a data-ready event (see <see cref="PostChangeEvent"/>).</summary>
    public void PostDataReadyEvent(string attribute, int counter) => Post(() => PushDataReadyEvent(attribute, counter));

    /// <summary>Declares at run time that code pushes change events for an attribute.</summary>
    public void SetChangeEvent(string attribute, bool implemented, bool checkCriteria = false) =>
        _native.Call(dev => ServerProxy.DevSetEventFlags(dev, attribute, TnsEventKind.Change, implemented, checkCriteria));

    public void SetArchiveEvent(string attribute, bool implemented, bool checkCriteria = false) =>
        _native.Call(dev => ServerProxy.DevSetEventFlags(dev, attribute, TnsEventKind.Archive, implemented, checkCriteria));

    // ---- polling and dynamic attributes ----

    /// <summary>Starts polling an attribute (<paramref name="periodMs"/> &gt; 0) or stops it (0).</summary>
    public void PollAttribute(string attribute, int periodMs) =>
        _native.Call(dev => ServerProxy.DevPoll(dev, TnsMemberKind.Attribute, attribute, periodMs));

    public void PollCommand(string command, int periodMs) =>
        _native.Call(dev => ServerProxy.DevPoll(dev, TnsMemberKind.Command, command, periodMs));

    /// <summary>Adds an attribute to this device only. Without <paramref name="write"/> it is read-only.</summary>
    public void AddAttribute<T>(string name, Func<T> read, Action<T>? write = null, AttrAttribute? options = null)
    {
        var spec = AttributeSpec.Create(name, typeof(T), true, write is not null, options);
        var binding = Registry.Add(new AttrBinding(spec, _ => Expression.Invoke(Expression.Constant(read)),
            write is null ? null : (_, v) => write((T)v!), null));
        _native.Call(dev => binding.Describe(desc => ServerProxy.DevAddAttr(dev, desc)));
        lock (_dynamic)
            _dynamic[name] = binding;
    }

    public void RemoveAttribute(string name)
    {
        _native.Call(dev => ServerProxy.DevRemoveAttr(dev, name));
        lock (_dynamic)
            _dynamic.Remove(name);
    }

    public override string ToString() => $"{ClassName}({Name})";
}
