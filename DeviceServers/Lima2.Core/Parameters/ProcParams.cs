using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lima2.Core.Parameters;

public sealed record Fifo
{
    [Description("frames the graph's entry queue holds before the overload policy applies")]
    [Minimum(1)] public int NbFifoFrames { get; init; } = 64;

    [Description("threads that decode and process frames in parallel (order is kept); default: the machine's " +
                 "processor count (container limits and DOTNET_PROCESSOR_COUNT included), at least 2, at most 16")]
    [Minimum(1)] [Maximum(256)] public int NbThreads { get; init; } = DefaultThreads(Environment.ProcessorCount);

    /// <summary>
    /// One thread per processor, so that decoding scales with the machine out of the box; at least 2 (the former
    /// default), at most 16: each thread holds frames in flight out of <c>memory_cap</c> (a DECTRIS stream keeps
    /// 2 × nb_threads + 4 raw messages, 300 MB for 4 Mpx uint16 at 16), so larger counts are asked for explicitly.
    /// </summary>
    public static int DefaultThreads(int processors) => Math.Clamp(processors, 2, 16);
}

/// <summary>Sizes of the buffers that devices read from (frames kept for getters, reduced-data rows).</summary>
public sealed record Buffers
{
    [Minimum(1)] public int NbFramesBuffer { get; init; } = 100;
    [Minimum(1)] public int NbInputFramesBuffer { get; init; } = 100;
    [Description("frames' worth of ROI statistics rows kept until popped")]
    [Minimum(1)] public int NbRoiStatisticsBuffer { get; init; } = 100;
    [Description("frames' worth of ROI profile rows kept until popped")]
    [Minimum(1)] public int NbRoiProfilesBuffer { get; init; } = 100;
    [Minimum(1)] public int NbFrameIdxBuffer { get; init; } = 100;
    [Minimum(1)] public int NbPeakCountersBuffer { get; init; } = 100;
    [Minimum(1)] public int NbSparseFramesBuffer { get; init; } = 100;
}

/// <summary>ROI statistics: one row per ROI per frame, rect_rois first, then arc_rois.</summary>
public sealed record Statistics
{
    public bool Enabled { get; init; }
    public IReadOnlyList<RectRoi> RectRois { get; init; } = [];
    public IReadOnlyList<ArcRoi> ArcRois { get; init; } = [];
}

public enum ProfileDirection
{
    Horizontal,
    Vertical,
}

/// <summary>
/// ROI profiles: for each ROI, one statistics record per column (horizontal, dimensions.x bins) or per row
/// (vertical, dimensions.y bins). <c>directions[i]</c> belongs to <c>rois[i]</c>.
/// </summary>
public sealed record Profiles
{
    public bool Enabled { get; init; }
    public IReadOnlyList<RectRoi> Rois { get; init; } = [];
    public IReadOnlyList<ProfileDirection> Directions { get; init; } = [];
}

/// <summary>Sum of <c>nb_frames</c> consecutive frames of the receiver, published as one accumulated frame.</summary>
public sealed record Accumulation
{
    public bool Enabled { get; init; }
    [Minimum(1)] public int NbFrames { get; init; } = 10;
}

public enum Flip
{
    None,
    LeftRight,
    UpDown,
    Both,
}

public enum Rotation
{
    [JsonStringEnumMemberName("0")] R0,
    [JsonStringEnumMemberName("90")] R90,
    [JsonStringEnumMemberName("180")] R180,
    [JsonStringEnumMemberName("270")] R270,
}

public sealed record Binning
{
    [Minimum(1)] public int X { get; init; } = 1;
    [Minimum(1)] public int Y { get; init; } = 1;
}

/// <summary>
/// Geometry of the processed frame (Lima2's roi_flip_rot node): binning (sums bx × by blocks, saturating), then
/// crop to <c>roi</c> (in binned pixels; dimensions 0 = whole frame), then flip, then rotation (clockwise).
/// </summary>
public sealed record RoiFlipRot
{
    public bool Enabled { get; init; }
    public Binning Binning { get; init; } = new();
    public CropRoi Roi { get; init; } = new();
    public Flip Flip { get; init; } = Flip.None;
    public Rotation Rotation { get; init; } = Rotation.R0;
}

/// <summary>A crop rectangle where dimensions of 0 mean "up to the frame's edge".</summary>
public sealed record CropRoi
{
    public Point Topleft { get; init; } = new();
    public CropDimensions Dimensions { get; init; } = new();
}

public sealed record CropDimensions
{
    [Minimum(0)] public int X { get; init; }
    [Minimum(0)] public int Y { get; init; }
}

public enum SavingCompression
{
    None,
    Zip,
    BshufLz4,
}

public enum FileExistsPolicy
{
    Abort,
    Overwrite,
}

public enum NbDimensions
{
    [JsonStringEnumMemberName("dim_3d_or_4d")] Dim3dOr4d,
    [JsonStringEnumMemberName("dim_4d")] Dim4d,
}

