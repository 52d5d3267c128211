using Tango;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>
/// What LimaControl and LimaReceiver serve alike, over their <see cref="AcqDeviceLogic"/>: acq_params, acq_state
/// with its change event, last_error, log_level, Prepare/Start/Trigger/Stop/Close/Reset, and State/Status.
/// </summary>
public abstract class AcqDevice<TLogic> : LimaDevice where TLogic : AcqDeviceLogic
{
    private TLogic? _logic;

    protected TLogic Logic => _logic ?? throw new InvalidOperationException("the device is not initialised");

    [Attr("acq_params", Description = "acquisition parameters (JSON); checked when written")]
    public string AcqParams
    {
        get => Logic.AcqParamsJson;
        set => Logic.AcqParamsJson = value;
    }

    [Attr(AcqStateAttribute, PushChangeEvent = true)]
    public AcqStateLabel AcqState => (AcqStateLabel)Logic.State;

    [Attr("last_error", Description = "\"No error\" or the LIMA_Exception JSON {what, errinfo} of the last FAULT (on the control, also of a run that ended short)")]
    public string LastError => Logic.LastError;

    [Attr("log_level")] public LogLevelLabel LogLevel { get => Lima2Logging.Level; set => Lima2Logging.Level = value; }

    [Command(InDescription = "acquisition uuid")]
    public virtual void Prepare(string uuid) => Logic.Prepare(uuid);

    [Command] public void Start() => Logic.Start();

    [Command] public void Trigger() => Logic.Trigger();

    [Command] public void Stop() => Logic.Stop();

    [Command] public void Close() => Logic.Close();

    [Command] public void Reset() => Logic.Reset();

    private const string AcqStateAttribute = "acq_state";

    /// <summary>The logic of this device, made from its properties at each Init.</summary>
    protected abstract TLogic CreateLogic();

    /// <summary>Makes the logic and posts its state changes; a subclass wires its own events after calling this.</summary>
    protected override void Init()
    {
        _logic = CreateLogic();
        Schemas.UsePlugin(ClassName, _logic.Plugin);
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
