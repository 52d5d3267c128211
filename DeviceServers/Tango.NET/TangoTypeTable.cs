namespace Tango;

/// <summary>
/// The one table of Tango element types: their C# type, their size in native memory and their DevVar*Array
/// command type. Servers (<see cref="Server.TypeMap"/>, the server codec) and clients (the client codec) read it;
/// native/value_types.hpp holds the same table for the shim.
/// </summary>
internal static class TangoTypeTable
{
    private readonly record struct Row(TangoType Element, Type Clr, int Size, TangoType? Array);

    // Size 0: not a number (passed as strings or bytes). DevEnum travels as its short index and has no array.
    private static readonly Row[] Rows =
    [
        new(TangoType.DevBoolean, typeof(bool), 1, TangoType.DevVarBooleanArray),
        new(TangoType.DevUChar, typeof(byte), 1, TangoType.DevVarCharArray),
        new(TangoType.DevShort, typeof(short), 2, TangoType.DevVarShortArray),
        new(TangoType.DevUShort, typeof(ushort), 2, TangoType.DevVarUShortArray),
        new(TangoType.DevLong, typeof(int), 4, TangoType.DevVarLongArray),
        new(TangoType.DevULong, typeof(uint), 4, TangoType.DevVarULongArray),
        new(TangoType.DevLong64, typeof(long), 8, TangoType.DevVarLong64Array),
        new(TangoType.DevULong64, typeof(ulong), 8, TangoType.DevVarULong64Array),
        new(TangoType.DevFloat, typeof(float), 4, TangoType.DevVarFloatArray),
        new(TangoType.DevDouble, typeof(double), 8, TangoType.DevVarDoubleArray),
        new(TangoType.DevString, typeof(string), 0, TangoType.DevVarStringArray),
        new(TangoType.DevState, typeof(DevState), 4, TangoType.DevVarStateArray),
        new(TangoType.DevEncoded, typeof(DevEncoded), 0, null),
        new(TangoType.DevEnum, typeof(short), 2, null),
    ];

    private static readonly Dictionary<TangoType, Row> ByElement = Rows.ToDictionary(r => r.Element);

    // DevEnum shares short with DevShort: a C# short is a DevShort.
    private static readonly Dictionary<Type, TangoType> ByClr =
        Rows.Where(r => r.Element != TangoType.DevEnum).ToDictionary(r => r.Clr, r => r.Element);

    private static readonly Dictionary<TangoType, TangoType> ElementOfArray =
        Rows.Where(r => r.Array is not null).ToDictionary(r => r.Array!.Value, r => r.Element);

    /// <summary>The Tango element type of a C# element type (enums other than DevState have none here).</summary>
    public static bool TryElementOf(Type clr, out TangoType element) => ByClr.TryGetValue(clr, out element);

    /// <summary>The C# type of one element of <paramref name="element"/>.</summary>
    public static Type Clr(TangoType element) =>
        ByElement.TryGetValue(element, out var row) ? row.Clr : throw Unsupported(element, "has no C# element type");

    /// <summary>Bytes per element of a numeric type (bool 1, DevState 4, DevEnum 2).</summary>
    public static int Size(TangoType element) =>
        ByElement.TryGetValue(element, out var row) && row.Size > 0 ? row.Size : throw Unsupported(element, "is not a number");

    /// <summary>Whether <paramref name="element"/> is held as a number (bool, DevState and DevEnum included).</summary>
    public static bool IsNumber(TangoType element) => ByElement.TryGetValue(element, out var row) && row.Size > 0;

    /// <summary>The DevVar*Array command type of an element type.</summary>
    public static bool TryArrayOf(TangoType element, out TangoType array)
    {
        array = ByElement.TryGetValue(element, out var row) && row.Array is { } a ? a : default;
        return row.Array is not null;
    }

    /// <summary>The element type of a DevVar*Array command type.</summary>
    public static bool TryElementOfArray(TangoType array, out TangoType element) => ElementOfArray.TryGetValue(array, out element);

    private static NotSupportedException Unsupported(TangoType type, string what) => new($"Tango type {type} {what}");
}
