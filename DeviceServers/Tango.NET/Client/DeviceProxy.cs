using System.Collections.Concurrent;
using System.Globalization;
using Tango.Interop;

namespace Tango.Client;

/// <summary>
/// A client of one Tango device (cppTango's <c>DeviceProxy</c>). Thread-safe: calls from several threads run
/// concurrently. Failures throw <see cref="DevFailedException"/> with the server's error stack.
/// </summary>
/// <remarks>
/// The *Async methods run the blocking call on a thread of its own. cppTango's own asynchronous requests would
/// save that thread, but they need a process-wide callback thread (push model) and a second marshalling path;
/// Lima2 fans out control commands of milliseconds to a handful of receivers, where starting a thread costs
/// tens of microseconds, and sync and async share one code path (marshalling, errors, omni thread setup).
/// Not the thread pool: a call blocked in native code does not count as blocked for the pool, so fanning
/// out to more devices than the pool has threads would serialise the calls while the pool slowly grows.
/// omniORB serves concurrent calls to one device on separate connections.
/// </remarks>
public sealed unsafe class DeviceProxy : IDisposable
{
    private readonly ProxyHandle _handle;
    private readonly ConcurrentDictionary<string, CommandInfo> _commands = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, AttributeInfo> _attributes = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<EventSubscription> _subscriptions = [];

    /// <summary>Connects to <paramref name="name"/>: <c>domain/family/member</c> (through TANGO_HOST),
    /// <c>tango://host:port/domain/family/member</c>, or <c>…#dbase=no</c> for a server run with -nodb.</summary>
    public DeviceProxy(string name)
    {
        using var n = new NativeStrings(name);
        ShimErrors.Check(ClientNative.ProxyCreate(n[0], out _handle));
        Name = TakeSingle(ClientNative.Name(_handle, out var table), table);
    }

    /// <summary>The device name as cppTango resolved it.</summary>
    public string Name { get; }

    /// <summary>The client-side timeout of every call (cppTango's default is 3 s).</summary>
    public TimeSpan Timeout
    {
        get
        {
            ShimErrors.Check(ClientNative.GetTimeout(_handle, out var ms));
            return TimeSpan.FromMilliseconds(ms);
        }
        set => ShimErrors.Check(ClientNative.SetTimeout(_handle, checked((int)value.TotalMilliseconds)));
    }

    /// <summary>Where attribute reads come from: the device (default), the polling buffer, or both.</summary>
    public DevSource Source
    {
        set => ShimErrors.Check(ClientNative.SetSource(_handle, (int)value));
    }

    /// <summary>Round-trip time of a ping to the device.</summary>
    public TimeSpan Ping()
    {
        ShimErrors.Check(ClientNative.Ping(_handle, out var micros));
        return TimeSpan.FromMicroseconds(micros);
    }

    public DevState State()
    {
        ShimErrors.Check(ClientNative.State(_handle, out var state));
        return (DevState)state;
    }

    public string Status() => TakeSingle(ClientNative.Status(_handle, out var table), table);

    /// <summary>The device's class, server and host (<c>DeviceProxy::info()</c>).</summary>
    public DeviceInfo Info()
    {
        ShimErrors.Check(ClientNative.Info(_handle, out var table));
        var r = NativeText.TakeTable(table)[0];
        return new DeviceInfo(r[0], r[1], r[2], r[3], int.Parse(r[4], CultureInfo.InvariantCulture), r[5], r[6]);
    }

    // ---- commands ----

    /// <summary>Runs a command. The argument is converted to the command's input type (an int to DevShort, an
    /// int[] to DevVarDoubleArray, ...); the result is a scalar, an array, <see cref="LongStringArray"/>,
    /// <see cref="DoubleStringArray"/>, <see cref="DevEncoded"/>, or null for DevVoid. DevVarStateArray is not a
    /// command type in cppTango 9.3.4 (DeviceData has no operators for it, servers cannot declare such commands):
    /// it fails with TangoNet_UnsupportedType.</summary>
    public object? Command(string name, object? argument = null)
    {
        nint values = 0;
        using var n = new NativeStrings(name);
        // An unknown command is sent without argument, so the error is the server's own API_CommandNotFound.
        var inType = argument is null || !TryCommandInfo(name, out var info) ? TangoType.DevVoid : info.InType;
        if (inType == TangoType.DevVoid)
            ShimErrors.Check(ClientNative.Command(_handle, n[0], null, out values));
        else
            ShimErrors.Check(ValueCodec.WithCommandArgument(argument, inType, d => ClientNative.Command(_handle, n[0], d, out values)));
        return TakeValues(values, static (in TnsValue d) => ValueCodec.ToCommandValue(d))[0];
    }

    /// <summary>Runs a command and converts its result to <typeparamref name="T"/>.</summary>
    public T Command<T>(string name, object? argument = null) =>
        ValueCodec.ConvertTo<T>(Command(name, argument) ?? throw new InvalidOperationException($"command {name} returned nothing"));

