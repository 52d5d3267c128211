// The decoding loops below follow LZ4_decompress_generic of liblz4 1.9.4 (lib/lz4.c) check for check, under its licence:
//
// LZ4 - Fast LZ compression algorithm
// Copyright (C) 2011-2020, Yann Collet.
// BSD 2-Clause License (http://www.opensource.org/licenses/bsd-license.php)
//
// Redistribution and use in source and binary forms, with or without modification, are permitted provided that the
// following conditions are met:
//     * Redistributions of source code must retain the above copyright notice, this list of conditions and the
//       following disclaimer.
//     * Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the
//       following disclaimer in the documentation and/or other materials provided with the distribution.
//
// THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES,
// INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
// DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
// SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
// SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY,
// WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
// OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Lima2.Compression;

/// <summary>
/// LZ4 block decompression that accepts and refuses exactly the blocks liblz4 1.9.4's <c>LZ4_decompress_safe</c> does
/// and writes the same bytes: its fast loop (output at least 64 bytes from the end) and safe loop are followed check
/// for check, so that the parsing restrictions it enforces near the ends (and those it lets pass in its shortcuts)
/// stay the same. Only the copies differ: a match with an offset under 16 is a pattern of period <c>offset</c> built
/// once by one byte shuffle and stored 32 bytes at a time, where liblz4 goes 8 bytes a step and, for a match that
/// runs to the end of the block, copies 8 bytes from the 8 it just stored (a dependency through memory per step).
/// The bit planes of diffraction frames are such blocks: a few noisy planes of literals, then the empty high planes
/// as one match of offset 2 (about 5.6 KB of an 8 KiB block) that ends 5 bytes before the block's end.
/// </summary>
/// <remarks>
/// Every read stays in <c>[src, src + srcSize)</c> and every write in <c>[dst, dst + dstSize)</c> whatever the bytes,
/// by liblz4's own bounds (each copy's overrun is covered by the distance to the end checked before it); the
/// comments at each copy give the bound it relies on.
/// </remarks>
internal static unsafe class Lz4Decoder
{
    private const int MinMatch = 4;
    private const int LastLiterals = 5;
    private const int MatchFindLimit = 12;
    private const int FastLoopSafeDistance = 64;
    private const int RunMask = 15;

    /// <summary>Row <c>p</c> (an offset under 16): byte <c>i</c> is <c>i % p</c>; row 0 is all 0x80 (pshufb writes zeros).</summary>
    private static readonly byte[] PatternIndices = MakePatternIndices();

