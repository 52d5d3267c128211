using Tango.Interop;

namespace Tango.Server;

// The binding's side of Device: the native device's lifetime, the calls ServerCallbacks makes, the event queue.
public abstract partial class Device
{
    private readonly DeviceHandle _native = new();
    private volatile bool _deleting;
    private string _status = "";
    private NLog.Logger? _logger;
    private EventQueue? _events;
    private readonly Lock _eventsGate = new();
    private readonly Dictionary<string, AttrBinding> _dynamic = new(StringComparer.OrdinalIgnoreCase);

    internal void Attach(nint native, string name, ClassBinding cls)
    {
        Name = name;
        Class = cls;
        _native.Attach(native);
    }

    /// <summary>Called as cppTango destroys the device: later calls become no-ops, running ones finish first.</summary>
    internal void Detach()
    {
        _native.Detach(TimeSpan.FromSeconds(5));
        lock (_eventsGate)
            _events?.Complete();
    }

    /// <summary>delete_device starts: pushes from other threads are dropped from now on, until the next init.</summary>
    internal void BeginDelete()
    {
        _deleting = true;
        _events?.Forget();
    }

    internal void EndDelete() => _deleting = false;

    internal void ReadProperties()
    {
        foreach (var p in Class.Spec.Properties)
        {
            string[]? values = null;
            var missing = TnsPropertyCount.NoDatabase;
            _native.Call(dev => values = ServerProxy.DevGetProperty(dev,
                p.IsClassProperty ? TnsPropertyScope.Class : TnsPropertyScope.Device, p.Name, out missing));
            if (values is not null)
                p.Property.SetValue(this, PropertyValue.Parse(values, p.Property.PropertyType));
            else if (p.Mandatory && missing == TnsPropertyCount.NotSet)
                throw new DevFailedException("API_MissingDeviceProperty",
                    $"Device property {p.Name} of {Name} is mandatory and not set in the Tango DB", $"{ClassName}::Init");
        }
    }

    internal AttrBinding? FindAttribute(string name)
    {
        if (Class.Attributes.TryGetValue(name, out var b))
            return b;
        lock (_dynamic)
            return _dynamic.GetValueOrDefault(name);
    }

    internal void Log(int level, Func<string> message) => _native.Call(dev => ServerProxy.Log(dev, level, message()));

    private void Push(string attribute, TnsEventKind kind, object value, AttrQuality quality)
    {
        if (_deleting)
            return;
        var binding = FindAttribute(attribute)
                      ?? throw new DevFailedException("API_AttrNotFound", $"{attribute} attribute not found", Name);
        var pinned = PinnedValue.Create(value, binding.Spec.Type, binding.Shape);
        try
        {
            _native.Call(dev => ServerProxy.DevPushEvent(dev, binding.Spec.Name, kind, pinned.Data, pinned.DimX,
                pinned.DimY, quality));
        }
        finally
        {
            pinned.Dispose();
        }
    }

    private void Post(Action push)
    {
        if (_deleting || !_native.IsAlive)
            return;
        var queue = Volatile.Read(ref _events);
        if (queue is null)
        {
            lock (_eventsGate)
                queue = _events ??= new EventQueue(Logger);
        }
        queue.Post(push);
    }
}