    public Task<object?> CommandAsync(string name, object? argument = null, CancellationToken cancellation = default) =>
        OnOwnThread(() => Command(name, argument), cancellation);

    public Task<T> CommandAsync<T>(string name, object? argument = null, CancellationToken cancellation = default) =>
        OnOwnThread(() => Command<T>(name, argument), cancellation);

    /// <summary>The signatures of all commands (<c>command_list_query</c>).</summary>
    public IReadOnlyList<CommandInfo> CommandListQuery()
    {
        ShimErrors.Check(ClientNative.CommandQuery(_handle, out var table));
        var commands = NativeText.TakeTable(table).Select(r => new CommandInfo(r[0], (TangoType)Int(r[1]),
            (TangoType)Int(r[2]), r[3], r[4], (DispLevel)Int(r[5]))).ToList();
        foreach (var c in commands)
            _commands[c.Name] = c;
        return commands;
    }

    private bool TryCommandInfo(string name, out CommandInfo info)
    {
        if (!_commands.ContainsKey(name))
            CommandListQuery();
        return _commands.TryGetValue(name, out info!);
    }

    // ---- attributes ----

    public DeviceAttribute ReadAttribute(string name) => ReadAttributes(name)[0];

    /// <summary>Reads several attributes in one call; throws if any of them failed.</summary>
    public IReadOnlyList<DeviceAttribute> ReadAttributes(params IReadOnlyList<string> names)
    {
        using var n = new NativeStrings(names);
        ShimErrors.Check(ClientNative.Read(_handle, n.Pointers, n.Count, out var values));
        return TakeValues(values, static (in TnsValue d) => ValueCodec.ToAttribute(d));
    }

    /// <summary>
    /// Reads a numeric attribute into <paramref name="destination"/> without allocating for the value: the frame
    /// path, with one buffer (pooled or pinned) reused read after read. A fresh 2 MiB array per read costs a
    /// large-object allocation and frequent gen2 collections; this copies the elements once, native to managed.
    /// <typeparamref name="T"/> must be the element type itself (ushort for DevUShort, short for DevEnum).
    /// </summary>
    public AttributeReadInfo ReadInto<T>(string name, Span<T> destination)
        where T : unmanaged
    {
        using var n = new NativeStrings(name);
        ShimErrors.Check(ClientNative.Read(_handle, n.Pointers, 1, out var values));
        try
        {
            TnsValue d;
            ShimErrors.Check(ClientNative.ValuesGet(values, 0, &d));
            return ValueCodec.CopyInto(d, destination);
        }
        finally
        {
            ClientNative.ValuesFree(values);
        }
    }

    /// <summary>Reads an attribute's value converted to <typeparamref name="T"/> (scalar, T[] or T[,]).</summary>
    public T Read<T>(string name) => ReadAttribute(name).Get<T>();

    public Task<DeviceAttribute> ReadAsync(string name, CancellationToken cancellation = default) =>
        OnOwnThread(() => ReadAttribute(name), cancellation);

    public Task<T> ReadAsync<T>(string name, CancellationToken cancellation = default) =>
        OnOwnThread(() => Read<T>(name), cancellation);

    /// <summary>Writes an attribute: a scalar, an array (SPECTRUM) or a [y, x] array (IMAGE), converted to the
    /// attribute's type (its configuration is fetched once per proxy).</summary>
    public void Write<T>(string name, T value)
        where T : notnull
    {
        var config = _attributes.TryGetValue(name, out var c) ? c : GetAttributeConfig(name);
        ShimErrors.Check(ValueCodec.WithAttributeValue(config.Name, value, config.DataType, config.DataFormat,
            d => ClientNative.Write(_handle, d)));
    }

    /// <summary>Writes several attributes in one call (cppTango's write_attributes), each converted like
    /// <see cref="Write{T}"/>. When some fail, the exception holds each one's errors, named, then the summary.</summary>
    public void WriteAttributes(IEnumerable<KeyValuePair<string, object>> values)
    {
        var list = values.Select(v => (Value: v.Value, Config: _attributes.TryGetValue(v.Key, out var c) ? c : GetAttributeConfig(v.Key)))
            .ToArray();
        var laid = new TnsValue[list.Length];
        // each value stays pinned (or in native memory) while the next ones are laid out inside its callback
        int Lay(int i)
        {
            if (i == list.Length)
            {
                fixed (TnsValue* all = laid)
                    return ClientNative.WriteMany(_handle, all, laid.Length);
            }
            var (value, config) = list[i];
            return ValueCodec.WithAttributeValue(config.Name, value, config.DataType, config.DataFormat, d =>
            {
                laid[i] = *d;
                return Lay(i + 1);
            });
        }
        ShimErrors.Check(Lay(0));
    }

    public Task WriteAsync<T>(string name, T value, CancellationToken cancellation = default)
        where T : notnull =>
        OnOwnThread(() =>
        {
            Write(name, value);
            return true;
        }, cancellation);

