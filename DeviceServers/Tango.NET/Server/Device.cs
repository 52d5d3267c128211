using System.Linq.Expressions;
using Tango.Interop;

namespace Tango.Server;

/// <summary>
/// Base class of a Tango device written in C#. Declare the interface with <see cref="TangoClassAttribute"/>,
/// <see cref="AttrAttribute"/>, <see cref="CommandAttribute"/>, <see cref="DevicePropertyAttribute"/>; override
/// <see cref="Init"/> and <see cref="Delete"/> for the lifecycle. cppTango creates one instance per device (again
/// after the admin device's DevRestart) and calls it on its own threads, serialised per device.
/// </summary>
public abstract class Device
{
    private nint _native;
    private volatile bool _alive;
    private volatile bool _deleting;
    private int _inFlight;
    private string _status = "";
    private NLog.Logger? _logger;
    private EventQueue? _events;
    private readonly Lock _eventsGate = new();
    private readonly Dictionary<string, AttrBinding> _dynamic = new(StringComparer.OrdinalIgnoreCase);

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
        get => _alive ? (DevState)ServerNative.DevGetState(_native) : DevState.Unknown;
        set => WithNative(dev => ServerNative.DevSetState(dev, (int)value));
    }

    /// <summary>The device status (<c>set_status</c>).</summary>
    public unsafe string Status
    {
        get => _status;
        set
        {
            _status = value;
            WithNative(dev =>
            {
                using var arena = new NativeArena();
                return ServerNative.DevSetStatus(dev, arena.Str(value));
            });
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

    /// <summary>Pushes a change event from any thread (declare the attribute with <c>PushChangeEvent = true</c>).</summary>
    public void PushChangeEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Push(attribute, TnsEventKind.Change, value, quality);

    public void PushArchiveEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Push(attribute, TnsEventKind.Archive, value, quality);

    /// <summary>Pushes a user event (always sent, no criteria).</summary>
    public void PushUserEvent(string attribute, object value, AttrQuality quality = AttrQuality.Valid) =>
        Push(attribute, TnsEventKind.User, value, quality);

    /// <summary>Tells data-ready subscribers that new data is available (declare with <c>DataReadyEvent = true</c>).</summary>
    public unsafe void PushDataReadyEvent(string attribute, int counter) => WithNative(dev =>
    {
        if (_deleting)
            return 0;
        using var arena = new NativeArena();
        return ServerNative.DevPushDataReady(dev, arena.Str(attribute), counter);
    });

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

    private void Post(Action push)
    {
        if (_deleting || !_alive)
            return;
        var queue = Volatile.Read(ref _events);
        if (queue is null)
        {
            lock (_eventsGate)
                queue = _events ??= new EventQueue(this);
        }
        queue.Post(push);
    }

    /// <summary>Declares at run time that code pushes change events for an attribute.</summary>
    public unsafe void SetChangeEvent(string attribute, bool implemented, bool checkCriteria = false) => WithNative(dev =>
    {
        using var arena = new NativeArena();
        return ServerNative.DevSetEventFlags(dev, arena.Str(attribute), TnsEventKind.Change, implemented ? 1 : 0, checkCriteria ? 1 : 0);
    });

    public unsafe void SetArchiveEvent(string attribute, bool implemented, bool checkCriteria = false) => WithNative(dev =>
    {
        using var arena = new NativeArena();
        return ServerNative.DevSetEventFlags(dev, arena.Str(attribute), TnsEventKind.Archive, implemented ? 1 : 0, checkCriteria ? 1 : 0);
    });

    /// <summary>Starts polling an attribute (<paramref name="periodMs"/> &gt; 0) or stops it (0).</summary>
    public unsafe void PollAttribute(string attribute, int periodMs) => WithNative(dev =>
    {
        using var arena = new NativeArena();
        return ServerNative.DevPoll(dev, TnsMemberKind.Attribute, arena.Str(attribute), periodMs);
    });

    public unsafe void PollCommand(string command, int periodMs) => WithNative(dev =>
    {
        using var arena = new NativeArena();
        return ServerNative.DevPoll(dev, TnsMemberKind.Command, arena.Str(command), periodMs);
    });

    /// <summary>Adds an attribute to this device only. Without <paramref name="write"/> it is read-only.</summary>
    public unsafe void AddAttribute<T>(string name, Func<T> read, Action<T>? write = null, AttrAttribute? options = null)
    {
        var spec = AttributeSpec.Create(name, typeof(T), true, write is not null, options);
        var binding = Registry.Add(new AttrBinding(spec, _ => Expression.Invoke(Expression.Constant(read)),
            write is null ? null : (_, v) => write((T)v!), null));
        WithNative(dev => binding.Describe(desc => ServerNative.DevAddAttr(dev, (TnsAttrDesc*)desc)));
        lock (_dynamic)
            _dynamic[name] = binding;
    }

    public unsafe void RemoveAttribute(string name)
    {
        WithNative(dev =>
        {
            using var arena = new NativeArena();
            return ServerNative.DevRemoveAttr(dev, arena.Str(name));
        });
        lock (_dynamic)
            _dynamic.Remove(name);
    }

    private unsafe void Push(string attribute, TnsEventKind kind, object value, AttrQuality quality)
    {
        if (_deleting)
            return;
        var binding = FindAttribute(attribute)
                      ?? throw new DevFailedException("API_AttrNotFound", $"{attribute} attribute not found", Name);
        using var pinned = PinnedValue.Create(value, binding.Spec.Type, binding.Shape);
        using var arena = new NativeArena();
        var data = pinned.Data;
        if (!Enter(out var dev))
            return;
        try
        {
            ShimErrors.Check(ServerNative.DevPushEvent(dev, arena.Str(binding.Spec.Name), kind, &data, pinned.DimX,
                pinned.DimY, (int)quality));
        }
        finally
        {
            Exit();
        }
    }

    internal AttrBinding? FindAttribute(string name)
    {
        if (Class.Attributes.TryGetValue(name, out var b))
            return b;
        lock (_dynamic)
            return _dynamic.GetValueOrDefault(name);
    }

    // The native device exists from the create callback until the destroy callback. Calls from other threads
    // count themselves in, so that Detach can wait for them before cppTango frees the device.
    private void WithNative(Func<nint, int> call)
    {
        if (!Enter(out var dev))
            return;
        try
        {
            ShimErrors.Check(call(dev));
        }
        finally
        {
            Exit();
        }
    }

    private bool Enter(out nint dev)
    {
        Interlocked.Increment(ref _inFlight);
        dev = _native;
        if (_alive && dev != 0)
            return true;
        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    private void Exit() => Interlocked.Decrement(ref _inFlight);

    internal void Attach(nint native, string name, ClassBinding cls)
    {
        _native = native;
        Name = name;
        Class = cls;
        _alive = true;
    }

    /// <summary>Called as cppTango destroys the device: later calls become no-ops, running ones finish first.</summary>
    internal void Detach()
    {
        _alive = false;
        _events?.Complete();
        // A push waiting for the device monitor gives up after cppTango's monitor timeout (3.2 s).
        var deadline = Environment.TickCount64 + 5000;
        while (Volatile.Read(ref _inFlight) > 0 && Environment.TickCount64 < deadline)
            Thread.Sleep(1);
        _native = 0;
    }

    internal void Log(int level, Func<string> message)
    {
        if (!Enter(out var dev))
            return;
        try
        {
            TangoLogTarget.Log(dev, level, message());
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>delete_device starts: pushes from other threads are dropped from now on, until the next init.</summary>
    internal void BeginDelete()
    {
        _deleting = true;
        _events?.Forget();
    }

    internal void EndDelete() => _deleting = false;

    internal unsafe void ReadProperties()
    {
        foreach (var p in Class.Spec.Properties)
        {
            string[]? values = null;
            var count = 0;
            WithNative(dev =>
            {
                using var arena = new NativeArena();
                int n;
                var rc = ServerNative.DevGetProperty(dev, p.IsClassProperty ? TnsPropertyScope.Class : TnsPropertyScope.Device,
                    arena.Str(p.Name), &n);
                count = n;
                if (rc == 0 && count >= 0)
                {
                    values = new string[count];
                    for (var i = 0; i < count; i++)
                        values[i] = new string((sbyte*)ServerNative.PropValue(i));
                }
                return rc;
            });
            if (values is not null)
                p.Property.SetValue(this, PropertyValue.Parse(values, p.Property.PropertyType));
            else if (p.Mandatory && count == (int)TnsPropertyCount.NotSet)
                throw new DevFailedException("API_MissingDeviceProperty",
                    $"Device property {p.Name} of {Name} is mandatory and not set in the Tango DB", $"{ClassName}::Init");
        }
    }

    public override string ToString() => $"{ClassName}({Name})";
}
