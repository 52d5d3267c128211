using System.Collections.Concurrent;
using Lima2.Acquisition;
using Lima2.Core.Parameters;
using Lima2.Protocol;
using Lima2.Server.Receiver;
using Tango;
using Tango.Server;

namespace Lima2.Server.Devices;

/// <summary>The pipelines of processing devices about to be created: a device finds its pipeline by name at Init.</summary>
public static class ProcessingRegistry
{
    private static readonly ConcurrentDictionary<string, ProcessingView> Pipelines = new(StringComparer.OrdinalIgnoreCase);

    public static void Add(string device, ProcessingView pipeline) => Pipelines[device] = pipeline;

    public static void Remove(string device) => Pipelines.TryRemove(device, out _);

    public static ProcessingView? Find(string device) => Pipelines.GetValueOrDefault(device);
}

/// <summary>
/// What every processing device serves (§4.1 of the interface): counters, frame infos, the end-of-run events,
/// and the reduced data pops, read from a <see cref="ProcessingView"/> that the receiver owns.
/// </summary>
public abstract class ProcessingDevice : LimaDevice
{
    private ProcessingView? _pipeline;

    [ClassProperty("Version", Description = "version of the processing pipelines, as Lima2 clients check it")]
    public string PipelineVersion { get; set; } = Lima2Version.Processing;

    protected ProcessingView Pipeline => _pipeline ?? throw new InvalidOperationException($"{Name} has no pipeline (erased?)");

    [Attr("proc_params", Description = "the processing parameters of this pipeline's run (JSON), as checked at Prepare")]
    public string ProcParams => ParamsDocument.Write(Pipeline.Proc);

    [Attr("progress_counters", Description = "frame counters of this run (JSON: nb_frames_input, nb_frames_processed, nb_frames_dropped, nb_frames_saved, ...), growing while it runs")]
    public string ProgressCounters => Pipeline.ProgressCounters();

    [Attr("last_frames", Description = "global indexes of the latest frames (JSON: input_idx, processed_idx, sparse_idx), -1 where none yet")]
    public string LastFrames => Pipeline.LastFrames();

    [Attr("input_frame_info", Description = "the frames as received (JSON: nb_channels, dimensions in pixels, pixel_type)")]
    public string InputFrameInfo => ProcessingView.FrameInfoJson(Pipeline.Run.Input);

    [Attr("processed_frame_info", Description = "the frames after processing (JSON: nb_channels, dimensions in pixels, pixel_type)")]
    public string ProcessedFrameInfo => ProcessingView.FrameInfoJson(Pipeline.Run.Output);

    [Attr("is_finished", DataReadyEvent = true, Description = "true once the run has ended and every frame is processed and saved; a data ready event then")]
    public bool IsFinished => Pipeline.Run.IsFinished;

    [Attr("last_error", DataReadyEvent = true, Description = "\"No error\", or the LIMA_Exception JSON {what, errinfo} of the failure that ended this pipeline; a data ready event then")]
    public string LastError => Pipeline.Error?.ToJson() ?? LimaError.NoError;

    [Attr("nb_roi_statistics", Description = "how many ROIs popRoiStatistics gives a row for per frame")]
    public int NbRoiStatistics => Pipeline.RoiStatisticsCount;

    [Attr("nb_roi_profiles", Description = "how many ROI profiles popRoiProfiles gives per frame (0: profiles off)")]
    public int NbRoiProfiles => Pipeline.Proc.Profiles.Enabled ? Pipeline.Proc.Profiles.Rois.Count : 0;

    [Command("popRoiStatistics", Description = "Takes the ROI statistics computed since the previous pop",
        OutDescription = "STRUCTURED_ARRAY of ROI statistics rows (frame_idx, recv_idx, min, max, avg, std, sum), one per ROI and frame")]
    public DevEncoded PopRoiStatistics() => Encode(Pipeline.PopRoiStatistics());

    [Command("popRoiProfiles", Description = "Takes the ROI profiles computed since the previous pop",
        OutDescription = "STRUCTURED_ARRAY of ROI profile values since the previous pop")]
    public DevEncoded PopRoiProfiles() => Encode(Pipeline.PopRoiProfiles());

    [Command("popFrameIdx", Description = "Takes the indexes of the frames processed since the previous pop",
        OutDescription = "STRUCTURED_ARRAY of (recv_idx, frame_idx) since the previous pop")]
    public DevEncoded PopFrameIdx() => Encode(Pipeline.PopFrameIdx());

    internal static DevEncoded Encode(EncodedData data) => new(data.Format, data.Data);

    protected override void Init()
    {
        _pipeline = ProcessingRegistry.Find(Name);
        if (_pipeline is null)
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
        _pipeline.Run.Finished += OnFinished;
        if (_pipeline.Run.IsFinished)
            OnFinished(_pipeline.Run);
    }

    protected override void Delete()
    {
        if (_pipeline is not null)
            _pipeline.Run.Finished -= OnFinished;
        _pipeline = null;
    }

    protected override DevState ReadState() => _pipeline?.Run switch
    {
        null => DevState.Fault,
        { Error: not null } => DevState.Fault,
        { IsFinished: true } => DevState.On,
        _ => DevState.Running,
    };

    protected override string ReadStatus() => _pipeline?.Run switch
    {
        null => "no pipeline",
        { Error: { } e } => $"failed: {e.Message}",
        { IsFinished: true } => "finished",
        _ => "processing",
    };

