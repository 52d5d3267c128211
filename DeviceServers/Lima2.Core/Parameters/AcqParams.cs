using System.ComponentModel;
using Lima2.Core.Frames;

namespace Lima2.Core.Parameters;

/// <summary>The <c>acq</c> block of <c>acq_params</c>: what every detector plugin understands.</summary>
public sealed record Acquisition
{
    // The bounds keep every product of these fields (frame period in ticks, period × frame index, frame counts
    // summed over triggers) within a long: Lima2's own C++ counts frames in an int.

    [Description("number of frames; 0 = endless, until Stop")]
    [Minimum(0)] [Maximum(MaxFrames)] public long NbFrames { get; init; } = 1;

    [Description("exposure time in µs")]
    [ExclusiveMinimum(0)] [Maximum(MaxTimeMicroseconds)] public long ExpoTime { get; init; } = 1000;

    [Description("latency time between frames in µs")]
    [Minimum(0)] [Maximum(MaxTimeMicroseconds)] public long LatencyTime { get; init; }

    public TriggerMode TriggerMode { get; init; } = TriggerMode.Internal;

    [Minimum(1)] [Maximum(MaxFrames)] public long NbFramesPerTrigger { get; init; } = 1;

    [Description("what the saved files (NXmx) say about the beam, the geometry and the sample besides what the detector tells")]
    public Experiment Experiment { get; init; } = new();

    private const double MaxFrames = int.MaxValue;

    /// <summary>One day.</summary>
    private const double MaxTimeMicroseconds = 86_400_000_000;
}

/// <summary>
/// The experiment as the saved files describe it (NXmx): what the detector does not know, or knows wrong. A number
/// given here wins over the detector's (a DECTRIS header's); null leaves the detector's, or "unknown" when it has none.
/// </summary>
public sealed record Experiment
{
    [Description("incident wavelength in Å; null: the detector's (a DECTRIS header's wavelength or photon energy), else unknown")]
    [ExclusiveMinimum(0)] public double? Wavelength { get; init; }

    [Description("sample-to-detector distance in m; null: the detector's, else unknown")]
    [ExclusiveMinimum(0)] public double? DetectorDistance { get; init; }

    [Description("where the direct beam hits the detector along a row (x, columns), in pixels from the outer corner of the " +
                 "first pixel (the centre of pixel 0 is at 0.5); null: the detector's, else unknown")]
    public double? BeamCenterX { get; init; }

    [Description("where the direct beam hits the detector along a column (y, rows), in pixels from the outer corner of the " +
                 "first pixel; null: the detector's, else unknown")]
    public double? BeamCenterY { get; init; }

    [Description("the sample's name (NXsample name)")]
    public string SampleName { get; init; } = Unknown;

    [Description("the instrument, e.g. the beamline (NXinstrument name)")]
    public string InstrumentName { get; init; } = Unknown;

    [Description("the facility's source (NXsource name)")]
    public string SourceName { get; init; } = Unknown;

    public const string Unknown = "unknown";

    /// <summary>The detector's facts with what this experiment states over them.</summary>
    public DetectorMetadata Over(DetectorMetadata? detector)
    {
        var facts = detector ?? new DetectorMetadata();
        return facts with
        {
            IncidentWavelength = Wavelength ?? facts.IncidentWavelength,
            Distance = DetectorDistance ?? facts.Distance,
            BeamCenterX = BeamCenterX ?? facts.BeamCenterX,
            BeamCenterY = BeamCenterY ?? facts.BeamCenterY,
        };
    }
}

/// <summary>
/// The <c>acq_params</c> document (control and receivers): <c>acq</c> and the plugin's <c>det</c> block, e.g.
/// <c>AcqParams&lt;SimulatorDet&gt;</c>. A plugin that saves raw frames itself (Dectris) adds a <c>saving</c> block
/// in a record of its own.
/// </summary>
public sealed record AcqParams<TDet> : IAcqParams where TDet : class, new()
{
    public Acquisition Acq { get; init; } = new();
    public TDet Det { get; init; } = new();

    object IAcqParams.Det => Det;
}

/// <summary>An <c>acq_params</c> document whatever its plugin: the devices hold one, the plugin reads its <c>det</c>.</summary>
public interface IAcqParams
{
    Acquisition Acq { get; }

    object Det { get; }
}

/// <summary>The detector plugins, each with its <c>det</c> block.</summary>
public enum DetectorPlugin
{
    /// <summary><see cref="SimulatorDet"/>: the receivers generate or load the frames.</summary>
    Simulator,

    /// <summary><see cref="DectrisAcqParams"/>: a DECTRIS detector driven over SIMPLON, its stream read by the receivers.</summary>
    Dectris,

    /// <summary><see cref="JungfrauAcqParams"/>: a JUNGFRAU whose modules send UDP packets to the receivers' ports.</summary>
    Jungfrau,
}