    public IReadOnlyList<string> GetAttributeList() => TakeRow(ClientNative.AttributeList(_handle, out var table), table);

    /// <summary>An attribute's configuration, fresh from the device.</summary>
    public AttributeInfo GetAttributeConfig(string name)
    {
        using var n = new NativeStrings(name);
        ShimErrors.Check(ClientNative.AttributeQuery(_handle, n[0], out var table));
        var info = ConfigFrom(NativeText.TakeTable(table));
        _attributes[name] = info;
        return info;
    }

    // ---- polling ----

    /// <summary>Asks the device server to poll an attribute (needed before subscribing to its events).</summary>
    public void PollAttribute(string name, TimeSpan period)
    {
        using var n = new NativeStrings(name);
        ShimErrors.Check(ClientNative.Poll(_handle, n[0], Math.Max(1, checked((int)period.TotalMilliseconds))));
    }

    public void StopPollAttribute(string name)
    {
        using var n = new NativeStrings(name);
        ShimErrors.Check(ClientNative.Poll(_handle, n[0], 0));
    }

    /// <summary>The attribute's polling period, or null when it is not polled.</summary>
    public TimeSpan? GetAttributePollPeriod(string name)
    {
        using var n = new NativeStrings(name);
        ShimErrors.Check(ClientNative.PollPeriod(_handle, n[0], out var ms));
        return ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;
    }

    public bool IsAttributePolled(string name) => GetAttributePollPeriod(name) is not null;

    // ---- events ----

    /// <summary>
    /// Subscribes to an attribute's events. <paramref name="callback"/> runs on cppTango's event thread, first
    /// with the current value (before this returns), then on every event; errors (server gone, heartbeat lost)
    /// arrive as events with <see cref="EventData.Error"/> set. Exceptions thrown by the callback are traced
    /// and dropped. Dispose the result to unsubscribe; never from inside the callback.
    /// With <paramref name="stateless"/>, subscribing to a device that is down succeeds and connects later.
    /// An event the server pushes within moments of Subscribe returning can be lost (ZeroMQ's slow joiner, seen
    /// on a loaded machine): when the first value matters, rely on the initial callback or read the attribute.
    /// </summary>
    public IDisposable Subscribe(string attribute, EventType type, Action<EventData> callback, bool stateless = false)
    {
        var subscription = new EventSubscription(this, type, callback);
        using var n = new NativeStrings(attribute);
        subscription.Start(h => ClientNative.Subscribe(_handle, n[0], (int)type, stateless ? 1 : 0,
            &EventSubscription.OnEvent, h, out var id, out var native) == 0 ? (id, native) : null);
        lock (_subscriptions)
            _subscriptions.Add(subscription);
        return subscription;
    }

    internal int Unsubscribe(EventSubscription subscription, int id, nint native)
    {
        lock (_subscriptions)
            _subscriptions.Remove(subscription);
        return ClientNative.Unsubscribe(_handle, id, native);
    }

    public void Dispose()
    {
        EventSubscription[] subscriptions;
        lock (_subscriptions)
            subscriptions = [.. _subscriptions];
        foreach (var s in subscriptions)
            s.Dispose();
        _handle.Dispose();
    }

    public override string ToString() => $"DeviceProxy({Name})";

    private static Task<T> OnOwnThread<T>(Func<T> call, CancellationToken cancellation) =>
        Task.Factory.StartNew(call, cancellation, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    // ---- holders ----

    internal delegate T ValueReader<out T>(in TnsValue data);

    /// <summary>Converts and frees a shim value holder; a failed element throws its own error stack.</summary>
    internal static IReadOnlyList<T> TakeValues<T>(nint values, ValueReader<T> read)
    {
        try
        {
            var result = new T[ClientNative.ValuesCount(values)];
            for (var i = 0; i < result.Length; i++)
            {
                TnsValue d;
                ShimErrors.Check(ClientNative.ValuesGet(values, i, &d));
                result[i] = read(d);
            }
            return result;
        }
        finally
        {
            ClientNative.ValuesFree(values);
        }
    }

    private static string TakeSingle(int rc, nint table)
    {
        ShimErrors.Check(rc);
        return NativeText.TakeTable(table)[0][0];
    }

    private static string[] TakeRow(int rc, nint table)
    {
        ShimErrors.Check(rc);
        return NativeText.TakeTable(table)[0];
    }

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>An attribute configuration from the shim's table (tns_proxy_attribute_query's layout).</summary>
    internal static AttributeInfo ConfigFrom(string[][] rows)
    {
        var r = rows[0];
        return new AttributeInfo(r[0], (TangoType)Int(r[1]), (AttrDataFormat)Int(r[2]), (AttrWriteType)Int(r[3]),
            Int(r[4]), Int(r[5]), r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15],
            (DispLevel)Int(r[16]), r[17], rows[1]);
    }
}
