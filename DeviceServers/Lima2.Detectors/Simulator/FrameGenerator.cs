using System.Numerics;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;

namespace Lima2.Detectors.Simulator;

/// <summary>A peak put into a simulated frame: centre (pixel (x, y) is centred on integer x, y), fwhm and height.</summary>
public readonly record struct PlantedPeak(double X, double Y, double Fwhm, double Height);

/// <summary>
/// Simulated frames, each a pure function of its global frame index (and the parameters), so that n receivers
/// that render indices i % n == rank together produce exactly the frames of one detector. Rows are rendered in
/// parallel, each with its own random stream seeded by (seed, frame index, row), so the threads do not change a pixel.
/// </summary>
public abstract class FrameGenerator : IFrameSource
{
    private const int RowsPerTask = 32;

    protected FrameGenerator(GeneratorParams parameters)
    {
        if (parameters.NbChannels != 1)
            throw new NotSupportedException("the generator renders single-channel frames");
        Info = new FrameInfo(parameters.Width, parameters.Height, parameters.PixelType);
    }

    public FrameInfo Info { get; }

    public long? Count => null;

    /// <summary>The simulated detector's pixel size, m (as a Pilatus/Eiger), written in the files' metadata.</summary>
    public const double PixelSize = 75e-6;

    /// <summary>Pixels saturate at the pixel type's largest value (integer types); null for float frames.</summary>
    public long? SaturationValue => Info.PixelType switch
    {
        PixelType.Gray8 => byte.MaxValue,
        PixelType.Gray8s => sbyte.MaxValue,
        PixelType.Gray16 => ushort.MaxValue,
        PixelType.Gray16s => short.MaxValue,
        PixelType.Gray32 => uint.MaxValue,
        PixelType.Gray32s => int.MaxValue,
        _ => null,
    };

    public static FrameGenerator Create(GeneratorParams parameters) => parameters.Type switch
    {
        GeneratorType.Gauss => new GaussGenerator(parameters),
        _ => new DiffractionGenerator(parameters),
    };

    /// <summary>The peaks of frame <paramref name="index"/>: what a peak finder should find.</summary>
    public abstract IReadOnlyList<PlantedPeak> PlantedPeaks(long index);

    /// <summary>The expected (noise-free) value of each pixel of a row, added to <paramref name="row"/>.</summary>
    protected abstract void Expected(long index, int y, IReadOnlyList<PlantedPeak> peaks, Span<float> row);

    /// <summary>Turns expected values into counts (noise); identity by default.</summary>
    protected virtual void Noise(ref RandomStream random, Span<float> row)
    {
    }

    protected virtual ulong Seed => 0;

    public void Render(long index, Span<byte> destination)
    {
        if (destination.Length < Info.ByteSize)
            throw new ArgumentException($"a {Info} frame needs {Info.ByteSize} bytes, got {destination.Length}");
        var peaks = PlantedPeaks(index);
        unsafe
        {
            fixed (byte* pointer = destination)
            {
                var address = (nint)pointer;
                var blocks = (Info.Height + RowsPerTask - 1) / RowsPerTask;
                Parallel.For(0, blocks, () => new float[Info.Width], (block, _, row) =>
                {
                    var bytes = new Span<byte>((void*)address, Info.ByteSize);
                    var end = Math.Min(Info.Height, (block + 1) * RowsPerTask);
                    for (var y = block * RowsPerTask; y < end; y++)
                        RenderRow(index, y, peaks, row, bytes);
                    return row;
                }, _ => { });
            }
        }
    }

