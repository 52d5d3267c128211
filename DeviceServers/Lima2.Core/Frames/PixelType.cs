namespace Lima2.Core.Frames;

/// <summary>Pixel types with Lima2's names (<c>gray16</c>, <c>gray32f</c>, ...).</summary>
public enum PixelType
{
    Gray8,
    Gray8s,
    Gray16,
    Gray16s,
    Gray32,
    Gray32s,
    Gray32f,
    Gray64f,
}

public static class PixelTypes
{
    public static int SizeOf(this PixelType type) => type switch
    {
        PixelType.Gray8 or PixelType.Gray8s => 1,
        PixelType.Gray16 or PixelType.Gray16s => 2,
        PixelType.Gray32 or PixelType.Gray32s or PixelType.Gray32f => 4,
        PixelType.Gray64f => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>The name used in Lima2 JSON documents, e.g. <c>gray16</c>.</summary>
    public static string ToLimaName(this PixelType type) => type.ToString().ToLowerInvariant();

    public static bool TryParseLimaName(string name, out PixelType type) =>
        Enum.TryParse(name, ignoreCase: true, out type) && Enum.IsDefined(type);

    /// <summary>The numpy dtype name (<c>uint16</c>, <c>float32</c>, ...), as DECTRIS streams and numpy users spell it.</summary>
    public static string ToDtypeName(this PixelType type) => type switch
    {
        PixelType.Gray8 => "uint8",
        PixelType.Gray8s => "int8",
        PixelType.Gray16 => "uint16",
        PixelType.Gray16s => "int16",
        PixelType.Gray32 => "uint32",
        PixelType.Gray32s => "int32",
        PixelType.Gray32f => "float32",
        PixelType.Gray64f => "float64",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParseDtypeName(string name, out PixelType type)
    {
        foreach (var candidate in Enum.GetValues<PixelType>())
        {
            if (candidate.ToDtypeName() == name)
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>The numpy dtype string (little-endian), as h5py and PyTango clients spell it.</summary>
    public static string ToNumpy(this PixelType type) => type switch
    {
        PixelType.Gray8 => "<u1",
        PixelType.Gray8s => "<i1",
        PixelType.Gray16 => "<u2",
        PixelType.Gray16s => "<i2",
        PixelType.Gray32 => "<u4",
        PixelType.Gray32s => "<i4",
        PixelType.Gray32f => "<f4",
        PixelType.Gray64f => "<f8",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>The pixel type whose CLR element type is <typeparamref name="T"/>.</summary>
    public static PixelType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(byte) ? PixelType.Gray8
        : typeof(T) == typeof(sbyte) ? PixelType.Gray8s
        : typeof(T) == typeof(ushort) ? PixelType.Gray16
        : typeof(T) == typeof(short) ? PixelType.Gray16s
        : typeof(T) == typeof(uint) ? PixelType.Gray32
        : typeof(T) == typeof(int) ? PixelType.Gray32s
        : typeof(T) == typeof(float) ? PixelType.Gray32f
        : typeof(T) == typeof(double) ? PixelType.Gray64f
        : throw new NotSupportedException($"{typeof(T).Name} is not a pixel type");
}
