using Lima2.Core.Parameters;
using Tango;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>
/// What LimaControl and LimaReceiver serve alike, over their <see cref="AcqDeviceLogic"/>: acq_params, acq_state
/// with its change event, last_error, log_level, Prepare/Start/Trigger/Stop/Close/Reset, and State/Status.
/// </summary>
public abstract class AcqDevice<TLogic> : LimaDevice, IAcqDevice where TLogic : AcqDeviceLogic
{
    private TLogic? _logic;

    protected TLogic Logic => _logic ?? throw new InvalidOperationException("the device is not initialised");

    public DetectorPlugin Plugin => Logic.Plugin;

    [Attr("acq_params", Description = "acquisition parameters of the next Prepare (JSON: acq, det, ...; expo_time and latency_time in us); checked when written, refused while running")]
    public string AcqParams
    {
        get => Logic.AcqParamsJson;
        set => Logic.AcqParamsJson = value;
    }

    [Attr(AcqStateAttribute, PushChangeEvent = true, Description = "acquisition state: idle, prepared, running, stopped, fault (until Reset), terminate; a change event on every change")]
    public AcqStateLabel AcqState => (AcqStateLabel)Logic.State;

    [Attr("last_error", Description = "\"No error\", or the LIMA_Exception JSON {what, errinfo} of the last FAULT (on the control also of a run that ended short); cleared by Reset")]
    public string LastError => Logic.LastError;

    [Attr("log_level", Description = "the server's log level (trace, debug, info, warning, error) for its log file and Tango logging; applies at once to every device of the server")]
    public LogLevelLabel LogLevel { get => Lima2Logging.Level; set => Lima2Logging.Level = value; }

    [Command(Description = "Prepares a run with acq_params (and proc_params): PREPARED when it returns; the same uuid again is a no-op, another replaces a pending run",
        InDescription = "acquisition uuid (the run's identity, the same for the control and every receiver)")]
    public virtual void Prepare(string uuid) => Logic.Prepare(uuid);

    [Command(Description = "Starts the prepared run: RUNNING, back to idle on its own once every frame is in (a Start of the run already started is a no-op)")]
    public void Start() => Logic.Start();

    [Command(Description = "A software trigger (trigger_mode software): one more frame or series, to the receivers still expecting frames")]
    public void Trigger() => Logic.Trigger();

    [Command(Description = "Aborts the running run and returns once it has ended, files closed; frames received so far are kept")]
    public void Stop() => Logic.Stop();

    [Command(Description = "Ends the acquisition once the receivers are done: back to idle (a FAULT stays until Reset)")]
    public void Close() => Logic.Close();

    [Command(Description = "Aborts whatever runs and clears a FAULT and last_error: back to idle (the control resets its receivers too)")]
    public void Reset() => Logic.Reset();

    private const string AcqStateAttribute = "acq_state";

    /// <summary>The logic of this device, made from its properties at each Init.</summary>
    protected abstract TLogic CreateLogic();

    /// <summary>Makes the logic and posts its state changes; a subclass wires its own events after calling this.</summary>
    protected override void Init()
    {
        _logic = CreateLogic();
        // posted: a run's end, which a Stop holding the device monitor waits for, changes the state
        _logic.StateChanged += s => PostChangeEvent(AcqStateAttribute, (AcqStateLabel)s);
    }

    protected override void Delete()
    {
        _logic?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _logic = null;
    }

    protected override DevState ReadState() => StateMapping.ToDevState(Logic.State);

    protected override string ReadStatus() => Logic.Reason;
}

/// <summary>A LimaControl or LimaReceiver device: its class and detector plugin say which acq_params schema it serves.</summary>
public interface IAcqDevice
{
    string ClassName { get; }

    DetectorPlugin Plugin { get; }
}