    private void RenderRow(long index, int y, IReadOnlyList<PlantedPeak> peaks, float[] row, Span<byte> destination)
    {
        row.AsSpan().Clear();
        Expected(index, y, peaks, row);
        var random = new RandomStream(Seed, (ulong)index, (ulong)y);
        Noise(ref random, row);
        var width = Info.Width;
        var offset = y * width;
        switch (Info.PixelType)
        {
            case PixelType.Gray8: Store(row, MemoryMarshal.Cast<byte, byte>(destination).Slice(offset, width)); break;
            case PixelType.Gray8s: Store(row, MemoryMarshal.Cast<byte, sbyte>(destination).Slice(offset, width)); break;
            case PixelType.Gray16: Store(row, MemoryMarshal.Cast<byte, ushort>(destination).Slice(offset, width)); break;
            case PixelType.Gray16s: Store(row, MemoryMarshal.Cast<byte, short>(destination).Slice(offset, width)); break;
            case PixelType.Gray32: Store(row, MemoryMarshal.Cast<byte, uint>(destination).Slice(offset, width)); break;
            case PixelType.Gray32s: Store(row, MemoryMarshal.Cast<byte, int>(destination).Slice(offset, width)); break;
            case PixelType.Gray32f: row.AsSpan().CopyTo(MemoryMarshal.Cast<byte, float>(destination).Slice(offset, width)); break;
            case PixelType.Gray64f: Store(row, MemoryMarshal.Cast<byte, double>(destination).Slice(offset, width)); break;
        }
    }

    /// <summary>Rounds to the nearest count and saturates at the pixel type's range.</summary>
    private static void Store<T>(ReadOnlySpan<float> row, Span<T> destination) where T : unmanaged, INumber<T>
    {
        var isFloat = typeof(T) == typeof(double);
        for (var x = 0; x < row.Length; x++)
            destination[x] = isFloat ? T.CreateTruncating(row[x]) : T.CreateSaturating(MathF.Round(row[x]));
    }

    /// <summary>Adds a Gaussian peak's contribution to row <paramref name="y"/> (cut at 3 fwhm, where it is below 1e-10).</summary>
    protected static void AddPeak(in PlantedPeak peak, int y, Span<float> row)
    {
        var a = 4 * Math.Log(2) / (peak.Fwhm * peak.Fwhm);
        var reach = 3 * peak.Fwhm;
        var dy = y - peak.Y;
        if (Math.Abs(dy) > reach)
            return;
        var rowHeight = peak.Height * Math.Exp(-a * dy * dy);
        var x0 = Math.Max(0, (int)Math.Ceiling(peak.X - reach));
        var x1 = Math.Min(row.Length - 1, (int)Math.Floor(peak.X + reach));
        for (var x = x0; x <= x1; x++)
        {
            var dx = x - peak.X;
            row[x] += (float)(rowHeight * Math.Exp(-a * dx * dx));
        }
    }
}

/// <summary>Gaussian peaks from <c>det.generator.gauss</c>; heights grow by grow_factor per frame. No noise.</summary>
public sealed class GaussGenerator(GeneratorParams parameters) : FrameGenerator(parameters)
{
    private readonly GaussParams _gauss = parameters.Gauss;

    public override IReadOnlyList<PlantedPeak> PlantedPeaks(long index) =>
        _gauss.Peaks.Select(p => new PlantedPeak(p.X0, p.Y0, p.Fwhm, p.Max * (1 + _gauss.GrowFactor * index))).ToArray();

    protected override void Expected(long index, int y, IReadOnlyList<PlantedPeak> peaks, Span<float> row)
    {
        foreach (var peak in peaks)
            AddPeak(peak, y, row);
    }
}

/// <summary>
/// Diffraction-like frames: radial background and powder rings around the beam centre (a radial profile sampled
/// every 1/16 pixel), Bragg peaks placed at random, then Poisson noise — all seeded by (seed, frame index).
/// Radii are in pixels: the frames are those of a flat detector facing the beam, <see cref="FrameGenerator.PixelSize"/>
/// pixels at <see cref="Distance"/> from the sample, the geometry the SMX pipeline assumes for simulator frames.
/// </summary>
public sealed class DiffractionGenerator : FrameGenerator
{
    /// <summary>Sample-to-detector distance of the simulated set-up, m.</summary>
    public const double Distance = 0.12;

