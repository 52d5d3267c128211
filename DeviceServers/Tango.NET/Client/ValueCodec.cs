using System.Runtime.InteropServices;
using Tango.Interop;

namespace Tango.Client;

/// <summary>
/// Managed values ⇄ the shim's <see cref="TnsValue"/> view. Numbers are copied once, straight between native
/// memory and the managed array; arguments are passed pinned, without a copy, when they already have the
/// element type Tango expects.
/// </summary>
internal static unsafe class ValueCodec
{
    internal delegate int DataCall(TnsValue* data);

    /// <summary>A command argument type as (element type, is it a DevVar*Array).</summary>
    internal static (TangoType Element, bool IsArray) CommandElement(TangoType type) =>
        TangoTypeTable.TryElementOfArray(type, out var element) ? (element, true)
        : type == TangoType.ConstDevString ? (TangoType.DevString, false)
        : (type, false);

    // ---- native -> managed ----

    internal static DeviceAttribute ToAttribute(in TnsValue d)
    {
        var type = (TangoType)d.Type;
        var format = (AttrDataFormat)d.Format;
        var quality = (AttrQuality)d.Quality;
        var value = Shape(type, format, quality, d.Data, d.Count, d.DimX, d.DimY, d.Text);
        var written = d.Count2 > 0 ? Shape(type, format, quality, d.Data2, d.Count2, d.WDimX, d.WDimY, null) : null;
        var time = DateTimeOffset.FromUnixTimeSeconds(d.TimeSec).AddTicks(d.TimeUsec * 10L);
        return new DeviceAttribute(NativeText.Read(d.Name), type, format, quality, time, d.DimX, d.DimY, d.WDimX,
            d.WDimY, value, written);
    }

    private static object? Shape(TangoType type, AttrDataFormat format, AttrQuality quality, void* data, long count,
        int dimX, int dimY, byte* text)
    {
        if (type == TangoType.DevEncoded)
            return data == null ? null : new DevEncoded(NativeText.Read(text), new ReadOnlySpan<byte>(data, checked((int)count)).ToArray());
        if (count == 0 && (format == AttrDataFormat.Scalar || quality == AttrQuality.Invalid))
            return null;
        return format switch
        {
            AttrDataFormat.Scalar => NativeElements.Read(type, data, count, [1]).GetValue(0),
            AttrDataFormat.Image when (long)dimX * dimY == count => NativeElements.Read(type, data, count, [dimY, dimX]),
            _ => NativeElements.Read(type, data, count, [checked((int)count)]),
        };
    }

    /// <summary>Copies the read part of a numeric attribute value into <paramref name="destination"/>.</summary>
    internal static AttributeReadInfo CopyInto<T>(in TnsValue d, Span<T> destination)
        where T : unmanaged
    {
        var type = (TangoType)d.Type;
        if (type is TangoType.DevString or TangoType.DevEncoded || TangoTypeTable.Clr(type) != typeof(T))
            throw new InvalidCastException($"{NativeText.Read(d.Name)} holds {type}, not {typeof(T).Name}");
        if (d.Count > destination.Length)
            throw new ArgumentException($"{NativeText.Read(d.Name)} has {d.Count} elements: the destination holds {destination.Length}", nameof(destination));
        new ReadOnlySpan<T>(d.Data, (int)d.Count).CopyTo(destination);
        return new AttributeReadInfo(NativeText.Read(d.Name), type, (AttrDataFormat)d.Format, (AttrQuality)d.Quality,
            DateTimeOffset.FromUnixTimeSeconds(d.TimeSec).AddTicks(d.TimeUsec * 10L), d.DimX, d.DimY) { Count = (int)d.Count };
    }

    internal static object? ToCommandValue(in TnsValue d)
    {
        var type = (TangoType)d.Type;
        switch (type)
        {
            case TangoType.DevVoid:
                return null;
            case TangoType.DevVarLongStringArray:
                return new LongStringArray((int[])NativeElements.Read(TangoType.DevLong, d.Data, d.Count, [checked((int)d.Count)]),
                    NativeText.ReadArray((byte**)d.Data2, d.Count2));
            case TangoType.DevVarDoubleStringArray:
                return new DoubleStringArray((double[])NativeElements.Read(TangoType.DevDouble, d.Data, d.Count, [checked((int)d.Count)]),
                    NativeText.ReadArray((byte**)d.Data2, d.Count2));
            case TangoType.DevEncoded:
                return new DevEncoded(NativeText.Read(d.Text), new ReadOnlySpan<byte>(d.Data, checked((int)d.Count)).ToArray());
        }
        var (element, isArray) = CommandElement(type);
        var values = NativeElements.Read(element, d.Data, d.Count, [checked((int)d.Count)]);
        return isArray ? values : values.GetValue(0);
    }

    // ---- managed -> native ----

