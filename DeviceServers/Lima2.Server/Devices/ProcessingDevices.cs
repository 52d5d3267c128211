using System.Collections.Concurrent;
using Lima2.Core.Parameters;
using Lima2.Protocol;
using Lima2.Server.Processing;
using Tango;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>The runs of processing devices about to be created: a device finds its run by name at Init.</summary>
public static class ProcessingRegistry
{
    private static readonly ConcurrentDictionary<string, PipelineRun> Runs = new(StringComparer.OrdinalIgnoreCase);

    public static void Add(string device, PipelineRun run) => Runs[device] = run;

    public static void Remove(string device) => Runs.TryRemove(device, out _);

    public static PipelineRun? Find(string device) => Runs.GetValueOrDefault(device);
}

/// <summary>
/// What every processing device serves (§4.1 of the interface): counters, frame infos, the end-of-run events,
/// and the reduced data pops. The run itself is a <see cref="PipelineRun"/> owned by the receiver.
/// </summary>
public abstract class ProcessingDevice : Device
{
    private PipelineRun? _run;
    private EventPusher? _events;

    [ClassProperty("Version", Description = "version of the processing pipeline")]
    public string PipelineVersion { get; set; } = Lima2Version.Processing;

    protected PipelineRun Run => _run ?? throw new InvalidOperationException($"{Name} has no pipeline (erased?)");

    [Attr("proc_params", Description = "the processing parameters of this run (JSON)")]
    public string ProcParams => ParamsDocument.Write(Run.Proc);

    [Attr("progress_counters")] public string ProgressCounters => Run.ProgressCounters();

    [Attr("last_frames")] public string LastFrames => Run.LastFrames();

    [Attr("input_frame_info")] public string InputFrameInfo => PipelineRun.FrameInfoJson(Run.Input);

    [Attr("processed_frame_info")] public string ProcessedFrameInfo => PipelineRun.FrameInfoJson(Run.Output);

    [Attr("is_finished", DataReadyEvent = true)] public bool IsFinished => Run.IsFinished;

    [Attr("last_error", DataReadyEvent = true)] public string LastError => Run.Error?.ToJson() ?? LimaError.NoError;

    [Attr("nb_roi_statistics")] public int NbRoiStatistics => Run.RoiStatistics?.RoiCount ?? 0;

    [Attr("nb_roi_profiles")] public int NbRoiProfiles => Run.Proc.Profiles.Enabled ? Run.Proc.Profiles.Rois.Count : 0;

    [Command("popRoiStatistics", OutDescription = "STRUCTURED_ARRAY of ROI statistics rows since the previous pop")]
    public DevEncoded PopRoiStatistics() => Encode("popRoiStatistics", () => Run.PopRoiStatistics());

    [Command("popRoiProfiles")]
    public DevEncoded PopRoiProfiles() => Encode("popRoiProfiles", () => Run.PopRoiProfiles());

    [Command("popFrameIdx", OutDescription = "STRUCTURED_ARRAY of (recv_idx, frame_idx) since the previous pop")]
    public DevEncoded PopFrameIdx() => Encode("popFrameIdx", () => Run.PopFrameIdx());

    protected DevEncoded Encode(string command, Func<EncodedData> body) => LimaFailure.Guard($"{Name}/{command}", () =>
    {
        var data = body();
        return new DevEncoded(data.Format, data.Data);
    });

    protected override void Init()
    {
        _run = ProcessingRegistry.Find(Name);
        if (_run is null)
        {
            // left in the DB by a receiver that crashed: its pipeline died with it, so the device goes too
            State = DevState.Fault;
            Status = "no pipeline: processing devices are made by their receiver's Prepare";
            var server = Server;
            var name = Name;
            _ = server.Ready.ContinueWith(_ =>
            {
                try
                {
                    server.DeleteDevice(name);
                }
                catch (DevFailedException e)
                {
                    Logger.Warn("could not delete the orphan processing device {Name}: {Error}", name, e.Message);
                }
            }, TaskScheduler.Default);
            return;
        }
        _events = new EventPusher(Logger);
        _run.Finished += OnFinished;
        if (_run.IsFinished)
            OnFinished(_run);
    }

