namespace Tango.Client;

/// <summary>
/// One attribute value as read. <see cref="Value"/> is a scalar (bool, short, ushort, int, uint, long, ulong,
/// float, double, byte, string, <see cref="DevState"/>, <see cref="DevEncoded"/>; DevEnum as short), an array
/// for SPECTRUM, or a [DimY, DimX] array for IMAGE; null when the quality is INVALID.
/// </summary>
public sealed class DeviceAttribute
{
    internal DeviceAttribute(string name, TangoType type, AttrDataFormat format, AttrQuality quality,
        DateTimeOffset time, int dimX, int dimY, int writtenDimX, int writtenDimY, object? value, object? writeValue)
    {
        Name = name;
        Type = type;
        Format = format;
        Quality = quality;
        Time = time;
        DimX = dimX;
        DimY = dimY;
        WrittenDimX = writtenDimX;
        WrittenDimY = writtenDimY;
        Value = value;
        WriteValue = writeValue;
    }

    public string Name { get; }

    /// <summary>The element type (DevShort, DevString, DevEnum, ...).</summary>
    public TangoType Type { get; }

    public AttrDataFormat Format { get; }

    public AttrQuality Quality { get; }

    /// <summary>When the server read the value.</summary>
    public DateTimeOffset Time { get; }

    public int DimX { get; }

    public int DimY { get; }

    public int WrittenDimX { get; }

    public int WrittenDimY { get; }

    public object? Value { get; }

    /// <summary>The set point of a writable attribute, shaped like <see cref="Value"/>; null when there is none.</summary>
    public object? WriteValue { get; }

    /// <summary>The value converted to <typeparamref name="T"/> (e.g. <c>Get&lt;double&gt;()</c> of a float,
    /// <c>Get&lt;int[]&gt;()</c> of a short spectrum, an enum type of a DevEnum).</summary>
    public T Get<T>() =>
        Value is null
            ? throw new InvalidOperationException($"attribute {Name} has no value (quality {Quality})")
            : ValueCodec.ConvertTo<T>(Value);

    public override string ToString() => $"{Name} = {Value} ({Quality}, {Time:O})";
}
