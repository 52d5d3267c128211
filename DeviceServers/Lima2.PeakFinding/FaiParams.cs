using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lima2.PeakFinding;

/// <summary>How the spread of each radial bin is estimated (pyFAI's <c>ErrorModel</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ErrorModel>))]
public enum ErrorModel
{
    /// <summary>No variance: rejected by sigma clipping, kept for Lima2 compatibility of the JSON.</summary>
    [JsonStringEnumMemberName("no_var")] NoVar,

    /// <summary>Per-pixel variance from <see cref="FaiParams.VariancePath"/>, propagated like Poisson.</summary>
    [JsonStringEnumMemberName("variance")] Variance,

    /// <summary>Variance = max(raw, 1).</summary>
    [JsonStringEnumMemberName("poisson")] Poisson,

    /// <summary>Variance from the spread of the bin's pixels.</summary>
    [JsonStringEnumMemberName("azimuthal")] Azimuthal,

    /// <summary>Clip with the azimuthal spread, report the Poisson one (newer pyFAI).</summary>
    [JsonStringEnumMemberName("hybrid")] Hybrid,
}

/// <summary>
/// The <c>fai</c> block of Lima2's SMX processing parameters (field names as Lima2 spells them), plus the few
/// settings this implementation adds (marked "extension"). Paths point to calibration arrays (.npy) of the
/// frame's shape.
/// </summary>
public sealed record FaiParams
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        WriteIndented = true,
    };

    [JsonPropertyName("error_model")] public ErrorModel ErrorModel { get; init; } = ErrorModel.Poisson;

    /// <summary>Sigma-clipping bound; the Chauvenet bound applies when it is larger.</summary>
    [JsonPropertyName("cutoff_clip")] public double CutoffClip { get; init; } = 5;

    /// <summary>Number of sigma-clipping cycles.</summary>
    [JsonPropertyName("cycle")] public int Cycle { get; init; } = 5;

    /// <summary>Signal-to-noise ratio for picking (pixels above background + cutoff_pick·σ).</summary>
    [JsonPropertyName("cutoff_pick")] public double CutoffPick { get; init; } = 3;

    /// <summary>Noise added in quadrature to the background σ, and the minimum excess of a sparse pixel.</summary>
    [JsonPropertyName("noise")] public double Noise { get; init; } = 1;

    [JsonPropertyName("patch_size")] public int PatchSize { get; init; } = 3;

    /// <summary>Intense pixels needed in the patch (centre included) to call a local maximum a peak.</summary>
    [JsonPropertyName("connected")] public int Connected { get; init; } = 3;

    /// <summary>A frame is a hit when it has at least this many peaks.</summary>
    [JsonPropertyName("min_nb_peaks")] public int MinNbPeaks { get; init; } = 1;

    /// <summary>Do not save the dense frame of non-hits.</summary>
    [JsonPropertyName("dense_skip_nohits")] public bool DenseSkipNohits { get; init; }

    [JsonPropertyName("dummy")] public double? Dummy { get; init; }

    [JsonPropertyName("delta_dummy")] public double DeltaDummy { get; init; }

    [JsonPropertyName("normalization_factor")] public double NormalizationFactor { get; init; } = 1;

    /// <summary>Only pixels with radius (m) below this are picked; 0 = no limit.</summary>
    [JsonPropertyName("radius_max")] public double RadiusMax { get; init; }

    [JsonPropertyName("acc_nb_frames_reset")] public int AccNbFramesReset { get; init; }

    [JsonPropertyName("acc_nb_frames_xfer")] public int AccNbFramesXfer { get; init; }

    [JsonPropertyName("mask_path")] public string? MaskPath { get; init; }
    [JsonPropertyName("dark_path")] public string? DarkPath { get; init; }
    [JsonPropertyName("dark_variance_path")] public string? DarkVariancePath { get; init; }
    [JsonPropertyName("flat_path")] public string? FlatPath { get; init; }
    [JsonPropertyName("solid_angle_path")] public string? SolidAnglePath { get; init; }
    [JsonPropertyName("polarization_path")] public string? PolarizationPath { get; init; }
    [JsonPropertyName("absorption_path")] public string? AbsorptionPath { get; init; }
    [JsonPropertyName("variance_path")] public string? VariancePath { get; init; }

    /// <summary>Radius of each pixel (m), instead of computing it from a geometry.</summary>
    [JsonPropertyName("radius2d_path")] public string? Radius2dPath { get; init; }

    /// <summary>Lima2 reads pyFAI's bin centres from here; this implementation builds equal-width bins itself
    /// and takes only their number from this file (when nb_bins is 0).</summary>
    [JsonPropertyName("radius1d_path")] public string? Radius1dPath { get; init; }

    /// <summary>Lima2's precomputed pyFAI CSR matrix; not read: the bins are rebuilt from the radius map.</summary>
    [JsonPropertyName("csr_path")] public string? CsrPath { get; init; }
    [JsonPropertyName("cl_source_path")] public string? ClSourcePath { get; init; }
    [JsonPropertyName("dense_intensity_factor")] public double DenseIntensityFactor { get; init; } = 1;
    [JsonPropertyName("dense_intensity_offset")] public double DenseIntensityOffset { get; init; }
    [JsonPropertyName("dense_pixel_type")] public string? DensePixelType { get; init; }

    /// <summary>Extension: number of radial bins; 0 = one per two pixels of the largest radius (ceil(r_max/2·pixel)).
    /// Bins much wider than the frame's powder rings leave the rings in the picked pixels.</summary>
    [JsonPropertyName("nb_bins")] public int NbBins { get; init; }

    /// <summary>Extension: reproduce pyFAI 0.21.3 exactly (σ normalised by Σω, no border/mask rule in picking)
    /// instead of the newer pyFAI rules.</summary>
    [JsonPropertyName("pyfai_0_21_3_compat")] public bool Pyfai0213Compat { get; init; }

    public static FaiParams Parse(string json)
    {
        FaiParams? p;
        try
        {
            p = JsonSerializer.Deserialize<FaiParams>(json, Json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"fai parameters: {e.Message}", nameof(json), e);
        }
        return (p ?? throw new ArgumentException("fai parameters: null document", nameof(json))).Validated();
    }

    /// <summary>Reads the block as embedded in the SMX processing parameters (<c>SmxProcParams.Fai</c>).</summary>
    public static FaiParams Parse(JsonElement block) => Parse(block.GetRawText());

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Checks value ranges; throws <see cref="ArgumentException"/> naming the field.</summary>
    public FaiParams Validated()
    {
        static void Require(bool ok, string field, string why)
        {
            if (!ok)
                throw new ArgumentException($"fai.{field}: {why}");
        }
        Require(ErrorModel != ErrorModel.NoVar, "error_model", "sigma clipping needs an error model (poisson, variance, azimuthal or hybrid)");
        Require(ErrorModel != ErrorModel.Variance || VariancePath is not null, "error_model", "'variance' needs fai.variance_path");
        Require(ErrorModel != ErrorModel.Hybrid || !Pyfai0213Compat, "error_model", "'hybrid' does not exist in pyFAI 0.21.3");
        Require(Cycle >= 0, "cycle", "must be ≥ 0");
        Require(PatchSize is >= 1 and <= 15 && PatchSize % 2 == 1, "patch_size", "must be odd, 1 to 15");
        Require(Connected >= 1 && Connected <= PatchSize * PatchSize, "connected", "must be 1 to patch_size²");
        Require(double.IsFinite(CutoffClip) && CutoffClip >= 0, "cutoff_clip", "must be ≥ 0");
        Require(double.IsFinite(CutoffPick) && CutoffPick >= 0, "cutoff_pick", "must be ≥ 0");
        Require(double.IsFinite(Noise) && Noise >= 0, "noise", "must be ≥ 0");
        Require(double.IsFinite(NormalizationFactor) && NormalizationFactor != 0, "normalization_factor", "must be finite and non-zero");
        Require(DeltaDummy >= 0, "delta_dummy", "must be ≥ 0");
        Require(NbBins >= 0, "nb_bins", "must be ≥ 0");
        Require(MinNbPeaks >= 0, "min_nb_peaks", "must be ≥ 0");
        Require(AccNbFramesXfer >= 0 && AccNbFramesReset >= 0, "acc_nb_frames_xfer", "must be ≥ 0");
        return this;
    }
}

