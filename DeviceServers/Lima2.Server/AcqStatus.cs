using Lima2.Protocol;

namespace Lima2.Server;

/// <summary>
/// A device's <c>acq_state</c> and why it is in it. The owner changes it under its own lock
/// (<see cref="SetLocked"/>) and calls <see cref="Raise"/> once it has let go, so <see cref="Changed"/> listeners
/// (Tango event pushes) never run under the owner's lock and see each change once.
/// </summary>
internal sealed class AcqStatus(Lock ownerLock, string reason)
{
    private AcqState? _pending;

    /// <summary>The state; read it under the owner's lock.</summary>
    public AcqState State { get; private set; } = AcqState.Idle;

    /// <summary>Why the device is in <see cref="State"/>, for the Tango Status and error messages.</summary>
    public string Reason { get; private set; } = reason;

    public event Action<AcqState>? Changed;

    /// <summary>Changes the state; the caller holds the owner's lock and calls <see cref="Raise"/> after it.</summary>
    public void SetLocked(AcqState state, string reason)
    {
        Reason = reason;
        if (State != state)
            _pending = state;
        State = state;
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