    /// <summary>The decompressed length, or -1 where liblz4 refuses the block (its negative error codes folded).</summary>
    /// <remarks>Optimised at its first call, like the other codec loops: tier-0 code is several times slower.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Decode(byte* src, int srcSize, byte* dst, int dstSize)
    {
        if (dstSize == 0)
            return srcSize == 1 && *src == 0 ? 0 : -1;
        if (srcSize <= 0 || dstSize < 0)
            return -1;

        var ip = src;
        var iend = src + srcSize;
        var op = dst;
        var oend = dst + dstSize;
        var shortIEnd = iend - 14 - 2;
        var shortOEnd = oend - 14 - 18;
        byte* cpy;
        byte* match;
        nuint offset;
        nuint length;
        uint token;

        if (dstSize >= FastLoopSafeDistance)
        {
            // Fast loop: the output is at least 64 bytes from its end at the top of each sequence.
            while (true)
            {
                token = *ip++;
                length = token >> 4;
                if (length == RunMask)
                {
                    if (!ReadLength(ref ip, iend - RunMask, initialCheck: true, ref length))
                        return -1;
                    cpy = op + length;
                    if (cpy > oend - 32 || ip + length > iend - 32)
                        goto SafeLiteralCopy;
                    Copy32s(op, ip, cpy); // overruns cpy by < 32: within oend, and the input by < 32: within iend
                    ip += length;
                    op = cpy;
                }
                else
                {
                    cpy = op + length;
                    if (ip > iend - (16 + 1))
                        goto SafeLiteralCopy;
                    Copy16(op, ip); // op + 16 < oend - 48; ip + 16 < iend
                    ip += length;
                    op = cpy;
                }

                offset = Unsafe.ReadUnaligned<ushort>(ip); // ip + 2 <= iend - 1: checked above
                ip += 2;
                match = op - offset;
                length = token & 15;
                if (length == 15)
                {
                    if (!ReadLength(ref ip, iend - LastLiterals + 1, initialCheck: false, ref length))
                        return -1;
                    length += MinMatch;
                    if (match < dst)
                        return -1;
                    if (op + length >= oend - FastLoopSafeDistance)
                        goto SafeMatchCopy;
                }
                else
                {
                    length += MinMatch;
                    if (op + length >= oend - FastLoopSafeDistance)
                        goto SafeMatchCopy;
                    if (match >= dst && offset >= 8)
                    {
                        Copy18(op, match); // op + 18 < oend; the source ends before op + 10
                        op += length;
                        continue;
                    }
                }

                if (match < dst)
                    return -1;
                cpy = op + length;
                CopyMatch(op, match, cpy, offset); // cpy + 32 < oend
                op = cpy;
            }
        }

    // Safe loop: the last 64 bytes of output, or all of a block under 64 bytes.
    SafeToken:
        token = *ip++; // ip < iend: every path here leaves at least one byte
        length = token >> 4;
        if (length != RunMask && ip < shortIEnd && op <= shortOEnd)
        {
            // liblz4's shortcut: literals of 0–14 and a match of 4–18 bytes copied by fixed widths, no end checks
            Copy16(op, ip); // op + 16 <= oend - 16; ip + 16 < iend
            op += length;
            ip += length;
            length = token & 15;
            offset = Unsafe.ReadUnaligned<ushort>(ip); // ip + 2 < iend
            ip += 2;
            match = op - offset;
            if (length != 15 && offset >= 8 && match >= dst)
            {
                Copy18(op, match); // op + 18 <= oend
                op += length + MinMatch;
                goto SafeToken;
            }
            goto MatchLength;
        }
        if (length == RunMask && !ReadLength(ref ip, iend - RunMask, initialCheck: true, ref length))
            return -1;
        cpy = op + length;

    SafeLiteralCopy:
        if (cpy > oend - MatchFindLimit || ip + length > iend - (2 + 1 + LastLiterals))
        {
            // The last literals: they must end the input exactly and fit the output.
            if (ip + length != iend || cpy > oend)
                return -1;
            Buffer.MemoryCopy(ip, op, (long)length, (long)length);
            return (int)(cpy - dst);
        }
        Buffer.MemoryCopy(ip, op, (long)length, (long)length);
        ip += length;
        op = cpy;
        offset = Unsafe.ReadUnaligned<ushort>(ip); // ip + 2 <= iend - 6
        ip += 2;
        match = op - offset;
        length = token & 15;

    MatchLength:
        if (length == 15 && !ReadLength(ref ip, iend - LastLiterals + 1, initialCheck: false, ref length))
            return -1;
        length += MinMatch;

    SafeMatchCopy:
        if (match < dst)
            return -1;
        cpy = op + length;
        if (cpy > oend - LastLiterals)
            return -1; // the last 5 bytes are literals
        if (cpy + 32 <= oend)
            CopyMatch(op, match, cpy, offset);
        else
            CopyMatchExactly(op, match, cpy, offset);
        op = cpy;
        goto SafeToken;
    }

