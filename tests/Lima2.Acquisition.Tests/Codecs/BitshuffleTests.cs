using FsCheck;
using FsCheck.Fluent;
using Lima2.Compression;

namespace Lima2.Acquisition.Tests.Codecs;

public class BitshuffleTests
{
    private static readonly int[] ElementSizes = [1, 2, 3, 4, 8];

    /// <summary>Blocks of 8 to 2,400 elements: whole vectors of columns, narrower ones and scalar tails.</summary>
    private static Gen<(int ElemSize, byte[] Block)> Blocks =>
        from elemSize in Gen.Elements(ElementSizes)
        from groups in Gen.Choose(1, 300)
        from bytes in Gen.ArrayOf(ArbMap.Default.GeneratorFor<byte>(), groups * 8 * elemSize)
        select (elemSize, bytes);

    /// <summary>Every vector width this machine runs (scalar, SSE2, AVX2), the widest being what callers get.</summary>
    public static TheoryData<string> Levels()
    {
        var levels = new TheoryData<string>();
        foreach (var level in Enum.GetValues<Bitshuffle.Simd>().Where(l => l <= Bitshuffle.Best))
            levels.Add(level.ToString());
        return levels;
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void Shuffle_matches_the_bit_by_bit_reference_for_every_element_size(string level) =>
        Prop.ForAll(Blocks.ToArbitrary(), t =>
        {
            var fast = new byte[t.Block.Length];
            var reference = new byte[t.Block.Length];
            Bitshuffle.Shuffle(t.Block, fast, t.ElemSize, new byte[t.Block.Length], Enum.Parse<Bitshuffle.Simd>(level));
            Bitshuffle.ShuffleReference(t.Block, reference, t.ElemSize);
            return fast.AsSpan().SequenceEqual(reference);
        }).QuickCheckThrowOnFailure();

    [Theory]
    [MemberData(nameof(Levels))]
    public void Unshuffle_matches_the_reference_and_inverts_shuffle(string level) =>
        Prop.ForAll(Blocks.ToArbitrary(), t =>
        {
            var simd = Enum.Parse<Bitshuffle.Simd>(level);
            var fast = new byte[t.Block.Length];
            var reference = new byte[t.Block.Length];
            Bitshuffle.Unshuffle(t.Block, fast, t.ElemSize, new byte[t.Block.Length], simd);
            Bitshuffle.UnshuffleReference(t.Block, reference, t.ElemSize);
            var back = new byte[t.Block.Length];
            Bitshuffle.Shuffle(fast, back, t.ElemSize, new byte[t.Block.Length], simd);
            return fast.AsSpan().SequenceEqual(reference) && back.AsSpan().SequenceEqual(t.Block);
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Unshuffle_writes_only_its_block_of_a_larger_destination()
    {
        var block = Enumerable.Range(0, 8 * 2 * 40).Select(i => (byte)(i * 37)).ToArray();
        var destination = Enumerable.Repeat((byte)0xEE, block.Length + 64).ToArray();
        Bitshuffle.Unshuffle(block, destination, 2, new byte[block.Length]);
        var reference = new byte[block.Length];
        Bitshuffle.UnshuffleReference(block, reference, 2);
        Assert.Equal(reference, destination[..block.Length]);
        Assert.All(destination[block.Length..], b => Assert.Equal(0xEE, b));
    }

    [Fact]
    public void Shuffle_puts_bit_b_of_element_i_at_bit_i_mod_8_of_row_b()
    {
        // bitshuffle.bitshuffle(np.arange(16, dtype=np.uint16)) starts 170 170 204 204 240 240 0 255, zeros after.
        var elements = Enumerable.Range(0, 16).Select(i => (ushort)i).ToArray();
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(elements.AsSpan()).ToArray();
        var shuffled = new byte[32];
        Bitshuffle.Shuffle(bytes, shuffled, 2, new byte[32]);
        Assert.Equal(new byte[] { 170, 170, 204, 204, 240, 240, 0, 255 }, shuffled[..8]);
        Assert.All(shuffled[8..], b => Assert.Equal(0, b));
    }
}
