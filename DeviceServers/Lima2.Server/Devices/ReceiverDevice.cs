using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Jungfrau;
using Lima2.LiveView;
using Lima2.Protocol;
using Lima2.Server.Receiver;
using Tango;
using Tango.Client;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>
/// LimaReceiver: one data channel (simulator or DECTRIS stream), its processing graph and saving. Logic in
/// <see cref="ReceiverLogic"/> and Lima2.Acquisition's ReceiverRun; this class is their Tango surface.
/// </summary>
[TangoClass("LimaReceiver")]
public sealed class ReceiverDevice : AcqDevice<ReceiverLogic>, IProcessingHost
{
    private KernelWarmUp? _kernels;
    private LiveServer? _live;
    private readonly List<string> _staleEntries = []; // processing devices deleted here whose DB entry is still there

    [DeviceProperty("rank", Description = "this receiver's index: it gets frames i with i % nb_receivers == rank")]
    public int Rank { get; set; }

    [DeviceProperty("nb_receivers", Description = "how many receivers share the detector's frames (rank is 0 to nb_receivers-1)")]
    public int NbReceivers { get; set; } = 1;

    [DeviceProperty("channel", Description = "where the frames come from: simulator (generated here) | dectris_v1 | dectris_v2 (a DECTRIS ZMQ stream at endpoint) | maxiv (a MAX IV unified stream at endpoint) | jungfrau_udp (JUNGFRAU UDP packets, configured by the jungfrau property)")]
    public string Channel { get; set; } = "simulator";

    [DeviceProperty("jungfrau", Description = "the jungfrau_udp channel block (YAML or JSON, the keys of a settings file's channel.jungfrau: " +
                                              "bind, ports, ports_per_module, module_ids, geometry, dispatch, receive_buffer, frame_timeout_ms, window, " +
                                              "correction, opencl_platform, opencl_device, threshold); what a run does comes with its params " +
                                              "(acq_params det pedestal_run or jfrau, SMX proc_params jfrau)")]
    public string[] Jungfrau { get; set; } = [];

    [DeviceProperty("endpoint", Description = "ZMQ endpoint of the stream (channel dectris_v1, dectris_v2 or maxiv), e.g. tcp://127.0.0.1:9999")]
    public string Endpoint { get; set; } = "";

    [DeviceProperty("memory_cap", Description = "memory of the receiver's frame buffers (stream, processing, saving), in bytes with a unit, e.g. 1GiB; a run that cannot fit fails at Prepare")]
    public string MemoryCap { get; set; } = "1GiB";

    [DeviceProperty("overload_policy", Description = "when the buffers are full: back_pressure (the input waits) | drop (frames are dropped and counted in nb_frames_dropped)")]
    public string OverloadPolicyName { get; set; } = "back_pressure";

    [DeviceProperty("saving_root", Description = "every saving base_path must lie under this directory")]
    public string SavingRoot { get; set; } = "/tmp";

    [DeviceProperty("reference_root", Description = "every file a receiver reads (reference images: mask, flat, background, fai and jfrau arrays; simulator loader frames) must lie under this directory")]
    public string ReferenceRoot { get; set; } = "/tmp";

    [DeviceProperty("peak_finder", Description = "what runs the SMX peak finder: auto (OpenCL if a device is found, else C#) | opencl | reference (C#)")]
    public string PeakFinder { get; set; } = "auto";

    [DeviceProperty("live_port", Description = "TCP port of the live view (web page, /status, /metrics, /last_frame) " +
        "on the host of the server's ORBendPoint; 0: a free one (live_url says which); -1: no live view")]
    public int LivePort { get; set; } = -1;

    [DeviceProperty("publish", Description = "re-publish the processed frames on a ZMQ endpoint this receiver binds: a YAML map, e.g. {endpoint: \"tcp://*:5555\", socket: push | pub, format: maxiv | dectris_v2, compression: bslz4 | lz4 | none, queue_frames: 16, end_timeout_ms: 2000}; empty: not published")]
    public string Publish { get; set; } = "";

    [Attr("proc_params", Description = "processing parameters of the next Prepare (JSON: class_name, saving, rois, ...); checked when written, refused while running")]
    public string ProcParams
    {
        get => Logic.ProcParamsJson;
        set => Logic.ProcParamsJson = value;
    }