/// <summary>Parses and checks the <c>acq_params</c> document of a plugin.</summary>
public static class AcqParamsDocument
{
    /// <summary>The schema stored as <c>acq_params.schema</c> for a server of that plugin.</summary>
    public static System.Text.Json.Nodes.JsonObject Schema(DetectorPlugin plugin) => plugin switch
    {
        DetectorPlugin.Dectris => ParamsDocument.Schema<DectrisAcqParams>("acq_params"),
        DetectorPlugin.Jungfrau => ParamsDocument.Schema<JungfrauAcqParams>("acq_params"),
        _ => ParamsDocument.Schema<AcqParams<SimulatorDet>>("acq_params"),
    };

    /// <summary>The document's record, every field error at once (<see cref="ParamsException"/>).</summary>
    public static IAcqParams Parse(DetectorPlugin plugin, string json) => plugin switch
    {
        DetectorPlugin.Dectris => Checked(ParamsDocument.Parse<DectrisAcqParams>(json, "acq_params")),
        DetectorPlugin.Jungfrau => Checked(ParamsDocument.Parse<JungfrauAcqParams>(json, "acq_params")),
        _ => Checked(ParamsDocument.Parse<AcqParams<SimulatorDet>>(json, "acq_params")),
    };

    public static IAcqParams Default(DetectorPlugin plugin) => plugin switch
    {
        DetectorPlugin.Dectris => new DectrisAcqParams(),
        DetectorPlugin.Jungfrau => new JungfrauAcqParams(),
        _ => new AcqParams<SimulatorDet>(),
    };

    private static AcqParams<TDet> Checked<TDet>(AcqParams<TDet> document) where TDet : class, new()
    {
        ParamsValidator.ThrowIfAny(ParamsValidator.Validate(document));
        return document;
    }

    private static DectrisAcqParams Checked(DectrisAcqParams document)
    {
        ParamsValidator.ThrowIfAny([.. ParamsValidator.Validate(document.Acq), .. ParamsValidator.Validate(document.Saving, "saving")]);
        return document;
    }

    private static JungfrauAcqParams Checked(JungfrauAcqParams document)
    {
        ParamsValidator.ThrowIfAny([.. ParamsValidator.Validate(document.Acq), .. ParamsValidator.Validate(document.Saving, "saving")]);
        return document;
    }
}

/// <summary>
/// The Dectris plugin's <c>acq_params</c>: <c>acq</c>, the detector's <c>det</c> and, as Lima2's Dectris plugin
/// (plugin_saves_raws), a <c>saving</c> block for the frames as the detector sent them, which the conductor fills in
/// (filename_rank per receiver) and reads back for the master file.
/// </summary>
public sealed record DectrisAcqParams : IAcqParams
{
    public Acquisition Acq { get; init; } = new();
    public DectrisDet Det { get; init; } = new();

    [Description("the received frames, saved by each receiver (its input frames' channel: saving for Legacy, saving_dense for SMX and XPCS)")]
    public SavingParams Saving { get; init; } = new();

    object IAcqParams.Det => Det;

    /// <summary>
    /// <paramref name="proc"/> with <see cref="Saving"/> in the channel that saves the receiver's frames, when it is
    /// enabled; refused when proc_params saves them too (two writers of one dataset).
    /// </summary>
    public ProcParams WithRawSaving(ProcParams proc)
    {
        if (!Saving.Enabled || proc.DenseSavingChannels() is not [var dense])
            return proc;
        return dense.Params.Enabled
            ? throw new ParamsException([new ParamsError($"{ProcParamsDocument.Root}.{dense.Name}",
                "acq_params saving (the Dectris plugin's raw frames) is enabled too: enable one of them")])
            : proc.WithDenseSaving(Saving);
    }
}

/// <summary>How a DECTRIS detector compresses its images (SIMPLON <c>compression</c>).</summary>
public enum DectrisCompression
{
    /// <summary>bitshuffle + LZ4, the EIGER2 default.</summary>
    Bslz4,
    Lz4,

    /// <summary>uncompressed; only firmware that offers it (stream V2 era) accepts it.</summary>
    None,
}

/// <summary>
/// The <c>det</c> block of the Dectris plugin: what the control device writes to the detector's SIMPLON config at
/// Prepare, besides what <c>acq</c> says (nimages, ntrigger, count_time, frame_time, trigger_mode). The keys are
/// ones an EIGER2 accepts; the receivers ignore this block (they read the frame geometry from the stream).
/// </summary>
public sealed record DectrisDet
{
    [Description("energy of the incident photons in eV (SIMPLON photon_energy; sets the threshold to half of it)")]
    [ExclusiveMinimum(0)] public double PhotonEnergy { get; init; } = 8041;

    [Description("counting threshold in eV (SIMPLON threshold_energy); 0 = the detector's choice from photon_energy")]
    [Minimum(0)] public double ThresholdEnergy { get; init; }

