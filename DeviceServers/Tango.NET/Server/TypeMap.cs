namespace Tango.Server;

/// <summary>How a value is laid out on the wire: one element, an array, or one of Tango's composite types.</summary>
internal enum ValueShape
{
    Void,
    Scalar,
    Spectrum,
    Image,
    LongString,
    DoubleString,
}

/// <summary>C# types to Tango types and back, for attributes and command arguments.</summary>
public static class TypeMap
{
    /// <summary>The attribute data type and format of a property type; enums become DevEnum.</summary>
    public static (TangoType Type, AttrDataFormat Format) ForAttribute(Type clr)
    {
        if (clr.IsGenericType && clr.GetGenericTypeDefinition() == typeof(AttrValue<>))
            return ForAttribute(clr.GetGenericArguments()[0]);
        if (clr.IsGenericType && clr.GetGenericTypeDefinition() == typeof(SharedImage<>))
        {
            var (pixel, _) = ForAttribute(clr.GetGenericArguments()[0]);
            if (pixel is TangoType.DevString or TangoType.DevEnum or TangoType.DevEncoded or TangoType.DevState)
                throw new NotSupportedException($"{clr}: shared images hold numbers");
            return (pixel, AttrDataFormat.Image);
        }
        var (element, format) = clr.IsArray
            ? (clr.GetElementType()!, clr.GetArrayRank() == 1 ? AttrDataFormat.Spectrum : AttrDataFormat.Image)
            : (clr, AttrDataFormat.Scalar);
        if (clr.IsArray && clr.GetArrayRank() > 2)
            throw new NotSupportedException($"{clr}: attributes have at most two dimensions");
        if (element.IsEnum && element != typeof(DevState))
        {
            if (format != AttrDataFormat.Scalar)
                throw new NotSupportedException($"{clr}: DevEnum attributes are scalar");
            return (TangoType.DevEnum, format);
        }
        if (!TangoTypeTable.TryElementOf(element, out var type) || (type == TangoType.DevEncoded && format != AttrDataFormat.Scalar))
            throw new NotSupportedException($"{clr} has no Tango attribute type");
        return (type, format);
    }

    /// <summary>The command argument type of a parameter or return type (<c>void</c>: DevVoid).</summary>
    public static TangoType ForCommand(Type clr)
    {
        if (clr == typeof(void))
            return TangoType.DevVoid;
        if (clr == typeof(LongStringArray))
            return TangoType.DevVarLongStringArray;
        if (clr == typeof(DoubleStringArray))
            return TangoType.DevVarDoubleStringArray;
        // The server shim has no DevVarStateArray commands.
        if (clr.IsArray && clr.GetArrayRank() == 1 && TangoTypeTable.TryElementOf(clr.GetElementType()!, out var element)
            && TangoTypeTable.TryArrayOf(element, out var array) && array != TangoType.DevVarStateArray)
            return array;
        if (TangoTypeTable.TryElementOf(clr, out var scalar) && scalar != TangoType.DevUChar)
            return scalar;
        throw new NotSupportedException($"{clr} has no Tango command argument type");
    }

    /// <summary>The C# type of one element of a Tango data type.</summary>
    public static Type ClrElement(TangoType type) => TangoTypeTable.Clr(type);

    /// <summary>Element type and layout of a command argument type.</summary>
    internal static (TangoType Element, ValueShape Shape) Shape(TangoType commandType) => commandType switch
    {
        TangoType.DevVoid => (TangoType.DevVoid, ValueShape.Void),
        TangoType.DevVarLongStringArray => (TangoType.DevLong, ValueShape.LongString),
        TangoType.DevVarDoubleStringArray => (TangoType.DevDouble, ValueShape.DoubleString),
        _ when TangoTypeTable.TryElementOfArray(commandType, out var e) => (e, ValueShape.Spectrum),
        _ => (commandType, ValueShape.Scalar),
    };

    internal static ValueShape Shape(AttrDataFormat format) => format switch
    {
        AttrDataFormat.Scalar => ValueShape.Scalar,
        AttrDataFormat.Spectrum => ValueShape.Spectrum,
        _ => ValueShape.Image,
    };
}
