using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lima2.Compression;

/// <summary>
/// The bit transpose of the bitshuffle filter on one block of <c>n</c> elements (<c>n</c> a multiple of 8):
/// <c>8·elemSize</c> rows of <c>n/8</c> bytes, row <c>8j+b</c> holding bit <c>b</c> of byte <c>j</c> of every
/// element, element <c>i</c> at bit <c>i%8</c> of byte <c>i/8</c>.
/// </summary>
public static class Bitshuffle
{
    /// <summary>Bit-transposes <paramref name="source"/> into <paramref name="destination"/> (same length).</summary>
    /// <param name="scratch">at least <c>source.Length</c> bytes when <paramref name="elemSize"/> &gt; 1.</param>
    public static void Shuffle(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, Span<byte> scratch)
    {
        var n = CheckBlock(source.Length, destination.Length, elemSize);
        ReadOnlySpan<byte> rows = source;
        if (elemSize > 1)
        {
            ByteTranspose(source, scratch[..source.Length], elemSize, n);
            rows = scratch[..source.Length];
        }
        for (var j = 0; j < elemSize; j++)
            BitTransposeRow(rows.Slice(j * n, n), destination.Slice(8 * j * (n / 8), n), n / 8);
    }

    /// <summary>Inverse of <see cref="Shuffle"/>.</summary>
    /// <param name="scratch">at least <c>source.Length</c> bytes when <paramref name="elemSize"/> &gt; 1.</param>
    public static void Unshuffle(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, Span<byte> scratch)
    {
        var n = CheckBlock(source.Length, destination.Length, elemSize);
        var rows = elemSize > 1 ? scratch[..source.Length] : destination;
        for (var j = 0; j < elemSize; j++)
            BitUntransposeRow(source.Slice(8 * j * (n / 8), n), rows.Slice(j * n, n), n / 8);
        if (elemSize > 1)
            ByteUntranspose(rows, destination, elemSize, n);
    }

    /// <summary>Bit-by-bit reference of <see cref="Shuffle"/>, for tests.</summary>
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

    /// <summary>Bit-by-bit reference of <see cref="Unshuffle"/>, for tests.</summary>
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

