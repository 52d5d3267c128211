using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lima2.Compression;

/// <summary>
/// Decodes one raw LZ4 block, written from the block format description: sequences of a token (literal count, match
/// length), literals, a 2-byte little-endian offset and the match; the last sequence is literals only and ends the block.
/// </summary>
/// <remarks>
/// Blocks come from the network, so whatever the bytes, every read stays inside the source and every write inside the
/// destination; blocks that break the format (offset 0 or before the output's start, lengths past either end, a last
/// match that ends less than 5 bytes or starts less than 12 bytes before the end) are refused.
/// Bit-plane blocks are why it is not liblz4: their empty high planes are one match of offset 2 over most of the block,
/// stored here 32 bytes a step from a pattern built once instead of copied a few bytes a step through memory.
/// </remarks>
internal static unsafe class Lz4Decoder
{
    /// <summary>What <see cref="Decode"/> returns for a block it refuses.</summary>
    public const int Refused = -1;

    private const int MinMatch = 4;
    private const int LastLiterals = 5;
    private const int LastMatchStartBeforeEnd = 12;
    private const int Vector = 32;

    /// <summary>
    /// Source bytes left (twice that of destination) from which a sequence with both lengths under 15 is copied in
    /// fixed sizes: 16 literals, then 32 match bytes, all inside both spans.
    /// </summary>
    private const int ShortcutRoom = 32;

    /// <summary>Decodes the block at <paramref name="source"/> into <paramref name="destination"/>.</summary>
    /// <returns>The decoded length, or <see cref="Refused"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Decode(byte* source, int sourceLength, byte* destination, int capacity)
    {
        byte* src = source, srcEnd = source + sourceLength;
        byte* dst = destination, dstEnd = destination + capacity;
        byte* lastMatchStart = null, lastMatchEnd = null;
        while (true)
        {
            if (src == srcEnd)
                return Refused; // no token
            var token = (uint)*src++;
            var literals = (ulong)(token >> 4);
            var match = (ulong)(token & 15);
            nuint offset;
            if (literals < 15 && match < 15 && srcEnd - src >= ShortcutRoom && dstEnd - dst >= 2 * ShortcutRoom)
            {
                // a short sequence far from both ends (not the last, its lengths in the token): fixed-size copies
                Vector128.Store(Vector128.Load(src), dst);
                src += literals;
                dst += literals;
                offset = (nuint)(src[0] | (src[1] << 8));
                src += 2;
                match += MinMatch;
                if (offset >= Vector / 2 && offset <= (nuint)(dst - destination))
                {
                    // up to 18 bytes, 16 at a time from bytes already written
                    Vector128.Store(Vector128.Load(dst - offset), dst);
                    Vector128.Store(Vector128.Load(dst - offset + Vector / 2), dst + Vector / 2);
                    lastMatchStart = dst;
                    dst += match;
                    lastMatchEnd = dst;
                    continue;
                }
            }
            else
            {
                if (literals == 15 && !AddLengthBytes(ref src, srcEnd, ref literals))
                    return Refused;
                if (literals > (ulong)(srcEnd - src) || literals > (ulong)(dstEnd - dst))
                    return Refused;
                CopyLiterals(src, dst, (nuint)literals, srcEnd, dstEnd);
                src += literals;
                dst += literals;
                if (src == srcEnd)
                    break; // the last sequence: literals only

                if (srcEnd - src < 2)
                    return Refused;
                offset = (nuint)(src[0] | (src[1] << 8));
                src += 2;
                if (match == 15 && !AddLengthBytes(ref src, srcEnd, ref match))
                    return Refused;
                match += MinMatch;
            }
            if (offset == 0 || offset > (nuint)(dst - destination) || match > (ulong)(dstEnd - dst))
                return Refused;
            lastMatchStart = dst;
            CopyMatch(dst, offset, (nuint)match, dstEnd);
            dst += match;
            lastMatchEnd = dst;
        }
        if (lastMatchStart != null && (dst - lastMatchStart < LastMatchStartBeforeEnd || dst - lastMatchEnd < LastLiterals))
            return Refused;
        return (int)(dst - destination);
    }

    /// <summary>Adds the bytes that follow a length field of 15: each one, until one under 255 (false: the source ends first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AddLengthBytes(ref byte* src, byte* srcEnd, ref ulong length)
    {
        uint next;
        do
        {
            if (src == srcEnd)
                return false;
            next = *src++;
            length += next;
        } while (next == 255);
        return true;
    }

    /// <summary>Whole vectors, the last one over-long, where both ends are that far; else exact.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyLiterals(byte* src, byte* dst, nuint length, byte* srcEnd, byte* dstEnd)
    {
        if ((nuint)(srcEnd - src) >= length + (Vector - 1) && (nuint)(dstEnd - dst) >= length + (Vector - 1))
            for (nuint i = 0; i < length; i += Vector)
                Vector256.Store(Vector256.Load(src + i), dst + i);
        else
            Buffer.MemoryCopy(src, dst, length, length);
    }

    /// <summary>
    /// Writes <paramref name="length"/> bytes at <paramref name="dst"/>, each the byte <paramref name="offset"/> before it.
    /// Bytes written past the match are overwritten by what follows it, or lie past the decoded length.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyMatch(byte* dst, nuint offset, nuint length, byte* dstEnd)
    {
        var end = dst + length;
        if (offset >= Vector)
        {
            // each vector is read from bytes already written
            for (; dst < end && dstEnd - dst >= Vector; dst += Vector)
                Vector256.Store(Vector256.Load(dst - offset), dst);
        }
        else if (offset >= Vector / 2)
        {
            // the same, 16 bytes a step
            for (; dst < end && dstEnd - dst >= Vector / 2; dst += Vector / 2)
                Vector128.Store(Vector128.Load(dst - offset), dst);
        }
        else if (Ssse3.IsSupported && dstEnd - dst >= Vector)
        {
            // the bytes repeat with period offset: 32 of them shuffled once out of the period's first bytes (the 16
            // loaded end at most 16 past dst, inside the destination), stored at steps of whole periods
            var period = Vector128.Load(dst - offset);
            ref var indices = ref MemoryMarshal.GetArrayDataReference(PatternIndices);
            var repeated = Vector256.Create(
                Ssse3.Shuffle(period, Vector128.LoadUnsafe(ref indices, offset * Vector)),
                Ssse3.Shuffle(period, Vector128.LoadUnsafe(ref indices, offset * Vector + Vector / 2)));
            var step = Vector - Vector % offset;
            for (; dst < end && dstEnd - dst >= Vector; dst += step)
                Vector256.Store(repeated, dst);
        }
        for (; dst < end; dst++)
            *dst = *(dst - offset);
    }

    /// <summary>For each offset under 16, the 32 indices i % offset of the period's bytes in its repetition.</summary>
    private static readonly byte[] PatternIndices = Enumerable.Range(0, Vector / 2 * Vector)
        .Select(at => (byte)(at / Vector == 0 ? 0 : at % Vector % (at / Vector))).ToArray();
}
