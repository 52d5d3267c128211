using Lima2.Protocol;
using Lima2.Server.Control;
using Tango;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>
/// LimaControl: the acquisition as a whole. Logic in <see cref="ControlLogic"/>; this class is its Tango surface.
/// </summary>
[TangoClass("LimaControl")]
public sealed class ControlDevice : Device
{
    private ControlLogic? _logic;
    private EventPusher? _events;
    private Thread? _monitor;
    private volatile bool _monitoring;

    [DeviceProperty("receivers", Description = "receiver device names, in rank order")]
    public string[] Receivers { get; set; } = [];

    [DeviceProperty("receiver_topology", Description = "single | round_robin | uneven")]
    public string ReceiverTopology { get; set; } = "round_robin";

    [DeviceProperty("detector", Description = "the detector plugin: simulator | dectris (dectris_v1, dectris_v2 say the same) | jungfrau[:ROWSxCOLUMNS] (modules; jungfrau = 4x2, a 4M)")]
    public string Detector { get; set; } = "simulator";

    [DeviceProperty("simplon_url", Description = "the DECTRIS detector's SIMPLON REST server, e.g. http://dcu:80 (dectris plugin)")]
    public string SimplonUrl { get; set; } = "";

    [DeviceProperty("simplon_api_version", Description = "the SIMPLON API version in the URLs, e.g. 1.8.0 (dectris plugin)")]
    public string SimplonApiVersion { get; set; } = "1.8.0";

    [DeviceProperty("poll_period_ms", Description = "how often the receivers' states are read")]
    public int PollPeriodMs { get; set; } = 50;

    private ControlLogic Logic => _logic ?? throw new InvalidOperationException("the device is not initialised");

    [Attr("acq_params", Description = "acquisition parameters (JSON); checked when written")]
    public string AcqParams
    {
        get => Logic.AcqParamsJson;
        set => LimaFailure.Guard($"{Name}/acq_params", () => Logic.AcqParamsJson = value);
    }

    [Attr("acq_state", PushChangeEvent = true)]
    public AcqStateLabel AcqState => (AcqStateLabel)Logic.State;

    [Attr("nb_frames_acquired", Unit = "frames", Description = "frames received by all receivers")]
    public long NbFramesAcquired => Logic.NbFramesAcquired;

    [Attr("last_error", Description = "\"No error\" or the LIMA_Exception JSON {what, errinfo} of the last FAULT or short run")]
    public string LastError => Logic.LastError;

    [Attr("det_info")] public string DetInfo => LimaFailure.Guard($"{Name}/det_info", () => Logic.Detector.Info(Logic.AcqParams));

    [Attr("det_status")] public string DetStatus => LimaFailure.Guard($"{Name}/det_status", () => Logic.Detector.Status(Logic.State));

    [Attr("det_capabilities")] public string DetCapabilities => Logic.Detector.Capabilities();

    [Attr("version")] public string Version => Logic.Detector.Version;

    [Attr("log_level")] public LogLevelLabel LogLevel { get => Lima2Logging.Level; set => Lima2Logging.Level = value; }

    [Command(InDescription = "acquisition uuid")]
    public void Prepare(string uuid) => LimaFailure.Guard($"{Name}/Prepare", () => Logic.Prepare(uuid));

    [Command] public void Start() => LimaFailure.Guard($"{Name}/Start", Logic.Start);

    [Command] public void Trigger() => LimaFailure.Guard($"{Name}/Trigger", Logic.Trigger);

    [Command] public void Stop() => LimaFailure.Guard($"{Name}/Stop", Logic.Stop);

    [Command] public void Close() => LimaFailure.Guard($"{Name}/Close", Logic.Close);

    [Command] public void Reset() => LimaFailure.Guard($"{Name}/Reset", Logic.Reset);

    protected override void Init()
    {
        _logic = new ControlLogic(Receivers.Select(r => (IReceiverLink)new TangoReceiverLink(r, TimeSpan.FromSeconds(10))).ToList(),
            CreateDetector());
        Schemas.UsePlugin("LimaControl", _logic.Plugin);
        _events = new EventPusher(Logger);
        _logic.StateChanged += s => _events.Post(() => PushChangeEvent("acq_state", (AcqStateLabel)s));
        _monitoring = true;
        _monitor = new Thread(Monitor) { Name = $"monitor {Name}", IsBackground = true };
        _monitor.Start();
        Logger.Info("control of {Count} receivers: {Receivers}", Receivers.Length, string.Join(", ", Receivers));
    }

    protected override void Delete()
    {
        _monitoring = false;
        _monitor?.Join();
        _logic?.Dispose();
        _logic = null;
        _events?.Dispose();
        _events = null;
    }

    protected override DevState ReadState() => StateMapping.ToDevState(Logic.State);

    protected override string ReadStatus() => Logic.Reason;

    private IDetector CreateDetector()
    {
        if (Detector == "simulator")
            return new SimulatorDetector();
        if (Detector == "jungfrau" || Detector.StartsWith("jungfrau:", StringComparison.Ordinal))
            return JungfrauDetector.FromProperty(Detector);
        if (Detector is not ("dectris" or "dectris_v1" or "dectris_v2"))
            throw new ArgumentException($"property detector: '{Detector}' is no plugin (simulator | dectris | jungfrau[:ROWSxCOLUMNS])");
        if (!Uri.TryCreate(SimplonUrl, UriKind.Absolute, out var url))
            throw new ArgumentException($"property simplon_url: '{SimplonUrl}' is not a URL (http://host:port) and the dectris plugin needs one");
        return new DectrisDetector(new Detectors.Dectris.Simplon.SimplonClient(url, SimplonApiVersion));
    }

    private void Monitor()
    {
        while (_monitoring)
        {
            try
            {
                _logic?.Poll();
            }
            catch (Exception e)
            {
                Logger.Warn(e, "polling the receivers failed");
            }
            Thread.Sleep(Math.Max(5, PollPeriodMs));
        }
    }
}
