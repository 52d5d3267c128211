namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// A synthetic JUNGFRAU calibration for the stand-in detector: per-pixel pedestals (ADU) and gains (ADU/keV) of the
/// three gain stages, drawn once from a seed and laid out module-major like an assembled frame, with the signs and
/// magnitudes of real modules (G0 ≈ 40 ADU/keV up from ≈ 3000 ADU; G1, G2 negative from ≈ 14000 ADU). It turns photon
/// counts into the raw words a module would send, switching gain stage as a pixel's charge grows.
/// </summary>
public sealed class JungfrauModel
{
    /// <summary>A stage whose ADC would pass these bounds hands over to the next one (the comparator's switching level).</summary>
    private const int G0SwitchAdu = 15000;
    private const int G1SwitchAdu = 1000;
    private static readonly ushort[] GainCode = [0b00, 0b01, 0b11];

    public JungfrauModel(int modules, float photonEnergyKeV = 12.4f, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(modules);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(photonEnergyKeV);
        Modules = modules;
        PhotonEnergyKeV = photonEnergyKeV;
        var pixels = modules * JungfrauModule.Pixels;
        var random = new Random(seed);
        float[] Map(float centre, float spread)
        {
            var map = new float[pixels];
            for (var i = 0; i < pixels; i++)
                map[i] = centre + spread * random.NextSingle();
            return map;
        }
        Pedestal = [Map(3000, 800), Map(14000, 1500), Map(14500, 1500)];
        Gain = [Map(38, 6), Map(-1.6f, 0.3f), Map(-0.11f, 0.02f)];
    }

    public int Modules { get; }
    public int Pixels => Modules * JungfrauModule.Pixels;
    public float PhotonEnergyKeV { get; }

    /// <summary>Pedestal maps of G0, G1, G2 (ADU), module-major.</summary>
    public IReadOnlyList<float[]> Pedestal { get; }

    /// <summary>Gain maps of G0, G1, G2 (ADU/keV), module-major.</summary>
    public IReadOnlyList<float[]> Gain { get; }

    /// <summary>The raw word pixel <paramref name="pixel"/> sends when <paramref name="photons"/> photons hit it.</summary>
    public ushort Raw(int pixel, double photons)
    {
        var energy = (float)(Math.Max(0, photons) * PhotonEnergyKeV);
        var stage = 0;
        var adc = Adc(0, pixel, energy);
        if (adc >= G0SwitchAdu)
        {
            stage = 1;
            adc = Adc(1, pixel, energy);
            if (adc <= G1SwitchAdu)
            {
                stage = 2;
                adc = Adc(2, pixel, energy);
            }
        }
        return Word(stage, adc);
    }

    /// <summary>
    /// A dark word: pixel <paramref name="pixel"/> held in <paramref name="stage"/> (forced gain switching, as a pedestal
    /// run does) with no photon, its pedestal plus up to ±2 ADU of noise from <paramref name="noiseSeed"/>.
    /// </summary>
    public ushort Dark(int pixel, int stage, long noiseSeed)
    {
        var hash = (ulong)noiseSeed * 0x9E3779B97F4A7C15UL ^ (ulong)pixel * 0xBF58476D1CE4E5B9UL;
        var noise = (int)((hash >> 32) % 5) - 2;
        return Word(stage, (int)MathF.Round(Pedestal[stage][pixel]) + noise);
    }

    private int Adc(int stage, int pixel, float energy) => (int)MathF.Round(Pedestal[stage][pixel] + energy * Gain[stage][pixel]);

    private static ushort Word(int stage, int adc) => (ushort)(GainCode[stage] << 14 | Math.Clamp(adc, 0, JungfrauGain.AdcMask));
}
