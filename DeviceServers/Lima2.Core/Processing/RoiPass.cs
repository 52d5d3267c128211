using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Lima2.Core.Frames;

namespace Lima2.Core.Processing;

/// <summary>
/// One pass over a frame's runs accumulating count, sum, sum of squares, min and max per region (Vector256 lanes,
/// scalar tails). Integer frames are exact: the sums are integers (signed pixels biased to unsigned by flipping the
/// sign bit, undone at the end), and std is √(n·Σx² − (Σx)²) / n from exact integers, so sum, min, max and avg equal
/// the scalar two-pass result bit for bit and std is within an ulp or two of the exact value. Floating-point frames
/// accumulate x − x₀ (x₀ the region's first pixel) and (x − x₀)² in double: relative error about n·2⁻⁵³ of Σ|x − x₀|.
/// The Add loops are optimised at their first call (AggressiveOptimization): tier-0 code of Vector256 loops is ~10×
/// slower, and a receiver profile showed it running for the first hundreds of frames on a loaded machine.
/// </summary>
internal static class RoiPass
{
    public static void Measure(Frame frame, ReadOnlySpan<PixelRun> runs, ReadOnlySpan<int> owners, Span<RoiStats> stats)
    {
        var data = frame.Data.Span;
        var width = frame.Info.Width;
        switch (frame.Info.PixelType)
        {
            case PixelType.Gray8: Pass<U8Moments, byte>(data, width, false, runs, owners, stats); break;
            case PixelType.Gray8s: Pass<U8Moments, byte>(data, width, true, runs, owners, stats); break;
            case PixelType.Gray16: Pass<U16Moments, ushort>(data, width, false, runs, owners, stats); break;
            case PixelType.Gray16s: Pass<U16Moments, ushort>(data, width, true, runs, owners, stats); break;
            case PixelType.Gray32: Pass<U32Moments, uint>(data, width, false, runs, owners, stats); break;
            case PixelType.Gray32s: Pass<U32Moments, uint>(data, width, true, runs, owners, stats); break;
            case PixelType.Gray32f: Pass<FloatMoments<float, Singles>, float>(data, width, true, runs, owners, stats); break;
            case PixelType.Gray64f: Pass<FloatMoments<double, Doubles>, double>(data, width, true, runs, owners, stats); break;
            default: throw new NotSupportedException(frame.Info.PixelType.ToString());
        }
    }

    /// <param name="signed">integers: the pixels are two's complement (ignored by floating-point moments)</param>
    /// <param name="owners">region of each run; empty when all runs belong to region 0</param>
    private static void Pass<TMoments, TPixel>(ReadOnlySpan<byte> data, int width, bool signed,
        ReadOnlySpan<PixelRun> runs, ReadOnlySpan<int> owners, Span<RoiStats> stats)
        where TMoments : unmanaged, IMoments<TPixel>
        where TPixel : unmanaged
    {
        var pixels = MemoryMarshal.Cast<byte, TPixel>(data);
        var moments = stats.Length <= 16 ? stackalloc TMoments[stats.Length] : new TMoments[stats.Length];
        foreach (ref var m in moments)
            m.Start(signed);
        for (var r = 0; r < runs.Length; r++)
        {
            var run = runs[r];
            moments[owners.IsEmpty ? 0 : owners[r]].Add(pixels.Slice(run.Y * width + run.X, run.Length));
        }
        for (var i = 0; i < stats.Length; i++)
            stats[i] = moments[i].Finish();
    }

    private interface IMoments<TPixel>
    {
        void Start(bool signed);

        void Add(ReadOnlySpan<TPixel> pixels);

        RoiStats Finish();
    }

    /// <summary>Statistics from the exact moments of u = x + bias (a signed pixel read as unsigned).</summary>
    private static RoiStats IntegerStats(long count, Int128 sumU, UInt128 squaresU, long minU, long maxU, long bias)
    {
        if (count == 0)
            return default;
        // |Σx| ≤ 2³¹·2³², Σx² ≤ 2³¹·2⁶⁴: n·Σx² and (Σx)² stay below 2¹²⁷ for frames of fewer than 2³¹ pixels
        var sum = sumU - (Int128)count * bias;
        var squares = (Int128)squaresU - 2 * (Int128)bias * sumU + (Int128)count * bias * bias;
        var spread = count * squares - sum * sum;
        var exactSum = (double)sum;
        return new RoiStats(count, exactSum, minU - bias, maxU - bias, exactSum / count, Math.Sqrt((double)spread) / count);
    }

    private static T Lanes<T>(Vector256<T> v, Func<T, T, T> combine, T seed)
    {
        var result = seed;
        for (var k = 0; k < Vector256<T>.Count; k++)
            result = combine(result, v.GetElement(k));
        return result;
    }