    /// <summary>
    /// Reads the 255-run continuation of a length as liblz4's <c>read_variable_length</c>: false where it passes
    /// <paramref name="limit"/>. Reads stop at <paramref name="limit"/>, which is inside the input.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool ReadLength(ref byte* ip, byte* limit, bool initialCheck, ref nuint length)
    {
        if (initialCheck && ip >= limit)
            return false;
        uint s;
        do
        {
            s = *ip++;
            length += s;
            if (ip > limit)
                return false;
        }
        while (s == 255);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy16(byte* destination, byte* source) =>
        Vector128.Store(Vector128.Load(source), destination);

    /// <summary>A match of 4–18 bytes at an offset of 8 or more: three loads, each after the store it may overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy18(byte* destination, byte* match)
    {
        Unsafe.WriteUnaligned(destination, Unsafe.ReadUnaligned<ulong>(match));
        Unsafe.WriteUnaligned(destination + 8, Unsafe.ReadUnaligned<ulong>(match + 8));
        Unsafe.WriteUnaligned(destination + 16, Unsafe.ReadUnaligned<ushort>(match + 16));
    }

    /// <summary>Copies up to <paramref name="end"/> 32 bytes at a time: the last store passes it by up to 31 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy32s(byte* destination, byte* source, byte* end)
    {
        do
        {
            Vector256.Store(Vector256.Load(source), destination);
            destination += 32;
            source += 32;
        }
        while (destination < end);
    }

    /// <summary>
    /// The match <c>[op, cpy)</c> = the bytes <paramref name="offset"/> back, repeating where it overlaps itself
    /// (offset 0: zeros, as liblz4 writes). Stores pass <paramref name="cpy"/> by up to 32 bytes and read up to 16 bytes
    /// from <c>op - offset</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyMatch(byte* op, byte* match, byte* cpy, nuint offset)
    {
        if (offset >= 32)
        {
            Copy32s(op, match, cpy);
        }
        else if (offset >= 16)
        {
            // each 16-byte load reads only bytes stored before it
            do
            {
                Copy16(op, match);
                op += 16;
                match += 16;
            }
            while (op < cpy);
        }
        else
        {
            var pattern = Pattern(match, offset, out var step);
            do
            {
                Vector256.Store(pattern, op);
                op += step;
            }
            while (op < cpy);
        }
    }

    /// <summary>The same bytes as <see cref="CopyMatch"/> with no store past <paramref name="cpy"/>, for the end of the output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyMatchExactly(byte* op, byte* match, byte* cpy, nuint offset)
    {
        if (offset >= 32)
            for (; op + 32 <= cpy; op += 32, match += 32)
                Vector256.Store(Vector256.Load(match), op);
        if (offset >= 16)
        {
            for (; op + 16 <= cpy; op += 16, match += 16)
                Copy16(op, match);
        }
        else if (op + 32 <= cpy)
        {
            var pattern = Pattern(match, offset, out var step); // reads up to op + 16
            for (; op + 32 <= cpy; op += step)
                Vector256.Store(pattern, op);
        }
        if (offset == 0)
        {
            new Span<byte>(op, (int)(cpy - op)).Clear();
            return;
        }
        for (match = op - offset; op < cpy; op++, match++)
            *op = *match;
    }

    /// <summary>
    /// 32 bytes of the period-<paramref name="offset"/> pattern that starts at <paramref name="match"/> (zeros for offset
    /// 0), from one 16-byte load at <paramref name="match"/>; <paramref name="step"/>: the largest multiple of the offset
    /// up to 32, where the next store starts in phase.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Pattern(byte* match, nuint offset, out nuint step)
    {
        step = offset == 0 ? 32 : 32 / offset * offset;
        ref var indices = ref MemoryMarshal.GetArrayDataReference(PatternIndices);
        if (Avx2.IsSupported)
        {
            var source = Vector128.Load(match);
            return Avx2.Shuffle(Vector256.Create(source, source), Vector256.LoadUnsafe(ref indices, offset * 32));
        }
        return PatternScalar(match, offset);
    }

    /// <summary>What <see cref="Pattern"/> builds, byte by byte, where the CPU has no AVX2.</summary>
    internal static Vector256<byte> PatternScalar(byte* match, nuint offset)
    {
        var bytes = stackalloc byte[32];
        for (nuint i = 0; i < 32; i++)
            bytes[i] = offset == 0 ? (byte)0 : match[i % offset];
        return Vector256.Load(bytes);
    }

    private static byte[] MakePatternIndices()
    {
        var indices = new byte[16 * 32];
        for (var p = 0; p < 16; p++)
            for (var i = 0; i < 32; i++)
                indices[p * 32 + i] = p == 0 ? (byte)0x80 : (byte)(i % p);
        return indices;
    }
}
