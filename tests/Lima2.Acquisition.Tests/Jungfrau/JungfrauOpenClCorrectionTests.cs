using System.Runtime.InteropServices;
using Lima2.Detectors.Jungfrau;
using Lima2.OpenCL;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Jungfrau;

/// <summary>
/// The OpenCL correction on the CPU device (PoCL) against the C# path and numpy, bit for bit. Each test class run
/// builds its program into a cache folder of its own, empty at first: nothing depends on a warm cache.
/// </summary>
public sealed class JungfrauOpenClCorrectionTests : IDisposable
{
    private const float PhotonKeV = 12.4f;
    private const float ThresholdKeV = 6.2f;
    private readonly string _cache = Directory.CreateTempSubdirectory("jungfrau-ocl-cache-").FullName;

    private static ClDevice Cpu => ClDevice.Select(99, 0, cpuFallback: true);

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    [Fact]
    public void Energies_and_photons_of_every_gain_code_equal_the_cpu_path_and_numpy_bit_for_bit()
    {
        const int frames = 3;
        const int pixels = JungfrauModule.Pixels;
        var (raw, pedestal, gain) = JungfrauCorrectionTests.Sample(frames, pixels, seed: 11);
        var dir = Directory.CreateTempSubdirectory("jungfrau-ocl-ref").FullName;
        try
        {
            JungfrauCorrectionTests.RunReference(dir, raw, pedestal, gain, frames, pixels);

            using var openCl = new JungfrauOpenClCorrection(pedestal, gain, Cpu, _cache);
            Assert.True(openCl.Device.IsCpu);
            var cpu = new JungfrauCorrection(pedestal, gain);
            var energy = new float[frames * pixels];
            var photons = new int[frames * pixels];
            var cpuEnergy = new float[frames * pixels];
            var cpuPhotons = new int[frames * pixels];
            for (var f = 0; f < frames; f++)
            {
                var frame = raw.AsSpan(f * pixels, pixels);
                openCl.ToEnergy(frame, energy.AsSpan(f * pixels, pixels));
                openCl.ToPhotons(frame, photons.AsSpan(f * pixels, pixels), PhotonKeV, ThresholdKeV);
                cpu.ToEnergy(frame, cpuEnergy.AsSpan(f * pixels, pixels));
                cpu.ToPhotons(frame, cpuPhotons.AsSpan(f * pixels, pixels), PhotonKeV, ThresholdKeV);
            }

            Assert.Equal(JungfrauCorrectionTests.ReadArray<float>(Path.Combine(dir, "energy.f32")), energy);
            Assert.Equal(JungfrauCorrectionTests.ReadArray<int>(Path.Combine(dir, "photons.i32")), photons);
            Assert.True(cpuEnergy.AsSpan().SequenceEqual(energy) && cpuPhotons.AsSpan().SequenceEqual(photons));
            Assert.Contains(photons, p => p > 0);
            Assert.Contains(raw, word => word >> 14 == 2); // the invalid gain code 10 is in the sample (read as G2)
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Pedestal_tracking_on_the_device_equals_the_cpu_path_and_numpy_bit_for_bit()
    {
        const int frames = 7;
        const int pixels = JungfrauModule.Pixels;
        var (raw, pedestal, gain) = JungfrauCorrectionTests.Sample(frames, pixels, seed: 12);
        var dir = Directory.CreateTempSubdirectory("jungfrau-ocl-track-ref").FullName;
        try
        {
            JungfrauCorrectionTests.RunReference(dir, raw, pedestal, gain, frames, pixels, JungfrauCorrectionTests.TrackingOptions);

            using var energyRun = new JungfrauOpenClCorrection(pedestal, gain, Cpu, _cache);
            using var photonRun = new JungfrauOpenClCorrection(pedestal, gain, Cpu, _cache);
            var cpu = new JungfrauCorrection(pedestal, gain);
            var energy = new float[frames * pixels];
            var photons = new int[frames * pixels];
            var cpuEnergy = new float[frames * pixels];
            for (var f = 0; f < frames; f++)
            {
                var frame = raw.AsSpan(f * pixels, pixels);
                var track = JungfrauCorrectionTests.Tracking.For(f);
                energyRun.ToEnergy(frame, energy.AsSpan(f * pixels, pixels), track);
                photonRun.ToPhotons(frame, photons.AsSpan(f * pixels, pixels), PhotonKeV, ThresholdKeV, track);
                cpu.ToEnergy(frame, cpuEnergy.AsSpan(f * pixels, pixels), track: track);
            }

            var tracked = JungfrauCorrectionTests.ReadArray<float>(Path.Combine(dir, "tracked_pedestal.f32"));
            Assert.Equal(JungfrauCorrectionTests.ReadArray<float>(Path.Combine(dir, "energy.f32")), energy);
            Assert.Equal(JungfrauCorrectionTests.ReadArray<int>(Path.Combine(dir, "photons.i32")), photons);
            Assert.Equal(tracked, energyRun.Pedestal().SelectMany(m => m));
            Assert.Equal(tracked, photonRun.Pedestal().SelectMany(m => m));
            Assert.True(cpuEnergy.AsSpan().SequenceEqual(energy) && cpu.Pedestal().SelectMany(m => m).SequenceEqual(tracked));
            Assert.NotEqual(pedestal.SelectMany(m => m), tracked);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Half_photon_energies_round_to_even_the_invalid_gain_code_reads_g2_and_huge_counts_saturate_as_on_the_cpu()
    {
        // gain 1 ADU/keV and zero pedestal make E = ADC: 20, 12, 4, 28 keV of 8 keV photons are 2.5, 1.5, 0.5, 3.5 -> 2, 2, 0, 4;
        // 2 keV is below the threshold; the 10 code word reads G2 (gain 1e-30: a count past int.MaxValue saturates)
        float[][] pedestal = [new float[8], new float[8], new float[8]];
        float[][] gain = [[.. Enumerable.Repeat(1f, 8)], [.. Enumerable.Repeat(1f, 8)], [.. Enumerable.Repeat(1e-30f, 8)]];
        ushort[] raw = [20, 12, 4, 28, 2, 0x8000 | 5, 0xC000 | 5, 0x4000 | 16];
        using var openCl = new JungfrauOpenClCorrection(pedestal, gain, Cpu, _cache);
        var cpu = new JungfrauCorrection(pedestal, gain);
        int[] photons = new int[8], cpuPhotons = new int[8];
        float[] energy = new float[8], cpuEnergy = new float[8];
        openCl.ToPhotons(raw, photons, photonEnergyKeV: 8, thresholdKeV: 3);
        cpu.ToPhotons(raw, cpuPhotons, photonEnergyKeV: 8, thresholdKeV: 3);
        openCl.ToEnergy(raw, energy);
        cpu.ToEnergy(raw, cpuEnergy);

        Assert.Equal([2, 2, 0, 4, 0, int.MaxValue, int.MaxValue, 2], photons);
        Assert.Equal(cpuPhotons, photons);
        Assert.Equal(cpuEnergy, energy);
        Assert.Equal(5e30f, energy[5]);
    }

    [Fact]
    public void Frames_of_the_wrong_size_are_refused()
    {
        float[][] maps = [new float[4], new float[4], new float[4]];
        using var openCl = new JungfrauOpenClCorrection(maps, maps, Cpu, _cache);
        var e = Assert.Throws<ArgumentException>(() => openCl.ToEnergy(new ushort[5], new float[5]));
        Assert.Equal("expected frames of 4 pixels, got 5 in and 5 out", e.Message);
    }
}
