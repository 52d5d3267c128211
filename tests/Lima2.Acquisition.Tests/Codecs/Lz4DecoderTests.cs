using System.IO.Compression;
using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using Lima2.Compression;
using Lima2.TestSupport;
using Xunit.Abstractions;

namespace Lima2.Acquisition.Tests.Codecs;

/// <summary>
/// The C# LZ4 decoder against the block format's written rules and liblz4 (the oracle) on valid, corrupted, hand-made
/// and random blocks at any output capacity: it refuses exactly the blocks that break a rule, decodes the others to
/// liblz4's bytes, and never reads or writes outside its spans (the spans sit against inaccessible pages, so a stray
/// access ends the test run; canaries show stray writes inside the mapping). Where liblz4 is more lenient than the
/// rules, the broken rule is written to the test output.
/// </summary>
public sealed unsafe partial class Lz4DecoderTests(ITestOutputHelper output) : IDisposable
{
    private const int Room = 256 * 1024;
    private readonly GuardedPages _source = new(Room);
    private readonly GuardedPages _ours = new(Room);
    private readonly GuardedPages _theirs = new(Room);

    /// <summary>The rules broken by blocks liblz4 accepts and the decoder refuses, with how many blocks broke each.</summary>
    private readonly Dictionary<string, int> _liblz4Lenient = [];

    /// <summary>The well-formed blocks liblz4 refuses and the decoder decodes, with how many of each.</summary>
    private readonly Dictionary<string, int> _liblz4Stricter = [];

    public void Dispose()
    {
        foreach (var (rule, blocks) in _liblz4Lenient)
            output.WriteLine($"liblz4 accepts, the decoder refuses ({blocks} blocks): {rule}");
        foreach (var (what, blocks) in _liblz4Stricter)
            output.WriteLine($"liblz4 refuses, the decoder accepts ({blocks} blocks): {what}");
        _source.Dispose();
        _ours.Dispose();
        _theirs.Dispose();
    }

    /// <summary>Bytes like bit planes: runs of one byte, short periodic patterns, noise of few levels, repeats from earlier.</summary>
    private static Gen<byte[]> Data =>
        from pieces in Gen.ListOf(
            from kind in Gen.Choose(0, 3)
            from length in Gen.Frequency((3, Gen.Choose(1, 40)), (2, Gen.Choose(40, 700)), (1, Gen.Choose(700, 6000)))
            from period in Gen.Choose(1, 40)
            from seed in ArbMap.Default.GeneratorFor<int>()
            select (kind, length, period, seed))
        select Assemble(pieces);

    private static byte[] Assemble(IEnumerable<(int Kind, int Length, int Period, int Seed)> pieces)
    {
        var data = new List<byte>();
        foreach (var (kind, length, period, seed) in pieces)
        {
            var random = new Random(seed);
            var pattern = Enumerable.Range(0, period).Select(_ => (byte)random.Next(kind == 0 ? 1 : 256)).ToArray();
            for (var i = 0; i < length && data.Count < 60_000; i++)
                data.Add(kind switch
                {
                    0 or 1 => pattern[i % period],
                    2 => (byte)random.Next(1 << (seed & 7)),
                    _ => data.Count > period ? data[data.Count - period] : (byte)i,
                });
        }
        return [.. data];
    }

    /// <summary>liblz4's own blocks (fast and high-compression encoders) of <see cref="Data"/>.</summary>
    private static Gen<byte[]> ValidBlocks =>
        from data in Data
        from high in ArbMap.Default.GeneratorFor<bool>()
        select Compress(data, high);

    /// <summary>Valid blocks with a few bytes changed, cut short or lengthened.</summary>
    private static Gen<byte[]> CorruptedBlocks =>
        from block in ValidBlocks
        from edits in Gen.ListOf(
            from kind in Gen.Choose(0, 5)
            from at in ArbMap.Default.GeneratorFor<int>()
            from value in Gen.Elements(0, 1, 2, 4, 8, 15, 16, 0x0F, 0xF0, 0xFF, 0x7F, 0x80)
            select (kind, at, value))
        select Edit(block, edits);

