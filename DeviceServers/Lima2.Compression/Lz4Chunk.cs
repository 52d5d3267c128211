using System.Buffers.Binary;

namespace Lima2.Compression;

/// <summary>
/// The chunk format of the HDF5 LZ4 filter (id 32004), used by DECTRIS stream V2 <c>"lz4"</c>: a 12-byte
/// big-endian header (u64 decompressed bytes, u32 block bytes), then per block a u32 big-endian compressed
/// length and the block, stored raw when compression would not shrink it.
/// </summary>
public static class Lz4Chunk
{
    public const int HeaderLength = 12;
    private const int BlockBytes = 1 << 30;

    public static int MaxEncodedLength(int length) =>
        checked(HeaderLength + 4 + Lz4.CompressBound(Math.Max(length, 1)));

    /// <summary>Compresses <paramref name="source"/> as one block; returns the chunk length.</summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, (ulong)source.Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], BlockBytes);
        if (source.IsEmpty)
            return HeaderLength;
        var written = Lz4.Compress(source, destination[(HeaderLength + 4)..]);
        if (written >= source.Length)
        {
            source.CopyTo(destination[(HeaderLength + 4)..]);
            written = source.Length;
        }
        BinaryPrimitives.WriteUInt32BigEndian(destination[HeaderLength..], (uint)written);
        return HeaderLength + 4 + written;
    }

    /// <summary>Decompresses one chunk; returns the decompressed length.</summary>
    /// <exception cref="InvalidDataException">the chunk is truncated, corrupt, or does not fit the destination.</exception>
    public static int Decode(ReadOnlySpan<byte> chunk, Span<byte> destination)
    {
        var length = (int)BitshuffleLz4.ReadDecodedLength(chunk);
        var blockBytes = BinaryPrimitives.ReadUInt32BigEndian(chunk[8..]);
        if (length > destination.Length)
            throw new InvalidDataException($"the chunk holds {length} bytes, the frame has room for {destination.Length}");
        if (blockBytes == 0)
            throw new InvalidDataException("the chunk announces blocks of 0 bytes");
        var at = HeaderLength;
        var done = 0;
        while (done < length)
        {
            var bytes = (int)Math.Min(blockBytes, (uint)(length - done));
            if (chunk.Length - at < 4)
                throw new InvalidDataException($"the chunk is truncated at byte {at}");
            var compressed = BinaryPrimitives.ReadUInt32BigEndian(chunk[at..]);
            if (compressed > chunk.Length - at - 4)
                throw new InvalidDataException($"a block announces {compressed} bytes, only {chunk.Length - at - 4} are left");
            var data = chunk.Slice(at + 4, (int)compressed);
            var target = destination.Slice(done, bytes);
            if (compressed == bytes)
                data.CopyTo(target);
            else if (Lz4.Decompress(data, target) != bytes)
                throw new InvalidDataException($"a block decompresses to other than {bytes} bytes");
            at += 4 + (int)compressed;
            done += bytes;
        }
        if (at != chunk.Length)
            throw new InvalidDataException($"the chunk has {chunk.Length - at} bytes after its last block");
        return length;
    }
}