    /// <summary>
    /// 16-bit pixels, measured as c = u − 2¹⁵ (signed 16-bit, the same order as u): <c>pmaddwd</c> gives pair sums of c
    /// (32-bit lanes, flushed to 64 bits) and pair sums of c² (≤ 2³¹, split into 64-bit lanes by a mask and a shift),
    /// min and max are signed 16-bit lanes. Eleven instructions per 16 pixels.
    /// </summary>
    private struct U16Moments : IMoments<ushort>
    {
        // a 32-bit sum lane takes a pair sum |c + c'| ≤ 2¹⁶ per vector: flush before 2³¹ is passed
        private const int FlushEvery = 1 << 15;
        private long _count, _bias, _sum;
        private ushort _flip;
        private int _min, _max;
        private ulong _squares;
        private Vector256<short> _vmin, _vmax;
        private Vector256<long> _vsum;
        private Vector256<ulong> _vsquares;

        public void Start(bool signed) => Start(signed ? (ushort)0x8000 : (ushort)0, signed ? 0x8000 : 0);

        public void Start(ushort flip, long bias)
        {
            _flip = flip;
            _bias = bias;
            _min = short.MaxValue;
            _max = short.MinValue;
            _vmin = Vector256.Create(short.MaxValue);
            _vmax = Vector256.Create(short.MinValue);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Add(ReadOnlySpan<ushort> pixels)
        {
            _count += pixels.Length;
            var vectors = Vector256.IsHardwareAccelerated ? pixels.Length / Vector256<ushort>.Count : 0;
            if (vectors > 0)
            {
                ref var start = ref MemoryMarshal.GetReference(pixels);
                // u = x ^ flip, c = u ^ 2¹⁵: one xor
                var centre = Vector256.Create((ushort)(_flip ^ 0x8000));
                var lanes = Load();
                for (var block = 0; block < vectors; block += FlushEvery)
                {
                    var stop = Math.Min(vectors, block + FlushEvery);
                    for (var k = block; k < stop; k++)
                        lanes.Step((Vector256.LoadUnsafe(ref start, (nuint)k * (nuint)Vector256<ushort>.Count) ^ centre).AsInt16());
                    lanes.Flush();
                }
                Store(lanes);
            }
            foreach (var pixel in pixels[(vectors * Vector256<ushort>.Count)..])
                AddScalar((ushort)(pixel ^ _flip));
        }

        public readonly U16Lanes Load() => new() { Min = _vmin, Max = _vmax, Sum = _vsum, Squares = _vsquares };

        public void Store(in U16Lanes lanes) => (_vmin, _vmax, _vsum, _vsquares) = (lanes.Min, lanes.Max, lanes.Sum, lanes.Squares);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void AddScalar(ushort u)
        {
            var centred = u - 0x8000;
            _sum += centred;
            _squares += (ulong)(centred * centred);
            _min = Math.Min(_min, centred);
            _max = Math.Max(_max, centred);
        }

        public void AddCount(long pixels) => _count += pixels;

        public readonly RoiStats Finish()
        {
            // Σu = Σc + n·2¹⁵, and Σu² = Σc² + 2¹⁶·Σu − n·2³⁰
            var sum = (Int128)(_sum + Vector256.Sum(_vsum)) + (Int128)_count * 0x8000;
            var squares = (UInt128)(_squares + Vector256.Sum(_vsquares) + 65536 * sum - (Int128)_count * (1 << 30));
            var min = Math.Min(_min, Lanes(_vmin, Math.Min, short.MaxValue));
            var max = Math.Max(_max, Lanes(_vmax, Math.Max, short.MinValue));
            return IntegerStats(_count, sum, squares, min + 0x8000L, max + 0x8000L, _bias);
        }
    }

    /// <summary>The vector accumulators of <see cref="U16Moments"/>, held in locals (registers) over a run.</summary>
    private struct U16Lanes
    {
        public Vector256<short> Min, Max;
        public Vector256<long> Sum;
        public Vector256<ulong> Squares;
        private Vector256<int> _sum32;

        /// <param name="centred">c = u − 2¹⁵ of 16 pixels</param>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step(Vector256<short> centred)
        {
            Min = Vector256.Min(Min, centred);
            Max = Vector256.Max(Max, centred);
            if (Avx2.IsSupported)
            {
                _sum32 += Avx2.MultiplyAddAdjacent(centred, Vector256.Create((short)1));
                // c² + c'² ≤ 2³¹: exact as an unsigned 32-bit lane, two of them per 64-bit lane
                var pairs = Avx2.MultiplyAddAdjacent(centred, centred).AsUInt64();
                Squares += (pairs & Vector256.Create(0xFFFF_FFFFUL)) + (pairs >>> 32);
            }
            else
            {
                var (lo, hi) = Vector256.Widen(centred);
                _sum32 += lo + hi;
                var (a, b) = Vector256.Widen((lo * lo + hi * hi).AsUInt32());
                Squares += a + b;
            }
        }

