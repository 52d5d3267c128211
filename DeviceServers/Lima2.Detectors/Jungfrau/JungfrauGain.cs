using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// The JUNGFRAU pixel word: bits 15-14 are the gain code, bits 13-0 the ADC value. Codes 00, 01 and 11 are gain
/// stages G0, G1 and G2; 10 never comes from a healthy chip and counts as G2, as jungfrau_utils does.
/// </summary>
public static class JungfrauGain
{
    public const int Stages = 3;
    public const ushort AdcMask = 0x3FFF;

    public static int Stage(ushort word) => Math.Min(word >> 14, 2);
    public static int Adc(ushort word) => word & AdcMask;
}

/// <summary>
/// Turns raw JUNGFRAU words into energies or photon counts with per-pixel pedestal and gain maps: on the CPU
/// (<see cref="JungfrauCorrection"/>) or on an OpenCL device (<see cref="JungfrauOpenClCorrection"/>), same results bit
/// for bit. One caller at a time.
/// </summary>
public interface IJungfrauCorrector
{
    /// <summary>The pixels of the frames it corrects (the maps' length).</summary>
    int Pixels { get; }

    /// <summary>E = (ADC − P[g]) / G[g] in keV of each pixel; then the frame's dark pixels move the pedestal (<paramref name="track"/>).</summary>
    void ToEnergy(ReadOnlySpan<ushort> raw, Span<float> energy, PedestalUpdate track = default);

    /// <summary>
    /// Photon counts: energies below <paramref name="thresholdKeV"/> count 0, the rest rint(E / E_photon); then the
    /// frame's dark pixels move the pedestal (<paramref name="track"/>).
    /// </summary>
    void ToPhotons(ReadOnlySpan<ushort> raw, Span<int> photons, float photonEnergyKeV, float thresholdKeV, PedestalUpdate track = default);

    /// <summary>The pedestal maps (G0, G1, G2) as they are now, pedestal tracking included: copies.</summary>
    float[][] Pedestal();
}

/// <summary>Which pixels of a frame are dark, for pedestal tracking.</summary>
public enum DarkPixels
{
    /// <summary>None: the pedestal stays as it is.</summary>
    None,

    /// <summary>Every pixel: a frame flagged dark (the shutter was closed on it).</summary>
    All,

    /// <summary>The pixels in G0 with |E| ≤ <see cref="PedestalUpdate.BandKeV"/> (no photon in them).</summary>
    G0WithoutPhoton,
}

/// <summary>
/// Pedestal tracking for one frame, applied after the frame is corrected with the maps as they were: each dark pixel
/// moves the pedestal of its gain stage 1/<see cref="Window"/> of the way to its ADC, P += (ADC − P) / Window, in
/// float32 (jungfrau-photoncounter's updatePedestal, include/jungfrau-photoncounter/kernel/helpers.hpp). Its
/// ConversionKernel takes a pixel as dark when |ADC − P| ≤ c·σ of the dark run; pedestal files here carry no σ, so
/// <see cref="DarkPixels.G0WithoutPhoton"/> bounds E = (ADC − P[G0]) / G[G0] instead (a fraction of a photon's keV),
/// and only in G0, where the pedestal drifts and a photon-free pixel sits.
/// </summary>
public readonly record struct PedestalUpdate(DarkPixels Pixels, float Window, float BandKeV);

/// <summary>
/// Which frames and pixels of a corrected run move the pedestal maps (the detector drifts with temperature during a
/// run): frames 0, N, 2N, ... flagged dark (a pulsed shutter closed on them), and/or in the other frames the G0 pixels
/// without a photon. Frames with padded packets move nothing (padding reads as G2 signal).
/// </summary>
public sealed record PedestalTracking
{
    /// <summary>Frames 0, N, 2N, ... of the run are dark: all their pixels count; 0 = no frame flagged.</summary>
    public int DarkEvery { get; init; }

    /// <summary>In the frames not flagged: G0 pixels with |E| at most this many keV count; null = none.</summary>
    public float? G0BandKeV { get; init; }