    [Attr("nb_frames_xferred", Unit = "frames", DataReadyEvent = true, Description = "frames this receiver has taken in during the current or last run; a data ready event as it grows")]
    public long NbFramesXferred => Logic.FramesTransferred;

    [Attr("pipelines", MaxX = 256, Description = "uuids of the pipelines kept on this receiver, each with its limaprocessing device, until erasePipeline (at most 32: the oldest finished go first)")]
    public string[] Pipelines => [.. Logic.Pipelines];

    [Attr("current_pipeline", Description = "uuid of the pipeline of the current or last run (\"\" before the first Prepare)")]
    public string CurrentPipeline => Logic.Current?.Uuid ?? "";

    [Attr("recv_rank", Description = "this receiver's rank (the rank property)")]
    public int RecvRank => Rank;

    // ---- what the beamline watches (pollable) ----

    [Attr("nb_frames_received", Unit = "frames", Description = "frames received from the channel in the current or last run")]
    public long NbFramesReceived => Logic.FramesReceived;

    [Attr("nb_frames_processed", Unit = "frames", Description = "frames through the processing pipeline in the current or last run")]
    public long NbFramesProcessed => Logic.FramesProcessed;

    [Attr("nb_frames_saved", Unit = "frames", Description = "frames written to the HDF5 files in the current or last run")]
    public long NbFramesSaved => Logic.FramesSaved;

    [Attr("nb_frames_not_saved_nohit", Unit = "frames", Description = "dense frames not saved because they had no hit (SMX fai.dense_skip_nohits: fewer than fai.min_nb_peaks peaks) in the current or last run; their rows in the files read 0, and nb_frames_saved + this are the frames the dense saving took")]
    public long NbFramesNotSavedNohit => Logic.FramesNotSavedNoHit;

    [Attr("nb_frames_saved_raw", Unit = "frames", Description = "a corrected JUNGFRAU run's raw frames written beside its frames (acq_params saving), in the current or last run; 0 for other runs")]
    public long NbFramesSavedRaw => Logic.RawFramesSaved;

    [Attr("nb_frames_dropped_raw", Unit = "frames", Description = "a corrected JUNGFRAU run's raw frames not saved, their queue to the disk full under overload_policy drop, in the current or last run; 0 for other runs")]
    public long NbFramesDroppedRaw => Logic.RawFramesDropped;

    [Attr("nb_frames_dropped", Unit = "frames", Description = "frames lost in the current or last run (overload_policy drop, or a failure); 0 when every frame is kept")]
    public long NbFramesDropped => Logic.FramesDropped;

    [Attr("nb_frames_published", Unit = "frames", Description = "frames re-published on the publish endpoint (handed to its socket)")]
    public long NbFramesPublished => Logic.Publishing?.Published ?? 0;

    [Attr("nb_frames_publish_dropped", Unit = "frames", Description = "processed frames not re-published: the send queue was full, or no consumer took them by the end")]
    public long NbFramesPublishDropped => Logic.Publishing?.Dropped ?? 0;

    [Attr("publish_drops", MaxX = 16, Description = "frames not re-published, by reason: \"reason: count\"")]
    public string[] PublishDrops => [.. (Logic.Publishing?.Drops ?? new Dictionary<string, long>()).Select(d => $"{d.Key}: {d.Value}")];

    // ---- a jungfrau_udp channel's UDP ports (one element per port, in the order of its ports; empty for other channels) ----

    [Attr("jungfrau_ports", MaxX = MaxPorts, Description = "the UDP ports the jungfrau_udp channel listens on, as bound")]
    public long[] JungfrauPorts => PerPort(p => p.Port);

    [Attr("jungfrau_packets_caught", MaxX = MaxPorts, Unit = "packets", Description = "datagrams placed in a frame, per port")]
    public long[] JungfrauPacketsCaught => PerPort(p => p.PacketsCaught);

    [Attr("jungfrau_packets_padded", MaxX = MaxPorts, Unit = "packets", Description = "packets missing from the frames handed on (filled with 0xFFFF), per port")]
    public long[] JungfrauPacketsPadded => PerPort(p => p.PacketsPadded);

