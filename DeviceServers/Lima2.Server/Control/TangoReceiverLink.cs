using Lima2.Protocol;
using Tango;
using Tango.Client;

namespace Lima2.Server.Control;

/// <summary>
/// A receiver device reached through the Tango.NET client; the proxy is made on first use and again after a failure.
/// A request that timed out waiting for the device (its monitor held by a long command, or a read past the client
/// timeout) on a receiver that still answers a ping fails with <see cref="ReceiverBusyException"/>.
/// </summary>
public sealed class TangoReceiverLink(string name, TimeSpan timeout) : IReceiverLink
{
    private readonly Lock _lock = new();
    private DeviceProxy? _proxy;

    public string Name { get; } = name;

    public ReceiverSnapshot Read() => Use(isRead: true, p =>
    {
        var values = p.ReadAttributes("acq_state", "nb_frames_received", "current_pipeline", "nb_frames_saved_raw");
        return new ReceiverSnapshot((AcqState)values[0].Get<short>(), values[1].Get<long>(), values[2].Get<string>(), values[3].Get<long>());
    });

    public string LastError() => Use(isRead: true, p => p.Read<string>("last_error"));

    public void Start() => Use(isRead: false, p => p.Command("Start"));

    public void Stop() => Use(isRead: false, p => p.Command("Stop"));

    public void Trigger() => Use(isRead: false, p => p.Command("Trigger"));

    public void Reset() => Use(isRead: false, p => p.Command("Reset"));

    public string WriteMasterFile(long[] receivedPerReceiver) => Use(isRead: false, p => p.Command<string>("writeMasterFile", receivedPerReceiver));

    public string WriteRawMasterFile(long[] savedPerReceiver) => Use(isRead: false, p => p.Command<string>("writeRawMasterFile", savedPerReceiver));

    /// <param name="isRead">the call changes nothing: after a client timeout it may be asked again</param>
    private T Use<T>(bool isRead, Func<DeviceProxy, T> call)
    {
        DeviceProxy proxy;
        lock (_lock)
            proxy = _proxy ??= new DeviceProxy(Name) { Timeout = timeout };
        try
        {
            return call(proxy);
        }
        catch (DevFailedException e) when (IsBusy(e, isRead) && Answers(proxy))
        {
            throw new ReceiverBusyException(e.Errors[0].Description, e);
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

    /// <summary>
    /// The device monitor was not free within cppTango's monitor timeout (the request did not run), or a read ran
    /// past the client timeout.
    /// </summary>
    private static bool IsBusy(DevFailedException e, bool isRead) =>
        e.Errors.Any(x => x.Reason == "API_CommandTimedOut" || (isRead && x.Reason == "API_DeviceTimedOut"));

    private static bool Answers(DeviceProxy proxy)
    {
        try
        {
            proxy.Ping();
            return true;
        }
        catch (DevFailedException)
        {
            return false;
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
