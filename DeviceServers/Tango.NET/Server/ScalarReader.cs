using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using Tango.Interop;

namespace Tango.Server;

/// <summary>
/// Reads a numeric scalar attribute (numbers, bool, DevState, DevEnum, also as <see cref="AttrValue{T}"/>) straight
/// into the native value slot that cppTango sends from: one call into C#, no boxing, no allocation per read.
/// </summary>
internal abstract unsafe class ScalarReader
{
    /// <summary>Writes the value to <paramref name="slot"/> (8 aligned bytes) and its quality and time to
    /// <paramref name="meta"/>.</summary>
    public abstract void Read(Device device, void* slot, TnsReadMeta* meta);

    /// <summary>Whether reads of <paramref name="spec"/> go through a slot.</summary>
    public static bool Serves(AttributeSpec spec) =>
        spec.Format == AttrDataFormat.Scalar && spec.Access != AttrWriteType.Write && TangoTypeTable.IsNumber(spec.Type);

    /// <summary>A reader of <paramref name="value"/>, the expression of the attribute's C# value (of
    /// <see cref="AttributeSpec.ClrType"/>) read from the device parameter it is given.</summary>
    public static ScalarReader Create(AttributeSpec spec, Func<ParameterExpression, Expression> value)
    {
        var wire = TangoTypeTable.Clr(spec.Type); // the bytes Tango sends: an enum's short, a bool's byte
        var qualified = typeof(AttrValue<>).MakeGenericType(wire);
        var ctor = qualified.GetConstructor([wire, typeof(AttrQuality), typeof(DateTimeOffset?)])!;
        var device = Expression.Parameter(typeof(Device));
        var read = value(device);
        Expression body;
        if (spec.ClrType.IsGenericType && spec.ClrType.GetGenericTypeDefinition() == typeof(AttrValue<>))
        {
            var v = Expression.Variable(spec.ClrType);
            body = Expression.Block([v], Expression.Assign(v, read),
                Expression.New(ctor, Expression.Convert(Expression.Property(v, "Value"), wire),
                    Expression.Property(v, "Quality"), Expression.Property(v, "Time")));
        }
        else
        {
            body = Expression.New(ctor, Expression.Convert(read, wire), Expression.Constant(AttrQuality.Valid),
                Expression.Constant(null, typeof(DateTimeOffset?)));
        }
        var getter = Expression.Lambda(typeof(Func<,>).MakeGenericType(typeof(Device), qualified), body, device).Compile();
        return (ScalarReader)Activator.CreateInstance(typeof(ScalarReader<>).MakeGenericType(wire), getter)!;
    }
}

internal sealed unsafe class ScalarReader<T>(Func<Device, AttrValue<T>> read) : ScalarReader where T : unmanaged
{
    public override void Read(Device device, void* slot, TnsReadMeta* meta)
    {
        var v = read(device);
        Unsafe.Write(slot, v.Value);
        meta->Quality = (int)v.Quality;
        if (v.Time is { } time)
        {
            meta->HasTime = 1;
            meta->TimeUs = AttrTime.UnixMicroseconds(time);
        }
    }
}