    private static byte[] Edit(byte[] block, IEnumerable<(int Kind, int At, int Value)> edits)
    {
        var bytes = block.ToList();
        foreach (var (kind, at, value) in edits)
        {
            if (bytes.Count == 0)
                break;
            var i = (int)((uint)at % (uint)bytes.Count);
            switch (kind)
            {
                case 0: bytes[i] = (byte)value; break;
                case 1: bytes[i] ^= (byte)(1 << (at & 7)); break;
                case 2: bytes.RemoveRange(i, bytes.Count - i); break;
                case 3: bytes.Add((byte)value); break;
                case 4: bytes.RemoveAt(i); break;
                default: bytes.Insert(i, (byte)value); break;
            }
        }
        return [.. bytes];
    }

    /// <summary>Sequences written by hand: any offsets (0 and past the start included), lengths at the ends' limits.</summary>
    private static Gen<byte[]> CraftedBlocks =>
        from sequences in Gen.ListOf(
            from literals in Gen.Frequency((4, Gen.Choose(0, 14)), (1, Gen.Choose(15, 300)))
            from offset in Gen.Frequency((4, Gen.Choose(0, 20)), (2, Gen.Choose(20, 300)), (1, Gen.Choose(0, 65535)))
            from match in Gen.Frequency((4, Gen.Choose(0, 14)), (2, Gen.Choose(15, 300)), (1, Gen.Choose(300, 6000)))
            select (literals, offset, match))
        from last in Gen.Choose(0, 20)
        from withLast in ArbMap.Default.GeneratorFor<bool>()
        select Write(sequences, withLast ? last : -1);

    private static byte[] Write(IEnumerable<(int Literals, int Offset, int Match)> sequences, int lastLiterals)
    {
        var block = new List<byte>();
        var value = (byte)1;
        void Sequence(int literals, int? offset, int match)
        {
            block.Add((byte)((Math.Min(literals, 15) << 4) | Math.Min(match, 15)));
            if (literals >= 15)
                Lengthen(literals - 15);
            for (var i = 0; i < literals; i++)
                block.Add(value++);
            if (offset is not { } o)
                return;
            block.Add((byte)o);
            block.Add((byte)(o >> 8));
            if (match >= 15)
                Lengthen(match - 15);
        }
        void Lengthen(int rest)
        {
            for (; rest >= 255; rest -= 255)
                block.Add(255);
            block.Add((byte)rest);
        }
        foreach (var (literals, offset, match) in sequences)
            Sequence(literals, offset, match);
        if (lastLiterals >= 0)
            Sequence(lastLiterals, null, 0);
        return [.. block];
    }

    /// <summary>The decoded length where liblz4 takes the block with room to spare, else a guess; then capacities around it.</summary>
    private Gen<int> Capacities(byte[] block)
    {
        var room = new byte[Room];
        var length = Liblz4(block, room);
        var around = length >= 0 ? length : 1000;
        return Gen.Frequency(
            (4, Gen.Constant(around)),
            (4, Gen.Choose(Math.Max(0, around - 70), Math.Min(Room, around + 70))),
            (1, Gen.Choose(0, 100)),
            (1, Gen.Choose(0, Room)));
    }

    private bool SameAsLiblz4(byte[] block, int capacity, bool atPageEnd)
    {
        var source = _source.Span(block.Length, atPageEnd);
        block.CopyTo(source);
        var ours = _ours.Span(capacity, atPageEnd);
        var theirs = _theirs.Span(capacity, atPageEnd);
        _ours.Fill(ours, 0xA5);
        _theirs.Fill(theirs, 0x5A);
        int oursRead, theirsRead;
        fixed (byte* src = source)
        fixed (byte* dst = ours)
            oursRead = Lz4Decoder.Decode(src, source.Length, dst, ours.Length);
        theirsRead = Liblz4(source, theirs);
        if (!_ours.OutsideIs(ours, 0xA5))
            throw new InvalidOperationException("the decoder wrote outside its destination");
        if (!source.SequenceEqual(block))
            throw new InvalidOperationException("the decoder wrote into its source");
        var broken = BrokenRule(block, capacity);
        if ((oursRead < 0) != (broken is not null))
            throw new InvalidOperationException($"the decoder's verdict {oursRead} against the rules: {broken ?? "none broken"}");
        if (oursRead < 0 && theirsRead >= 0)
            Count(_liblz4Lenient, broken!);
        // liblz4 decodes nothing into an empty destination but the block 0x00; the format lets a last token say any match length
        var emptyIntoEmpty = oursRead == 0 && theirsRead < 0 && capacity == 0;
        if (emptyIntoEmpty)
            Count(_liblz4Stricter, $"the empty block {Convert.ToHexString(block)} into an empty destination");
        return oursRead < 0 || emptyIntoEmpty
            || (oursRead == theirsRead && ours[..oursRead].SequenceEqual(theirs[..theirsRead]));
    }

