using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using Lima2.Detectors.Jungfrau;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Jungfrau;

public class JungfrauCorrectionTests
{
    private const float PhotonKeV = 12.4f;
    private const float ThresholdKeV = 6.2f;

    /// <summary>Raw words of every gain code (the invalid 10 included) and plausible maps: G0 gain positive, G1/G2 negative as on real modules.</summary>
    internal static (ushort[] Raw, float[][] Pedestal, float[][] Gain) Sample(int frames, int pixels, int seed)
    {
        var random = new Random(seed);
        var raw = new ushort[frames * pixels];
        for (var i = 0; i < raw.Length; i++)
            raw[i] = (ushort)(random.Next(4) << 14 | random.Next(16384));
        float[] Map(float centre, float spread) => Enumerable.Range(0, pixels).Select(_ => centre + spread * (float)random.NextDouble()).ToArray();
        return (raw, [Map(3000, 800), Map(14000, 1500), Map(14500, 1500)], [Map(38, 6), Map(-1.6f, 0.3f), Map(-0.11f, 0.02f)]);
    }

    internal static T[] ReadArray<T>(string path) where T : struct => MemoryMarshal.Cast<byte, T>(File.ReadAllBytes(path)).ToArray();

    /// <summary>Writes the frames and maps where jungfrau_reference.py reads them and runs it with <paramref name="options"/> before its positional arguments.</summary>
    internal static void RunReference(string dir, ushort[] raw, float[][] pedestal, float[][] gain, int frames, int pixels, params string[] options)
    {
        File.WriteAllBytes(Path.Combine(dir, "raw.u16"), MemoryMarshal.AsBytes(raw.AsSpan()).ToArray());
        File.WriteAllBytes(Path.Combine(dir, "pedestal.f32"), pedestal.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
        File.WriteAllBytes(Path.Combine(dir, "gain.f32"), gain.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
        Python.Run(PythonScripts.Path("jungfrau_reference.py"), [.. options, dir, $"{frames}", $"{pixels}", "12.4", "6.2"]);
    }

    /// <summary>Frames 0, 3, 6 flagged dark, the others' G0 pixels within 20 keV of zero dark (about one in ten of the sample's), a window of 10.</summary>
    internal static readonly PedestalTracking Tracking = new() { DarkEvery = 3, G0BandKeV = 20, Window = 10 };

    internal static readonly string[] TrackingOptions = ["--track", "3", "20", "10"];

    [Fact]
    public void Gain_decoding_energy_photons_and_dark_pedestals_equal_numpy_on_the_same_frames()
    {
        const int frames = 6;
        const int pixels = JungfrauModule.Pixels;
        var (raw, pedestal, gain) = Sample(frames, pixels, seed: 10);
        var dir = Directory.CreateTempSubdirectory("jungfrau-ref").FullName;
        try
        {
            RunReference(dir, raw, pedestal, gain, frames, pixels);

            var correction = new JungfrauCorrection(pedestal, gain);
            var dark = new PedestalAccumulator(pixels);
            var energy = new float[frames * pixels];
            var photons = new int[frames * pixels];
            for (var f = 0; f < frames; f++)
            {
                var frame = raw.AsSpan(f * pixels, pixels);
                correction.ToEnergy(frame, energy.AsSpan(f * pixels, pixels));
                correction.ToPhotons(frame, photons.AsSpan(f * pixels, pixels), PhotonKeV, ThresholdKeV);
                dark.Add(frame);
            }

            Assert.Equal(ReadArray<float>(Path.Combine(dir, "energy.f32")), energy); // bit for bit: same float32 operations
            Assert.Equal(ReadArray<int>(Path.Combine(dir, "photons.i32")), photons);
            Assert.Equal(ReadArray<float>(Path.Combine(dir, "dark_pedestal.f32")), Enumerable.Range(0, 3).SelectMany(dark.Pedestal));
            Assert.Equal(ReadArray<int>(Path.Combine(dir, "dark_count.i32")), Enumerable.Range(0, 3).SelectMany(g => dark.Counts(g).ToArray()));
            Assert.Contains(photons, p => p > 0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Pedestal_tracking_from_flagged_frames_and_photon_free_g0_pixels_equals_numpy_bit_for_bit(bool simd)
    {
        const int frames = 7;
        const int pixels = JungfrauModule.Pixels;
        var (raw, pedestal, gain) = Sample(frames, pixels, seed: 12);
        var dir = Directory.CreateTempSubdirectory("jungfrau-track-ref").FullName;
        try
        {
            RunReference(dir, raw, pedestal, gain, frames, pixels, TrackingOptions);

            // energies and photons each from their own run: every correction call moves its corrector's maps
            var energyRun = new JungfrauCorrection(pedestal, gain);
            var photonRun = new JungfrauCorrection(pedestal, gain);
            var energy = new float[frames * pixels];
            var photons = new int[frames * pixels];
            for (var f = 0; f < frames; f++)
            {
                var frame = raw.AsSpan(f * pixels, pixels);
                energyRun.ToEnergy(frame, energy.AsSpan(f * pixels, pixels), simd, Tracking.For(f));
                photonRun.ToPhotons(frame, photons.AsSpan(f * pixels, pixels), PhotonKeV, ThresholdKeV, simd, Tracking.For(f));
            }

            var tracked = ReadArray<float>(Path.Combine(dir, "tracked_pedestal.f32"));
            Assert.Equal(ReadArray<float>(Path.Combine(dir, "energy.f32")), energy);
            Assert.Equal(ReadArray<int>(Path.Combine(dir, "photons.i32")), photons);
            Assert.Equal(tracked, energyRun.Pedestal().SelectMany(m => m));
            Assert.Equal(tracked, photonRun.Pedestal().SelectMany(m => m));
            // both rules moved maps: every stage through the flagged frames, and more G0 pixels than those
            var moved = Enumerable.Range(0, 3).Select(g => Enumerable.Range(0, pixels).Count(i => tracked[g * pixels + i] != pedestal[g][i])).ToArray();
            Assert.All(moved, count => Assert.True(count > pixels / 2, $"moved per stage: {string.Join(", ", moved)}"));
            var g0DarkPixels = Enumerable.Range(1, frames - 1).Where(f => f % 3 != 0)
                .Sum(f => Enumerable.Range(0, pixels).Count(i => raw[f * pixels + i] >> 14 == 0 && Math.Abs(energy[f * pixels + i]) <= 20));
            Assert.True(g0DarkPixels > pixels / 20, $"{g0DarkPixels} photon-free G0 pixels in the frames not flagged");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_drifting_pedestal_is_followed_by_flagged_dark_frames_and_the_maps_given_are_left_alone()
    {
        // the detector's G0 pedestal drifts from 1000 to 1100 ADU; every other frame is dark, the rest carry 10 keV photons
        const int pixels = 64;
        float[][] pedestal = [[.. Enumerable.Repeat(1000f, pixels)], new float[pixels], new float[pixels]];
        float[][] gain = [[.. Enumerable.Repeat(40f, pixels)], [.. Enumerable.Repeat(-1.5f, pixels)], [.. Enumerable.Repeat(-0.1f, pixels)]];
        var fixedMaps = new JungfrauCorrection(pedestal, gain);
        var tracking = new JungfrauCorrection(pedestal, gain);
        var rule = new PedestalTracking { DarkEvery = 2, Window = 20 };
        float[] fixedEnergy = new float[pixels], trackedEnergy = new float[pixels];
        for (var f = 0; f < 600; f++)
        {
            var drift = 1000 + 100 * Math.Min(f, 200) / 200;
            var raw = Enumerable.Repeat((ushort)(drift + (f % 2 == 0 ? 0 : 400)), pixels).ToArray();
            fixedMaps.ToEnergy(raw, fixedEnergy);
            tracking.ToEnergy(raw, trackedEnergy, track: rule.For(f));
        }

        Assert.Equal(1000f, pedestal[0][0]); // the caller's maps stay as given
        Assert.Equal(12.5f, fixedEnergy[0]); // 500 ADU over a pedestal left at 1000: 2.5 keV too much
        Assert.InRange(trackedEnergy[0], 9.99f, 10.01f);
        Assert.InRange(tracking.Pedestal()[0][0], 1099.9f, 1100.1f);
        Assert.Equal(new float[pixels], tracking.Pedestal()[1]); // no pixel left G0: the other stages' maps did not move
    }

    [Theory]
    [InlineData(0x0000 | 100, 0)]
    [InlineData(0x4000 | 100, 1)]
    [InlineData(0x8000 | 100, 2)] // invalid code 10 -> G2
    [InlineData(0xC000 | 100, 2)]
    public void Each_gain_code_selects_its_stage_maps(int word, int stage)
    {
        float[][] pedestal = [[10], [20], [30]];
        float[][] gain = [[2], [-4], [-5]];
        var correction = new JungfrauCorrection(pedestal, gain);
        var energy = new float[1];
        correction.ToEnergy([(ushort)word], energy);
        Assert.Equal(stage, JungfrauGain.Stage((ushort)word));
        Assert.Equal((100 - pedestal[stage][0]) / gain[stage][0], energy[0]);
    }

    [Fact]
    public void The_simd_and_scalar_paths_agree_on_any_frame_length()
    {
        Prop.ForAll(Gen.Choose(1, 300).ToArbitrary(), Gen.Choose(0, 1000).ToArbitrary(), (pixels, seed) =>
        {
            var (raw, pedestal, gain) = Sample(1, pixels, seed);
            var correction = new JungfrauCorrection(pedestal, gain);
            float[] simd = new float[pixels], scalar = new float[pixels];
            int[] simdPhotons = new int[pixels], scalarPhotons = new int[pixels];
            correction.ToEnergy(raw, simd, simd: true);
            correction.ToEnergy(raw, scalar, simd: false);
            correction.ToPhotons(raw, simdPhotons, PhotonKeV, ThresholdKeV, simd: true);
            correction.ToPhotons(raw, scalarPhotons, PhotonKeV, ThresholdKeV, simd: false);
            // pedestal tracking: a flagged frame (every stage), then photon-free G0 pixels
            var (simdTracked, scalarTracked) = (new JungfrauCorrection(pedestal, gain), new JungfrauCorrection(pedestal, gain));
            foreach (var f in new[] { 0, 1 })
            {
                simdTracked.ToEnergy(raw, simd, simd: true, Tracking.For(f));
                scalarTracked.ToEnergy(raw, scalar, simd: false, Tracking.For(f));
            }
            return simd.SequenceEqual(scalar) && simdPhotons.SequenceEqual(scalarPhotons)
                   && simdTracked.Pedestal().SelectMany(m => m).SequenceEqual(scalarTracked.Pedestal().SelectMany(m => m));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Half_photon_energies_round_to_even_as_numpy_rint()
    {
        // gain 1 ADU/keV and zero pedestal make E = ADC; with 8 keV photons 20 keV = 2.5 photons -> 2, 12 -> 1.5 -> 2,
        // 4 -> 0.5 -> 0, 28 -> 3.5 -> 4; 2 keV is below the 3 keV threshold
        float[][] pedestal = [new float[17], new float[17], new float[17]];
        float[][] gain = [Enumerable.Repeat(1f, 17).ToArray(), Enumerable.Repeat(1f, 17).ToArray(), Enumerable.Repeat(1f, 17).ToArray()];
        var correction = new JungfrauCorrection(pedestal, gain);
        var raw = new ushort[17];
        ushort[] words = [20, 12, 4, 28, 2];
        words.CopyTo(raw, 0);
        raw[16] = 20; // the scalar tail of the SIMD path
        foreach (var simd in new[] { true, false })
        {
            var photons = new int[17];
            correction.ToPhotons(raw, photons, photonEnergyKeV: 8, thresholdKeV: 3, simd);
            Assert.Equal([2, 2, 0, 4, 0], photons[..5]);
            Assert.Equal(2, photons[16]);
        }
    }
}
