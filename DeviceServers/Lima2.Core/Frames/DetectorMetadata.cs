namespace Lima2.Core.Frames;

/// <summary>
/// What readers of the saved files (NXmx readers: DIALS/dxtbx, silx) need to know about the detector and the
/// exposure, as far as the channel knows it; null = unknown, left out of the files.
/// </summary>
public sealed record DetectorMetadata
{
    /// <summary>Exposure of one frame, s.</summary>
    public double? CountTime { get; init; }

    /// <summary>Time from one frame's start to the next, s.</summary>
    public double? FrameTime { get; init; }

    /// <summary>Pixel size along a row (x, columns) and along a column (y, rows), m.</summary>
    public double? XPixelSize { get; init; }

    /// <inheritdoc cref="XPixelSize"/>
    public double? YPixelSize { get; init; }

    /// <summary>Sample-to-detector distance, m.</summary>
    public double? Distance { get; init; }

    /// <summary>Where the direct beam hits the detector, in pixels from the outer corner of the first pixel (the
    /// centre of pixel (x, y) is at x + 0.5, y + 0.5), as DECTRIS and dxtbx count.</summary>
    public double? BeamCenterX { get; init; }

    /// <inheritdoc cref="BeamCenterX"/>
    public double? BeamCenterY { get; init; }

    /// <summary>The smallest count at which a pixel is saturated.</summary>
    public long? SaturationValue { get; init; }

    /// <summary>e.g. <c>Si</c>, <c>CdTe</c>.</summary>
    public string? SensorMaterial { get; init; }

    /// <summary>m.</summary>
    public double? SensorThickness { get; init; }

    /// <summary>Wavelength of the incident beam, Å (DECTRIS' <c>wavelength</c>, <c>incident_wavelength</c>).</summary>
    public double? IncidentWavelength { get; init; }

    /// <summary>Bits per pixel the detector's electronics count (DECTRIS' <c>bit_depth_readout</c>).</summary>
    public int? BitDepthReadout { get; init; }

    /// <summary>The detector's make and model, e.g. <c>Dectris EIGER2 Si 4M</c>.</summary>
    public string? Description { get; init; }

    /// <summary>
    /// The NXmx <c>pixel_mask</c> of the channel's frames, row-major (<see cref="PixelMaskBits"/>): the detector's
    /// own (a DECTRIS header's) and its layout's gaps (JUNGFRAU); null when the channel knows none.
    /// </summary>
    public uint[]? PixelMask { get; init; }

    /// <summary>hc in eV·Å (CODATA 2018): λ[Å] = hc / E[eV].</summary>
    public const double PlanckSpeedOfLightEvAngstrom = 12398.419843320026;

    /// <summary>The wavelength (Å) of photons of <paramref name="energy"/> eV; null when unknown or not positive.</summary>
    public static double? WavelengthOf(double? energy) => energy is > 0 ? PlanckSpeedOfLightEvAngstrom / energy : null;
}

/// <summary>
/// The bits of an NXmx <c>pixel_mask</c>, as the NXmx definition gives them and DECTRIS detectors and FileWriter
/// set them (bits 5, 7 and 9 to 30 are undefined); 0 is a good pixel.
/// </summary>
[Flags]
public enum PixelMaskBits : uint
{
    None = 0,

    /// <summary>No sensor there: between chips or modules.</summary>
    Gap = 1u << 0,
    Dead = 1u << 1,
    UnderResponding = 1u << 2,

    /// <summary>Over-responding: a hot pixel.</summary>
    OverResponding = 1u << 3,
    Noisy = 1u << 4,

    /// <summary>Part of a cluster of problematic pixels (set beside the others).</summary>
    Cluster = 1u << 6,

    /// <summary>Masked by the user (e.g. around the beamstop): a configured mask file.</summary>
    User = 1u << 8,

    /// <summary>A virtual pixel, whose value is interpolated.</summary>
    Virtual = 1u << 31,
}