        /// <summary>Moves the 32-bit partial sums to the 64-bit lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Flush()
        {
            var (lo, hi) = Vector256.Widen(_sum32);
            Sum += lo + hi;
            _sum32 = Vector256<int>.Zero;
        }
    }

    /// <summary>8-bit pixels widened to 16 bits in registers and measured as such.</summary>
    private struct U8Moments : IMoments<byte>
    {
        private U16Moments _wide;
        private byte _flip;

        public void Start(bool signed)
        {
            _flip = signed ? (byte)0x80 : (byte)0;
            _wide.Start(0, _flip);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Add(ReadOnlySpan<byte> pixels)
        {
            _wide.AddCount(pixels.Length);
            var vectors = Vector256.IsHardwareAccelerated ? pixels.Length / Vector256<byte>.Count : 0;
            if (vectors > 0)
            {
                ref var start = ref MemoryMarshal.GetReference(pixels);
                var flip = Vector256.Create(_flip);
                var centre = Vector256.Create((ushort)0x8000);
                const int flushEvery = 1 << 14; // two 16-bit steps per vector
                var lanes = _wide.Load();
                for (var block = 0; block < vectors; block += flushEvery)
                {
                    var stop = Math.Min(vectors, block + flushEvery);
                    for (var k = block; k < stop; k++)
                    {
                        var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref start, (nuint)k * (nuint)Vector256<byte>.Count) ^ flip);
                        lanes.Step((lo ^ centre).AsInt16());
                        lanes.Step((hi ^ centre).AsInt16());
                    }
                    lanes.Flush();
                }
                _wide.Store(lanes);
            }
            foreach (var pixel in pixels[(vectors * Vector256<byte>.Count)..])
                _wide.AddScalar((byte)(pixel ^ _flip));
        }

        public readonly RoiStats Finish() => _wide.Finish();
    }

    /// <summary>32-bit pixels: u² takes 64 bits, so its low and high halves accumulate in separate 64-bit lanes.</summary>
    private struct U32Moments : IMoments<uint>
    {
        private long _count, _bias;
        private uint _flip, _min, _max;
        private ulong _sum;
        private UInt128 _squares;
        private Vector256<uint> _vmin, _vmax;
        private Vector256<ulong> _vsum, _vsquaresLow, _vsquaresHigh;

        public void Start(bool signed)
        {
            _flip = signed ? 0x8000_0000u : 0;
            _bias = _flip;
            _min = uint.MaxValue;
            _vmin = Vector256<uint>.AllBitsSet;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Add(ReadOnlySpan<uint> pixels)
        {
            _count += pixels.Length;
            var vectors = Vector256.IsHardwareAccelerated ? pixels.Length / Vector256<uint>.Count : 0;
            if (vectors > 0)
            {
                ref var start = ref MemoryMarshal.GetReference(pixels);
                var flip = Vector256.Create(_flip);
                var low32 = Vector256.Create(0xFFFF_FFFFUL);
                var (vmin, vmax, sum, low, high) = (_vmin, _vmax, _vsum, _vsquaresLow, _vsquaresHigh);
                for (var k = 0; k < vectors; k++)
                {
                    var v = Vector256.LoadUnsafe(ref start, (nuint)k * (nuint)Vector256<uint>.Count) ^ flip;
                    vmin = Vector256.Min(vmin, v);
                    vmax = Vector256.Max(vmax, v);
                    // the even and odd pixels in 64-bit lanes; AVX2 has no 64-bit multiply, but pmuludq squares them exactly
                    var (a, b) = Avx2.IsSupported ? (v.AsUInt64() & low32, v.AsUInt64() >>> 32) : Vector256.Widen(v);
                    sum += a + b;
                    var (sa, sb) = Avx2.IsSupported ? (Avx2.Multiply(a.AsUInt32(), a.AsUInt32()), Avx2.Multiply(b.AsUInt32(), b.AsUInt32())) : (a * a, b * b);
                    low += (sa & low32) + (sb & low32);
                    high += (sa >>> 32) + (sb >>> 32);
                }
                (_vmin, _vmax, _vsum, _vsquaresLow, _vsquaresHigh) = (vmin, vmax, sum, low, high);
            }
            foreach (var pixel in pixels[(vectors * Vector256<uint>.Count)..])
            {
                var u = pixel ^ _flip;
                _sum += u;
                _squares += (ulong)u * u;
                _min = Math.Min(_min, u);
                _max = Math.Max(_max, u);
            }
        }

        public readonly RoiStats Finish() => IntegerStats(_count,
            (Int128)_sum + Vector256.Sum(_vsum),
            _squares + Vector256.Sum(_vsquaresLow) + ((UInt128)Vector256.Sum(_vsquaresHigh) << 32),
            Math.Min(_min, Lanes(_vmin, Math.Min, uint.MaxValue)), Math.Max(_max, Lanes(_vmax, Math.Max, 0u)), _bias);
    }

