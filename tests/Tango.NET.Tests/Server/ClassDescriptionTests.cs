using Tango.Server;
using TangoNetTest;

namespace Tango.NET.Tests.Server;

/// <summary>The class description reflection builds from C# declarations, before any native code runs.</summary>
public sealed class ClassDescriptionTests
{
    private enum Gain { Low, High }

    private enum Sparse { A = 1, B = 5 }

    [Theory]
    [InlineData(typeof(bool), TangoType.DevBoolean, AttrDataFormat.Scalar)]
    [InlineData(typeof(byte), TangoType.DevUChar, AttrDataFormat.Scalar)]
    [InlineData(typeof(int), TangoType.DevLong, AttrDataFormat.Scalar)]
    [InlineData(typeof(uint), TangoType.DevULong, AttrDataFormat.Scalar)]
    [InlineData(typeof(long), TangoType.DevLong64, AttrDataFormat.Scalar)]
    [InlineData(typeof(ulong), TangoType.DevULong64, AttrDataFormat.Scalar)]
    [InlineData(typeof(DevState), TangoType.DevState, AttrDataFormat.Scalar)]
    [InlineData(typeof(Gain), TangoType.DevEnum, AttrDataFormat.Scalar)]
    [InlineData(typeof(DevEncoded), TangoType.DevEncoded, AttrDataFormat.Scalar)]
    [InlineData(typeof(float[]), TangoType.DevFloat, AttrDataFormat.Spectrum)]
    [InlineData(typeof(string[]), TangoType.DevString, AttrDataFormat.Spectrum)]
    [InlineData(typeof(ushort[,]), TangoType.DevUShort, AttrDataFormat.Image)]
    [InlineData(typeof(SharedImage<ushort>), TangoType.DevUShort, AttrDataFormat.Image)]
    [InlineData(typeof(AttrValue<float[]>), TangoType.DevFloat, AttrDataFormat.Spectrum)]
    public void Attribute_type_and_format_follow_the_csharp_type(Type clr, TangoType type, AttrDataFormat format) =>
        Assert.Equal((type, format), TypeMap.ForAttribute(clr));

    [Theory]
    [InlineData(typeof(void), TangoType.DevVoid)]
    [InlineData(typeof(short), TangoType.DevShort)]
    [InlineData(typeof(string), TangoType.DevString)]
    [InlineData(typeof(byte[]), TangoType.DevVarCharArray)]
    [InlineData(typeof(ulong[]), TangoType.DevVarULong64Array)]
    [InlineData(typeof(string[]), TangoType.DevVarStringArray)]
    [InlineData(typeof(LongStringArray), TangoType.DevVarLongStringArray)]
    [InlineData(typeof(DoubleStringArray), TangoType.DevVarDoubleStringArray)]
    [InlineData(typeof(DevEncoded), TangoType.DevEncoded)]
    public void Command_argument_types_follow_the_csharp_type(Type clr, TangoType type) =>
        Assert.Equal(type, TypeMap.ForCommand(clr));

    [Theory]
    [InlineData(typeof(int[,,]))]
    [InlineData(typeof(decimal))]
    [InlineData(typeof(Gain[]))]
    [InlineData(typeof(DevEncoded[]))]
    public void Types_Tango_cannot_carry_are_refused(Type clr) =>
        Assert.Throws<NotSupportedException>(() => TypeMap.ForAttribute(clr));

    [Fact]
    public void A_shared_image_is_a_read_only_image_of_numbers()
    {
        Assert.Throws<ArgumentException>(() => AttributeSpec.Create("img", typeof(SharedImage<ushort>), true, true, null));
        Assert.Throws<ArgumentException>(() => AttributeSpec.Create("q", typeof(AttrValue<int>), true, true, null));
        Assert.Throws<NotSupportedException>(() => TypeMap.ForAttribute(typeof(SharedImage<DevState>)));
    }

    [Fact]
    public void Enum_labels_are_the_names_and_sparse_enums_are_refused()
    {
        Assert.Equal(["Low", "High"], AttributeSpec.Create("gain", typeof(Gain), true, true, null).EnumLabels);
        Assert.Throws<NotSupportedException>(() => AttributeSpec.Create("s", typeof(Sparse), true, true, null));
    }

    [Fact]
    public void Options_become_cppTango_attribute_properties()
    {
        var spec = AttributeSpec.Create("pos", typeof(double), true, true,
            new AttrAttribute { Unit = "mm", MinValue = -1.5, MaxAlarm = 10, Memorized = true, MemorizedInit = false });
        Assert.Equal(AttrWriteType.ReadWrite, spec.Access);
        Assert.Equal(Memorization.Memorized, spec.Memorized);
        Assert.Equal([new("unit", "mm"), new("min_value", "-1.5"), new("max_alarm", "10")], spec.Properties);
    }

    [Fact]
    public void TangoNetTest_declares_TangoTests_attributes_with_their_access_and_sizes()
    {
        var spec = ClassSpec.From(typeof(TangoNetTestDevice));
        var attrs = spec.Attributes.ToDictionary(a => a.Spec.Name, a => a.Spec);
        Assert.Equal("TangoNetTest", spec.Name);
        Assert.Equal(AttrWriteType.Write, attrs["ampli"].Access);
        Assert.Equal(AttrWriteType.ReadWithWrite, attrs["double_scalar_rww"].Access);
        Assert.Equal("double_scalar_w", attrs["double_scalar_rww"].WriteAttribute);
        Assert.Equal(AttrWriteType.Read, attrs["ushort_image_ro"].Access); // private setter: read-only
        Assert.Equal((8192, 8192), (attrs["ushort_image_ro"].MaxX, attrs["ushort_image_ro"].MaxY));
        Assert.Equal((256, 0), (attrs["string_spectrum"].MaxX, attrs["string_spectrum"].MaxY));
        Assert.Contains(spec.Properties, p => p is { Name: "UShort_image_ro_size", IsClassProperty: false });
        Assert.Contains(spec.Properties, p => p is { Name: "Greeting", IsClassProperty: true });
        Assert.True(spec.AllowedMethods.ContainsKey("EvenOnly"));
        Assert.False(spec.OverridesState);
        Assert.True(ClassSpec.From(typeof(TangoNetDynamicDevice)).OverridesStatus);
    }

    [Theory]
    [InlineData(new[] { "1024" }, typeof(int), 1024)]
    [InlineData(new[] { " true " }, typeof(bool), true)]
    [InlineData(new[] { "2.5" }, typeof(double), 2.5)]
    [InlineData(new[] { "line 1", "line 2" }, typeof(string), "line 1\nline 2")]
    public void Property_strings_from_the_DB_become_typed_values(string[] values, Type type, object expected) =>
        Assert.Equal(expected, PropertyValue.Parse(values, type));

    [Fact]
    public void Array_properties_parse_each_value()
    {
        Assert.Equal(new[] { 1, 2, 3 }, PropertyValue.Parse(["1", "2", "3"], typeof(int[])));
        Assert.Throws<FormatException>(() => PropertyValue.Parse(["1", "2"], typeof(int)));
    }
}