    /// <summary>Posted: the run ends on its own thread, which a Stop holding the receiver's monitor may wait for.</summary>
    private void OnFinished(ReceiverRun run)
    {
        if (run.Error is not null)
            PostDataReadyEvent("last_error", 1);
        PostDataReadyEvent("is_finished", 1);
    }
}

/// <summary>A processing class with dense frame getters (<c>getFrame</c>; global index, -1 = latest).</summary>
public abstract class DenseProcessingDevice : ProcessingDevice
{
    [Command("getFrame", Description = "One processed frame, while the pipeline keeps it in memory",
        InDescription = "global frame index, -1 = latest", OutDescription = "DENSE_FRAME")]
    public DevEncoded GetFrame(long index) => Encode(Pipeline.GetFrame(index));
}

/// <summary>A dense processing class that also serves the frames as received (<c>getInputFrame</c>).</summary>
public abstract class InputFrameProcessingDevice : DenseProcessingDevice
{
    [Command("getInputFrame", Description = "One frame as received, while the pipeline keeps it in memory",
        InDescription = "global frame index, -1 = latest", OutDescription = "DENSE_FRAME (before corrections and geometry)")]
    public DevEncoded GetInputFrame(long index) => Encode(Pipeline.GetInputFrame(index));
}

[TangoClass("LimaProcessingLegacy")]
public sealed class LegacyProcessingDevice : InputFrameProcessingDevice;

[TangoClass("LimaProcessingSmx")]
public sealed class SmxProcessingDevice : DenseProcessingDevice
{
    [Attr("nb_peaks", Unit = "peaks", Description = "peaks found in the latest frame")]
    public int NbPeaks => Pipeline.Run.Peaks?.LastPeaks ?? 0;

    [Attr("hit_rate", Format = "%6.3f", Description = "frames with at least min_nb_peaks peaks / frames searched, 0 to 1")]
    public double HitRate => Pipeline.Run.Peaks?.HitRate ?? 0;

    [Attr("peak_finder", Description = "what runs the peak finder (OpenCL device or C#)")]
    public string PeakFinder => Pipeline.Run.Peaks?.Description ?? "";

    // getSparseFrame is declared here and on LimaProcessingXpcs, one line each over the same ProcessingView call: the
    // two classes answer in different layouts (SMX_SPARSE_FRAME: peaks; SPARSE_FRAME: pixels above 0), which the
    // descriptions say, and they share no base short of DenseProcessingDevice, which would give Legacy the command too.
    [Command("getSparseFrame", Description = "The peaks of one frame, while the pipeline keeps it in memory",
        InDescription = "global frame index, -1 = latest", OutDescription = "SMX_SPARSE_FRAME")]
    public DevEncoded GetSparseFrame(long index) => Encode(Pipeline.GetSparseFrame(index));

    [Command("getAccCorrected", Description = "The sum of the corrected frames accumulated so far",
        InDescription = "ignored: the latest accumulation", OutDescription = "DENSE_FRAME (float32)")]
    public DevEncoded GetAccCorrected(long index) => Encode(Pipeline.GetAccumulated(peaks: false));

    [Command("getAccPeaks", Description = "The sum of the peak pixels accumulated so far",
        InDescription = "ignored: the latest accumulation", OutDescription = "DENSE_FRAME (float32)")]
    public DevEncoded GetAccPeaks(long index) => Encode(Pipeline.GetAccumulated(peaks: true));

    [Command("popPeakCounters", Description = "Takes the peak counts of the frames searched since the previous pop",
        OutDescription = "STRUCTURED_ARRAY of (frame_idx, recv_idx, nb_peaks)")]
    public DevEncoded PopPeakCounters() => Encode(Pipeline.PopPeakCounters());

    [Attr("radius1d", Description = "DENSE_FRAME float32: the radial bin centres (m), width = number of bins, height 1")]
    public DevEncoded Radius1d => Encode(Pipeline.Radius1d());

    [Attr("radius2d_mask", Description = "DENSE_FRAME float32 of the frame's shape: each pixel's radius (m), NaN where masked")]
    public DevEncoded Radius2dMask => Encode(Pipeline.Radius2dMask());
}

[TangoClass("LimaProcessingXpcs")]
public sealed class XpcsProcessingDevice : InputFrameProcessingDevice
{
    // the SMX class declares its own getSparseFrame (another layout): see there
    [Command("getSparseFrame", Description = "The non-zero pixels of one frame, while the pipeline keeps it in memory",
        InDescription = "global frame index, -1 = latest", OutDescription = "SPARSE_FRAME (pixels above 0)")]
    public DevEncoded GetSparseFrame(long index) => Encode(Pipeline.GetSparseFrame(index));

    [Attr("nb_fill_factors", Description = "fill factors popFillFactors gives per frame (always 1)")]
    public int NbFillFactors => 1;

    [Command("popFillFactors", Description = "Takes the fill factors (non-zero pixels per frame) since the previous pop",
        OutDescription = "STRUCTURED_ARRAY of (frame_idx, recv_idx, fill_factor)")]
    public DevEncoded PopFillFactors() => Encode(Pipeline.PopFillFactors());
}

/// <summary>The test pipeline whose graph fails on the first frame.</summary>
[TangoClass("LimaProcessingFailing")]
public sealed class FailingProcessingDevice : ProcessingDevice;
