using FsCheck;
using FsCheck.Fluent;
using Lima2.Compression;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Codecs;

public class BitshuffleLz4Tests
{
    /// <summary>Any element size, any number of elements (odd ones included), compressible or not, any block size.</summary>
    private static Gen<(int ElemSize, int Block, byte[] Data)> Chunks =>
        from elemSize in Gen.Elements(1, 2, 4, 8)
        from elements in Gen.Choose(0, 5000)
        from block in Gen.Elements(0, 8, 64, 256)
        from levels in Gen.Elements(2, 16, 256)
        from seed in ArbMap.Default.GeneratorFor<int>()
        select (elemSize, block, Sample(elements * elemSize, levels, seed));

    private static byte[] Sample(int length, int levels, int seed)
    {
        var random = new Random(seed);
        var data = new byte[length];
        for (var i = 0; i < length; i++)
            data[i] = (byte)random.Next(levels);
        return data;
    }

    [Fact]
    public void Encode_then_decode_gives_back_every_byte() =>
        Prop.ForAll(Chunks.ToArbitrary(), t =>
        {
            var chunk = new byte[BitshuffleLz4.MaxEncodedLength(t.Data.Length, t.ElemSize, t.Block)];
            var length = BitshuffleLz4.Encode(t.Data, chunk, t.ElemSize, t.Block);
            var back = new byte[t.Data.Length];
            var decoded = BitshuffleLz4.Decode(chunk.AsSpan(0, length), back, t.ElemSize);
            return decoded == t.Data.Length && back.AsSpan().SequenceEqual(t.Data)
                && BitshuffleLz4.ReadDecodedLength(chunk) == t.Data.Length;
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void A_truncated_or_extended_chunk_is_rejected_as_invalid_data() =>
        Prop.ForAll(Chunks.ToArbitrary(), ArbMap.Default.ArbFor<int>(), (t, cut) =>
        {
            var chunk = new byte[BitshuffleLz4.MaxEncodedLength(t.Data.Length, t.ElemSize, t.Block) + 1];
            var length = BitshuffleLz4.Encode(t.Data, chunk, t.ElemSize, t.Block);
            var wrong = (int)((uint)cut % (length + 1));
            if (wrong == length)
                wrong++; // one byte too many
            var back = new byte[t.Data.Length];
            try
            {
                BitshuffleLz4.Decode(chunk.AsSpan(0, wrong), back, t.ElemSize);
                return false;
            }
            catch (InvalidDataException)
            {
                return true;
            }
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Decode_refuses_a_chunk_larger_than_the_frame()
    {
        var data = new byte[1024];
        var chunk = new byte[BitshuffleLz4.MaxEncodedLength(data.Length, 2)];
        var length = BitshuffleLz4.Encode(data, chunk, 2);
        var error = Assert.Throws<InvalidDataException>(() => BitshuffleLz4.Decode(chunk.AsSpan(0, length), new byte[512], 2));
        Assert.Contains("room for 512", error.Message);
    }

    [Fact]
    public void Lz4_chunks_round_trip_and_store_incompressible_blocks_raw()
    {
        foreach (var data in new[] { new byte[0], new byte[1000], Sample(777, 256, 1) })
        {
            var chunk = new byte[Lz4Chunk.MaxEncodedLength(data.Length)];
            var length = Lz4Chunk.Encode(data, chunk);
            var back = new byte[data.Length];
            Assert.Equal(data.Length, Lz4Chunk.Decode(chunk.AsSpan(0, length), back));
            Assert.Equal(data, back);
        }
    }

    [Fact]
    public void Python_bitshuffle_reads_our_chunks_and_we_read_its_chunks()
    {
        var folder = Directory.CreateTempSubdirectory("bslz4-").FullName;
        try
        {
            var cases = new (string Name, string Dtype, int ElemSize, int Elements)[]
            {
                ("u8odd", "uint8", 1, 10_001), ("u16frame", "uint16", 2, 64 * 67 + 5), ("u32small", "uint32", 4, 7),
                ("f64", "float64", 8, 3000), ("u16exact", "uint16", 2, 4096 * 3),
            };
            foreach (var c in cases)
            {
                var data = Sample(c.Elements * c.ElemSize, c.ElemSize == 1 ? 256 : 12, c.Elements);
                File.WriteAllBytes(Path.Combine(folder, $"{c.Name}.{c.Dtype}.raw"), data);
                var chunk = new byte[BitshuffleLz4.MaxEncodedLength(data.Length, c.ElemSize)];
                var length = BitshuffleLz4.Encode(data, chunk, c.ElemSize);
                File.WriteAllBytes(Path.Combine(folder, $"{c.Name}.{c.Dtype}.chunk"), chunk[..length]);
            }
            var output = Python.Run(PythonScripts.Path("bitshuffle_check.py"), ["decode", folder]);
            Assert.Equal(cases.Length, output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)));

            Python.Run(PythonScripts.Path("bitshuffle_check.py"), ["encode", folder]);
            foreach (var c in cases)
            {
                var data = File.ReadAllBytes(Path.Combine(folder, $"{c.Name}.{c.Dtype}.raw"));
                var chunk = File.ReadAllBytes(Path.Combine(folder, $"{c.Name}.py.chunk"));
                var back = new byte[data.Length];
                BitshuffleLz4.Decode(chunk, back, c.ElemSize);
                Assert.Equal(data, back);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
