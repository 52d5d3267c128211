using Lima2.Server.Control;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>
/// LimaControl: the acquisition as a whole. Logic in <see cref="ControlLogic"/>; this class is its Tango surface.
/// </summary>
[TangoClass("LimaControl")]
public sealed class ControlDevice : AcqDevice<ControlLogic>
{
    [DeviceProperty("receivers", Description = "receiver device names, in rank order")]
    public string[] Receivers { get; set; } = [];

    [DeviceProperty("receiver_topology", Description = "single | round_robin | uneven | partial (every receiver takes a part of every frame: JUNGFRAU modules dispatch)")]
    public string ReceiverTopology { get; set; } = "round_robin";

    [DeviceProperty("detector", Description = "the detector plugin: simulator | dectris (dectris_v1, dectris_v2 say the same) | jungfrau[:ROWSxCOLUMNS] (modules; jungfrau = 4x2, a 4M)")]
    public string Detector { get; set; } = "simulator";

    [DeviceProperty("simplon_url", Description = "the DECTRIS detector's SIMPLON REST server, e.g. http://dcu:80 (dectris plugin)")]
    public string SimplonUrl { get; set; } = "";

    [DeviceProperty("simplon_api_version", Description = "the SIMPLON API version in the URLs, e.g. 1.8.0 (dectris plugin)")]
    public string SimplonApiVersion { get; set; } = "1.8.0";

    [DeviceProperty("poll_period_ms", Description = "how often the receivers' states are read")]
    public int PollPeriodMs { get; set; } = 50;

    [Attr("nb_frames_acquired", Unit = "frames", Description = "frames received by all receivers")]
    public long NbFramesAcquired => Logic.NbFramesAcquired;

    [Attr("det_info", Description = "the detector (JSON): plugin, model, sn, pixel_size in m, expo_time_range and latency_time_range in us (as Lima2 gives them; det_capabilities has them in ns), trigger_modes, dimensions in pixels, pixel_type")]
    public string DetInfo => Logic.Detector.Info(Logic.AcqParams);

    [Attr("det_status")] public string DetStatus => Logic.Detector.Status(Logic.State);

    [Attr("det_capabilities", Description = "what the detector can do (JSON): trigger_modes, expo_time_range and latency_time_range in ns")]
    public string DetCapabilities => Logic.Detector.Capabilities();

    [Attr("version")] public string Version => Logic.Detector.Version;

    protected override ControlLogic CreateLogic() =>
        new(Receivers.Select(r => (IReceiverLink)new TangoReceiverLink(r, TimeSpan.FromSeconds(10))).ToList(),
            DetectorFactory.Create(Detector, SimplonUrl, SimplonApiVersion), partialFrames: ReceiverTopology == "partial");

    protected override void Init()
    {
        base.Init();
        Logic.StartPolling(TimeSpan.FromMilliseconds(Math.Max(5, PollPeriodMs)), Logger);
        Logger.Info("control of {Count} receivers: {Receivers}", Receivers.Length, string.Join(", ", Receivers));
    }
}