    [Attr("jungfrau_packets_late", MaxX = MaxPorts, Unit = "packets", Description = "datagrams of a frame already handed on, per port")]
    public long[] JungfrauPacketsLate => PerPort(p => p.PacketsLate);

    [Attr("jungfrau_packets_duplicate", MaxX = MaxPorts, Unit = "packets", Description = "datagrams of a packet already placed, per port")]
    public long[] JungfrauPacketsDuplicate => PerPort(p => p.PacketsDuplicate);

    [Attr("jungfrau_packets_rejected", MaxX = MaxPorts, Unit = "packets", Description = "datagrams not of this port's modules or not a JUNGFRAU packet (size, detType, packet or frame number), per port")]
    public long[] JungfrauPacketsRejected => PerPort(p => p.PacketsRejected);

    [Attr("jungfrau_frames_complete", MaxX = MaxPorts, Unit = "frames", Description = "frames with every packet of the port's modules, per port")]
    public long[] JungfrauFramesComplete => PerPort(p => p.FramesComplete);

    [Attr("jungfrau_frames_incomplete", MaxX = MaxPorts, Unit = "frames", Description = "frames handed on with padded packets, per port")]
    public long[] JungfrauFramesIncomplete => PerPort(p => p.FramesIncomplete);

    [Attr("jungfrau_frames_missed", MaxX = MaxPorts, Unit = "frames", Description = "frames of which the port had no packet, per port")]
    public long[] JungfrauFramesMissed => PerPort(p => p.FramesMissed);

    [Attr("roi_frame_idx", Description = "global index of the frame of the roi_* values (-1: none yet)")]
    public long RoiFrameIdx => LatestRois() is [var first, ..] ? first.FrameIdx : -1;

    [Attr("roi_sum", Unit = "counts", Description = "sum of the pixels of each ROI in frame roi_frame_idx, rect ROIs then arc ROIs")]
    public double[] RoiSum => [.. LatestRois().Select(r => r.Sum)];

    [Attr("roi_avg", Unit = "counts", Description = "mean pixel value of each ROI in frame roi_frame_idx, as roi_sum")]
    public double[] RoiAvg => [.. LatestRois().Select(r => (double)r.Avg)];

    [Attr("roi_std", Unit = "counts", Description = "standard deviation of the pixel values of each ROI in frame roi_frame_idx, as roi_sum")]
    public double[] RoiStd => [.. LatestRois().Select(r => (double)r.Std)];

    [Attr("roi_min", Unit = "counts", Description = "lowest pixel value of each ROI in frame roi_frame_idx, as roi_sum")]
    public double[] RoiMin => [.. LatestRois().Select(r => (double)r.Min)];

    [Attr("roi_max", Unit = "counts", Description = "highest pixel value of each ROI in frame roi_frame_idx, as roi_sum")]
    public double[] RoiMax => [.. LatestRois().Select(r => (double)r.Max)];

    [Attr("nb_peaks", Unit = "peaks", Description = "peaks found in the latest frame (SMX pipeline; 0 otherwise)")] public int NbPeaks => Logic.Current?.Run.Peaks?.LastPeaks ?? 0;

    [Attr("nb_hits", Unit = "frames", Description = "frames with at least min_nb_peaks peaks in the current or last run (SMX pipeline)")]
    public long NbHits => Logic.Current?.Run.Peaks?.Hits ?? 0;

    [Attr("hit_rate", Format = "%6.3f", Description = "nb_hits / frames searched, 0 to 1, in the current or last run (SMX pipeline)")]
    public double HitRate => Logic.Current?.Run.Peaks?.HitRate ?? 0;

    // ---- live view: what a Lima1 client (BLISS, Taurus, MXCuBE) and a Jive user open ----

    [Attr("video_last_image", Description = "the newest processed frame as Lima1's VIDEO_IMAGE: a 32-byte big-endian header " +
        "(struct !IHHqiiHHHH: magic VDEO, version 1, mode Y8/Y16/Y32 = 0/1/2, frame number, width, height, endianness 0, " +
        "header size 32, 0, 0) then the pixels little-endian; frame number -1 and 0x0 before the first frame")]
    public DevEncoded VideoLastImage
    {
        get
        {
            if (!Logic.TryGetLatestFrame(out var frame))
                return ProcessingDevice.Encode(VideoImage.None());
            using (frame)
                return ProcessingDevice.Encode(VideoImage.Encode(frame));
        }
    }

