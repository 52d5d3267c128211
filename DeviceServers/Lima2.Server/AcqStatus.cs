using Lima2.Protocol;

namespace Lima2.Server;

/// <summary>
/// A device's <c>acq_state</c> and why it is in it, shared by the control and receiver logic. The owner changes it under
/// its own lock (<see cref="SetLocked"/>) and calls <see cref="Raise"/> once it has let go, so <see cref="Changed"/>
/// listeners (Tango event pushes) never run under the owner's lock and see each change once. Reads take the owner's
/// lock (it is re-entrant), so they are safe from any thread and consistent with the owner's other fields.
/// </summary>
internal sealed class AcqStatus(Lock ownerLock, string reason)
{
    private AcqState _state = AcqState.Idle;
    private string _reason = reason;
    private AcqState? _pending;

    public AcqState State
    {
        get
        {
            lock (ownerLock)
                return _state;
        }
    }

    /// <summary>Why the device is in <see cref="State"/>, for the Tango Status and error messages.</summary>
    public string Reason
    {
        get
        {
            lock (ownerLock)
                return _reason;
        }
    }

    public event Action<AcqState>? Changed;

    /// <summary>Changes the state; the caller holds the owner's lock and calls <see cref="Raise"/> after it.</summary>
    public void SetLocked(AcqState state, string reason)
    {
        _reason = reason;
        if (_state != state)
            _pending = state;
        _state = state;
    }

    /// <summary>Changes the state and notifies, taking the owner's lock for the change only.</summary>
    public void Set(AcqState state, string reason)
    {
        lock (ownerLock)
            SetLocked(state, reason);
        Raise();
    }

    /// <summary>Notifies the last change made since the previous call, if any. Call it without the owner's lock.</summary>
    public void Raise()
    {
        AcqState? changed;
        lock (ownerLock)
        {
            changed = _pending;
            _pending = null;
        }
        if (changed is { } state)
            Changed?.Invoke(state);
    }
}
