using System.Diagnostics;
using System.Runtime.InteropServices;
using Tango.Interop;

namespace Tango.Client;

/// <summary>One event delivered to a subscription callback.</summary>
public sealed class EventData
{
    internal EventData(string deviceName, string attributeName, string eventName, EventType type,
        DevFailedException? error, DeviceAttribute? value, int counter, TangoType dataType, AttributeInfo? config)
    {
        DeviceName = deviceName;
        AttributeName = attributeName;
        EventName = eventName;
        Type = type;
        Error = error;
        Value = value;
        Counter = counter;
        DataType = dataType;
        Config = config;
    }

    public string DeviceName { get; }

    /// <summary>The attribute as cppTango names it in events (a full <c>tango://…/attr</c> name).</summary>
    public string AttributeName { get; }

    /// <summary>cppTango's event name: <c>change</c>, <c>periodic</c>, <c>archive</c>, <c>user_event</c>,
    /// <c>attr_conf</c>, <c>data_ready</c>.</summary>
    public string EventName { get; }

    public EventType Type { get; }

    /// <summary>Set when the event reports a failure instead of a value.</summary>
    public DevFailedException? Error { get; }

    public bool IsError => Error is not null;

    /// <summary>The attribute value (attribute events without error).</summary>
    public DeviceAttribute? Value { get; }

    /// <summary>Data-ready events: the counter the server pushed.</summary>
    public int Counter { get; }

    /// <summary>Data-ready events: the attribute's data type.</summary>
    public TangoType DataType { get; }

    /// <summary>Attribute configuration events: the new configuration.</summary>
    public AttributeInfo? Config { get; }
}

/// <summary>A live subscription; the native callback reaches it through a GCHandle.</summary>
internal sealed unsafe class EventSubscription(DeviceProxy proxy, EventType type, Action<EventData> callback) : IDisposable
{
    private GCHandle _self;
    private int _id;
    private nint _native;
    private bool _disposed;

    /// <summary>Subscribes with <paramref name="subscribe"/>, which gets the callback's user pointer and
    /// returns (event id, native callback) or null on failure (the error is on the thread's channel).</summary>
    internal void Start(Func<nint, (int Id, nint Native)?> subscribe)
    {
        _self = GCHandle.Alloc(this);
        var result = subscribe(GCHandle.ToIntPtr(_self));
        if (result is null)
        {
            var error = ShimErrors.Last();
            _self.Free();
            throw error;
        }
        (_id, _native) = result.Value;
    }

    [UnmanagedCallersOnly]
    internal static void OnEvent(nint user, TnsEvent* ev)
    {
        try
        {
            var self = (EventSubscription)GCHandle.FromIntPtr(user).Target!;
            self.Deliver(ev);
        }
        catch (Exception e)
        {
            // Nothing may escape into cppTango's event thread: that would abort the process.
            Trace.TraceError($"Tango event callback failed: {e}");
        }
    }

    private void Deliver(TnsEvent* ev)
    {
        var error = ev->Err != 0 ? ShimErrors.Last() : null;
        var value = ev->Value != 0 ? ReadValue(ev->Value) : null;
        var config = ev->Config != 0 ? DeviceProxy.ConfigFrom(NativeText.ReadTable(ev->Config)) : null;
        callback(new EventData(NativeText.Read(ev->Device), NativeText.Read(ev->AttrName), NativeText.Read(ev->Event),
            type, error, value, ev->Ctr, (TangoType)ev->DataType, config));
    }

    // The event's value holder belongs to the shim and lives until the callback returns.
    private static DeviceAttribute ReadValue(nint values)
    {
        TnsValue d;
        ShimErrors.Check(ClientNative.ValuesGet(values, 0, &d));
        return ValueCodec.ToAttribute(d);
    }

    public void Dispose()
    {
        lock (this)
        {
            if (_disposed)
                return;
            _disposed = true;
        }
        // On failure the native side may still call back, so the GCHandle stays (a small leak, never a crash).
        if (proxy.Unsubscribe(this, _id, _native) == 0)
            _self.Free();
    }
}
