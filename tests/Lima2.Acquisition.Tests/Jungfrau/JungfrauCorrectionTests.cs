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

    [Fact]
    public void Gain_decoding_energy_photons_and_dark_pedestals_equal_numpy_on_the_same_frames()
    {
        const int frames = 6;
        const int pixels = JungfrauModule.Pixels;
        var (raw, pedestal, gain) = Sample(frames, pixels, seed: 10);
        var dir = Directory.CreateTempSubdirectory("jungfrau-ref").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "raw.u16"), MemoryMarshal.AsBytes(raw.AsSpan()).ToArray());
            File.WriteAllBytes(Path.Combine(dir, "pedestal.f32"), pedestal.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
            File.WriteAllBytes(Path.Combine(dir, "gain.f32"), gain.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
            Python.Run(PythonScripts.Path("jungfrau_reference.py"), [dir, $"{frames}", $"{pixels}", "12.4", "6.2"]);

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
            return simd.SequenceEqual(scalar) && simdPhotons.SequenceEqual(scalarPhotons);
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
