using Lima2.Protocol;
using Tango.Client;

namespace Lima2.Server.Control;

/// <summary>A receiver device reached through the Tango.NET client; the proxy is made on first use and again after a failure.</summary>
public sealed class TangoReceiverLink(string name, TimeSpan timeout) : IReceiverLink
{
    private readonly Lock _lock = new();
    private DeviceProxy? _proxy;

    public string Name { get; } = name;

    public ReceiverSnapshot Read() => Use(p =>
    {
        var values = p.ReadAttributes("acq_state", "nb_frames_received", "nb_frames_saved", "current_pipeline");
        return new ReceiverSnapshot((AcqState)values[0].Get<short>(), values[1].Get<long>(), values[2].Get<long>(), values[3].Get<string>());
    });

    public string LastError() => Use(p => p.Read<string>("last_error"));

    public void Start() => Use(p => p.Command("Start"));

    public void Stop() => Use(p => p.Command("Stop"));

    public void Trigger() => Use(p => p.Command("Trigger"));

    public void Reset() => Use(p => p.Command("Reset"));

    public string WriteMasterFile(long[] savedPerReceiver) => Use(p => p.Command<string>("writeMasterFile", savedPerReceiver));

    private T Use<T>(Func<DeviceProxy, T> call)
    {
        DeviceProxy proxy;
        lock (_lock)
            proxy = _proxy ??= new DeviceProxy(Name) { Timeout = timeout };
        try
        {
            return call(proxy);
        }
        catch
        {
            lock (_lock)
                if (_proxy == proxy)
                    _proxy = null;
            proxy.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _proxy?.Dispose();
            _proxy = null;
        }
    }
}
