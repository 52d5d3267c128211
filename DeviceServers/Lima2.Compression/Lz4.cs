using System.Runtime.InteropServices;

namespace Lima2.Compression;

/// <summary>LZ4 blocks (raw, no frame header): compression through Debian's liblz4, decompression in C# (<see cref="Lz4Decoder"/>).</summary>
public static unsafe partial class Lz4
{
    private const string Library = "liblz4.so.1";

    /// <summary>The largest compressed size of <paramref name="length"/> input bytes.</summary>
    public static int CompressBound(int length)
    {
        var bound = LZ4_compressBound(length);
        if (bound <= 0)
            throw new ArgumentOutOfRangeException(nameof(length), length, "too large for one LZ4 block");
        return bound;
    }

    /// <summary>Compresses <paramref name="source"/> into <paramref name="destination"/>; returns the compressed length.</summary>
    /// <exception cref="ArgumentException">the destination is smaller than <see cref="CompressBound"/> needs.</exception>
    public static int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.IsEmpty)
            throw new ArgumentException("LZ4 cannot compress an empty block", nameof(source));
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            var written = LZ4_compress_default(src, dst, source.Length, destination.Length);
            if (written <= 0)
                throw new ArgumentException(
                    $"{destination.Length} bytes cannot hold the LZ4 block of {source.Length} bytes", nameof(destination));
            return written;
        }
    }

    /// <summary>Decompresses one LZ4 block; returns the decompressed length.</summary>
    /// <exception cref="InvalidDataException">the block is corrupt or does not fit the destination.</exception>
    public static int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        fixed (byte* src = source)
        fixed (byte* dst = destination)
            return Checked(Lz4Decoder.Decode(src, source.Length, dst, destination.Length), source.Length, destination.Length);
    }

    /// <summary>The same through liblz4's <c>LZ4_decompress_safe</c>: the oracle of the decoder's tests, timed beside it.</summary>
    internal static int DecompressWithLiblz4(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        fixed (byte* src = source)
        fixed (byte* dst = destination)
            return Checked(LZ4_decompress_safe(src, dst, source.Length, destination.Length), source.Length, destination.Length);
    }

    private static int Checked(int read, int sourceLength, int destinationLength) => read >= 0
        ? read
        : throw new InvalidDataException(
            $"corrupt LZ4 block ({sourceLength} bytes) or more than {destinationLength} bytes once decompressed");

    [LibraryImport(Library)]
    private static partial int LZ4_compress_default(byte* source, byte* destination, int sourceSize, int maxDestinationSize);

    [LibraryImport(Library)]
    private static partial int LZ4_decompress_safe(byte* source, byte* destination, int compressedSize, int maxDecompressedSize);

    [LibraryImport(Library)]
    private static partial int LZ4_compressBound(int inputSize);
}