    [Description("apply the count-rate correction in the detector (SIMPLON countrate_correction_applied)")]
    public bool CountrateCorrection { get; init; } = true;

    [Description("image compression on the stream (SIMPLON compression)")]
    public DectrisCompression Compression { get; init; } = DectrisCompression.Bslz4;
}

public enum ImageSource
{
    Generator,
    Loader,
}

public enum GeneratorType
{
    Gauss,
    Diffraction,
}

/// <summary>The simulator's <c>det</c> block.</summary>
public sealed record SimulatorDet
{
    public ImageSource ImageSource { get; init; } = ImageSource.Generator;

    [Description("distinct images computed ahead and reused in turn (frame i shows image i % n); 0 = every frame computed")]
    [Minimum(0)] public int NbPrefetchFrames { get; init; }

    public GeneratorParams Generator { get; init; } = new();
    public LoaderParams Loader { get; init; } = new();
}

public sealed record GeneratorParams
{
    public GeneratorType Type { get; init; } = GeneratorType.Gauss;
    public GaussParams Gauss { get; init; } = new();
    public DiffractionParams Diffraction { get; init; } = new();
    public PixelType PixelType { get; init; } = PixelType.Gray16;
    [Minimum(1)] [Maximum(1)] public int NbChannels { get; init; } = 1;
    [Minimum(1)] [Maximum(16384)] public int Width { get; init; } = 1024;
    [Minimum(1)] [Maximum(16384)] public int Height { get; init; } = 1024;
}

/// <summary>One Gaussian peak: centre, full width at half maximum and height (pixel value at the centre).</summary>
public sealed record GaussPeak
{
    public double X0 { get; init; } = 512;
    public double Y0 { get; init; } = 512;
    [ExclusiveMinimum(0)] public double Fwhm { get; init; } = 32;
    [Minimum(0)] public double Max { get; init; } = 1000;
}

public sealed record GaussParams
{
    public IReadOnlyList<GaussPeak> Peaks { get; init; } = [new GaussPeak()];

    [Description("peak heights grow by this factor per frame: height(i) = max * (1 + grow_factor * i)")]
    [Minimum(0)] public double GrowFactor { get; init; }
}

/// <summary>One powder ring: radius, Gaussian width (fwhm) and peak intensity, in pixels and counts.</summary>
public sealed record Ring
{
    [Minimum(0)] public double Radius { get; init; } = 200;
    [ExclusiveMinimum(0)] public double Fwhm { get; init; } = 4;
    [Minimum(0)] public double Intensity { get; init; } = 50;
}

/// <summary>
/// Diffraction-like frames: a radial background <c>offset + amplitude * exp(-r / decay)</c> around the beam centre,
/// powder rings, randomly placed Gaussian Bragg peaks and Poisson noise, all seeded by (seed, global frame index).
/// </summary>
public sealed record DiffractionParams
{
    [Description("beam centre in pixels; negative = frame centre")]
    public PointD BeamCenter { get; init; } = new() { X = -1, Y = -1 };

    [Minimum(0)] public double BackgroundOffset { get; init; } = 5;
    [Minimum(0)] public double BackgroundAmplitude { get; init; } = 100;
    [ExclusiveMinimum(0)] public double BackgroundDecay { get; init; } = 300;

    public IReadOnlyList<Ring> Rings { get; init; } = [new Ring()];

    [Minimum(0)] public int NbBraggPeaks { get; init; } = 20;
    [ExclusiveMinimum(0)] public double BraggFwhm { get; init; } = 3;
    [Minimum(0)] public double BraggIntensityMin { get; init; } = 500;
    [Minimum(0)] public double BraggIntensityMax { get; init; } = 5000;

    public bool PoissonNoise { get; init; } = true;
    public long Seed { get; init; } = 1;
}

/// <summary>Frames read from files (<c>image_source = loader</c>).</summary>
public sealed record LoaderParams
{
    public string BasePath { get; init; } = "";
    public string FilenameFormat { get; init; } = "{filename_prefix}_{file_number:05d}{filename_suffix}";
    public string FilenamePrefix { get; init; } = "";
    public string FilenameSuffix { get; init; } = ".h5";
    [Minimum(0)] public int StartNumber { get; init; }
    [Minimum(1)] public int NbFramesPerFile { get; init; } = 50;
    public string DatasetPath { get; init; } = "/entry_0000/instrument/detector/data";
    public string FileType { get; init; } = "nexus";
    public FrameSlice FrameSlice { get; init; } = new();
}

/// <summary>Which frames of the files to play: start, count (0 = all) and stride.</summary>
public sealed record FrameSlice
{
    [Minimum(0)] public long Start { get; init; }
    [Minimum(0)] public long Count { get; init; }
    [Minimum(1)] public long Stride { get; init; } = 1;
}
