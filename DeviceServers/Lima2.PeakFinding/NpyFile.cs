using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Lima2.PeakFinding;

/// <summary>Reads and writes numpy <c>.npy</c> files (C order, little-endian numeric dtypes): the format of the
/// calibration arrays (dark, flat, mask, gain...) until they come from HDF5.</summary>
public static partial class NpyFile
{
    public sealed record Array(string Dtype, int[] Shape, byte[] Data)
    {
        public long Length => Shape.Aggregate(1L, (a, b) => a * b);

        /// <summary>The values converted to float32.</summary>
        public float[] ToSingle()
        {
            var n = checked((int)Length);
            var result = new float[n];
            var d = Data.AsSpan();
            switch (Dtype)
            {
                case "<f4": MemoryMarshal.Cast<byte, float>(d)[..n].CopyTo(result); break;
                case "<f8": { var s = MemoryMarshal.Cast<byte, double>(d); for (var i = 0; i < n; i++) result[i] = (float)s[i]; break; }
                case "<i4": { var s = MemoryMarshal.Cast<byte, int>(d); for (var i = 0; i < n; i++) result[i] = s[i]; break; }
                case "<u4": { var s = MemoryMarshal.Cast<byte, uint>(d); for (var i = 0; i < n; i++) result[i] = s[i]; break; }
                case "<i2": { var s = MemoryMarshal.Cast<byte, short>(d); for (var i = 0; i < n; i++) result[i] = s[i]; break; }
                case "<u2": { var s = MemoryMarshal.Cast<byte, ushort>(d); for (var i = 0; i < n; i++) result[i] = s[i]; break; }
                case "|i1": { for (var i = 0; i < n; i++) result[i] = (sbyte)d[i]; break; }
                case "|u1" or "|b1": { for (var i = 0; i < n; i++) result[i] = d[i]; break; }
                default: throw new NotSupportedException($"npy dtype {Dtype} is not supported");
            }
            return result;
        }
    }

    public static Array Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"calibration file not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new FormatException($"{path}: not a .npy file");
        var major = bytes[6];
        int headerLength, offset;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); offset = 10; }
        else { headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))); offset = 12; }
        var header = Encoding.Latin1.GetString(bytes, offset, headerLength);
        var descr = DescrRegex().Match(header);
        var shape = ShapeRegex().Match(header);
        if (!descr.Success || !shape.Success)
            throw new FormatException($"{path}: unreadable npy header {header}");
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
            throw new NotSupportedException($"{path}: Fortran-ordered arrays are not supported");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(int.Parse).ToArray();
        var dtype = descr.Groups[1].Value switch { "<b1" => "|b1", "<u1" => "|u1", "<i1" => "|i1", var t => t };
        var data = bytes.AsSpan(offset + headerLength).ToArray();
        var result = new Array(dtype, dims, data);
        var itemSize = dtype[^1] - '0';
        if (data.Length < result.Length * itemSize)
            throw new FormatException($"{path}: {data.Length} bytes of data for shape ({string.Join(", ", dims)}) {dtype}");
        return result;
    }

    /// <summary>Writes a float32 or other numeric array with the given shape.</summary>
    public static void Write<T>(string path, ReadOnlySpan<T> values, params int[] shape) where T : unmanaged
    {
        var dtype = default(T) switch
        {
            float => "<f4", double => "<f8", int => "<i4", uint => "<u4", short => "<i2", ushort => "<u2", byte => "|u1", sbyte => "|i1",
            _ => throw new NotSupportedException(typeof(T).Name),
        };
        var dims = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var header = $"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {dims}, }}";
        var total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        f.Write(len);
        f.Write(Encoding.ASCII.GetBytes(header));
        f.Write(MemoryMarshal.AsBytes(values));
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
