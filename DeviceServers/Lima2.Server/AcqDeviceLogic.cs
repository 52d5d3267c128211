using Lima2.Core.Parameters;
using Lima2.Protocol;

namespace Lima2.Server;

/// <summary>
/// What the control and the receiver logic share: the lock that guards each one's state machine, <c>acq_state</c>
/// with its reason and change event (<see cref="AcqStatus"/>), and <c>acq_params</c>, checked when written (against
/// the plugin's <c>det</c> block) and refused while running; and the commands both devices serve.
/// </summary>
public abstract class AcqDeviceLogic : IAsyncDisposable
{
    private protected readonly Lock _lock = new();
    private protected readonly AcqStatus _status;
    private static readonly NLog.Logger FaultLog = NLog.LogManager.GetLogger("Lima2.Server.Faults");
    private string _acqParamsJson;

    private protected AcqDeviceLogic(DetectorPlugin plugin)
    {
        Plugin = plugin;
        _status = new AcqStatus(_lock, "idle: ready for an acquisition");
        _status.Changed += state =>
        {
            if (state == AcqState.Fault)
                FaultLog.Error("FAULT: {Reason}", _status.Reason);
        };
        AcqParams = AcqParamsDocument.Default(plugin);
        _acqParamsJson = ParamsDocument.Write(AcqParams);
    }

    /// <summary>Raised outside the lock after each state change.</summary>
    public event Action<AcqState>? StateChanged
    {
        add => _status.Changed += value;
        remove => _status.Changed -= value;
    }

    public AcqState State => _status.State;

    /// <summary>Why the device is in its state (the Tango Status).</summary>
    public virtual string Reason => _status.Reason;

    /// <summary>The acquisition parameters last written (read them under the lock where they must match the state).</summary>
    public IAcqParams AcqParams { get; private set; }

    /// <summary>The detector plugin whose <c>det</c> block acq_params holds.</summary>
    public DetectorPlugin Plugin { get; }

    /// <summary>The JSON last written; writing checks it and refuses it (state unchanged) with every field error.</summary>
    public string AcqParamsJson
    {
        get => _acqParamsJson;
        set
        {
            var parsed = AcqParamsDocument.Parse(Plugin, value);
            lock (_lock)
            {
                RefuseWhileRunning("acq_params");
                AcqParams = parsed;
                _acqParamsJson = value;
            }
        }
    }

    /// <summary>"No error", or the LIMA_Exception JSON of the last FAULT (or, on the control, of a run that ended short).</summary>
    public abstract string LastError { get; }

    public abstract void Prepare(string uuid);

    public abstract void Start();

    public abstract void Trigger();

    public abstract void Stop();

    public abstract void Close();

    public abstract void Reset();

    public abstract ValueTask DisposeAsync();

    /// <summary>Throws when running; the caller holds the lock.</summary>
    private protected void RefuseWhileRunning(string what)
    {
        if (_status.State == AcqState.Running)
            throw new StateException($"{what} cannot change while running: Stop first");
    }
}