    [Attr("live_image", MaxX = LiveImageSize, MaxY = LiveImageSize, Description = "the newest processed frame shrunk to " +
        "fit 1024 x 1024 (each pixel the maximum of its block, so peaks stay visible), as float32; empty before the first frame")]
    public float[,] LiveImage
    {
        get
        {
            if (!Logic.TryGetLatestFrame(out var frame))
                return new float[0, 0];
            using (frame)
                return FramePreview.Of(frame, LiveImageSize, LiveImageSize).ToFloatImage();
        }
    }

    private const int LiveImageSize = 1024;

    [Attr("live_url", Description = "the live view's page, \"\" when live_port is -1")]
    public string LiveUrl => _live?.Url.ToString() ?? "";

    // ---- commands ----

    /// <summary>Synchronous (the pipeline and its processing device exist when it returns) but off the device monitor:
    /// its kernel builds, reference loads and file creation never make concurrent reads time out.</summary>
    [Command(Description = "Prepares a run with acq_params and proc_params: makes its pipeline and limaprocessing device, creates the files; PREPARED when it returns",
        InDescription = "acquisition uuid (the run's identity, the same for the control and every receiver)", ReleasesMonitor = true)]
    public override void Prepare(string uuid) => base.Prepare(uuid);

    [Command("writeMasterFile", Description = "Writes the run's master file (a VDS over every receiver's frames), on receiver 0 after the run",
        InDescription = "nb_frames_received of every receiver, in rank order (receiver 0 only, after its run): frame k of a receiver is row k of its files, saved or not",
        OutDescription = "the master file's path, \"\" when the run saves no dense frames")]
    public string WriteMasterFile(long[] receivedPerReceiver) => Logic.WriteMasterFile(receivedPerReceiver);

    [Command("writeRawMasterFile", Description = "Writes a corrected JUNGFRAU run's raw words' master file (a VDS over every receiver's raw files), on receiver 0 after the run",
        InDescription = "nb_frames_saved_raw of every receiver, in rank order (receiver 0 only, after its run)",
        OutDescription = "the raw master file's path, \"\" when the run saves no raw words beside its frames")]
    public string WriteRawMasterFile(long[] savedPerReceiver) => Logic.WriteRawMasterFile(savedPerReceiver);

    [Command("erasePipeline", Description = "Deletes a finished pipeline and its limaprocessing device, freeing its memory",
        InDescription = "uuid of the pipeline to delete (one of pipelines)")]
    public void ErasePipeline(string uuid) => Logic.ErasePipeline(uuid);

    protected override ReceiverLogic CreateLogic()
    {
        var config = new ReceiverConfig
        {
            Rank = Rank,
            NbReceivers = NbReceivers,
            Channel = new ChannelConfig
            {
                Kind = ParseEnum<ChannelKind>(Channel, "channel"),
                Endpoints = Endpoint == "" ? [] : [Endpoint],
                Jungfrau = string.Join('\n', Jungfrau) is var block && block.Trim().Length > 0 ? JungfrauChannelConfig.Parse(block, "property jungfrau") : null,
            },
            MemoryCap = MemoryCap,
            OverloadPolicy = ParseEnum<OverloadPolicy>(OverloadPolicyName, "overload_policy"),
            SavingRoot = SavingRoot,
            ReferenceRoot = ReferenceRoot,
            PeakFinder = ParseEnum<PeakFinderBackend>(PeakFinder, "peak_finder"),
            Publish = PublishConfig.Parse(Publish, "publish"),
        };
        // a block that cannot work with this receiver's rank (its ports against the dispatch) is refused now, not at the first Prepare
        if (config.Channel.Jungfrau is { } jungfrau)
            ParamsValidator.ThrowIfAny([.. jungfrau.Validate("property jungfrau", Rank, Math.Max(1, NbReceivers))]);
        // once per device: Init again keeps it; a new device object finds the programs built (ClRuntime keeps them)
        _kernels ??= KernelWarmUp.StartIfUseful(config.PeakFinder, WarmUpPixelTypes(config.Channel.Kind), status => Logger.Info(status));
        return new ReceiverLogic(config, this, _kernels);
    }

