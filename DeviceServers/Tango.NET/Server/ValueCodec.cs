using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Tango.Interop;

namespace Tango.Server;

/// <summary>
/// A C# value laid out as a <see cref="TnsData"/> for one native call: arrays are pinned in place, scalars and
/// strings (Latin-1, as Tango clients expect) are written to a native block. Dispose after the call.
/// </summary>
internal unsafe struct PinnedValue : IDisposable
{
    private GCHandle _pin;
    private void* _block;
    private NativeMutexHandle? _locked;
    public TnsData Data;
    public long DimX;
    public long DimY;

    public void Dispose()
    {
        if (_pin.IsAllocated)
            _pin.Free();
        if (_block is not null)
            NativeMemory.Free(_block);
        _block = null;
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
                _block = NativeMemory.AllocZeroed(8);
                WriteScalar(value, element, (byte*)_block);
                Data.Num = _block;
                Data.NumLen = 1;
                DimX = 1;
                break;
            case ValueShape.LongString:
                var ls = (LongStringArray)value;
                SetStrings(ls.Strings);
                Pin(ls.Longs);
                break;
            case ValueShape.Image when value is ISharedImage shared:
                // pushed events are copied by cppTango before this returns: hold the pixels still until then
                shared.Mutex.Lock();
                _locked = shared.Mutex;
                Data.Num = Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(shared.Buffer));
                Data.NumLen = shared.Buffer.Length;
                (DimX, DimY) = (shared.Width, shared.Height);
                break;
            case ValueShape.DoubleString:
                var ds = (DoubleStringArray)value;
                SetStrings(ds.Strings);
                Pin(ds.Doubles);
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
                    SetStrings(array.Cast<string>().ToArray());
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

    /// <summary>One native block: the pointer table, then the NUL-terminated Latin-1 strings.</summary>
    private void SetStrings(IReadOnlyList<string> strings)
    {
        var table = (nuint)(strings.Count * sizeof(byte*));
        nuint total = table;
        foreach (var s in strings)
            total += (nuint)s.Length + 1; // Latin-1: at most one byte per UTF-16 unit
        _block = NativeMemory.Alloc(total == 0 ? 1 : total);
        var pointers = (byte**)_block;
        var next = (byte*)_block + table;
        for (var i = 0; i < strings.Count; i++)
        {
            pointers[i] = next;
            var n = Encoding.Latin1.GetBytes(strings[i], new Span<byte>(next, strings[i].Length));
            next[n] = 0;
            next += n + 1;
        }
        Data.Str = pointers;
        Data.StrLen = strings.Count;
    }

    private static void WriteScalar(object value, TangoType type, byte* p)
    {
        switch (type)
        {
            case TangoType.DevBoolean: *p = Convert.ToBoolean(value) ? (byte)1 : (byte)0; break;
            case TangoType.DevUChar: *p = Convert.ToByte(value); break;
            case TangoType.DevShort: *(short*)p = Convert.ToInt16(value); break;
            case TangoType.DevEnum: *(short*)p = Convert.ToInt16(value); break;
            case TangoType.DevUShort: *(ushort*)p = Convert.ToUInt16(value); break;
            case TangoType.DevLong: *(int*)p = Convert.ToInt32(value); break;
            case TangoType.DevULong: *(uint*)p = Convert.ToUInt32(value); break;
            case TangoType.DevLong64: *(long*)p = Convert.ToInt64(value); break;
            case TangoType.DevULong64: *(ulong*)p = Convert.ToUInt64(value); break;
            case TangoType.DevFloat: *(float*)p = Convert.ToSingle(value); break;
            case TangoType.DevDouble: *(double*)p = Convert.ToDouble(value); break;
            case TangoType.DevState: *(int*)p = Convert.ToInt32(value); break;
            default: throw new NotSupportedException($"{type} is not a scalar number");
        }
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
                var scalar = ReadScalar(element, d.Num);
                return target.IsEnum ? Enum.ToObject(target, scalar) : scalar;
            case ValueShape.LongString:
                return new LongStringArray(new ReadOnlySpan<int>(d.Num, (int)d.NumLen).ToArray(), Strings(d));
            case ValueShape.DoubleString:
                return new DoubleStringArray(new ReadOnlySpan<double>(d.Num, (int)d.NumLen).ToArray(), Strings(d));
        }
        var elementType = TypeMap.ClrElement(element);
        if (shape == ValueShape.Spectrum)
            dimX = element == TangoType.DevString ? d.StrLen : d.NumLen;
        var array = shape == ValueShape.Image
            ? Array.CreateInstance(elementType, (int)dimY, (int)dimX)
            : Array.CreateInstance(elementType, (int)dimX);
        if (element == TangoType.DevString)
        {
            var strings = Strings(d);
            if (array is string[] flat)
                strings.CopyTo(flat, 0);
            else
                for (var i = 0; i < strings.Length; i++)
                    array.SetValue(strings[i], i / (int)dimX, i % (int)dimX);
            return array;
        }
        var bytes = checked((int)(array.Length * ElementSize(element)));
        new ReadOnlySpan<byte>(d.Num, bytes).CopyTo(MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(array), bytes));
        return array;
    }

    private static long ElementSize(TangoType type) => type switch
    {
        TangoType.DevBoolean or TangoType.DevUChar => 1,
        TangoType.DevShort or TangoType.DevUShort or TangoType.DevEnum => 2,
        TangoType.DevLong or TangoType.DevULong or TangoType.DevFloat or TangoType.DevState => 4,
        TangoType.DevLong64 or TangoType.DevULong64 or TangoType.DevDouble => 8,
        _ => throw new NotSupportedException($"{type} is not a number"),
    };

    private static object ReadScalar(TangoType type, void* p) => type switch
    {
        TangoType.DevBoolean => *(byte*)p != 0,
        TangoType.DevUChar => *(byte*)p,
        TangoType.DevShort or TangoType.DevEnum => *(short*)p,
        TangoType.DevUShort => *(ushort*)p,
        TangoType.DevLong => *(int*)p,
        TangoType.DevULong => *(uint*)p,
        TangoType.DevLong64 => *(long*)p,
        TangoType.DevULong64 => *(ulong*)p,
        TangoType.DevFloat => *(float*)p,
        TangoType.DevDouble => *(double*)p,
        TangoType.DevState => (DevState)(*(int*)p),
        _ => throw new NotSupportedException($"{type} is not a scalar number"),
    };

    private static string Str(in TnsData d, long i) => i < d.StrLen ? Latin1(d.Str[i]) : "";

    private static string Latin1(byte* s) => Encoding.Latin1.GetString(MemoryMarshal.CreateReadOnlySpanFromNullTerminated(s));

    private static string[] Strings(in TnsData d)
    {
        var result = new string[d.StrLen];
        for (var i = 0; i < result.Length; i++)
            result[i] = Latin1(d.Str[i]);
        return result;
    }
}