/// <summary>Lima2's <c>gpu</c> block: which OpenCL device runs the finder.</summary>
public sealed record GpuParams
{
    public static GpuParams Parse(JsonElement block) => block.ValueKind == JsonValueKind.Object
        ? block.Deserialize<GpuParams>(FaiParams.Json) ?? new GpuParams() : new GpuParams();

    [JsonPropertyName("platform_idx")] public int PlatformIdx { get; init; }
    [JsonPropertyName("device_idx")] public int DeviceIdx { get; init; }
    [JsonPropertyName("ocl_cpu_fallback_enabled")] public bool OclCpuFallbackEnabled { get; init; } = true;
    [JsonPropertyName("cl_source_path")] public string? ClSourcePath { get; init; }
}

/// <summary>Lima2's <c>jfrau</c> block: Jungfrau gain and pedestal correction.</summary>
public sealed record JungfrauParams
{
    public static JungfrauParams Parse(JsonElement block) => block.ValueKind == JsonValueKind.Object
        ? block.Deserialize<JungfrauParams>(FaiParams.Json) ?? new JungfrauParams() : new JungfrauParams();

    /// <summary>.npy of shape (3, H, W): ADU per keV for gain stages G0, G1, G2.</summary>
    [JsonPropertyName("gain_path")] public string? GainPath { get; init; }

    /// <summary>.npy of shape (3, H, W): pedestal in ADU for G0, G1, G2.</summary>
    [JsonPropertyName("pedestal_path")] public string? PedestalPath { get; init; }

    /// <summary>keV; the corrected value is in photons when set, in keV when 0.</summary>
    [JsonPropertyName("photon_energy")] public double PhotonEnergy { get; init; }
}
