using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Tango.Interop;

namespace Tango.Server;

/// <summary>
/// A C# value laid out as a <see cref="TnsData"/> for one native call: arrays (scalars as one-element arrays) are
/// pinned in place, strings written Latin-1 to a native block (<see cref="NativeStrings"/>). Dispose after the call.
/// </summary>
internal unsafe struct PinnedValue : IDisposable
{
    private GCHandle _pin;
    private NativeStrings? _strings;
    private NativeMutexHandle? _locked;
    public TnsData Data;
    public long DimX;
    public long DimY;

    public void Dispose()
    {
        if (_pin.IsAllocated)
            _pin.Free();
        _strings?.Dispose();
        _strings = null;
        _locked?.Unlock();
        _locked = null;
    }

    /// <summary>Lays out <paramref name="value"/> as <paramref name="shape"/> of <paramref name="element"/>s.</summary>
    public static PinnedValue Create(object? value, TangoType element, ValueShape shape)
    {
        var p = new PinnedValue();
        try
        {
            p.Fill(value, element, shape);
            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    private void Fill(object? value, TangoType element, ValueShape shape)
    {
        Data.Type = (int)element;
        if (shape == ValueShape.Void)
            return;
        ArgumentNullException.ThrowIfNull(value);
        switch (shape)
        {
            case ValueShape.Scalar when element == TangoType.DevString:
                SetStrings([(string)value]);
                DimX = 1;
                break;
            case ValueShape.Scalar when element == TangoType.DevEncoded:
                var encoded = (DevEncoded)value;
                SetStrings([encoded.Format]);
                Pin(encoded.Data);
                break;
            case ValueShape.Scalar:
                var clr = TangoTypeTable.Clr(element);
                var one = Array.CreateInstance(clr, 1);
                one.SetValue(NativeElements.ConvertScalar(value, clr), 0);
                Pin(one);
                DimX = 1;
                break;
            case ValueShape.LongString or ValueShape.DoubleString:
                var (numbers, strings) = shape == ValueShape.LongString
                    ? ((Array)((LongStringArray)value).Longs, ((LongStringArray)value).Strings)
                    : (((DoubleStringArray)value).Doubles, ((DoubleStringArray)value).Strings);
                SetStrings(strings);
                Pin(numbers);
                break;
            case ValueShape.Image when value is ISharedImage shared:
                // pushed events are copied by cppTango before this returns: hold the pixels still until then
                shared.Mutex.Lock();
                _locked = shared.Mutex;
                Data.Num = Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(shared.Buffer));
                Data.NumLen = shared.Buffer.Length;
                (DimX, DimY) = (shared.Width, shared.Height);
                break;
            default:
                var array = (Array)value;
                if (shape == ValueShape.Image && array.Rank != 2 || shape == ValueShape.Spectrum && array.Rank != 1)
                    throw new ArgumentException($"a {shape} needs a {(shape == ValueShape.Image ? 2 : 1)}-dimensional array");
                var expected = TypeMap.ClrElement(element);
                var actual = array.GetType().GetElementType()!;
                if (actual != expected)
                    throw new ArgumentException($"expected {expected.Name} elements for {element}, got {actual.Name}");
                (DimX, DimY) = array.Rank == 2 ? (array.GetLength(1), array.GetLength(0)) : (array.Length, 0L);
                if (element == TangoType.DevString)
                    SetStrings(array as string[] ?? array.Cast<string>().ToArray());
                else
                    Pin(array);
                break;
        }
    }

    private void Pin(Array array)
    {
        _pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        Data.Num = Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        Data.NumLen = array.Length;
    }

    private void SetStrings(IReadOnlyList<string> strings)
    {
        _strings = new NativeStrings(strings);
        Data.Str = _strings.Pointers;
        Data.StrLen = _strings.Count;
    }
}

/// <summary>Native values (borrowed for one callback) to C# objects.</summary>
internal static unsafe class ValueDecoder
{
    /// <summary>The C# value of <paramref name="d"/> as <paramref name="target"/>, the declared C# type.</summary>
    public static object? Decode(in TnsData d, TangoType element, ValueShape shape, Type target, long dimX, long dimY)
    {
        switch (shape)
        {
            case ValueShape.Void:
                return null;
            case ValueShape.Scalar when element == TangoType.DevString:
                return Str(d, 0);
            case ValueShape.Scalar when element == TangoType.DevEncoded:
                return new DevEncoded(Str(d, 0), new ReadOnlySpan<byte>(d.Num, (int)d.NumLen).ToArray());
            case ValueShape.Scalar:
                var scalar = NativeElements.Read(element, d.Num, 1, [1]).GetValue(0)!;
                return target.IsEnum ? Enum.ToObject(target, scalar) : scalar;
            case ValueShape.LongString:
                return new LongStringArray(new ReadOnlySpan<int>(d.Num, (int)d.NumLen).ToArray(), Strings(d));
            case ValueShape.DoubleString:
                return new DoubleStringArray(new ReadOnlySpan<double>(d.Num, (int)d.NumLen).ToArray(), Strings(d));
        }
        if (shape == ValueShape.Spectrum)
            dimX = element == TangoType.DevString ? d.StrLen : d.NumLen;
        int[] lengths = shape == ValueShape.Image ? [(int)dimY, (int)dimX] : [(int)dimX];
        return element == TangoType.DevString
            ? NativeElements.Read(element, d.Str, d.StrLen, lengths)
            : NativeElements.Read(element, d.Num, lengths.Aggregate(1L, (n, l) => n * l), lengths);
    }

    private static string Str(in TnsData d, long i) => i < d.StrLen ? NativeText.Read(d.Str[i]) : "";

    private static string[] Strings(in TnsData d) => NativeText.ReadArray(d.Str, d.StrLen);
}
