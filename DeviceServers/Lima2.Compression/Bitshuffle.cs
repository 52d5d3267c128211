using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lima2.Compression;

/// <summary>
/// The bit transpose of the bitshuffle filter on one block of <c>n</c> elements (<c>n</c> a multiple of 8):
/// <c>8·elemSize</c> rows of <c>n/8</c> bytes, row <c>8j+b</c> holding bit <c>b</c> of byte <c>j</c> of every
/// element, element <c>i</c> at bit <c>i%8</c> of byte <c>i/8</c>.
/// </summary>
/// <remarks>
/// Both directions are two passes over the block (it fits in L1): a byte transpose between elements and byte
/// planes (one per byte of the element), and an 8×8 bit transpose between a byte plane and its 8 bit rows. The bit
/// transpose works on 8 vectors of 32 (AVX2) or 16 (SSE2) columns at once, swapping 4-, 2- and 1-bit blocks
/// between vectors (9 instructions a vector), or, where the CPU has GFNI, one affine instruction per vector of
/// 8×8 matrices; unpack networks do every byte transpose. With GFNI, 2-byte elements (16-bit pixels) take one pass:
/// both byte planes of a column block are transposed in registers and interleaved into elements (or gathered from
/// them) with no plane scratch. Per 4 Mpx uint16 frame on one core of the AMD EPYC VM: unshuffle 0.14 ms (GFNI, one
/// pass; 0.26 ms in two), 0.43 ms (AVX2), 0.76 ms (SSE2); the C library 1.3–1.4 ms (`lima2-bench codec`).
/// </remarks>
public static class Bitshuffle
{
    /// <summary>The instruction set the transposes use on this machine.</summary>
    public static string Instructions => Best switch
    {
        Simd.V256Gfni => "AVX2 + GFNI",
        Simd.V256 => "AVX2",
        Simd.V128 => "SSE2",
        _ => "scalar",
    };

    /// <summary>The widest vectors this machine has; tests pass every narrower level too.</summary>
    internal static Simd Best =>
        Avx2.IsSupported ? (Gfni.V256.IsSupported ? Simd.V256Gfni : Simd.V256) : Sse2.IsSupported ? Simd.V128 : Simd.Scalar;

    /// <summary>Bit-transposes <paramref name="source"/> into <paramref name="destination"/> (same length).</summary>
    /// <param name="scratch">at least <c>source.Length</c> bytes when <paramref name="elemSize"/> &gt; 1.</param>
    public static void Shuffle(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, Span<byte> scratch) =>
        Shuffle(source, destination, elemSize, scratch, Best);

    /// <summary>Inverse of <see cref="Shuffle(ReadOnlySpan{byte}, Span{byte}, int, Span{byte})"/>.</summary>
    /// <param name="scratch">at least <c>source.Length</c> bytes when <paramref name="elemSize"/> &gt; 1.</param>
    public static void Unshuffle(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, Span<byte> scratch) =>
        Unshuffle(source, destination, elemSize, scratch, Best);

    internal static void Shuffle(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, Span<byte> scratch, Simd simd)
    {
        var n = CheckBlock(source.Length, destination.Length, elemSize);
        // 16-bit pixels skip the byte planes: columns 0…g are shuffled straight from the elements
        var g = elemSize == 2 && simd >= Simd.V256Gfni
            ? BitTransposePairsGfni(ref MemoryMarshal.GetReference(source), ref MemoryMarshal.GetReference(destination), n / 8, 0)
            : 0;
        if (8 * g == n)
            return;
        var planes = source;
        if (elemSize > 1)
        {
            ByteTranspose(source, scratch[..source.Length], elemSize, n, simd, 8 * g);
            planes = scratch[..source.Length];
        }
        for (var j = 0; j < elemSize; j++)
            BitTranspose(planes.Slice(j * n, n), destination.Slice(j * n, n), n / 8, simd, g);
    }

    internal static void Unshuffle(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, Span<byte> scratch, Simd simd)
    {
        var n = CheckBlock(source.Length, destination.Length, elemSize);
        // 16-bit pixels (the detectors' usual type) skip the byte planes: columns 0…g are unshuffled straight into elements
        var g = elemSize == 2 && simd >= Simd.V256Gfni
            ? BitUntransposePairsGfni(ref MemoryMarshal.GetReference(source), ref MemoryMarshal.GetReference(destination), n / 8, 0)
            : 0;
        if (8 * g == n)
            return;
        var planes = elemSize > 1 ? scratch[..source.Length] : destination;
        for (var j = 0; j < elemSize; j++)
            BitUntranspose(source.Slice(j * n, n), planes.Slice(j * n, n), n / 8, simd, g);
        if (elemSize > 1)
            ByteUntranspose(planes, destination, elemSize, n, simd, 8 * g);
    }

    /// <summary>Bit-by-bit reference of <see cref="Shuffle(ReadOnlySpan{byte}, Span{byte}, int, Span{byte})"/>, for tests.</summary>
    public static void ShuffleReference(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize)
    {
        var n = CheckBlock(source.Length, destination.Length, elemSize);
        destination.Clear();
        for (var i = 0; i < n; i++)
            for (var j = 0; j < elemSize; j++)
                for (var b = 0; b < 8; b++)
                    if ((source[i * elemSize + j] >> b & 1) != 0)
                        destination[(8 * j + b) * (n / 8) + i / 8] |= (byte)(1 << (i % 8));
    }