    private static void Count(Dictionary<string, int> counts, string what) => counts[what] = counts.GetValueOrDefault(what) + 1;

    /// <summary>
    /// The first rule of the block format (or of the destination's size) that <paramref name="block"/> breaks, walking
    /// its sequences without decoding them; null for a well-formed block that fits <paramref name="capacity"/>.
    /// </summary>
    private static string? BrokenRule(byte[] block, int capacity)
    {
        var at = 0;
        long decoded = 0, lastMatchStart = -1, lastMatchEnd = -1;
        bool Lengthen(ref long length)
        {
            int next;
            do
            {
                if (at == block.Length)
                    return false;
                length += next = block[at++];
            } while (next == 255);
            return true;
        }
        while (true)
        {
            if (at == block.Length)
                return "no token where a sequence starts";
            var token = block[at++];
            long literals = token >> 4;
            if (literals == 15 && !Lengthen(ref literals))
                return "a literal length runs past the block";
            if (literals > block.Length - at)
                return "literals past the block";
            if (decoded + literals > capacity)
                return "longer than the destination";
            at += (int)literals;
            decoded += literals;
            if (at == block.Length)
                break;
            if (block.Length - at < 2)
                return "an offset cut by the block's end";
            var offset = block[at] | (block[at + 1] << 8);
            at += 2;
            if (offset == 0)
                return "offset 0";
            if (offset > decoded)
                return "an offset before the output's start";
            long match = token & 15;
            if (match == 15 && !Lengthen(ref match))
                return "a match length runs past the block";
            match += 4;
            if (decoded + match > capacity)
                return "longer than the destination";
            lastMatchStart = decoded;
            decoded += match;
            lastMatchEnd = decoded;
        }
        if (lastMatchStart >= 0 && decoded - lastMatchStart < 12)
            return "the last match starts less than 12 bytes before the end";
        if (lastMatchStart >= 0 && decoded - lastMatchEnd < 5)
            return "the last 5 bytes are not all literals";
        return null;
    }

    private void Check(Gen<byte[]> blocks, int tests) =>
        Prop.ForAll(
            (from block in blocks
             from capacity in Capacities(block)
             from atPageEnd in ArbMap.Default.GeneratorFor<bool>()
             select (block, capacity, atPageEnd)).ToArbitrary(),
            t => SameAsLiblz4(t.block, t.capacity, t.atPageEnd))
        .Check(Config.QuickThrowOnFailure.WithMaxTest(tests));

    [Fact]
    public void Liblz4_blocks_decode_to_the_same_bytes_at_any_capacity() => Check(ValidBlocks, 1500);

    [Fact]
    public void Corrupted_blocks_are_refused_by_the_rules_or_decoded_to_liblz4s_bytes() => Check(CorruptedBlocks, 3000);

    [Fact]
    public void Hand_made_sequences_are_refused_by_the_rules_or_decoded_to_liblz4s_bytes() => Check(CraftedBlocks, 3000);