    private const int Oversampling = 16;
    private const int Margin = 8;
    private readonly DiffractionParams _p;
    private readonly double _cx;
    private readonly double _cy;
    private readonly float[] _radial;

    public DiffractionGenerator(GeneratorParams parameters) : base(parameters)
    {
        _p = parameters.Diffraction;
        _cx = _p.BeamCenter.X < 0 ? (Info.Width - 1) / 2.0 : _p.BeamCenter.X;
        _cy = _p.BeamCenter.Y < 0 ? (Info.Height - 1) / 2.0 : _p.BeamCenter.Y;
        var farthest = new[] { (0.0, 0.0), (Info.Width, 0.0), (0.0, Info.Height), (Info.Width, Info.Height) }
            .Max(c => Math.Sqrt((c.Item1 - _cx) * (c.Item1 - _cx) + (c.Item2 - _cy) * (c.Item2 - _cy)));
        _radial = new float[(int)Math.Ceiling(farthest * Oversampling) + 2];
        for (var i = 0; i < _radial.Length; i++)
            _radial[i] = (float)Radial((double)i / Oversampling);
    }

    protected override ulong Seed => (ulong)_p.Seed;

    /// <summary>Expected counts at distance r from the beam centre: background plus rings.</summary>
    public double Radial(double r)
    {
        var value = _p.BackgroundOffset + _p.BackgroundAmplitude * Math.Exp(-r / _p.BackgroundDecay);
        foreach (var ring in _p.Rings)
        {
            var d = r - ring.Radius;
            value += ring.Intensity * Math.Exp(-4 * Math.Log(2) * d * d / (ring.Fwhm * ring.Fwhm));
        }
        return value;
    }

    public (double X, double Y) BeamCenter => (_cx, _cy);

    public override IReadOnlyList<PlantedPeak> PlantedPeaks(long index)
    {
        var random = new RandomStream(Seed, (ulong)index, ulong.MaxValue);
        var peaks = new PlantedPeak[_p.NbBraggPeaks];
        var spanX = Math.Max(1, Info.Width - 2 * Margin);
        var spanY = Math.Max(1, Info.Height - 2 * Margin);
        for (var i = 0; i < peaks.Length; i++)
        {
            var x = Margin + random.NextDouble() * spanX;
            var y = Margin + random.NextDouble() * spanY;
            var height = _p.BraggIntensityMin + random.NextDouble() * (_p.BraggIntensityMax - _p.BraggIntensityMin);
            peaks[i] = new PlantedPeak(Math.Min(x, Info.Width - 1), Math.Min(y, Info.Height - 1), _p.BraggFwhm, height);
        }
        return peaks;
    }

    protected override void Expected(long index, int y, IReadOnlyList<PlantedPeak> peaks, Span<float> row)
    {
        var dy = y - _cy;
        var dy2 = dy * dy;
        for (var x = 0; x < row.Length; x++)
        {
            var dx = x - _cx;
            var r = Math.Sqrt(dx * dx + dy2);
            row[x] = _radial[(int)(r * Oversampling + 0.5)];
        }
        foreach (var peak in peaks)
            AddPeak(peak, y, row);
    }

    protected override void Noise(ref RandomStream random, Span<float> row)
    {
        if (!_p.PoissonNoise)
            return;
        for (var x = 0; x < row.Length; x++)
            row[x] = PoissonSampler.Sample(row[x], random.NextUInt64());
    }
}

/// <summary>
/// A small counter-based random stream (SplitMix64 over a hash of its keys): cheap to start per row, and the same
/// numbers on every machine and thread.
/// </summary>
public struct RandomStream(ulong seed, ulong key1, ulong key2)
{
    private ulong _state = Mix(Mix(seed ^ 0x9E3779B97F4A7C15UL) ^ Mix(key1 + 0x632BE59BD9B4E019UL) ^ Mix(key2 * 0x85EBCA77C2B2AE63UL));

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