    /// <summary>Bit-by-bit reference of <see cref="Unshuffle(ReadOnlySpan{byte}, Span{byte}, int, Span{byte})"/>, for tests.</summary>
    public static void UnshuffleReference(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize)
    {
        var n = CheckBlock(source.Length, destination.Length, elemSize);
        destination.Clear();
        for (var i = 0; i < n; i++)
            for (var j = 0; j < elemSize; j++)
                for (var b = 0; b < 8; b++)
                    if ((source[(8 * j + b) * (n / 8) + i / 8] >> (i % 8) & 1) != 0)
                        destination[i * elemSize + j] |= (byte)(1 << b);
    }

    private static int CheckBlock(int sourceLength, int destinationLength, int elemSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(elemSize);
        if (sourceLength % (8 * elemSize) != 0)
            throw new ArgumentException($"a block of {sourceLength} bytes is not a whole number of 8 elements of {elemSize} bytes");
        if (destinationLength < sourceLength)
            throw new ArgumentException($"the destination holds {destinationLength} bytes, the block has {sourceLength}");
        return sourceLength / elemSize;
    }

    /// <summary>Elements (n × elemSize) to byte planes (elemSize × n), from element <paramref name="i"/> on.</summary>
    private static void ByteTranspose(ReadOnlySpan<byte> source, Span<byte> planes, int elemSize, int n, Simd simd, int i)
    {
        ref var src = ref MemoryMarshal.GetReference(source);
        ref var dst = ref MemoryMarshal.GetReference(planes);
        if (elemSize == 8)
        {
            // The inverse of the 8-way interleave: the same network as a byte plane's 8 bit rows to bytes.
            if (simd >= Simd.V256)
                i = Deinterleave8<V256, Vector256<byte>>(ref src, ref dst, n, n, i);
            if (simd >= Simd.V128)
                i = Deinterleave8<V128, Vector128<byte>>(ref src, ref dst, n, n, i);
        }
        else if (simd >= Simd.V256 && elemSize is 2 or 4)
        {
            // 32 bytes at a time: gather byte j of each element within each 128-bit lane, then put the lanes' groups together.
            var perLane = elemSize == 2
                ? Vector256.Create((byte)0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15)
                : Vector256.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
            // elemSize 2: [low bytes of lane 0, of lane 1, high bytes of lane 0, of lane 1]; 4: byte j of both lanes side by side.
            var lanes = elemSize == 2 ? Vector256.Create(0u, 1, 4, 5, 2, 3, 6, 7) : Vector256.Create(0u, 4, 1, 5, 2, 6, 3, 7);
            var step = 32 / elemSize; // elements per vector
            for (; i + step <= n; i += step)
            {
                var v = Avx2.Shuffle(Vector256.LoadUnsafe(ref src, (nuint)(i * elemSize)), perLane).AsUInt32();
                var grouped = Avx2.PermuteVar8x32(v, lanes).AsUInt64();
                if (elemSize == 2)
                {
                    grouped.GetLower().AsByte().StoreUnsafe(ref dst, (nuint)i);
                    grouped.GetUpper().AsByte().StoreUnsafe(ref dst, (nuint)(n + i));
                }
                else
                {
                    for (var j = 0; j < 4; j++)
                        Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, j * n + i), grouped.GetElement(j));
                }
            }
        }
        if (simd >= Simd.V128 && elemSize is 2 or 4)
        {
            // 16 elements at a time: even and odd bytes split apart, once for 2-byte elements, twice for 4-byte ones.
            for (; i + 16 <= n; i += 16)
            {
                ref var at = ref Unsafe.Add(ref src, i * elemSize);
                var (even, odd) = SplitBytes(V128.Load(ref at), V128.Load(ref Unsafe.Add(ref at, 16)));
                if (elemSize == 4)
                {
                    var (even2, odd2) = SplitBytes(V128.Load(ref Unsafe.Add(ref at, 32)), V128.Load(ref Unsafe.Add(ref at, 48)));
                    var (b0, b2) = SplitBytes(even, even2);
                    var (b1, b3) = SplitBytes(odd, odd2);
                    V128.Store(b2, ref Unsafe.Add(ref dst, 2 * n + i));
                    V128.Store(b3, ref Unsafe.Add(ref dst, 3 * n + i));
                    (even, odd) = (b0, b1);
                }
                V128.Store(even, ref Unsafe.Add(ref dst, i));
                V128.Store(odd, ref Unsafe.Add(ref dst, n + i));
            }
        }
        for (; i < n; i++)
            for (var j = 0; j < elemSize; j++)
                planes[j * n + i] = source[i * elemSize + j];
    }

    /// <summary>The even bytes of a then b, and their odd bytes (SSE2: mask or shift, then pack).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<byte> Even, Vector128<byte> Odd) SplitBytes(Vector128<byte> a, Vector128<byte> b)
    {
        var low = Vector128.Create((ushort)0x00FF);
        var even = Sse2.PackUnsignedSaturate((a.AsUInt16() & low).AsInt16(), (b.AsUInt16() & low).AsInt16());
        var odd = Sse2.PackUnsignedSaturate((a.AsUInt16() >> 8).AsInt16(), (b.AsUInt16() >> 8).AsInt16());
        return (even, odd);
    }

    /// <summary>Byte planes (elemSize × n) back to elements (n × elemSize), from element <paramref name="i"/> on.</summary>
    private static void ByteUntranspose(ReadOnlySpan<byte> planes, Span<byte> destination, int elemSize, int n, Simd simd, int i)
    {
        ref var src = ref MemoryMarshal.GetReference(planes);
        ref var dst = ref MemoryMarshal.GetReference(destination);
        if (elemSize is 2 or 4 or 8)
        {
            if (simd >= Simd.V256)
                i = Interleave<V256, Vector256<byte>>(ref src, ref dst, elemSize, n, n, i);
            if (simd >= Simd.V128)
                i = Interleave<V128, Vector128<byte>>(ref src, ref dst, elemSize, n, n, i);
        }
        for (; i < n; i++)
            for (var j = 0; j < elemSize; j++)
                destination[i * elemSize + j] = planes[j * n + i];
    }

    /// <summary>One byte plane of 8·m bytes to its 8 bit rows of <paramref name="m"/> bytes, from column <paramref name="g"/> on.</summary>
    private static void BitTranspose(ReadOnlySpan<byte> plane, Span<byte> bits, int m, Simd simd, int g)
    {
        ref var src = ref MemoryMarshal.GetReference(plane);
        ref var dst = ref MemoryMarshal.GetReference(bits);
        if (simd >= Simd.V256Gfni)
            g = BitTransposeColumnsGfni(ref src, ref dst, m, g);
        if (simd >= Simd.V256)
            g = BitTransposeColumns<V256, Vector256<byte>>(ref src, ref dst, m, g);
        if (simd >= Simd.V128)
            g = BitTransposeColumns<V128, Vector128<byte>>(ref src, ref dst, m, g);
        for (; g < m; g++)
        {
            var x = Transpose8x8(BinaryPrimitives.ReadUInt64LittleEndian(plane.Slice(8 * g, 8)));
            for (var b = 0; b < 8; b++)
                bits[b * m + g] = (byte)(x >> (8 * b));
        }
    }

    /// <summary>8 bit rows of <paramref name="m"/> bytes back to one byte plane of 8·m bytes, from column <paramref name="g"/> on.</summary>
    private static void BitUntranspose(ReadOnlySpan<byte> bits, Span<byte> plane, int m, Simd simd, int g)
    {
        ref var src = ref MemoryMarshal.GetReference(bits);
        ref var dst = ref MemoryMarshal.GetReference(plane);
        if (simd >= Simd.V256Gfni)
            g = BitUntransposeColumnsGfni(ref src, ref dst, m, g);
        if (simd >= Simd.V256)
            g = BitUntransposeColumns<V256, Vector256<byte>>(ref src, ref dst, m, g);
        if (simd >= Simd.V128)
            g = BitUntransposeColumns<V128, Vector128<byte>>(ref src, ref dst, m, g);
        for (; g < m; g++)
        {
            ulong x = 0;
            for (var b = 0; b < 8; b++)
                x |= (ulong)bits[b * m + g] << (8 * b);
            BinaryPrimitives.WriteUInt64LittleEndian(plane.Slice(8 * g, 8), Transpose8x8(x));
        }
    }

    /// <summary>
    /// Columns <paramref name="g"/>… of the 8 bit rows, a vector's width at a time: the 8 row vectors are
    /// bit-transposed in place (vector k then holds byte k of each group of 8), then interleaved into the plane.
    /// Returns the first column left undone.
    /// </summary>
    // optimised at the first call: tier-0 code of these Vector loops is ~10× slower, and a receiver's first
    // hundreds of frames (or all frames on a loaded machine, where the tier-1 JIT thread waits) ran in it
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int BitUntransposeColumns<TL, TV>(ref byte bits, ref byte plane, int m, int g)
        where TL : struct, ILanes<TV> where TV : struct
    {
        for (; g + TL.Width <= m; g += TL.Width)
        {
            LoadRows<TL, TV>(ref Unsafe.Add(ref bits, g), m, out var r0, out var r1, out var r2, out var r3, out var r4, out var r5, out var r6, out var r7);
            Transpose8x8Bits<TL, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            Interleave8<TL, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            Store8<TL, TV>(ref Unsafe.Add(ref plane, 8 * g), r0, r1, r2, r3, r4, r5, r6, r7);
        }
        return g;
    }

    /// <summary>The inverse of <see cref="BitUntransposeColumns{TL, TV}"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int BitTransposeColumns<TL, TV>(ref byte plane, ref byte bits, int m, int g)
        where TL : struct, ILanes<TV> where TV : struct
    {
        for (; g + TL.Width <= m; g += TL.Width)
        {
            Load8<TL, TV>(ref Unsafe.Add(ref plane, 8 * g), out var r0, out var r1, out var r2, out var r3, out var r4, out var r5, out var r6, out var r7);
            Deinterleave8<TL, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            Transpose8x8Bits<TL, TV>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            StoreRows<TL, TV>(ref Unsafe.Add(ref bits, g), m, r0, r1, r2, r3, r4, r5, r6, r7);
        }
        return g;
    }

    /// <summary>
    /// <see cref="BitUntransposeColumns{TL, TV}"/> with GFNI: the rows are interleaved first, last row first, so that
    /// each 64-bit lane holds one group's 8×8 bit matrix (row 7 in byte 0), which one affine instruction transposes.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int BitUntransposeColumnsGfni(ref byte bits, ref byte plane, int m, int g)
    {
        for (; g + 32 <= m; g += 32)
        {
            LoadRows<V256, Vector256<byte>>(ref Unsafe.Add(ref bits, g), m, out var x7, out var x6, out var x5, out var x4, out var x3, out var x2, out var x1, out var x0);
            Interleave8<V256, Vector256<byte>>(ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7);
            Store8<V256, Vector256<byte>>(ref Unsafe.Add(ref plane, 8 * g), TransposeBits(x0), TransposeBits(x1), TransposeBits(x2),
                TransposeBits(x3), TransposeBits(x4), TransposeBits(x5), TransposeBits(x6), TransposeBits(x7));
        }
        return g;
    }

    /// <summary>
    /// 2-byte elements with GFNI, columns <paramref name="g"/>… of both byte planes at once: as in
    /// <see cref="BitUntransposeColumnsGfni"/>, then the two planes' vectors, which hold byte 0 and byte 1 of the same
    /// elements, are interleaved and stored as elements (no trip of the planes through a scratch buffer, a quarter of
    /// the stores). Returns the first column left undone.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int BitUntransposePairsGfni(ref byte bits, ref byte elements, int m, int g)
    {
        ref var high = ref Unsafe.Add(ref bits, 8 * m);
        for (; g + 32 <= m; g += 32)
        {
            LoadRows<V256, Vector256<byte>>(ref Unsafe.Add(ref bits, g), m, out var x7, out var x6, out var x5, out var x4, out var x3, out var x2, out var x1, out var x0);
            Interleave8<V256, Vector256<byte>>(ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7);
            LoadRows<V256, Vector256<byte>>(ref Unsafe.Add(ref high, g), m, out var y7, out var y6, out var y5, out var y4, out var y3, out var y2, out var y1, out var y0);
            Interleave8<V256, Vector256<byte>>(ref y0, ref y1, ref y2, ref y3, ref y4, ref y5, ref y6, ref y7);
            // vector k's 128-bit lane l holds a byte of elements 8g + 128l + 16k …+15 (see Store8): 32 output bytes each
            ref var to = ref Unsafe.Add(ref elements, 16 * g);
            StoreElementPairs(TransposeBits(x0), TransposeBits(y0), ref to);
            StoreElementPairs(TransposeBits(x1), TransposeBits(y1), ref Unsafe.Add(ref to, 32));
            StoreElementPairs(TransposeBits(x2), TransposeBits(y2), ref Unsafe.Add(ref to, 64));
            StoreElementPairs(TransposeBits(x3), TransposeBits(y3), ref Unsafe.Add(ref to, 96));
            StoreElementPairs(TransposeBits(x4), TransposeBits(y4), ref Unsafe.Add(ref to, 128));
            StoreElementPairs(TransposeBits(x5), TransposeBits(y5), ref Unsafe.Add(ref to, 160));
            StoreElementPairs(TransposeBits(x6), TransposeBits(y6), ref Unsafe.Add(ref to, 192));
            StoreElementPairs(TransposeBits(x7), TransposeBits(y7), ref Unsafe.Add(ref to, 224));
        }
        return g;
    }

    /// <summary>Low and high bytes of 16 elements per 128-bit lane, interleaved: lane 0's elements at <paramref name="to"/>, lane 1's 256 bytes on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreElementPairs(Vector256<byte> low, Vector256<byte> high, ref byte to)
    {
        var first = Avx2.UnpackLow(low, high);
        var second = Avx2.UnpackHigh(low, high);
        Avx2.Permute2x128(first, second, 0x20).StoreUnsafe(ref to);
        Avx2.Permute2x128(first, second, 0x31).StoreUnsafe(ref Unsafe.Add(ref to, 256));
    }

    /// <summary>
    /// <see cref="BitTransposeColumns{TL, TV}"/> with GFNI: each 64-bit lane of a plane holds 8 elements' bytes;
    /// reversed (element 7 in byte 0), one affine instruction transposes them into the 8 rows' bytes, which the
    /// de-interleave then gathers into rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int BitTransposeColumnsGfni(ref byte plane, ref byte bits, int m, int g)
    {
        var reverse = Vector256.Create((byte)7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
        for (; g + 32 <= m; g += 32)
        {
            Load8<V256, Vector256<byte>>(ref Unsafe.Add(ref plane, 8 * g), out var r0, out var r1, out var r2, out var r3, out var r4, out var r5, out var r6, out var r7);
            r0 = TransposeBits(Avx2.Shuffle(r0, reverse));
            r1 = TransposeBits(Avx2.Shuffle(r1, reverse));
            r2 = TransposeBits(Avx2.Shuffle(r2, reverse));
            r3 = TransposeBits(Avx2.Shuffle(r3, reverse));
            r4 = TransposeBits(Avx2.Shuffle(r4, reverse));
            r5 = TransposeBits(Avx2.Shuffle(r5, reverse));
            r6 = TransposeBits(Avx2.Shuffle(r6, reverse));
            r7 = TransposeBits(Avx2.Shuffle(r7, reverse));
            Deinterleave8<V256, Vector256<byte>>(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            StoreRows<V256, Vector256<byte>>(ref Unsafe.Add(ref bits, g), m, r0, r1, r2, r3, r4, r5, r6, r7);
        }
        return g;
    }

    /// <summary>
    /// The inverse of <see cref="BitUntransposePairsGfni"/>: 2-byte elements gathered into the two planes' vectors as
    /// <see cref="BitTransposeColumnsGfni"/> loads them (each 8-byte group reversed), then transposed and stored as rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int BitTransposePairsGfni(ref byte elements, ref byte bits, int m, int g)
    {
        ref var high = ref Unsafe.Add(ref bits, 8 * m);
        // per 128-bit lane of 8 elements: their low bytes, last element first, then their high bytes likewise
        var gather = Vector256.Create((byte)14, 12, 10, 8, 6, 4, 2, 0, 15, 13, 11, 9, 7, 5, 3, 1, 14, 12, 10, 8, 6, 4, 2, 0, 15, 13, 11, 9, 7, 5, 3, 1);
        for (; g + 32 <= m; g += 32)
        {
            ref var from = ref Unsafe.Add(ref elements, 16 * g);
            LoadElementPairs(ref from, gather, out var x0, out var y0);
            LoadElementPairs(ref Unsafe.Add(ref from, 32), gather, out var x1, out var y1);
            LoadElementPairs(ref Unsafe.Add(ref from, 64), gather, out var x2, out var y2);
            LoadElementPairs(ref Unsafe.Add(ref from, 96), gather, out var x3, out var y3);
            LoadElementPairs(ref Unsafe.Add(ref from, 128), gather, out var x4, out var y4);
            LoadElementPairs(ref Unsafe.Add(ref from, 160), gather, out var x5, out var y5);
            LoadElementPairs(ref Unsafe.Add(ref from, 192), gather, out var x6, out var y6);
            LoadElementPairs(ref Unsafe.Add(ref from, 224), gather, out var x7, out var y7);
            (x0, x1, x2, x3, x4, x5, x6, x7) = (TransposeBits(x0), TransposeBits(x1), TransposeBits(x2), TransposeBits(x3),
                TransposeBits(x4), TransposeBits(x5), TransposeBits(x6), TransposeBits(x7));
            Deinterleave8<V256, Vector256<byte>>(ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7);
            StoreRows<V256, Vector256<byte>>(ref Unsafe.Add(ref bits, g), m, x0, x1, x2, x3, x4, x5, x6, x7);
            (y0, y1, y2, y3, y4, y5, y6, y7) = (TransposeBits(y0), TransposeBits(y1), TransposeBits(y2), TransposeBits(y3),
                TransposeBits(y4), TransposeBits(y5), TransposeBits(y6), TransposeBits(y7));
            Deinterleave8<V256, Vector256<byte>>(ref y0, ref y1, ref y2, ref y3, ref y4, ref y5, ref y6, ref y7);
            StoreRows<V256, Vector256<byte>>(ref Unsafe.Add(ref high, g), m, y0, y1, y2, y3, y4, y5, y6, y7);
        }
        return g;
    }

    /// <summary>
    /// The inverse of <see cref="StoreElementPairs"/>: 16 elements at <paramref name="from"/> and 16 more 256 bytes on,
    /// as the low-byte and high-byte vectors (lane 0 the first 16, lane 1 the others; 8-byte groups reversed).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadElementPairs(ref byte from, Vector256<byte> gather, out Vector256<byte> low, out Vector256<byte> high)
    {
        // after the gather, 64-bit quarters: low bytes of elements 0-7, high 0-7, low 8-15, high 8-15; reordered to low, low, high, high
        var first = Avx2.Permute4x64(Avx2.Shuffle(Vector256.LoadUnsafe(ref from), gather).AsUInt64(), 0b11_01_10_00).AsByte();
        var second = Avx2.Permute4x64(Avx2.Shuffle(Vector256.LoadUnsafe(ref from, 256), gather).AsUInt64(), 0b11_01_10_00).AsByte();
        low = Avx2.Permute2x128(first, second, 0x20);
        high = Avx2.Permute2x128(first, second, 0x31);
    }

    /// <summary>
    /// Per 64-bit lane A: byte j of the result is bit j of bytes 7, 6, … 0 of A (bit i from byte 7-i): the affine
    /// transform of the byte 1 &lt;&lt; j by the matrix A.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> TransposeBits(Vector256<byte> matrices) =>
        Gfni.V256.GaloisFieldAffineTransform(Vector256.Create(0x8040201008040201UL).AsByte(), matrices, 0);

    /// <summary>Planes of 2, 4 or 8 bytes per element, elements <paramref name="i"/>… interleaved; returns the first left undone.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Interleave<TL, TV>(ref byte planes, ref byte elements, int elemSize, int stride, int n, int i)
        where TL : struct, ILanes<TV> where TV : struct
    {
        // An output vector's 16-byte lanes lie one input vector of elements apart: lane l of the unpacks holds
        // elements 16l… of the columns loaded.
        var laneStride = 16 * elemSize;
        for (; i + TL.Width <= n; i += TL.Width)
        {
            ref var at = ref Unsafe.Add(ref planes, i);
            ref var to = ref Unsafe.Add(ref elements, i * elemSize);
            var p0 = TL.Load(ref at);
            var p1 = TL.Load(ref Unsafe.Add(ref at, stride));
            if (elemSize == 2)
            {
                TL.StoreLanes(TL.Lo8(p0, p1), ref to, laneStride);
                TL.StoreLanes(TL.Hi8(p0, p1), ref Unsafe.Add(ref to, 16), laneStride);
                continue;
            }
            var p2 = TL.Load(ref Unsafe.Add(ref at, 2 * stride));
            var p3 = TL.Load(ref Unsafe.Add(ref at, 3 * stride));
            if (elemSize == 4)
            {
                var a0 = TL.Lo8(p0, p1);
                var a1 = TL.Hi8(p0, p1);
                var a2 = TL.Lo8(p2, p3);
                var a3 = TL.Hi8(p2, p3);
                TL.StoreLanes(TL.Lo16(a0, a2), ref to, laneStride);
                TL.StoreLanes(TL.Hi16(a0, a2), ref Unsafe.Add(ref to, 16), laneStride);
                TL.StoreLanes(TL.Lo16(a1, a3), ref Unsafe.Add(ref to, 32), laneStride);
                TL.StoreLanes(TL.Hi16(a1, a3), ref Unsafe.Add(ref to, 48), laneStride);
                continue;
            }
            var p4 = TL.Load(ref Unsafe.Add(ref at, 4 * stride));
            var p5 = TL.Load(ref Unsafe.Add(ref at, 5 * stride));
            var p6 = TL.Load(ref Unsafe.Add(ref at, 6 * stride));
            var p7 = TL.Load(ref Unsafe.Add(ref at, 7 * stride));
            Interleave8<TL, TV>(ref p0, ref p1, ref p2, ref p3, ref p4, ref p5, ref p6, ref p7);
            Store8<TL, TV>(ref to, p0, p1, p2, p3, p4, p5, p6, p7);
        }
        return i;
    }

    /// <summary>Elements of 8 bytes, <paramref name="i"/>… split into 8 planes; returns the first element left undone.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Deinterleave8<TL, TV>(ref byte elements, ref byte planes, int stride, int n, int i)
        where TL : struct, ILanes<TV> where TV : struct
    {
        for (; i + TL.Width <= n; i += TL.Width)
        {
            Load8<TL, TV>(ref Unsafe.Add(ref elements, 8 * i), out var p0, out var p1, out var p2, out var p3, out var p4, out var p5, out var p6, out var p7);
            Deinterleave8<TL, TV>(ref p0, ref p1, ref p2, ref p3, ref p4, ref p5, ref p6, ref p7);
            StoreRows<TL, TV>(ref Unsafe.Add(ref planes, i), stride, p0, p1, p2, p3, p4, p5, p6, p7);
        }
        return i;
    }

    /// <summary>
    /// Transposes the 8×8 bit matrix in each byte column of the 8 vectors: bit k of byte g of vector b trades
    /// places with bit b of byte g of vector k. Blocks of 4, then 2, then 1 bits swap between vector pairs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8Bits<TL, TV>(ref TV r0, ref TV r1, ref TV r2, ref TV r3, ref TV r4, ref TV r5, ref TV r6, ref TV r7)
        where TL : struct, ILanes<TV> where TV : struct
    {
        TL.SwapBits(ref r0, ref r4, 4, 0x0F);
        TL.SwapBits(ref r1, ref r5, 4, 0x0F);
        TL.SwapBits(ref r2, ref r6, 4, 0x0F);
        TL.SwapBits(ref r3, ref r7, 4, 0x0F);
        TL.SwapBits(ref r0, ref r2, 2, 0x33);
        TL.SwapBits(ref r1, ref r3, 2, 0x33);
        TL.SwapBits(ref r4, ref r6, 2, 0x33);
        TL.SwapBits(ref r5, ref r7, 2, 0x33);
        TL.SwapBits(ref r0, ref r1, 1, 0x55);
        TL.SwapBits(ref r2, ref r3, 1, 0x55);
        TL.SwapBits(ref r4, ref r5, 1, 0x55);
        TL.SwapBits(ref r6, ref r7, 1, 0x55);
    }

    /// <summary>
    /// Within each 16-byte lane, 8 vectors x_k of 16 bytes x_k[g] become 8 vectors holding the bytes x_k[g] at
    /// 8g+k: vector p = bytes 16p… of that order (groups 2p and 2p+1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave8<TL, TV>(ref TV x0, ref TV x1, ref TV x2, ref TV x3, ref TV x4, ref TV x5, ref TV x6, ref TV x7)
        where TL : struct, ILanes<TV> where TV : struct
    {
        var a0 = TL.Lo8(x0, x1);
        var a1 = TL.Hi8(x0, x1);
        var a2 = TL.Lo8(x2, x3);
        var a3 = TL.Hi8(x2, x3);
        var a4 = TL.Lo8(x4, x5);
        var a5 = TL.Hi8(x4, x5);
        var a6 = TL.Lo8(x6, x7);
        var a7 = TL.Hi8(x6, x7);
        var b0 = TL.Lo16(a0, a2);
        var b1 = TL.Hi16(a0, a2);
        var b2 = TL.Lo16(a1, a3);
        var b3 = TL.Hi16(a1, a3);
        var b4 = TL.Lo16(a4, a6);
        var b5 = TL.Hi16(a4, a6);
        var b6 = TL.Lo16(a5, a7);
        var b7 = TL.Hi16(a5, a7);
        x0 = TL.Lo32(b0, b4);
        x1 = TL.Hi32(b0, b4);
        x2 = TL.Lo32(b1, b5);
        x3 = TL.Hi32(b1, b5);
        x4 = TL.Lo32(b2, b6);
        x5 = TL.Hi32(b2, b6);
        x6 = TL.Lo32(b3, b7);
        x7 = TL.Hi32(b3, b7);
    }

    /// <summary>
    /// The inverse of <see cref="Interleave8{TL, TV}"/>: the same network sorts the bytes into even and odd
    /// groups of each k (vector s holds k = 2s and 2s+1 of the even groups, vector s+4 of the odd ones), and one
    /// more unpack merges them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave8<TL, TV>(ref TV x0, ref TV x1, ref TV x2, ref TV x3, ref TV x4, ref TV x5, ref TV x6, ref TV x7)
        where TL : struct, ILanes<TV> where TV : struct
    {
        Interleave8<TL, TV>(ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7);
        var (y0, y1, y2, y3, y4, y5, y6, y7) = (x0, x1, x2, x3, x4, x5, x6, x7);
        x0 = TL.Lo8(y0, y4);
        x1 = TL.Hi8(y0, y4);
        x2 = TL.Lo8(y1, y5);
        x3 = TL.Hi8(y1, y5);
        x4 = TL.Lo8(y2, y6);
        x5 = TL.Hi8(y2, y6);
        x6 = TL.Lo8(y3, y7);
        x7 = TL.Hi8(y3, y7);
    }

    /// <summary>8 vectors of 128 (SSE2) or 256 (AVX2) contiguous bytes, laid out for <see cref="Interleave8{TL, TV}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Load8<TL, TV>(ref byte at, out TV x0, out TV x1, out TV x2, out TV x3, out TV x4, out TV x5, out TV x6, out TV x7)
        where TL : struct, ILanes<TV> where TV : struct
    {
        x0 = TL.LoadLanes(ref at, 128);
        x1 = TL.LoadLanes(ref Unsafe.Add(ref at, 16), 128);
        x2 = TL.LoadLanes(ref Unsafe.Add(ref at, 32), 128);
        x3 = TL.LoadLanes(ref Unsafe.Add(ref at, 48), 128);
        x4 = TL.LoadLanes(ref Unsafe.Add(ref at, 64), 128);
        x5 = TL.LoadLanes(ref Unsafe.Add(ref at, 80), 128);
        x6 = TL.LoadLanes(ref Unsafe.Add(ref at, 96), 128);
        x7 = TL.LoadLanes(ref Unsafe.Add(ref at, 112), 128);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store8<TL, TV>(ref byte at, TV x0, TV x1, TV x2, TV x3, TV x4, TV x5, TV x6, TV x7)
        where TL : struct, ILanes<TV> where TV : struct
    {
        TL.StoreLanes(x0, ref at, 128);
        TL.StoreLanes(x1, ref Unsafe.Add(ref at, 16), 128);
        TL.StoreLanes(x2, ref Unsafe.Add(ref at, 32), 128);
        TL.StoreLanes(x3, ref Unsafe.Add(ref at, 48), 128);
        TL.StoreLanes(x4, ref Unsafe.Add(ref at, 64), 128);
        TL.StoreLanes(x5, ref Unsafe.Add(ref at, 80), 128);
        TL.StoreLanes(x6, ref Unsafe.Add(ref at, 96), 128);
        TL.StoreLanes(x7, ref Unsafe.Add(ref at, 112), 128);
    }

    /// <summary>8 vectors from rows <paramref name="stride"/> bytes apart (bit rows, byte planes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadRows<TL, TV>(ref byte at, int stride, out TV x0, out TV x1, out TV x2, out TV x3, out TV x4, out TV x5, out TV x6, out TV x7)
        where TL : struct, ILanes<TV> where TV : struct
    {
        x0 = TL.Load(ref at);
        x1 = TL.Load(ref Unsafe.Add(ref at, stride));
        x2 = TL.Load(ref Unsafe.Add(ref at, 2 * stride));
        x3 = TL.Load(ref Unsafe.Add(ref at, 3 * stride));
        x4 = TL.Load(ref Unsafe.Add(ref at, 4 * stride));
        x5 = TL.Load(ref Unsafe.Add(ref at, 5 * stride));
        x6 = TL.Load(ref Unsafe.Add(ref at, 6 * stride));
        x7 = TL.Load(ref Unsafe.Add(ref at, 7 * stride));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows<TL, TV>(ref byte at, int stride, TV x0, TV x1, TV x2, TV x3, TV x4, TV x5, TV x6, TV x7)
        where TL : struct, ILanes<TV> where TV : struct
    {
        TL.Store(x0, ref at);
        TL.Store(x1, ref Unsafe.Add(ref at, stride));
        TL.Store(x2, ref Unsafe.Add(ref at, 2 * stride));
        TL.Store(x3, ref Unsafe.Add(ref at, 3 * stride));
        TL.Store(x4, ref Unsafe.Add(ref at, 4 * stride));
        TL.Store(x5, ref Unsafe.Add(ref at, 5 * stride));
        TL.Store(x6, ref Unsafe.Add(ref at, 6 * stride));
        TL.Store(x7, ref Unsafe.Add(ref at, 7 * stride));
    }

    /// <summary>Transposes the 8×8 bit matrix whose row r is byte r (bit 8r+c ↔ bit 8c+r).</summary>
    private static ulong Transpose8x8(ulong x)
    {
        var t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAUL;
        x ^= t ^ (t << 7);
        t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCUL;
        x ^= t ^ (t << 14);
        t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0UL;
        return x ^ t ^ (t << 28);
    }

    /// <summary>How far the transposes vectorize; each level needs the one below it.</summary>
    internal enum Simd
    {
        Scalar,
        V128,
        V256,
        V256Gfni,
    }

    /// <summary>
    /// The operations the transposes need on one vector width. Unpacks work within 16-byte lanes, so the byte
    /// transposes load and store a 256-bit vector as two lanes 128 bytes (one 128-bit vector's work) apart.
    /// </summary>
    private interface ILanes<TV> where TV : struct
    {
        static abstract int Width { get; }
        static abstract TV Load(ref byte at);
        static abstract void Store(TV value, ref byte at);
        /// <summary>Lane l from <c>at + l·laneStride</c>.</summary>
        static abstract TV LoadLanes(ref byte at, int laneStride);
        static abstract void StoreLanes(TV value, ref byte at, int laneStride);
        static abstract TV Lo8(TV a, TV b);
        static abstract TV Hi8(TV a, TV b);
        static abstract TV Lo16(TV a, TV b);
        static abstract TV Hi16(TV a, TV b);
        static abstract TV Lo32(TV a, TV b);
        static abstract TV Hi32(TV a, TV b);
        /// <summary>Swaps the bits of <paramref name="a"/> under <c>mask &lt;&lt; shift</c> with those of <paramref name="b"/> under <c>mask</c>.</summary>
        static abstract void SwapBits(ref TV a, ref TV b, [ConstantExpected] byte shift, [ConstantExpected] byte mask);
    }

    private readonly struct V256 : ILanes<Vector256<byte>>
    {
        public static int Width => 32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Load(ref byte at) => Vector256.LoadUnsafe(ref at);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<byte> value, ref byte at) => value.StoreUnsafe(ref at);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> LoadLanes(ref byte at, int laneStride) =>
            Vector256.Create(Vector128.LoadUnsafe(ref at), Vector128.LoadUnsafe(ref at, (nuint)laneStride));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreLanes(Vector256<byte> value, ref byte at, int laneStride)
        {
            value.GetLower().StoreUnsafe(ref at);
            value.GetUpper().StoreUnsafe(ref at, (nuint)laneStride);
        }

        public static Vector256<byte> Lo8(Vector256<byte> a, Vector256<byte> b) => Avx2.UnpackLow(a, b);
        public static Vector256<byte> Hi8(Vector256<byte> a, Vector256<byte> b) => Avx2.UnpackHigh(a, b);
        public static Vector256<byte> Lo16(Vector256<byte> a, Vector256<byte> b) => Avx2.UnpackLow(a.AsUInt16(), b.AsUInt16()).AsByte();
        public static Vector256<byte> Hi16(Vector256<byte> a, Vector256<byte> b) => Avx2.UnpackHigh(a.AsUInt16(), b.AsUInt16()).AsByte();
        public static Vector256<byte> Lo32(Vector256<byte> a, Vector256<byte> b) => Avx2.UnpackLow(a.AsUInt32(), b.AsUInt32()).AsByte();
        public static Vector256<byte> Hi32(Vector256<byte> a, Vector256<byte> b) => Avx2.UnpackHigh(a.AsUInt32(), b.AsUInt32()).AsByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void SwapBits(ref Vector256<byte> a, ref Vector256<byte> b, [ConstantExpected] byte shift, [ConstantExpected] byte mask)
        {
            // 16-bit shifts: the bits that cross into the neighbouring byte are the ones the mask drops.
            var t = (Vector256.ShiftRightLogical(a.AsUInt16(), shift).AsByte() ^ b) & Vector256.Create(mask);
            b ^= t;
            a ^= Vector256.ShiftLeft(t.AsUInt16(), shift).AsByte();
        }
    }

    private readonly struct V128 : ILanes<Vector128<byte>>
    {
        public static int Width => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<byte> Load(ref byte at) => Vector128.LoadUnsafe(ref at);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector128<byte> value, ref byte at) => value.StoreUnsafe(ref at);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<byte> LoadLanes(ref byte at, int laneStride) => Vector128.LoadUnsafe(ref at);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreLanes(Vector128<byte> value, ref byte at, int laneStride) => value.StoreUnsafe(ref at);

        public static Vector128<byte> Lo8(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackLow(a, b);
        public static Vector128<byte> Hi8(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackHigh(a, b);
        public static Vector128<byte> Lo16(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackLow(a.AsUInt16(), b.AsUInt16()).AsByte();
        public static Vector128<byte> Hi16(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackHigh(a.AsUInt16(), b.AsUInt16()).AsByte();
        public static Vector128<byte> Lo32(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackLow(a.AsUInt32(), b.AsUInt32()).AsByte();
        public static Vector128<byte> Hi32(Vector128<byte> a, Vector128<byte> b) => Sse2.UnpackHigh(a.AsUInt32(), b.AsUInt32()).AsByte();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void SwapBits(ref Vector128<byte> a, ref Vector128<byte> b, [ConstantExpected] byte shift, [ConstantExpected] byte mask)
        {
            var t = (Vector128.ShiftRightLogical(a.AsUInt16(), shift).AsByte() ^ b) & Vector128.Create(mask);
            b ^= t;
            a ^= Vector128.ShiftLeft(t.AsUInt16(), shift).AsByte();
        }
    }
}