    [Fact]
    public void Random_bytes_are_refused_by_the_rules_or_decoded_to_liblz4s_bytes() =>
        Check(Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>()), 3000);

    /// <summary>
    /// The end rules and the exact tails near the destination's end depend on exact distances: every ending of one
    /// short sequence and the last literals, after starts of several lengths, at the exact capacity and around it.
    /// </summary>
    [Fact]
    public void Every_short_ending_of_a_block_follows_the_rules()
    {
        var cases = 0;
        foreach (var start in new[] { 0, 1, 3 })
            foreach (var offset in new[] { 0, 1, 2, 3, 8, 20, 31, 32, 33, 90 })
                for (var literals = 0; literals <= 16; literals++)
                    for (var match = 0; match <= 20; match++)
                        for (var last = 0; last <= 18; last++)
                        {
                            var block = Write([.. Enumerable.Repeat((60, 30, 40), start), (literals, offset, match)], last);
                            var decoded = start * 104 + literals + match + 4 + last;
                            foreach (var capacity in new[] { decoded, decoded - 1, decoded + 1, decoded + 5, decoded + 12, decoded + 70 })
                            {
                                Assert.True(SameAsLiblz4(block, Math.Max(0, capacity), atPageEnd: cases % 2 == 0),
                                    $"start {start}, literals {literals}, offset {offset}, match {match}, last {last}, capacity {capacity}");
                                cases++;
                            }
                        }
        Assert.True(cases > 200_000);
    }

    [Fact]
    public void Offset_zero_and_offsets_before_the_start_are_refused_with_the_codec_message()
    {
        // 20 literals, then a 40-byte match, then 12 literals: offset 20 reaches the first byte, 21 and 0 are invalid
        foreach (var (offset, accepted) in new[] { (20, true), (0, false), (21, false) })
        {
            var block = Write([(20, offset, 36)], 12);
            Assert.True(SameAsLiblz4(block, 72, atPageEnd: true));
            var decoded = new byte[72];
            if (accepted)
            {
                Assert.Equal(72, Lz4.Decompress(block, decoded));
                for (var i = 20; i < 60; i++)
                    Assert.Equal(decoded[i - offset], decoded[i]);
            }
            else
            {
                var error = Assert.Throws<InvalidDataException>(() => Lz4.Decompress(block, decoded));
                Assert.Equal($"corrupt LZ4 block ({block.Length} bytes) or more than 72 bytes once decompressed", error.Message);
            }
        }
    }

    /// <summary>Every offset of the repeating-pattern path and past it, with matches long and short, near the end or not.</summary>
    [Fact]
    public void A_match_repeats_the_bytes_one_offset_before_it_for_every_short_offset()
    {
        for (var offset = 1; offset <= 40; offset++)
            foreach (var match in new[] { 4, 31, 32, 33, 100, 5000 })
            {
                var block = Write([(40, offset, match - 4)], 12);
                var decoded = new byte[40 + match + 12];
                foreach (var capacity in new[] { decoded.Length, decoded.Length + 40 })
                    Assert.True(SameAsLiblz4(block, capacity, atPageEnd: capacity == decoded.Length), $"offset {offset}, match {match}");
                Assert.Equal(decoded.Length, Lz4.Decompress(block, decoded));
                for (var i = 40; i < 40 + match; i++)
                    Assert.Equal(decoded[i - offset], decoded[i]);
            }
    }

    /// <summary>
    /// The oracle's 4.5 Mpx frame as uint32 and as uint16 (clipped), bitshuffled in blocks as the detectors send them and
    /// compressed by both liblz4 encoders: every block decodes to liblz4's bytes, and the chunk to the frame.
    /// </summary>
    [Fact]
    public void The_oracle_frame_decodes_exactly_block_by_block()
    {
        using var gz = new GZipStream(File.OpenRead(Path.Combine(RepoPaths.TestData, "peaks", "jf4m_frame_i32.bin.gz")), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        gz.CopyTo(raw);
        var words = MemoryMarshal.Cast<byte, int>(raw.GetBuffer().AsSpan(0, (int)raw.Length)).ToArray();
        var clipped = words.Select(w => (ushort)Math.Clamp(w, 0, ushort.MaxValue)).ToArray();
        foreach (var (pixels, elemSize) in new[] { (MemoryMarshal.AsBytes(words.AsSpan()).ToArray(), 4), (MemoryMarshal.AsBytes(clipped.AsSpan()).ToArray(), 2) })
        {
            var blockBytes = BitshuffleLz4.DefaultBlockElements(elemSize) * elemSize;
            var planes = new byte[blockBytes];
            var scratch = new byte[blockBytes];
            var blocks = 0;
            for (var at = 0; at + blockBytes <= pixels.Length; at += blockBytes, blocks++)
            {
                Bitshuffle.Shuffle(pixels.AsSpan(at, blockBytes), planes, elemSize, scratch);
                var block = Compress(planes, high: blocks % 2 == 1);
                Assert.True(SameAsLiblz4(block, blockBytes, atPageEnd: blocks % 3 == 0), $"block {blocks} of the {elemSize}-byte frame");
            }
            Assert.True(blocks > 1000);

            var chunk = new byte[BitshuffleLz4.MaxEncodedLength(pixels.Length, elemSize)];
            var length = BitshuffleLz4.Encode(pixels, chunk, elemSize);
            var back = new byte[pixels.Length];
            BitshuffleLz4.Decode(chunk.AsSpan(0, length), back, elemSize);
            Assert.Equal(pixels, back);
        }
    }

    private static byte[] Compress(byte[] data, bool high)
    {
        if (data.Length == 0)
            return [0];
        var block = new byte[Lz4.CompressBound(data.Length)];
        int written;
        fixed (byte* src = data)
        fixed (byte* dst = block)
            written = high ? LZ4_compress_HC(src, dst, data.Length, block.Length, 9) : Lz4.Compress(data, block);
        Assert.True(written > 0);
        return block[..written];
    }

    /// <summary>liblz4's result as it gives it: the decoded length, or negative where it refuses the block.</summary>
    private static int Liblz4(ReadOnlySpan<byte> block, Span<byte> destination)
    {
        fixed (byte* src = block)
        fixed (byte* dst = destination)
            return LZ4_decompress_safe(src, dst, block.Length, destination.Length);
    }

    [LibraryImport("liblz4.so.1")]
    private static partial int LZ4_decompress_safe(byte* source, byte* destination, int compressedSize, int maxDecompressedSize);

    [LibraryImport("liblz4.so.1")]
    private static partial int LZ4_compress_HC(byte* source, byte* destination, int sourceSize, int maxDestinationSize, int level);

    /// <summary>
    /// Pages with an inaccessible page on each side: a span is placed against the one after (a read or write past its
    /// end faults) or the one before (past its start faults).
    /// </summary>
    private sealed partial class GuardedPages : IDisposable
    {
        private const int Page = 4096;
        private readonly byte* _mapping;
        private readonly nuint _mapped;
        private readonly int _length;

        public GuardedPages(int length)
        {
            _length = (length + Page - 1) / Page * Page;
            _mapped = (nuint)(_length + 2 * Page);
            _mapping = (byte*)mmap(null, _mapped, 0 /* PROT_NONE */, 0x22 /* MAP_PRIVATE | MAP_ANONYMOUS */, -1, 0);
            if (_mapping == (byte*)-1)
                throw new InvalidOperationException("mmap failed");
            if (mprotect(_mapping + Page, (nuint)_length, 3 /* PROT_READ | PROT_WRITE */) != 0)
                throw new InvalidOperationException("mprotect failed");
        }

        private const int Canary = 8192;

        private Span<byte> All => new(_mapping + Page, _length);

        public Span<byte> Span(int length, bool atEnd) => atEnd ? All[(_length - length)..] : All[..length];

        /// <summary>The span and up to 8 KiB on either side (the rest of the pages is out of any copy's reach).</summary>
        public void Fill(Span<byte> span, byte value)
        {
            var (start, end) = Window(span);
            All[start..end].Fill(value);
        }

        /// <summary>The 8 KiB on either side of <paramref name="span"/> still hold <paramref name="value"/>.</summary>
        public bool OutsideIs(Span<byte> span, byte value)
        {
            var (start, end) = Window(span);
            var at = Start(span);
            return All[start..at].IndexOfAnyExcept(value) < 0 && All[(at + span.Length)..end].IndexOfAnyExcept(value) < 0;
        }

        private (int Start, int End) Window(Span<byte> span) =>
            (Math.Max(0, Start(span) - Canary), Math.Min(_length, Start(span) + span.Length + Canary));

        private int Start(Span<byte> span) =>
            (int)((byte*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetReference(span)) - (_mapping + Page));

        public void Dispose() => munmap(_mapping, _mapped);

        [LibraryImport("libc")]
        private static partial void* mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

        [LibraryImport("libc")]
        private static partial int mprotect(void* address, nuint length, int protection);

        [LibraryImport("libc")]
        private static partial int munmap(void* address, nuint length);
    }
}
