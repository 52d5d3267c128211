using Lima2.Core.IO;

namespace Lima2.PeakFinding;

/// <summary>Per-pixel calibration arrays (row-major, the frame's shape), all optional.</summary>
public sealed record Calibration
{
    public float[]? Dark { get; init; }
    public float[]? DarkVariance { get; init; }
    public float[]? Flat { get; init; }
    public float[]? SolidAngle { get; init; }
    public float[]? Polarization { get; init; }
    public float[]? Absorption { get; init; }

    /// <summary>Per-pixel variance for <see cref="ErrorModel.Variance"/> (and instead of Poisson when given).</summary>
    public float[]? Variance { get; init; }

    /// <summary>Jungfrau raw-to-energy conversion; frames must then be uint16 (2-bit gain, 14-bit ADC).</summary>
    public JungfrauCorrection? Jungfrau { get; init; }

    public static Calibration None { get; } = new();

    /// <summary>Loads the arrays named in <paramref name="fai"/> (through <paramref name="images"/>: .npy, and HDF5
    /// once a reader is registered) and <paramref name="jungfrau"/> (.npy of shape (3, H, W)).</summary>
    /// <exception cref="ReferenceImageException">a <paramref name="fai"/> array cannot be read or does not have the frame's shape.</exception>
    /// <exception cref="ReferenceImageException">a <paramref name="jungfrau"/> file does not exist or cannot be read.</exception>
    /// <exception cref="ArgumentException">a <paramref name="jungfrau"/> array does not have the frame's shape.</exception>
    public static Calibration Load(FaiParams fai, JungfrauParams? jungfrau, int width, int height, ReferenceImages? images = null)
    {
        images ??= ReferenceImages.Default;
        float[]? Load(string? path, string field) =>
            path is null ? null : Array.ConvertAll(images.Read(path, field, width, height), v => (float)v);
        JungfrauCorrection? jf = null;
        if (jungfrau is { GainPath: not null } || jungfrau is { PedestalPath: not null })
        {
            if (jungfrau.GainPath is null || jungfrau.PedestalPath is null)
                throw new ArgumentException("jfrau: gain_path and pedestal_path go together");
            jf = new JungfrauCorrection(ReadPlanes(images, jungfrau.GainPath, "jfrau.gain_path", width, height),
                ReadPlanes(images, jungfrau.PedestalPath, "jfrau.pedestal_path", width, height), jungfrau.PhotonEnergy);
        }
        return new Calibration
        {
            Dark = Load(fai.DarkPath, "fai.dark_path"),
            DarkVariance = Load(fai.DarkVariancePath, "fai.dark_variance_path"),
            Flat = Load(fai.FlatPath, "fai.flat_path"),
            SolidAngle = Load(fai.SolidAnglePath, "fai.solid_angle_path"),
            Polarization = Load(fai.PolarizationPath, "fai.polarization_path"),
            Absorption = Load(fai.AbsorptionPath, "fai.absorption_path"),
            Variance = Load(fai.VariancePath, "fai.variance_path"),
            Jungfrau = jf,
        };
    }

    private static float[] ReadPlanes(ReferenceImages images, string path, string field, int width, int height)
    {
        var a = images.ReadFile(path, field, NpyFile.Read);
        if (a.Shape is not [3, var h, var w] || h != height || w != width)
            throw new ArgumentException($"{field}: {path} has shape ({string.Join(", ", a.Shape)}), expected (3, {height}, {width})");
        return Array.ConvertAll(a.ToDoubles(), v => (float)v);
    }

    internal void CheckShapes(int pixels)
    {
        void Check(float[]? a, string name, int n)
        {
            if (a is not null && a.Length != n)
                throw new ArgumentException($"calibration {name} has {a.Length} values, the frame has {pixels / (n / pixels)} pixels");
        }
        Check(Dark, "dark", pixels);
        Check(DarkVariance, "dark_variance", pixels);
        Check(Flat, "flat", pixels);
        Check(SolidAngle, "solid_angle", pixels);
        Check(Polarization, "polarization", pixels);
        Check(Absorption, "absorption", pixels);
        Check(Variance, "variance", pixels);
        Check(Jungfrau?.Gain, "jungfrau gain", 3 * pixels);
        Check(Jungfrau?.Pedestal, "jungfrau pedestal", 3 * pixels);
    }
}

/// <summary>
/// Jungfrau conversion of a raw uint16 pixel: bits 15-14 select the gain stage (0 → G0, 1 → G1, 3 → G2; 2 is
/// invalid), bits 13-0 are the ADC value; energy = (adc − pedestal[g]) / gain[g] (keV with gain in ADU/keV),
/// divided by the photon energy when one is given (photons).
/// </summary>
/// <param name="Gain">3 planes of H·W, ADU per keV.</param>
/// <param name="Pedestal">3 planes of H·W, ADU.</param>
public sealed record JungfrauCorrection(float[] Gain, float[] Pedestal, double PhotonEnergy)
{
    public static float Convert(ushort raw, int pixel, int pixels, float[] gain, float[] pedestal, float invPhoton)
    {
        var stage = raw >> 14;
        if (stage == 2)
            return float.NaN;
        var g = stage == 3 ? 2 : stage;
        var at = g * pixels + pixel;
        return ((raw & 0x3FFF) - pedestal[at]) / gain[at] * invPhoton;
    }
}