    protected override void Init()
    {
        base.Init();
        Logic.Transferred += n => PostDataReadyEvent("nb_frames_xferred", n);
        Logger.Info("receiver {Rank}/{Count} on {Channel}", Rank, NbReceivers, Channel);
        if (LivePort >= 0)
        {
            _live = LiveServer.Start(new ReceiverLiveSource(Name, Logic), LiveHost.Current(), LivePort);
            Logger.Info("live view at {Url}", _live.Url);
        }
    }

    protected override void Delete()
    {
        _live?.Dispose();
        _live = null;
        base.Delete();
    }

    protected override string ReadStatus() => _kernels is null ? base.ReadStatus() : $"{base.ReadStatus()}\n{_kernels.Status}";

    /// <summary>The frame types a channel delivers by default: the simulator's gray16; an EIGER's 16 or 32 bits.</summary>
    private static PixelType[] WarmUpPixelTypes(ChannelKind channel) => channel switch
    {
        ChannelKind.Simulator => [PixelType.Gray16],
        ChannelKind.JungfrauUdp => [PixelType.Gray32f], // the corrected frames an SMX pipeline searches
        _ => [PixelType.Gray16, PixelType.Gray32],
    };

    private const int MaxPorts = 64;

    private long[] PerPort(Func<JungfrauPortCounters, long> counter) => [.. Logic.JungfrauPorts.Select(counter)];

    private Lima2.Core.Processing.RoiStatRow[] LatestRois() => Logic.Current?.LatestRoiStatistics() ?? [];

    /// <summary><c>dectris_v1</c> → DectrisV1: the JSON spelling of the enums.</summary>
    private static T ParseEnum<T>(string text, string property) where T : struct, Enum =>
        Enum.TryParse<T>(text.Replace("_", ""), ignoreCase: true, out var value)
            ? value
            : throw new FormatException($"{property}: '{text}' is not one of {string.Join(", ", Enum.GetNames<T>())}");

    // ---- processing devices: <domain>/limaprocessing/<uuid>@<rank> ----

    string IProcessingHost.Create(ProcessingView pipeline)
    {
        DeleteStaleEntries();
        var domain = Name.Split('/')[0];
        var device = $"{domain}/limaprocessing/{pipeline.Uuid}@{Rank}";
        ProcessingRegistry.Add(device, pipeline);
        try
        {
            Server.CreateDevice(pipeline.ClassName, device);
        }
        catch
        {
            ProcessingRegistry.Remove(device);
            throw;
        }
        return device;
    }

    void IProcessingHost.Delete(string deviceName)
    {
        DeleteStaleEntries();
        try
        {
            Server.DeleteDevice(deviceName);
        }
        catch (Exception e) when (Server.GetDevice(deviceName) is null)
        {
            // gone from this server, but the Tango DB did not take the deletion (down?): its entry would stay
            // "exported" for clients to find, so it is deleted again at the next Prepare or erasePipeline
            lock (_staleEntries)
                _staleEntries.Add(deviceName);
            throw new DevFailedException("LIMA_DbUnavailable",
                $"{deviceName} is gone from this server, but the Tango database did not delete its entry ({e.Message}): it is deleted again at the next Prepare or erasePipeline",
                "erasePipeline");
        }
        finally
        {
            ProcessingRegistry.Remove(deviceName);
        }
    }

    /// <summary>Deletes from the Tango DB the processing devices whose deletion it did not take before.</summary>
    private void DeleteStaleEntries()
    {
        string[] stale;
        lock (_staleEntries)
            stale = [.. _staleEntries];
        if (stale.Length == 0)
            return;
        try
        {
            using var db = new Database();
            foreach (var device in stale)
            {
                db.DeleteDevice(device);
                lock (_staleEntries)
                    _staleEntries.Remove(device);
            }
        }
        catch (DevFailedException e)
        {
            Logger.Warn("Tango DB entries of deleted processing devices are still there: {Error}", e.Message);
        }
    }
}