    protected override void Delete()
    {
        if (_run is not null)
            _run.Finished -= OnFinished;
        _run = null;
        _events?.Dispose();
        _events = null;
    }

    protected override DevState ReadState() => _run switch
    {
        null => DevState.Fault,
        { Error: not null } => DevState.Fault,
        { IsFinished: true } => DevState.On,
        _ => DevState.Running,
    };

    protected override string ReadStatus() => _run switch
    {
        null => "no pipeline",
        { Error: { } e } => $"failed: {e.What}",
        { IsFinished: true } => "finished",
        _ => "processing",
    };

    private void OnFinished(PipelineRun run)
    {
        _events?.Post(() =>
        {
            if (run.Error is not null)
                PushDataReadyEvent("last_error", 1);
            PushDataReadyEvent("is_finished", 1);
        });
    }
}

/// <summary>A processing class with dense frame getters (<c>getFrame</c>; global index, -1 = latest).</summary>
public abstract class DenseProcessingDevice : ProcessingDevice
{
    [Command("getFrame", InDescription = "global frame index, -1 = latest", OutDescription = "DENSE_FRAME")]
    public DevEncoded GetFrame(long index) => Encode("getFrame", () => Run.GetFrame(index));
}

[TangoClass("LimaProcessingLegacy")]
public sealed class LegacyProcessingDevice : DenseProcessingDevice
{
    /// <summary>Input frames: without corrections or geometry they are the processed frames.</summary>
    [Command("getInputFrame", InDescription = "global frame index, -1 = latest", OutDescription = "DENSE_FRAME")]
    public DevEncoded GetInputFrame(long index) => Encode("getInputFrame", () => Run.GetFrame(index));
}

[TangoClass("LimaProcessingSmx")]
public sealed class SmxProcessingDevice : DenseProcessingDevice
{
    [Attr("nb_peaks", Description = "peaks in the latest frame")] public int NbPeaks => Run.Peaks?.LastPeaks ?? 0;

    [Attr("hit_rate", Format = "%6.3f")] public double HitRate => Run.Peaks?.HitRate ?? 0;

    [Attr("peak_finder", Description = "what runs the peak finder (OpenCL device or C#)")]
    public string PeakFinder => Run.Peaks?.Description ?? "";

    [Command("getSparseFrame", InDescription = "global frame index, -1 = latest", OutDescription = "SMX_SPARSE_FRAME")]
    public DevEncoded GetSparseFrame(long index) => Encode("getSparseFrame", () => Run.GetSparseFrame(index));

    [Command("getAccCorrected", InDescription = "ignored: the latest accumulation", OutDescription = "DENSE_FRAME (float32)")]
    public DevEncoded GetAccCorrected(long index) => Encode("getAccCorrected", () => Run.GetAccumulated(peaks: false));

    [Command("getAccPeaks", InDescription = "ignored: the latest accumulation", OutDescription = "DENSE_FRAME (float32)")]
    public DevEncoded GetAccPeaks(long index) => Encode("getAccPeaks", () => Run.GetAccumulated(peaks: true));

    [Command("popPeakCounters", OutDescription = "STRUCTURED_ARRAY of (frame_idx, recv_idx, nb_peaks)")]
    public DevEncoded PopPeakCounters() => Encode("popPeakCounters", () => Run.PopPeakCounters());
}

[TangoClass("LimaProcessingXpcs")]
public sealed class XpcsProcessingDevice : DenseProcessingDevice
{
    [Command("getInputFrame", InDescription = "global frame index, -1 = latest", OutDescription = "DENSE_FRAME")]
    public DevEncoded GetInputFrame(long index) => Encode("getInputFrame", () => Run.GetFrame(index));

    [Attr("nb_fill_factors")] public int NbFillFactors => 1;

    [Command("popFillFactors", OutDescription = "STRUCTURED_ARRAY of (frame_idx, recv_idx, fill_factor)")]
    public DevEncoded PopFillFactors() => Encode("popFillFactors", () => Run.PopFillFactors());
}

/// <summary>The test pipeline whose graph fails on the first frame.</summary>
[TangoClass("LimaProcessingFailing")]
public sealed class FailingProcessingDevice : ProcessingDevice;
