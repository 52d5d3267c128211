using Lima2.LiveView;
using Lima2.Server.Control;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>
/// LimaControl: the acquisition as a whole. Logic in <see cref="ControlLogic"/>; this class is its Tango surface.
/// </summary>
[TangoClass("LimaControl")]
public sealed class ControlDevice : AcqDevice<ControlLogic>
{
    [DeviceProperty("receivers", Description = "the LimaReceiver device names, in rank order (receiver i gets frames i, i+n, ...)")]
    public string[] Receivers { get; set; } = [];

    [DeviceProperty("receiver_topology", Description = "how frames are spread over the receivers, read by the clients (lima2-conductor): single | round_robin | uneven | partial (every receiver takes a part of every frame: JUNGFRAU modules dispatch; nb_frames_acquired counts the frames every receiver has its part of)")]
    public string ReceiverTopology { get; set; } = "round_robin";

    [DeviceProperty("detector", Description = "the detector plugin: simulator | dectris (dectris_v1, dectris_v2 say the same) | jungfrau[:ROWSxCOLUMNS] (modules; jungfrau = 4x2, a 4M)")]
    public string Detector { get; set; } = "simulator";

    [DeviceProperty("simplon_url", Description = "the DECTRIS detector's SIMPLON REST server, e.g. http://dcu:80 (dectris plugin)")]
    public string SimplonUrl { get; set; } = "";

    [DeviceProperty("simplon_api_version", Description = "the SIMPLON API version in the URLs, e.g. 1.8.0 (dectris plugin)")]
    public string SimplonApiVersion { get; set; } = "1.8.0";

    [DeviceProperty("poll_period_ms", Description = "how often the receivers' states and frame counts are read, in ms (5 at least)")]
    public int PollPeriodMs { get; set; } = 50;

    [DeviceProperty("live_port", Description = "TCP port of the whole detector's live view (the receivers' live views " +
        "gathered: they need a live_port too) on the host of the server's ORBendPoint; 0: a free one (live_url says which); -1: none")]
    public int LivePort { get; set; } = -1;

    [Attr("live_url", Description = "the live view's page, \"\" when live_port is -1")]
    public string LiveUrl => _live?.Url.ToString() ?? "";

    private LiveServer? _live;
    private ControlLiveSource? _liveSource;

    [Attr("nb_frames_acquired", Unit = "frames", Description = "frames received by all receivers in the current or last run (read every poll_period_ms; final after Close)")]
    public long NbFramesAcquired => Logic.NbFramesAcquired;

    [Attr("det_info", Description = "the detector (JSON): plugin, model, sn, pixel_size in m, expo_time_range and latency_time_range in us (as Lima2 gives them; det_capabilities says the same in ns), trigger_modes, dimensions in pixels, pixel_type")]
    public string DetInfo => Logic.Detector.Info(Logic.AcqParams);

    [Attr("det_status", Description = "the detector's health (JSON): state, humidity in %, temperature in degC, high_voltage_state, time (ISO 8601)")]
    public string DetStatus => Logic.Detector.Status(Logic.State);

    [Attr("det_capabilities", Description = "what the detector can do (JSON): trigger_modes, expo_time_range and latency_time_range in ns (det_info says the same in us)")]
    public string DetCapabilities => Logic.Detector.Capabilities();

    [Attr("version", Description = "the detector plugin's version (dectris-x.y.z, jungfrau-x.y.z, or Lima2's core version for the simulator)")]
    public string Version => Logic.Detector.Version;

    protected override ControlLogic CreateLogic() =>
        new(Receivers.Select(r => (IReceiverLink)new TangoReceiverLink(r, TimeSpan.FromSeconds(10))).ToList(),
            DetectorFactory.Create(Detector, SimplonUrl, SimplonApiVersion), partialFrames: ReceiverTopology == "partial");

    protected override void Init()
    {
        base.Init();
        Logic.StartPolling(TimeSpan.FromMilliseconds(Math.Max(5, PollPeriodMs)), Logger);
        Logger.Info("control of {Count} receivers: {Receivers}", Receivers.Length, string.Join(", ", Receivers));
        if (LivePort >= 0)
        {
            _liveSource = new ControlLiveSource(Name, Logic, Receivers);
            _live = LiveServer.Start(_liveSource, LiveHost.Current(), LivePort);
            Logger.Info("live view at {Url}", _live.Url);
        }
    }

    protected override void Delete()
    {
        _live?.Dispose();
        _live = null;
        _liveSource?.Dispose();
        _liveSource = null;
        base.Delete();
    }
}
