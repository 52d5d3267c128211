namespace Tango.Interop;

/// <summary>
/// The native device (a <c>tns::TnsDevice*</c>) as its C# device holds it, with the calls in flight counted.
/// Not a SafeHandle, on purpose: a SafeHandle owns what it holds and frees it once its last user is done, while
/// cppTango owns the device, creates it before the create callback and frees it right after the destroy callback
/// returns; nothing managed may free it or keep it alive. So every call from C# counts itself in
/// (<see cref="TryEnter"/> / <see cref="Exit"/>) and <see cref="Detach"/>, run by the destroy callback, turns later
/// calls into no-ops and waits for the running ones before cppTango frees the device.
/// </summary>
internal sealed class DeviceHandle
{
    private nint _native;
    private volatile bool _alive;
    private int _inFlight;

    public void Attach(nint native)
    {
        _native = native;
        _alive = true;
    }

    public bool IsAlive => _alive;

    /// <summary>Counts a call in and gives the device, or says false once it is detached (nothing to call then).</summary>
    public bool TryEnter(out nint dev)
    {
        Interlocked.Increment(ref _inFlight);
        dev = _native;
        if (_alive && dev != 0)
            return true;
        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Runs <paramref name="call"/> with the device, counted in; nothing once the device is detached.</summary>
    public void Call(Action<nint> call)
    {
        if (!TryEnter(out var dev))
            return;
        try
        {
            call(dev);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Returns <paramref name="call"/>'s result with the device, counted in; <paramref name="gone"/> once it is detached.</summary>
    public T Call<T>(Func<nint, T> call, T gone)
    {
        if (!TryEnter(out var dev))
            return gone;
        try
        {
            return call(dev);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Later calls become no-ops; waits up to <paramref name="wait"/> for the running ones (a push waiting
    /// for the device monitor gives up after cppTango's monitor timeout, 3.2 s).</summary>
    public void Detach(TimeSpan wait)
    {
        _alive = false;
        var deadline = Environment.TickCount64 + (long)wait.TotalMilliseconds;
        while (Volatile.Read(ref _inFlight) > 0 && Environment.TickCount64 < deadline)
            Thread.Sleep(1);
        _native = 0;
    }
}
