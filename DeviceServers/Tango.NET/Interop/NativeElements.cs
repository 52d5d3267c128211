using System.Collections;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Tango.Interop;

/// <summary>
/// Elements of one Tango type between native memory and C# arrays, for the server and the client codecs:
/// numbers are copied once, straight into the managed array; strings are read as Latin-1 (<see cref="NativeText"/>).
/// </summary>
internal static unsafe class NativeElements
{
    /// <summary>A new array of <paramref name="lengths"/> holding <paramref name="count"/> elements of
    /// <paramref name="element"/> from <paramref name="data"/> (for DevString a <c>const char* const*</c>).</summary>
    public static Array Read(TangoType element, void* data, long count, int[] lengths)
    {
        var array = Array.CreateInstance(TangoTypeTable.Clr(element), lengths);
        if (element == TangoType.DevString)
        {
            var strings = NativeText.ReadArray((byte**)data, Math.Min(count, array.Length));
            for (var i = 0; i < strings.Length; i++)
                SetFlat(array, i, strings[i]);
            return array;
        }
        var bytes = checked((int)(count * TangoTypeTable.Size(element)));
        if (bytes > 0)
            new ReadOnlySpan<byte>(data, bytes).CopyTo(MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(array), bytes));
        return array;
    }

    /// <summary>An array of <paramref name="element"/> holding <paramref name="value"/>: the value itself when it
    /// already is one, an element-wise conversion of another array or sequence (same shape), or a one-element
    /// array for a scalar.</summary>
    public static Array ToArray(object value, Type element)
    {
        switch (value)
        {
            case Array a when a.GetType().GetElementType() == element:
                return a;
            case Array a:
            {
                var lengths = Enumerable.Range(0, a.Rank).Select(a.GetLength).ToArray();
                var result = Array.CreateInstance(element, lengths);
                var i = 0;
                foreach (var x in a)
                    SetFlat(result, i++, ConvertScalar(x, element));
                return result;
            }
            case IEnumerable e when value is not string:
                return ToArray(e.Cast<object>().ToArray(), element);
            default:
            {
                var result = Array.CreateInstance(element, 1);
                result.SetValue(ConvertScalar(value, element), 0);
                return result;
            }
        }
    }

    public static object ConvertScalar(object? value, Type target)
    {
        if (value is null)
            throw new ArgumentNullException(nameof(value), $"a {target.Name} cannot be null");
        if (target.IsInstanceOfType(value))
            return value;
        if (target.IsEnum)
            return Enum.ToObject(target, Convert.ToInt64(value, CultureInfo.InvariantCulture));
        if (value is Enum)
            value = Convert.ToInt64(value, CultureInfo.InvariantCulture);
        return Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
    }

    /// <summary>Sets element <paramref name="index"/> of a 1- or 2-dimensional array in row-major order.</summary>
    public static void SetFlat(Array array, int index, object? value)
    {
        if (array.Rank == 1)
            array.SetValue(value, index);
        else
            array.SetValue(value, index / array.GetLength(1), index % array.GetLength(1));
    }
}