    /// <summary>Runs <paramref name="call"/> with <paramref name="value"/> laid out as a command argument of
    /// <paramref name="type"/>.</summary>
    internal static int WithCommandArgument(object? value, TangoType type, DataCall call)
    {
        var d = new TnsValue { Type = (int)type, Format = -1 };
        switch (type)
        {
            case TangoType.DevVarLongStringArray:
            {
                var v = value as LongStringArray ?? throw WrongValue(value, type);
                return WithStrings(ref d, v.Strings, second: true, (ptr) => WithElements(ptr, v.Longs, TangoType.DevLong, call));
            }
            case TangoType.DevVarDoubleStringArray:
            {
                var v = value as DoubleStringArray ?? throw WrongValue(value, type);
                return WithStrings(ref d, v.Strings, second: true, (ptr) => WithElements(ptr, v.Doubles, TangoType.DevDouble, call));
            }
            case TangoType.DevEncoded:
                return WithEncoded(ref d, value as DevEncoded ?? throw WrongValue(value, type), call);
        }
        var (element, isArray) = CommandElement(type);
        if (value is null || (!isArray && value is Array) || (isArray && value is string))
            throw WrongValue(value, type);
        var array = NativeElements.ToArray(value, TangoTypeTable.Clr(element));
        if (element == TangoType.DevString)
            return WithStrings(ref d, Flatten(array).Cast<string>().ToArray(), second: false, call);
        return WithElements(&d, array, element, call);
    }

    /// <summary>Runs <paramref name="call"/> with <paramref name="value"/> laid out as a value of attribute
    /// <paramref name="name"/> (element type and format from its configuration).</summary>
    internal static int WithAttributeValue(string name, object value, TangoType type, AttrDataFormat format, DataCall call)
    {
        using var nativeName = new NativeStrings(name);
        var d = new TnsValue { Type = (int)type, Format = (int)format, Name = nativeName[0] };
        if (type == TangoType.DevEncoded)
            return WithEncoded(ref d, value as DevEncoded ?? throw WrongValue(value, type), call);
        var array = NativeElements.ToArray(value, TangoTypeTable.Clr(type));
        switch (format)
        {
            case AttrDataFormat.Scalar when array.Length != 1:
            case AttrDataFormat.Image when array.Rank != 2:
                throw new ArgumentException($"{name} is {format}: got a {value.GetType().Name}", nameof(value));
            case AttrDataFormat.Image:
                (d.DimY, d.DimX) = (array.GetLength(0), array.GetLength(1));
                break;
            default:
                (d.DimX, d.DimY) = (array.Length, 0);
                break;
        }
        if (type == TangoType.DevString)
            return WithStrings(ref d, Flatten(array).Cast<string>().ToArray(), second: false, call);
        return WithElements(&d, array, type, call);
    }

    private static int WithElements(TnsValue* d, Array array, TangoType element, DataCall call)
    {
        if (array.GetType().GetElementType() != TangoTypeTable.Clr(element))
            array = NativeElements.ToArray(array, TangoTypeTable.Clr(element));
        fixed (byte* p = &MemoryMarshal.GetArrayDataReference(array))
        {
            d->Data = p;
            d->Count = array.Length;
            return call(d);
        }
    }

    private static int WithStrings(ref TnsValue d, string[] strings, bool second, DataCall call)
    {
        using var native = new NativeStrings(strings);
        if (second)
        {
            d.Data2 = native.Pointers;
            d.Count2 = native.Count;
        }
        else
        {
            d.Data = native.Pointers;
            d.Count = native.Count;
        }
        fixed (TnsValue* ptr = &d)
            return call(ptr);
    }

    private static int WithEncoded(ref TnsValue d, DevEncoded value, DataCall call)
    {
        using var format = new NativeStrings(value.Format);
        fixed (byte* bytes = value.Data)
        fixed (TnsValue* ptr = &d)
        {
            ptr->Text = format[0];
            ptr->Data = bytes;
            ptr->Count = value.Data.Length;
            return call(ptr);
        }
    }

    // ---- conversions ----

    internal static T ConvertTo<T>(object value)
    {
        if (value is T same)
            return same;
        var target = typeof(T);
        if (!target.IsArray)
            return (T)NativeElements.ConvertScalar(value, target);
        var element = target.GetElementType()!;
        var converted = NativeElements.ToArray(value, element);
        if (converted.Rank == target.GetArrayRank())
            return (T)(object)converted;
        if (target.GetArrayRank() == 1)
            return (T)(object)NativeElements.ToArray(Flatten(converted).ToArray(), element);
        throw new InvalidCastException($"cannot convert a {value.GetType().Name} to {target.Name}");
    }

    private static IEnumerable<object?> Flatten(Array array) => array.Cast<object?>();

    private static ArgumentException WrongValue(object? value, TangoType type) =>
        new($"a {value?.GetType().Name ?? "null"} cannot be sent as {type}", nameof(value));
}
