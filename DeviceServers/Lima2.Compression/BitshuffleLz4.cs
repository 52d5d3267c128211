using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Lima2.Compression;

/// <summary>
/// The chunk format of the HDF5 bitshuffle filter (id 32008) with LZ4, which is also the DECTRIS
/// <c>bs*-lz4&lt;</c> / <c>bslz4</c> payload: a 12-byte big-endian header (u64 decompressed bytes, u32 block
/// bytes), then per block a u32 big-endian compressed length and the LZ4 block of the bit-transposed elements.
/// The last block is cut down to a multiple of 8 elements; the <c>N mod 8</c> elements left over follow raw.
/// </summary>
public static class BitshuffleLz4
{
    public const int HeaderLength = 12;

    private const int TargetBlockBytes = 8192;
    private const int StackScratchBytes = 16 * 1024;

    /// <summary>The block size (elements) bitshuffle picks by itself: 8 KiB, a multiple of 8, at least 128.</summary>
    public static int DefaultBlockElements(int elemSize) => Math.Max(128, TargetBlockBytes / elemSize / 8 * 8);

    /// <summary>The largest chunk <see cref="Encode"/> can produce for <paramref name="length"/> bytes.</summary>
    public static int MaxEncodedLength(int length, int elemSize, int blockElements = 0)
    {
        var block = BlockElements(elemSize, blockElements);
        var elements = length / elemSize;
        var blocks = (elements + block - 1) / block;
        return checked(HeaderLength + blocks * (4 + Lz4.CompressBound(block * elemSize)) + length % (8 * elemSize) + 8 * elemSize);
    }

    /// <summary>Compresses <paramref name="source"/> (whole elements) into one chunk; returns its length.</summary>
    [SkipLocalsInit] // the block scratch is written before it is read
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination, int elemSize, int blockElements = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(elemSize);
        if (source.Length % elemSize != 0)
            throw new ArgumentException($"{source.Length} bytes are not whole elements of {elemSize} bytes", nameof(source));
        var block = BlockElements(elemSize, blockElements);
        BinaryPrimitives.WriteUInt64BigEndian(destination, (ulong)source.Length);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], (uint)(block * elemSize));

        var blockBytes = block * elemSize;
        byte[]? rented = null;
        var scratch = 2 * blockBytes <= StackScratchBytes
            ? stackalloc byte[2 * blockBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(2 * blockBytes));
        try
        {
            var shuffled = scratch[..blockBytes];
            var rows = scratch.Slice(blockBytes, blockBytes);
            var at = HeaderLength;
            var elements = source.Length / elemSize;
            var done = 0;
            while (elements - done >= 8)
            {
                var count = Math.Min(block, (elements - done) / 8 * 8);
                var bytes = count * elemSize;
                Bitshuffle.Shuffle(source.Slice(done * elemSize, bytes), shuffled, elemSize, rows);
                var written = Lz4.Compress(shuffled[..bytes], destination[(at + 4)..]);
                BinaryPrimitives.WriteUInt32BigEndian(destination[at..], (uint)written);
                at += 4 + written;
                done += count;
            }
            var rest = source[(done * elemSize)..];
            rest.CopyTo(destination[at..]);
            return at + rest.Length;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The decompressed size a chunk announces in its header.</summary>
    /// <exception cref="InvalidDataException">the chunk is shorter than its header.</exception>
    public static long ReadDecodedLength(ReadOnlySpan<byte> chunk)
    {
        if (chunk.Length < HeaderLength)
            throw new InvalidDataException($"a bitshuffle/LZ4 chunk has a {HeaderLength}-byte header, this one has {chunk.Length} bytes");
        var length = BinaryPrimitives.ReadUInt64BigEndian(chunk);
        if (length > int.MaxValue)
            throw new InvalidDataException($"the chunk announces {length} bytes, more than one frame can hold");
        return (long)length;
    }

    /// <summary>Decompresses one chunk into <paramref name="destination"/>; returns the decompressed length.</summary>
    /// <exception cref="InvalidDataException">the chunk is truncated, corrupt, or does not fit the destination.</exception>
    [SkipLocalsInit] // the block scratch is written before it is read
    public static int Decode(ReadOnlySpan<byte> chunk, Span<byte> destination, int elemSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(elemSize);
        var length = (int)ReadDecodedLength(chunk);
        var blockBytes = BinaryPrimitives.ReadUInt32BigEndian(chunk[8..]);
        if (length > destination.Length)
            throw new InvalidDataException($"the chunk holds {length} bytes, the frame has room for {destination.Length}");
        if (length % elemSize != 0)
            throw new InvalidDataException($"the chunk holds {length} bytes, not whole elements of {elemSize} bytes");
        if (blockBytes == 0 || blockBytes % (8 * elemSize) != 0 || blockBytes > int.MaxValue / 2)
            throw new InvalidDataException($"block size {blockBytes} bytes is not a positive multiple of 8 elements of {elemSize} bytes");

        var block = (int)blockBytes / elemSize;
        var scratchBytes = 2 * Math.Min((int)blockBytes, length);
        byte[]? rented = null;
        var scratch = scratchBytes <= StackScratchBytes
            ? stackalloc byte[scratchBytes]
            : (rented = ArrayPool<byte>.Shared.Rent(scratchBytes));
        try
        {
            var half = scratchBytes / 2;
            var shuffled = scratch[..half];
            var rows = scratch.Slice(half, half);
            var at = HeaderLength;
            var elements = length / elemSize;
            var done = 0;
            while (elements - done >= 8)
            {
                var count = Math.Min(block, (elements - done) / 8 * 8);
                var bytes = count * elemSize;
                if (chunk.Length - at < 4)
                    throw new InvalidDataException($"the chunk is truncated at byte {at} (block of element {done})");
                var compressed = BinaryPrimitives.ReadUInt32BigEndian(chunk[at..]);
                if (compressed > chunk.Length - at - 4)
                    throw new InvalidDataException(
                        $"block of element {done} announces {compressed} bytes, only {chunk.Length - at - 4} are left");
                var read = Lz4.Decompress(chunk.Slice(at + 4, (int)compressed), shuffled[..bytes]);
                if (read != bytes)
                    throw new InvalidDataException($"block of element {done} holds {read} bytes, {bytes} expected");
                Bitshuffle.Unshuffle(shuffled[..bytes], destination.Slice(done * elemSize, bytes), elemSize, rows);
                at += 4 + (int)compressed;
                done += count;
            }
            var rest = length - done * elemSize;
            if (chunk.Length - at != rest)
                throw new InvalidDataException(
                    $"the chunk has {chunk.Length - at} bytes after its last block, {rest} expected");
            chunk.Slice(at, rest).CopyTo(destination[(done * elemSize)..]);
            return length;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static int BlockElements(int elemSize, int blockElements)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(elemSize);
        if (blockElements == 0)
            return DefaultBlockElements(elemSize);
        if (blockElements < 0 || blockElements % 8 != 0)
            throw new ArgumentOutOfRangeException(nameof(blockElements), blockElements, "a block is a positive multiple of 8 elements");
        return blockElements;
    }
}
