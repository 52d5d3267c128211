namespace Tango.NET.Tests;

/// <summary>The one type table that the server and client codecs (and, by hand, native/values.hpp) share.</summary>
public sealed class TypeTableTests
{
    [Theory]
    [InlineData(TangoType.DevBoolean)]
    [InlineData(TangoType.DevUChar)]
    [InlineData(TangoType.DevShort)]
    [InlineData(TangoType.DevUShort)]
    [InlineData(TangoType.DevLong)]
    [InlineData(TangoType.DevULong)]
    [InlineData(TangoType.DevLong64)]
    [InlineData(TangoType.DevULong64)]
    [InlineData(TangoType.DevFloat)]
    [InlineData(TangoType.DevDouble)]
    [InlineData(TangoType.DevState)]
    [InlineData(TangoType.DevEnum)]
    public void A_numeric_element_takes_as_many_bytes_as_its_CSharp_type(TangoType type)
    {
        var clr = TangoTypeTable.Clr(type);
        var primitive = clr.IsEnum ? Enum.GetUnderlyingType(clr) : clr;
        Assert.Equal(Buffer.ByteLength(Array.CreateInstance(primitive, 1)), TangoTypeTable.Size(type));
    }

    [Fact]
    public void Every_command_array_type_leads_back_to_its_element_type()
    {
        var arrays = 0;
        foreach (var element in Enum.GetValues<TangoType>())
        {
            if (!TangoTypeTable.TryArrayOf(element, out var array))
                continue;
            arrays++;
            Assert.True(TangoTypeTable.TryElementOfArray(array, out var back));
            Assert.Equal(element, back);
            Assert.StartsWith("DevVar", array.ToString());
        }
        Assert.Equal(12, arrays);
    }

    [Fact]
    public void Strings_and_encoded_values_have_no_element_size() =>
        Assert.All([TangoType.DevString, TangoType.DevEncoded, TangoType.DevVoid],
            t => Assert.Throws<NotSupportedException>(() => TangoTypeTable.Size(t)));
}
