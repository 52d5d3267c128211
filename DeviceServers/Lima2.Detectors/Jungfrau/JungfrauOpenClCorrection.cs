using Lima2.OpenCL;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// The JUNGFRAU correction on an OpenCL device: the maps live on the device once, each frame's raw words go up and
/// its energies or photon counts come back. Bit for bit what <see cref="JungfrauCorrection"/> computes on the CPU:
/// the same float32 operations, division correctly rounded (<c>-cl-fp32-correctly-rounded-divide-sqrt</c>), no
/// contraction, rint (half to even) and a saturating conversion as .NET's. One caller at a time (one queue, one set
/// of frame buffers). Pedestal tracking runs in the same kernel, after each pixel's correction, on the device's maps
/// (each work item moves only its own pixel's entries).
/// </summary>
public sealed class JungfrauOpenClCorrection : IJungfrauCorrector, IDisposable
{
    private const string Source = """
        #pragma OPENCL FP_CONTRACT OFF

        // E = (ADC - P[g]) / G[g] keV; gain code 10 (invalid) counts as G2, as jungfrau_utils does. Maps: 3 x pixels.
        inline float energy_of(ushort word, uint i, uint pixels, __global const float* pedestal, __global const float* gain)
        {
            uint at = min((uint)(word >> 14), 2u) * pixels + i;
            return ((float)(word & 0x3FFF) - pedestal[at]) / gain[at];
        }

        // Pedestal tracking (PedestalUpdate): dark 0 none, 1 every pixel, 2 G0 pixels with |E| <= band keV;
        // P += (ADC - P) / window for the pixel's stage, after its correction.
        inline void track(ushort word, uint i, uint pixels, __global float* pedestal, __global const float* gain,
                          uint dark, float window, float band)
        {
            uint stage = min((uint)(word >> 14), 2u);
            uint at = stage * pixels + i;
            float adc = (float)(word & 0x3FFF);
            float p = pedestal[at];
            if (dark == 1 || (dark == 2 && stage == 0 && fabs((adc - p) / gain[i]) <= band))
                pedestal[at] = p + (adc - p) / window;
        }

        __kernel void jungfrau_energy(__global const ushort* raw, __global float* pedestal, __global const float* gain,
                                      uint pixels, __global float* energy, uint dark, float window, float band)
        {
            uint i = get_global_id(0);
            if (i < pixels)
            {
                energy[i] = energy_of(raw[i], i, pixels, pedestal, gain);
                if (dark != 0)
                    track(raw[i], i, pixels, pedestal, gain, dark, window, band);
            }
        }

        __kernel void jungfrau_photons(__global const ushort* raw, __global float* pedestal, __global const float* gain,
                                       uint pixels, float photon_energy, float threshold, __global int* photons,
                                       uint dark, float window, float band)
        {
            uint i = get_global_id(0);
            if (i < pixels)
            {
                float e = energy_of(raw[i], i, pixels, pedestal, gain);
                photons[i] = e < threshold ? 0 : convert_int_sat(rint(e / photon_energy));
                if (dark != 0)
                    track(raw[i], i, pixels, pedestal, gain, dark, window, band);
            }
        }
        """;

    private const string BuildOptions = "-cl-fp32-correctly-rounded-divide-sqrt";

    private readonly ClQueue _queue;
    private readonly ClKernel _energy, _photons;
    private readonly ClBuffer<float> _pedestal, _gain, _output;
    private readonly ClBuffer<ushort> _raw;

    /// <param name="pedestal">three maps (G0, G1, G2) of ADU per pixel</param>
    /// <param name="gain">three maps (G0, G1, G2) of ADU/keV per pixel</param>
    /// <param name="cacheDirectory">where built programs are kept (null: built from source each process)</param>
    public JungfrauOpenClCorrection(IReadOnlyList<float[]> pedestal, IReadOnlyList<float[]> gain, ClDevice device, string? cacheDirectory)
    {
        if (pedestal.Count != JungfrauGain.Stages || gain.Count != JungfrauGain.Stages)
            throw new ArgumentException("pedestal and gain need one map per gain stage (3)");
        Pixels = pedestal[0].Length;
        if (pedestal.Concat(gain).Any(map => map.Length != Pixels))
            throw new ArgumentException("every pedestal and gain map must have the same number of pixels");
        Device = device;
        var context = ClRuntime.Context(device);
        var program = ClRuntime.Program(context, Source, BuildOptions, cacheDirectory);
        _energy = program.CreateKernel("jungfrau_energy");
        _photons = program.CreateKernel("jungfrau_photons");
        _pedestal = context.CreateBuffer<float>(JungfrauGain.Stages * (long)Pixels, ClMemFlags.ReadWrite); // moved by pedestal tracking
        _gain = context.CreateBuffer<float>(JungfrauGain.Stages * (long)Pixels, ClMemFlags.ReadOnly);
        _raw = context.CreateBuffer<ushort>(Pixels, ClMemFlags.ReadOnly);
        _output = context.CreateBuffer<float>(Pixels, ClMemFlags.WriteOnly); // float energies or int photons, 4 bytes each
        ClRuntime.Upload(context, _pedestal, [.. pedestal.SelectMany(map => map)]);
        ClRuntime.Upload(context, _gain, [.. gain.SelectMany(map => map)]);
        _queue = context.CreateQueue();
    }

    public int Pixels { get; }

    public ClDevice Device { get; }

    public void ToEnergy(ReadOnlySpan<ushort> raw, Span<float> energy, PedestalUpdate track = default)
    {
        CheckLengths(raw.Length, energy.Length);
        _energy.Args().Add(_raw).Add(_pedestal).Add(_gain).Add((uint)Pixels).Add(_output)
            .Add((uint)track.Pixels).Add(track.Window).Add(track.BandKeV).Done();
        Run(_energy, raw);
        _queue.Read(_output, energy);
    }

    public void ToPhotons(ReadOnlySpan<ushort> raw, Span<int> photons, float photonEnergyKeV, float thresholdKeV, PedestalUpdate track = default)
    {
        CheckLengths(raw.Length, photons.Length);
        _photons.Args().Add(_raw).Add(_pedestal).Add(_gain).Add((uint)Pixels).Add(photonEnergyKeV).Add(thresholdKeV).Add(_output)
            .Add((uint)track.Pixels).Add(track.Window).Add(track.BandKeV).Done();
        Run(_photons, raw);
        _queue.Read(_output, photons);
    }

    /// <summary>The device's pedestal maps, read back.</summary>
    public float[][] Pedestal()
    {
        var maps = new float[JungfrauGain.Stages * Pixels];
        _queue.Read(_pedestal, maps.AsSpan());
        return [.. maps.Chunk(Pixels)];
    }

    private void Run(ClKernel kernel, ReadOnlySpan<ushort> raw)
    {
        _queue.Write(_raw, raw);
        _queue.Run(kernel, [Pixels]);
    }

    private void CheckLengths(int raw, int output)
    {
        if (raw != Pixels || output != Pixels)
            throw new ArgumentException($"expected frames of {Pixels} pixels, got {raw} in and {output} out");
    }

    public void Dispose()
    {
        _queue.Dispose();
        _energy.Dispose();
        _photons.Dispose();
        _raw.Dispose();
        _output.Dispose();
        _pedestal.Dispose();
        _gain.Dispose();
    }
}