    /// <summary>Dark samples a pixel's pedestal follows: each moves it 1/Window of the way.</summary>
    public int Window { get; init; } = 1000;

    /// <summary>The update for frame <paramref name="index"/> of the run (0 = the first).</summary>
    public PedestalUpdate For(long index) =>
        DarkEvery > 0 && index % DarkEvery == 0 ? new(DarkPixels.All, Window, 0)
        : G0BandKeV is { } band ? new(DarkPixels.G0WithoutPhoton, Window, band)
        : default;
}

/// <summary>
/// Per-pixel pedestal P[g] (ADU) and gain G[g] (ADU/keV) for the three gain stages, and the correction
/// E = (ADC − P[g]) / G[g] in keV, or photons = round(E / E_photon) with E below a threshold counted as 0
/// (round half to even, as numpy's rint). A SIMD path (System.Numerics.Vector) and a scalar one give identical results:
/// the same float32 operations in the same order.
/// </summary>
public sealed class JungfrauCorrection : IJungfrauCorrector
{
    private readonly float[][] _pedestal;
    private readonly float[][] _gain;

    /// <param name="pedestal">three maps (G0, G1, G2) of ADU per pixel</param>
    /// <param name="gain">three maps (G0, G1, G2) of ADU/keV per pixel</param>
    public JungfrauCorrection(IReadOnlyList<float[]> pedestal, IReadOnlyList<float[]> gain)
    {
        if (pedestal.Count != JungfrauGain.Stages || gain.Count != JungfrauGain.Stages)
            throw new ArgumentException("pedestal and gain need one map per gain stage (3)");
        Pixels = pedestal[0].Length;
        if (pedestal.Concat(gain).Any(map => map.Length != Pixels))
            throw new ArgumentException("every pedestal and gain map must have the same number of pixels");
        _pedestal = [.. pedestal.Select(map => map.ToArray())]; // pedestal tracking moves its own copy
        _gain = [.. gain];
    }

    public int Pixels { get; }

    void IJungfrauCorrector.ToEnergy(ReadOnlySpan<ushort> raw, Span<float> energy, PedestalUpdate track) => ToEnergy(raw, energy, track: track);

    void IJungfrauCorrector.ToPhotons(ReadOnlySpan<ushort> raw, Span<int> photons, float photonEnergyKeV, float thresholdKeV, PedestalUpdate track) =>
        ToPhotons(raw, photons, photonEnergyKeV, thresholdKeV, track: track);

    public float[][] Pedestal() => [.. _pedestal.Select(map => map.ToArray())];

    /// <summary>Energy in keV of each pixel; then the frame's dark pixels move the pedestal (<paramref name="track"/>).</summary>
    public void ToEnergy(ReadOnlySpan<ushort> raw, Span<float> energy, bool simd = true, PedestalUpdate track = default)
    {
        CheckLengths(raw.Length, energy.Length);
        var done = simd ? EnergySimd(raw, energy) : 0;
        for (var i = done; i < raw.Length; i++)
        {
            var stage = JungfrauGain.Stage(raw[i]);
            energy[i] = (JungfrauGain.Adc(raw[i]) - _pedestal[stage][i]) / _gain[stage][i];
        }
        Track(raw, track, simd);
    }

