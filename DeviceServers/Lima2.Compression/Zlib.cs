using System.Runtime.InteropServices;

namespace Lima2.Compression;

/// <summary>zlib streams (RFC 1950) through Debian's libz: the chunk format of HDF5's deflate filter.</summary>
public static unsafe partial class Zlib
{
    private const string Library = "libz.so.1";
    private const int Ok = 0;

    /// <summary>The largest zlib stream of <paramref name="length"/> bytes.</summary>
    public static int CompressBound(int length) => checked((int)compressBound((nuint)length));

    /// <summary>Compresses <paramref name="source"/> (level 1 = fastest … 9 = smallest); returns the stream length.</summary>
    public static int Compress(ReadOnlySpan<byte> source, Span<byte> destination, int level)
    {
        nuint length = (nuint)destination.Length;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            var result = compress2(dst, &length, src, (nuint)source.Length, level);
            if (result != Ok)
                throw new ArgumentException($"zlib compress2 failed ({result}): {destination.Length} bytes are too few for {source.Length}");
        }
        return (int)length;
    }

    /// <summary>Decompresses one zlib stream; returns the decompressed length.</summary>
    /// <exception cref="InvalidDataException">the stream is corrupt or larger than the destination.</exception>
    public static int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        nuint length = (nuint)destination.Length;
        fixed (byte* src = source)
        fixed (byte* dst = destination)
        {
            var result = uncompress(dst, &length, src, (nuint)source.Length);
            if (result != Ok)
                throw new InvalidDataException($"corrupt zlib stream or more than {destination.Length} bytes once decompressed ({result})");
        }
        return (int)length;
    }

    [LibraryImport(Library)] private static partial nuint compressBound(nuint sourceLength);
    [LibraryImport(Library)] private static partial int compress2(byte* destination, nuint* destinationLength, byte* source, nuint sourceLength, int level);
    [LibraryImport(Library)] private static partial int uncompress(byte* destination, nuint* destinationLength, byte* source, nuint sourceLength);
}