    /// <summary>Floating-point moments about the region's first pixel, so that (Σx)² does not cancel Σx² away.</summary>
    private struct F64Accumulator
    {
        private long _count;
        private double _shift, _sum, _squares, _min, _max;
        private Vector256<double> _vsum, _vsquares, _vmin, _vmax;

        public void Start()
        {
            (_min, _max) = (double.PositiveInfinity, double.NegativeInfinity);
            (_vmin, _vmax) = (Vector256.Create(double.PositiveInfinity), Vector256.Create(double.NegativeInfinity));
        }

        /// <summary>Counts a run and, on the region's first run, takes its first pixel as the shift.</summary>
        public void Begin(int length, double first)
        {
            if (_count == 0)
                _shift = first;
            _count += length;
        }

        public readonly Vector256<double> Shift => Vector256.Create(_shift);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step(Vector256<double> x, Vector256<double> shift)
        {
            _vmin = Vector256.Min(_vmin, x);
            _vmax = Vector256.Max(_vmax, x);
            var d = x - shift;
            _vsum += d;
            _vsquares += d * d;
        }

        public void AddScalar(double x)
        {
            var d = x - _shift;
            _sum += d;
            _squares += d * d;
            _min = Math.Min(_min, x);
            _max = Math.Max(_max, x);
        }

        public readonly RoiStats Finish()
        {
            if (_count == 0)
                return default;
            var n = (double)_count;
            var deviations = _sum + Vector256.Sum(_vsum);
            var deviation = deviations / n;
            var variance = Math.Max(0, (_squares + Vector256.Sum(_vsquares)) / n - deviation * deviation);
            var min = Math.Min(_min, Lanes(_vmin, Math.Min, double.PositiveInfinity));
            var max = Math.Max(_max, Lanes(_vmax, Math.Max, double.NegativeInfinity));
            return new RoiStats(_count, _shift * n + deviations, min, max, _shift + deviation, Math.Sqrt(variance));
        }
    }

    /// <summary>How floating-point pixels of one type reach the double lanes of <see cref="FloatMoments{TPixel, TWiden}"/>.</summary>
    private interface IToDoubles<TPixel> where TPixel : unmanaged
    {
        static abstract double ToDouble(TPixel pixel);

        /// <summary>Steps one vector of pixels (one or two vectors of doubles).</summary>
        static abstract void Step(ref F64Accumulator moments, Vector256<TPixel> pixels, Vector256<double> shift);
    }

    private readonly struct Doubles : IToDoubles<double>
    {
        public static double ToDouble(double pixel) => pixel;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref F64Accumulator moments, Vector256<double> pixels, Vector256<double> shift) => moments.Step(pixels, shift);
    }

    private readonly struct Singles : IToDoubles<float>
    {
        public static double ToDouble(float pixel) => pixel;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(ref F64Accumulator moments, Vector256<float> pixels, Vector256<double> shift)
        {
            var (lo, hi) = Vector256.Widen(pixels);
            moments.Step(lo, shift);
            moments.Step(hi, shift);
        }
    }

    /// <summary>gray32f and gray64f pixels, accumulated in double about the region's first pixel.</summary>
    private struct FloatMoments<TPixel, TWiden> : IMoments<TPixel>
        where TPixel : unmanaged
        where TWiden : IToDoubles<TPixel>
    {
        private F64Accumulator _moments;

        public void Start(bool signed) => _moments.Start();

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Add(ReadOnlySpan<TPixel> pixels)
        {
            if (pixels.IsEmpty)
                return;
            _moments.Begin(pixels.Length, TWiden.ToDouble(pixels[0]));
            var vectors = Vector256.IsHardwareAccelerated ? pixels.Length / Vector256<TPixel>.Count : 0;
            ref var start = ref MemoryMarshal.GetReference(pixels);
            var shift = _moments.Shift;
            for (var k = 0; k < vectors; k++)
                TWiden.Step(ref _moments, Vector256.LoadUnsafe(ref start, (nuint)k * (nuint)Vector256<TPixel>.Count), shift);
            foreach (var pixel in pixels[(vectors * Vector256<TPixel>.Count)..])
                _moments.AddScalar(TWiden.ToDouble(pixel));
        }

        public readonly RoiStats Finish() => _moments.Finish();
    }
}