    /// <summary>Elements (n × elemSize) to byte rows (elemSize × n).</summary>
    private static void ByteTranspose(ReadOnlySpan<byte> source, Span<byte> rows, int elemSize, int n)
    {
        var i = 0;
        if (Avx2.IsSupported && elemSize is 2 or 4)
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
                var v = Avx2.Shuffle(Vector256.Create<byte>(source.Slice(i * elemSize, 32)), perLane).AsUInt32();
                var grouped = Avx2.PermuteVar8x32(v, lanes).AsUInt64();
                if (elemSize == 2)
                {
                    grouped.GetLower().AsByte().CopyTo(rows.Slice(i, 16));
                    grouped.GetUpper().AsByte().CopyTo(rows.Slice(n + i, 16));
                }
                else
                {
                    for (var j = 0; j < 4; j++)
                        BinaryPrimitives.WriteUInt64LittleEndian(rows.Slice(j * n + i, 8), grouped.GetElement(j));
                }
            }
        }
        for (; i < n; i++)
            for (var j = 0; j < elemSize; j++)
                rows[j * n + i] = source[i * elemSize + j];
    }

    private static void ByteUntranspose(ReadOnlySpan<byte> rows, Span<byte> destination, int elemSize, int n)
    {
        var i = 0;
        if (Sse2.IsSupported && elemSize == 2)
        {
            for (; i + 16 <= n; i += 16)
            {
                var low = Vector128.Create<byte>(rows.Slice(i, 16));
                var high = Vector128.Create<byte>(rows.Slice(n + i, 16));
                Sse2.UnpackLow(low, high).CopyTo(destination.Slice(2 * i, 16));
                Sse2.UnpackHigh(low, high).CopyTo(destination.Slice(2 * i + 16, 16));
            }
        }
        else if (Sse2.IsSupported && elemSize == 4)
        {
            for (; i + 16 <= n; i += 16)
            {
                var b0 = Vector128.Create<byte>(rows.Slice(i, 16));
                var b1 = Vector128.Create<byte>(rows.Slice(n + i, 16));
                var b2 = Vector128.Create<byte>(rows.Slice(2 * n + i, 16));
                var b3 = Vector128.Create<byte>(rows.Slice(3 * n + i, 16));
                var p01 = Sse2.UnpackLow(b0, b1).AsUInt16();
                var q01 = Sse2.UnpackHigh(b0, b1).AsUInt16();
                var p23 = Sse2.UnpackLow(b2, b3).AsUInt16();
                var q23 = Sse2.UnpackHigh(b2, b3).AsUInt16();
                Sse2.UnpackLow(p01, p23).AsByte().CopyTo(destination.Slice(4 * i, 16));
                Sse2.UnpackHigh(p01, p23).AsByte().CopyTo(destination.Slice(4 * i + 16, 16));
                Sse2.UnpackLow(q01, q23).AsByte().CopyTo(destination.Slice(4 * i + 32, 16));
                Sse2.UnpackHigh(q01, q23).AsByte().CopyTo(destination.Slice(4 * i + 48, 16));
            }
        }
        for (; i < n; i++)
            for (var j = 0; j < elemSize; j++)
                destination[i * elemSize + j] = rows[j * n + i];
    }

    /// <summary>One byte row of n bytes to 8 bit rows of <paramref name="m"/> = n/8 bytes.</summary>
    private static void BitTransposeRow(ReadOnlySpan<byte> row, Span<byte> bits, int m)
    {
        var g = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            // 32 bytes at a time: the most significant bits of the 32 bytes are one 32-bit word of a bit row.
            for (; g + 4 <= m; g += 4)
            {
                var v = Vector256.Create<byte>(row.Slice(8 * g, 32));
                for (var b = 7; b >= 0; b--)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(bits.Slice(b * m + g, 4), v.ExtractMostSignificantBits());
                    v += v;
                }
            }
        }
        for (; g < m; g++)
        {
            var x = Transpose8x8(BinaryPrimitives.ReadUInt64LittleEndian(row.Slice(8 * g, 8)));
            for (var b = 0; b < 8; b++)
                bits[b * m + g] = (byte)(x >> (8 * b));
        }
    }

    /// <summary>8 bit rows of <paramref name="m"/> bytes back to one byte row of 8·m bytes.</summary>
    private static void BitUntransposeRow(ReadOnlySpan<byte> bits, Span<byte> row, int m)
    {
        var g = 0;
        if (Avx2.IsSupported)
        {
            // Four 8×8 bit matrices at a time: gather byte g..g+3 of the 8 rows, one matrix per 64-bit lane.
            var gather = Vector256.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
            var pair = Vector256.Create(0u, 4, 1, 5, 2, 6, 3, 7);
            for (; g + 4 <= m; g += 4)
            {
                var words = Vector256.Create(
                    Read32(bits, 0 * m + g), Read32(bits, 1 * m + g), Read32(bits, 2 * m + g), Read32(bits, 3 * m + g),
                    Read32(bits, 4 * m + g), Read32(bits, 5 * m + g), Read32(bits, 6 * m + g), Read32(bits, 7 * m + g));
                var lanes = Avx2.PermuteVar8x32(Avx2.Shuffle(words.AsByte(), gather).AsUInt32(), pair).AsUInt64();
                Transpose8x8(lanes).AsByte().CopyTo(row.Slice(8 * g, 32));
            }
        }
        for (; g < m; g++)
        {
            ulong x = 0;
            for (var b = 0; b < 8; b++)
                x |= (ulong)bits[b * m + g] << (8 * b);
            BinaryPrimitives.WriteUInt64LittleEndian(row.Slice(8 * g, 8), Transpose8x8(x));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Read32(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(offset, 4));

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

    private static Vector256<ulong> Transpose8x8(Vector256<ulong> x)
    {
        var t = (x ^ (x >> 7)) & Vector256.Create(0x00AA00AA00AA00AAUL);
        x ^= t ^ (t << 7);
        t = (x ^ (x >> 14)) & Vector256.Create(0x0000CCCC0000CCCCUL);
        x ^= t ^ (t << 14);
        t = (x ^ (x >> 28)) & Vector256.Create(0x00000000F0F0F0F0UL);
        return x ^ t ^ (t << 28);
    }
}
