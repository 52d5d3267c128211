using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Lima2.Core.Frames;

namespace Lima2.Core.IO;

/// <summary>
/// numpy's .npy format (version 1 and 2, C order, little-endian): reference images (mask, flat field, background)
/// and test frames that numpy reads back.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>An array read from a file: its shape, numpy dtype (e.g. <c>&lt;u2</c>) and raw little-endian bytes.</summary>
    public sealed record NpyArray(int[] Shape, string Dtype, byte[] Data)
    {
        public long Length => Shape.Aggregate(1L, (a, b) => a * b);

        /// <summary>Every element as a double.</summary>
        public double[] ToDoubles()
        {
            var result = new double[Length];
            var span = Data.AsSpan();
            for (var i = 0; i < result.Length; i++)
                result[i] = Dtype[1..] switch
                {
                    "u1" or "b1" => span[i],
                    "i1" => (sbyte)span[i],
                    "u2" => BitConverter.ToUInt16(span.Slice(2 * i, 2)),
                    "i2" => BitConverter.ToInt16(span.Slice(2 * i, 2)),
                    "u4" => BitConverter.ToUInt32(span.Slice(4 * i, 4)),
                    "i4" => BitConverter.ToInt32(span.Slice(4 * i, 4)),
                    "u8" => BitConverter.ToUInt64(span.Slice(8 * i, 8)),
                    "i8" => BitConverter.ToInt64(span.Slice(8 * i, 8)),
                    "f4" => BitConverter.ToSingle(span.Slice(4 * i, 4)),
                    "f8" => BitConverter.ToDouble(span.Slice(8 * i, 8)),
                    _ => throw new NotSupportedException($"dtype {Dtype}"),
                };
            return result;
        }
    }

    public static NpyArray Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        if (!reader.ReadBytes(6).AsSpan().SequenceEqual(Magic))
            throw new InvalidDataException($"{path} is not a .npy file");
        var major = reader.ReadByte();
        reader.ReadByte();
        var headerLength = major == 1 ? reader.ReadUInt16() : (int)reader.ReadUInt32();
        var header = Encoding.ASCII.GetString(reader.ReadBytes(headerLength));
        var descr = DescrPattern().Match(header);
        var order = FortranPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !order.Success || !shape.Success)
            throw new InvalidDataException($"{path}: cannot read the .npy header {header.Trim()}");
        if (order.Groups[1].Value != "False")
            throw new InvalidDataException($"{path}: Fortran-ordered arrays are not supported");
        var dtype = descr.Groups[1].Value;
        if (dtype[0] == '>')
            throw new InvalidDataException($"{path}: big-endian dtype {dtype} is not supported");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var itemSize = int.Parse(dtype[2..], CultureInfo.InvariantCulture);
        var bytes = checked((int)(dims.Aggregate(1L, (a, b) => a * b) * itemSize));
        var data = reader.ReadBytes(bytes);
        if (data.Length != bytes)
            throw new InvalidDataException($"{path}: {data.Length} data bytes, the header announces {bytes}");
        return new NpyArray(dims, dtype, data);
    }

    /// <summary>Writes little-endian <paramref name="data"/> with the given numpy dtype and shape.</summary>
    public static void Write(string path, ReadOnlySpan<byte> data, string dtype, params int[] shape)
    {
        var dims = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var header = $"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {dims}, }}";
        var total = Magic.Length + 4 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        using var stream = File.Create(path);
        stream.Write(Magic);
        stream.Write([1, 0]);
        stream.Write(BitConverter.GetBytes((ushort)header.Length));
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(data);
    }

    /// <summary>Writes a frame as a (height, width) array.</summary>
    public static void Write(string path, Frame frame) =>
        Write(path, frame.Data.Span, frame.Info.PixelType.ToNumpy(), frame.Info.Height, frame.Info.Width);

    [GeneratedRegex(@"'descr':\s*'([<>|=][a-z]\d+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order':\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
