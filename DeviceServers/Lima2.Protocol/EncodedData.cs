using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;

namespace Lima2.Protocol;

/// <summary>A DevEncoded value as Lima2's getters return it: a format tag and the bytes.</summary>
public sealed record EncodedData(string Format, byte[] Data);

/// <summary>
/// The binary layouts of Lima2's DevEncoded getters (frames, sparse frames, popped reduced data), little-endian,
/// as lima2-client decodes them with numpy.
/// </summary>
public static class EncodedLayouts
{
    public const string DenseFrame = "DENSE_FRAME";
    public const string SparseFrame = "SPARSE_FRAME";
    public const string SmxSparseFrame = "SMX_SPARSE_FRAME";
    public const string StructuredArray = "STRUCTURED_ARRAY";

    /// <summary>Size of the "DTAY" header (numpy <c>&lt;IHHIIHHHHHHHHIIIIIIQ</c>).</summary>
    public const int HeaderSize = 64;

    private const uint Magic = 0x44544159; // "DTAY"
    private const ushort Version = 2;
    private const uint CategoryImage = 2;

    /// <summary>A dense frame: header, then pixels of shape (channels, height, width).</summary>
    public static EncodedData Dense(Frame frame)
    {
        var info = frame.Info;
        var data = new byte[HeaderSize + info.ByteSize];
        WriteHeader(data, CategoryImage, DataType(info.PixelType),
            [(ushort)info.Width, (ushort)info.Height, (ushort)info.Channels],
            [1u, (uint)info.Width, (uint)(info.Width * info.Height)], (ulong)frame.Index);
        frame.Data.Span.CopyTo(data.AsSpan(HeaderSize));
        return new EncodedData(DenseFrame, data);
    }

    /// <summary>
    /// Records of one unmanaged struct type (ROI statistics, peak counters, ...): header, then the packed records.
    /// The header says one dimension of <c>records.Length</c> elements of <c>sizeof(T)</c> bytes.
    /// </summary>
    public static EncodedData Structured<T>(ReadOnlySpan<T> records) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(records);
        var data = new byte[HeaderSize + bytes.Length];
        WriteHeader(data, 0, 0, [(ushort)Math.Min(records.Length, ushort.MaxValue)], [(uint)Marshal.SizeOf<T>()], 0);
        bytes.CopyTo(data.AsSpan(HeaderSize));
        return new EncodedData(StructuredArray, data);
    }

    /// <summary>XPCS sparse frame: <c>&lt;HHII</c> width, height, nb_pixels, frame_idx; int32 index[]; uint16 intensity[].</summary>
    public static EncodedData Sparse(int width, int height, long frameIndex, ReadOnlySpan<int> index, ReadOnlySpan<ushort> intensity)
    {
        if (index.Length != intensity.Length)
            throw new ArgumentException("one intensity per index");
        var data = new byte[12 + index.Length * 6];
        var span = data.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span, checked((ushort)width));
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], checked((ushort)height));
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)index.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], checked((uint)frameIndex));
        MemoryMarshal.AsBytes(index).CopyTo(span[12..]);
        MemoryMarshal.AsBytes(intensity).CopyTo(span[(12 + index.Length * 4)..]);
        return new EncodedData(SparseFrame, data);
    }

    /// <summary>
    /// SMX sparse frame: <c>&lt;HHIII</c> width, height, nb_bins, nb_pixels, frame_idx; int32 index[];
    /// float32 intensity[]; float32 background_avg[nb_bins]; float32 background_std[nb_bins].
    /// </summary>
    public static EncodedData SmxSparse(int width, int height, long frameIndex, ReadOnlySpan<int> index,
        ReadOnlySpan<float> intensity, ReadOnlySpan<float> backgroundAvg, ReadOnlySpan<float> backgroundStd)
    {
        if (index.Length != intensity.Length || backgroundAvg.Length != backgroundStd.Length)
            throw new ArgumentException("one intensity per index and one std per background bin");
        if (width > ushort.MaxValue || height > ushort.MaxValue)
            throw new ArgumentException($"{SmxSparseFrame} holds at most 65535 px a side, not {width}x{height}");
        var data = new byte[16 + index.Length * 8 + backgroundAvg.Length * 8];
        var span = data.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span, checked((ushort)width));
        BinaryPrimitives.WriteUInt16LittleEndian(span[2..], checked((ushort)height));
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)backgroundAvg.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)index.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], checked((uint)frameIndex));
        var at = Append(span, 16, MemoryMarshal.AsBytes(index));
        at = Append(span, at, MemoryMarshal.AsBytes(intensity));
        at = Append(span, at, MemoryMarshal.AsBytes(backgroundAvg));
        Append(span, at, MemoryMarshal.AsBytes(backgroundStd));
        return new EncodedData(SmxSparseFrame, data);
    }

    /// <summary>The header's data_type code: 0..9 = u8, u16, u32, u64, i8, i16, i32, i64, f32, f64.</summary>
    public static uint DataType(PixelType type) => type switch
    {
        PixelType.Gray8 => 0,
        PixelType.Gray16 => 1,
        PixelType.Gray32 => 2,
        PixelType.Gray8s => 4,
        PixelType.Gray16s => 5,
        PixelType.Gray32s => 6,
        PixelType.Gray32f => 8,
        PixelType.Gray64f => 9,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static int Append(Span<byte> data, int at, ReadOnlySpan<byte> part)
    {
        part.CopyTo(data[at..]);
        return at + part.Length;
    }

    private static void WriteHeader(Span<byte> data, uint category, uint dataType, ReadOnlySpan<ushort> dims,
        ReadOnlySpan<uint> steps, ulong frameIndex)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(data, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(data[4..], Version);
        BinaryPrimitives.WriteUInt16LittleEndian(data[6..], HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(data[8..], category);
        BinaryPrimitives.WriteUInt32LittleEndian(data[12..], dataType);
        BinaryPrimitives.WriteUInt16LittleEndian(data[16..], 0); // little-endian payload
        BinaryPrimitives.WriteUInt16LittleEndian(data[18..], (ushort)dims.Length);
        for (var i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data[(20 + 2 * i)..], dims[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(data[(32 + 4 * i)..], steps[i]);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(data[56..], frameIndex);
    }
}