    /// <summary>Photon counts: energies below <paramref name="thresholdKeV"/> count 0, the rest round(E / E_photon); then pedestal tracking.</summary>
    public void ToPhotons(ReadOnlySpan<ushort> raw, Span<int> photons, float photonEnergyKeV, float thresholdKeV, bool simd = true,
        PedestalUpdate track = default)
    {
        CheckLengths(raw.Length, photons.Length);
        var rented = ArrayPool<float>.Shared.Rent(raw.Length);
        try
        {
            var energy = rented.AsSpan(0, raw.Length);
            ToEnergy(raw, energy, simd, track);
            Count(energy, photons, photonEnergyKeV, thresholdKeV, simd);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>Moves the pedestal of each dark pixel's stage toward its ADC (see <see cref="PedestalUpdate"/>); the OpenCL kernel's twin.</summary>
    private void Track(ReadOnlySpan<ushort> raw, PedestalUpdate track, bool simd)
    {
        if (track.Pixels == DarkPixels.None)
            return;
        var all = track.Pixels == DarkPixels.All;
        var g0Gain = _gain[0];
        for (var i = simd ? TrackSimd(raw, track) : 0; i < raw.Length; i++)
        {
            var stage = JungfrauGain.Stage(raw[i]);
            var map = _pedestal[stage];
            float adc = JungfrauGain.Adc(raw[i]);
            var pedestal = map[i];
            if (all || (stage == 0 && MathF.Abs((adc - pedestal) / g0Gain[i]) <= track.BandKeV))
                map[i] = pedestal + (adc - pedestal) / track.Window;
        }
    }

    private static void Count(ReadOnlySpan<float> energy, Span<int> photons, float photonEnergyKeV, float thresholdKeV, bool simd)
    {
        var done = 0;
        if (simd && Vector.IsHardwareAccelerated)
        {
            var perPhoton = new Vector<float>(photonEnergyKeV);
            var threshold = new Vector<float>(thresholdKeV);
            var counts = MemoryMarshal.Cast<int, Vector<int>>(photons);
            var energies = MemoryMarshal.Cast<float, Vector<float>>(energy);
            for (var v = 0; v < counts.Length; v++)
            {
                var rounded = Vector.ConvertToInt32(Vector.Round(energies[v] / perPhoton));
                counts[v] = Vector.ConditionalSelect(Vector.LessThan(energies[v], threshold), Vector<int>.Zero, rounded);
            }
            done = counts.Length * Vector<int>.Count;
        }
        for (var i = done; i < energy.Length; i++)
            photons[i] = energy[i] < thresholdKeV ? 0 : (int)MathF.Round(energy[i] / photonEnergyKeV);
    }

    /// <summary>The vectorised part of <see cref="ToEnergy"/>; returns how many leading pixels it did.</summary>
    private int EnergySimd(ReadOnlySpan<ushort> raw, Span<float> energy)
    {
        if (!Vector.IsHardwareAccelerated)
            return 0;
        var words = MemoryMarshal.Cast<ushort, Vector<ushort>>(raw);
        var step = Vector<uint>.Count;
        var adcMask = new Vector<uint>(JungfrauGain.AdcMask);
        for (var v = 0; v < words.Length; v++)
        {
            Vector.Widen(words[v], out var low, out var high);
            var first = v * Vector<ushort>.Count;
            EnergyOf(low, first, energy);
            EnergyOf(high, first + step, energy);
        }
        return words.Length * Vector<ushort>.Count;

        void EnergyOf(Vector<uint> word, int at, Span<float> output)
        {
            var code = Vector.ShiftRightLogical(word, 14).As<uint, int>();
            var adc = Vector.ConvertToSingle((word & adcMask).As<uint, int>());
            var isG0 = Vector.Equals(code, Vector<int>.Zero).As<int, float>();
            var isG1 = Vector.Equals(code, Vector<int>.One).As<int, float>();
            var pedestal = Vector.ConditionalSelect(isG0, Load(_pedestal[0], at), Vector.ConditionalSelect(isG1, Load(_pedestal[1], at), Load(_pedestal[2], at)));
            var gain = Vector.ConditionalSelect(isG0, Load(_gain[0], at), Vector.ConditionalSelect(isG1, Load(_gain[1], at), Load(_gain[2], at)));
            ((adc - pedestal) / gain).CopyTo(output[at..]);
        }

        static Vector<float> Load(float[] map, int at) => new(map.AsSpan(at, Vector<float>.Count));
    }

    /// <summary>
    /// The vectorised part of <see cref="Track"/> (the same float32 operations; a map's entries not moved are written back
    /// as they were); returns how many leading pixels it did.
    /// </summary>
    private int TrackSimd(ReadOnlySpan<ushort> raw, PedestalUpdate track)
    {
        if (!Vector.IsHardwareAccelerated)
            return 0;
        var words = MemoryMarshal.Cast<ushort, Vector<ushort>>(raw);
        var adcMask = new Vector<uint>(JungfrauGain.AdcMask);
        var window = new Vector<float>(track.Window);
        var band = new Vector<float>(track.BandKeV);
        var all = track.Pixels == DarkPixels.All;
        for (var v = 0; v < words.Length; v++)
        {
            Vector.Widen(words[v], out var low, out var high);
            var first = v * Vector<ushort>.Count;
            TrackOf(low, first);
            TrackOf(high, first + Vector<uint>.Count);
        }
        return words.Length * Vector<ushort>.Count;

        void TrackOf(Vector<uint> word, int at)
        {
            var code = Vector.ShiftRightLogical(word, 14).As<uint, int>();
            var adc = Vector.ConvertToSingle((word & adcMask).As<uint, int>());
            var isG0 = Vector.Equals(code, Vector<int>.Zero);
            if (all)
            {
                var isG1 = Vector.Equals(code, Vector<int>.One);
                Move(_pedestal[0], at, isG0, adc, window);
                Move(_pedestal[1], at, isG1, adc, window);
                Move(_pedestal[2], at, ~(isG0 | isG1), adc, window); // codes 10 and 11
            }
            else
            {
                var energy = (adc - new Vector<float>(_pedestal[0].AsSpan(at, Vector<float>.Count))) / new Vector<float>(_gain[0].AsSpan(at, Vector<float>.Count));
                Move(_pedestal[0], at, isG0 & Vector.LessThanOrEqual(Vector.Abs(energy), band), adc, window);
            }
        }

        static void Move(float[] map, int at, Vector<int> dark, Vector<float> adc, Vector<float> window)
        {
            var pedestal = new Vector<float>(map.AsSpan(at, Vector<float>.Count));
            Vector.ConditionalSelect(dark.As<int, float>(), pedestal + (adc - pedestal) / window, pedestal).CopyTo(map.AsSpan(at));
        }
    }

    private void CheckLengths(int raw, int output)
    {
        if (raw != Pixels || output != Pixels)
            throw new ArgumentException($"expected frames of {Pixels} pixels, got {raw} in and {output} out");
    }
}

/// <summary>
/// Pedestal maps from dark frames: the mean ADC per pixel of the frames in which that pixel was in each gain stage
/// (a dark run switches stages with the gain mode). Pixels never seen in a stage get pedestal 0 and count 0.
/// Feed only complete frames: padded packets would read as G2 dark signal.
/// </summary>
public sealed class PedestalAccumulator(int pixels)
{
    private readonly long[][] _sum = [new long[pixels], new long[pixels], new long[pixels]];
    private readonly int[][] _count = [new int[pixels], new int[pixels], new int[pixels]];

    public int Pixels => pixels;
    public long Frames { get; private set; }

    public void Add(ReadOnlySpan<ushort> raw)
    {
        if (raw.Length != pixels)
            throw new ArgumentException($"expected frames of {pixels} pixels, got {raw.Length}", nameof(raw));
        for (var i = 0; i < raw.Length; i++)
        {
            var stage = JungfrauGain.Stage(raw[i]);
            _sum[stage][i] += JungfrauGain.Adc(raw[i]);
            _count[stage][i]++;
        }
        Frames++;
    }

    /// <summary>How many frames saw each pixel in <paramref name="stage"/>.</summary>
    public ReadOnlySpan<int> Counts(int stage) => _count[stage];

    /// <summary>The pedestal map of one stage (the mean, computed in double and rounded once to float).</summary>
    public float[] Pedestal(int stage)
    {
        var map = new float[pixels];
        for (var i = 0; i < pixels; i++)
            map[i] = _count[stage][i] == 0 ? 0f : (float)((double)_sum[stage][i] / _count[stage][i]);
        return map;
    }
}