/// <summary>One saving channel (<c>saving</c>, <c>saving_dense</c>, <c>saving_sparse</c>, ...).</summary>
public sealed record SavingParams
{
    public bool Enabled { get; init; }
    public string BasePath { get; init; } = "/tmp";

    [Description("file name; fields: filename_prefix, filename_rank, file_number (with a format such as :05d), filename_suffix")]
    public string FilenameFormat { get; init; } = "{filename_prefix}_{filename_rank}_{file_number:05d}{filename_suffix}";

    public string FilenamePrefix { get; init; } = "lima2";
    [Minimum(0)] public int FilenameRank { get; init; }
    public string FilenameSuffix { get; init; } = ".h5";
    [Minimum(0)] public int StartNumber { get; init; }
    public FileExistsPolicy FileExistsPolicy { get; init; } = FileExistsPolicy.Abort;
    [Minimum(1)] public int NbFramesPerFile { get; init; } = 50;
    [Minimum(1)] public int NbFramesPerChunk { get; init; } = 1;
    public SavingCompression Compression { get; init; } = SavingCompression.None;
    public string NxEntryName { get; init; } = "entry_0000";
    public string NxInstrumentName { get; init; } = "instrument";
    public string NxDetectorName { get; init; } = "detector";
    public NbDimensions NbDimensions { get; init; } = NbDimensions.Dim3dOr4d;
    public bool IncludeFrameIdx { get; init; } = true;
}

/// <summary>A saving channel of a proc_params by its field name (<c>saving</c>, <c>saving_dense</c>, ...).</summary>
public sealed record SavingChannel(string Name, SavingParams Params);

/// <summary>The correction images of a pipeline, applied in this order: background, flat field, mask.</summary>
public sealed record CorrectionImages(ReferenceImage Background, ReferenceImage Flatfield, ReferenceImage Mask)
{
    /// <summary>Each image with its proc_params field name.</summary>
    public IEnumerable<(string Name, ReferenceImage Image)> ByName =>
        [("mask", Mask), ("flatfield", Flatfield), ("background", Background)];
}

/// <summary>
/// Fields every pipeline's <c>proc_params</c> has, and the shape of its pipeline (which saving channels, corrections,
/// accumulation and geometry step it has), so that the graph builder and the validator need not ask for its class.
/// </summary>
public abstract record ProcParams
{
    [Description("the processing class: LimaProcessingLegacy, LimaProcessingSmx, LimaProcessingXpcs, LimaProcessingFailing")]
    [JsonRequired] public string ClassName { get; init; } = "";

    public Fifo Fifo { get; init; } = new();
    public Buffers Buffers { get; init; } = new();
    public bool FrameIdxEnabled { get; init; }
    public Statistics Statistics { get; init; } = new();
    public Profiles Profiles { get; init; } = new();

    /// <summary>The saving channels that receive the processed dense frames.</summary>
    public virtual IReadOnlyList<SavingChannel> DenseSavingChannels() => [];

    /// <summary>Every saving channel: the dense ones, then the sparse and accumulation ones.</summary>
    public virtual IReadOnlyList<SavingChannel> SavingChannels() => DenseSavingChannels();

    /// <summary>The background, flat-field and mask images, or null for a pipeline without corrections.</summary>
    public virtual CorrectionImages? Corrections() => null;

    /// <summary>The accumulation block, or null for a pipeline that does not accumulate.</summary>
    public virtual Accumulation? FrameAccumulation() => null;

    /// <summary>The binning, crop, flip and rotation step (roi_flip_rot), or null for a pipeline without one.</summary>
    public virtual RoiFlipRot? FrameReshaping() => null;

    /// <summary>True for the pipelines that serve their input frames besides the processed ones (Legacy, XPCS).</summary>
    public virtual bool ServesInputFrames() => false;

    /// <summary>This proc_params with <paramref name="saving"/> in place of its dense saving channel.</summary>
    /// <exception cref="NotSupportedException">the pipeline saves no dense frames.</exception>
    public virtual ProcParams WithDenseSaving(SavingParams saving) =>
        throw new NotSupportedException($"{ClassName} saves no dense frames");
}

/// <summary>Lima2's count-rate protection block of the legacy pipeline: accepted disabled only (not implemented here).</summary>
public sealed record MaxCountrateProtection
{
    [Description("not supported by this server: must stay false (a document that enables it is refused)")]
    public bool Enabled { get; init; }
    [Minimum(0)] public double MaxCountrate { get; init; }
    [Minimum(0)] public long PixelCapacityOverride { get; init; }
    public bool AbortOnProtection { get; init; }
    public string Command { get; init; } = "";
    public IReadOnlyList<string> Args { get; init; } = [];
}

/// <summary><c>LimaProcessingLegacy</c>: corrections, geometry, statistics, profiles, accumulation, one saving channel.</summary>
public sealed record LegacyProcParams : ProcParams
{
    public LegacyProcParams() => ClassName = ProcClassNames.Legacy;

    public ReferenceImage Mask { get; init; } = new();
    public ReferenceImage Flatfield { get; init; } = new();
    public ReferenceImage Background { get; init; } = new();
    public RoiFlipRot RoiFlipRot { get; init; } = new();
    public Accumulation Accumulation { get; init; } = new();
    public MaxCountrateProtection MaxCountrateProtection { get; init; } = new();
    public SavingParams Saving { get; init; } = new();

    public override IReadOnlyList<SavingChannel> DenseSavingChannels() => [new("saving", Saving)];

    public override CorrectionImages Corrections() => new(Background, Flatfield, Mask);

    public override Accumulation FrameAccumulation() => Accumulation;

    public override RoiFlipRot FrameReshaping() => RoiFlipRot;

    public override bool ServesInputFrames() => true;

    public override ProcParams WithDenseSaving(SavingParams saving) => this with { Saving = saving };
}

/// <summary><c>LimaProcessingXpcs</c>: the legacy corrections plus dense and sparse saving.</summary>
public sealed record XpcsProcParams : ProcParams
{
    public XpcsProcParams() => ClassName = ProcClassNames.Xpcs;

    public ReferenceImage Mask { get; init; } = new();
    public ReferenceImage Flatfield { get; init; } = new();
    public ReferenceImage Background { get; init; } = new();
    public Accumulation Accumulation { get; init; } = new();
    public SavingParams SavingDense { get; init; } = new();
    public SavingParams SavingSparse { get; init; } = new();

    public override IReadOnlyList<SavingChannel> DenseSavingChannels() => [new("saving_dense", SavingDense)];

    public override IReadOnlyList<SavingChannel> SavingChannels() => [.. DenseSavingChannels(), new("saving_sparse", SavingSparse)];

    public override CorrectionImages Corrections() => new(Background, Flatfield, Mask);

    public override Accumulation FrameAccumulation() => Accumulation;

    public override bool ServesInputFrames() => true;

    public override ProcParams WithDenseSaving(SavingParams saving) => this with { SavingDense = saving };
}

/// <summary>
/// <c>LimaProcessingSmx</c>: the blocks only the SMX pipeline reads (<c>gpu</c>, <c>jfrau</c>, <c>fai</c>) are kept
/// as raw JSON objects here; the peak-finding component types them (register a fuller record with
/// <see cref="ProcParamsDocument.Register{T}"/> to replace this one).
/// </summary>
public sealed record SmxProcParams : ProcParams
{
    public SmxProcParams() => ClassName = ProcClassNames.Smx;

    public string ProcMode { get; init; } = "fai";
    [OpenObject("Lima2.PeakFinding.GpuParams, Lima2.PeakFinding")] public JsonElement Gpu { get; init; } = EmptyObject;
    [OpenObject("Lima2.PeakFinding.JungfrauParams, Lima2.PeakFinding")] public JsonElement Jfrau { get; init; } = EmptyObject;
    [OpenObject("Lima2.PeakFinding.FaiParams, Lima2.PeakFinding")]
    [Description("Lima2's pyFAI peak-finding block (error_model, cutoff_clip, cutoff_pick, nb_bins, min_nb_peaks, ...); " +
                 "its *_path arrays (mask_path with 1 = masked, dark, flat, solid_angle, polarization, absorption, " +
                 "variance, radius2d) are .npy files or HDF5 datasets file.h5:/path/to/dataset of shape (H, W)")]
    public JsonElement Fai { get; init; } = EmptyObject;
    public SavingParams SavingDense { get; init; } = new();
    public SavingParams SavingSparse { get; init; } = new();
    public SavingParams SavingAccumulationCorrected { get; init; } = new();
    public SavingParams SavingAccumulationPeak { get; init; } = new();

    public override IReadOnlyList<SavingChannel> DenseSavingChannels() => [new("saving_dense", SavingDense)];

    public override IReadOnlyList<SavingChannel> SavingChannels() =>
    [
        .. DenseSavingChannels(), new("saving_sparse", SavingSparse),
        new("saving_accumulation_corrected", SavingAccumulationCorrected), new("saving_accumulation_peak", SavingAccumulationPeak),
    ];

    public override ProcParams WithDenseSaving(SavingParams saving) => this with { SavingDense = saving };

    private static readonly JsonElement EmptyObject = ParseEmptyObject();

    private static JsonElement ParseEmptyObject()
    {
        using var document = JsonDocument.Parse("{}");
        return document.RootElement.Clone();
    }
}

/// <summary><c>LimaProcessingFailing</c>: a test pipeline whose graph faults on the first frame.</summary>
public sealed record FailingProcParams : ProcParams
{
    public FailingProcParams() => ClassName = ProcClassNames.Failing;
}

public static class ProcClassNames
{
    public const string Legacy = "LimaProcessingLegacy";
    public const string Smx = "LimaProcessingSmx";
    public const string Xpcs = "LimaProcessingXpcs";
    public const string Failing = "LimaProcessingFailing";
}
