using FsCheck;
using FsCheck.Fluent;
using Tango.Server;

namespace Tango.NET.Tests.Server;

/// <summary>C# values laid out for the shim and read back the way the shim hands them to C#.</summary>
public sealed class ValueCodecTests
{
    private static object? RoundTrip(object value, TangoType element, ValueShape shape, Type target)
    {
        using var pinned = PinnedValue.Create(value, element, shape);
        return ValueDecoder.Decode(pinned.Data, element, shape, target, pinned.DimX, pinned.DimY);
    }

    [Fact]
    public void Numeric_spectra_survive_the_layout() =>
        Prop.ForAll<int[]>(xs => ((int[])RoundTrip(xs, TangoType.DevLong, ValueShape.Spectrum, typeof(int[]))!).SequenceEqual(xs))
            .QuickCheckThrowOnFailure();

    [Fact]
    public void Images_keep_rows_and_columns() =>
        Prop.ForAll<double[,]>(img =>
        {
            var back = (double[,])RoundTrip(img, TangoType.DevDouble, ValueShape.Image, typeof(double[,]))!;
            return back.GetLength(0) == img.GetLength(0) && back.GetLength(1) == img.GetLength(1)
                   && back.Cast<double>().Zip(img.Cast<double>()).All(p => p.First.Equals(p.Second));
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Latin1_strings_survive_and_others_become_question_marks()
    {
        Prop.ForAll(Gen.Elements("", "a", "héllo", "ÿ€", "x y\tz").ArrayOf().ToArbitrary(), strings =>
        {
            var back = (string[])RoundTrip(strings, TangoType.DevString, ValueShape.Spectrum, typeof(string[]))!;
            return back.SequenceEqual(strings.Select(s => s.Replace('€', '?')));
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(true, TangoType.DevBoolean)]
    [InlineData((byte)200, TangoType.DevUChar)]
    [InlineData((short)-5, TangoType.DevShort)]
    [InlineData(ushort.MaxValue, TangoType.DevUShort)]
    [InlineData(int.MinValue, TangoType.DevLong)]
    [InlineData(uint.MaxValue, TangoType.DevULong)]
    [InlineData(long.MinValue, TangoType.DevLong64)]
    [InlineData(ulong.MaxValue, TangoType.DevULong64)]
    [InlineData(1.5f, TangoType.DevFloat)]
    [InlineData(-2.25, TangoType.DevDouble)]
    [InlineData(DevState.Moving, TangoType.DevState)]
    public void Scalars_survive_the_layout(object value, TangoType type) =>
        Assert.Equal(value, RoundTrip(value, type, ValueShape.Scalar, value.GetType()));

    [Fact]
    public void Composite_command_types_survive_the_layout()
    {
        var ls = (LongStringArray)RoundTrip(new LongStringArray([1, -2], ["a"]), TangoType.DevLong, ValueShape.LongString, typeof(LongStringArray))!;
        Assert.Equal([1, -2], ls.Longs);
        Assert.Equal(["a"], ls.Strings);
        var enc = (DevEncoded)RoundTrip(new DevEncoded("json", [1, 2]), TangoType.DevEncoded, ValueShape.Scalar, typeof(DevEncoded))!;
        Assert.Equal("json", enc.Format);
        Assert.Equal([1, 2], enc.Data);
    }

    [Fact]
    public void A_value_of_the_wrong_element_type_is_refused_before_it_reaches_native_code() =>
        Assert.Throws<ArgumentException>(() => PinnedValue.Create(new int[3], TangoType.DevDouble, ValueShape.Spectrum));

    [Fact]
    public void A_shared_image_is_read_back_through_its_mutex()
    {
        var image = new SharedImage<ushort>(3, 2);
        image.Update(p => { for (var i = 0; i < p.Length; i++) p[i] = (ushort)i; });
        Assert.Equal(new ushort[,] { { 0, 1, 2 }, { 3, 4, 5 } }, image.ToArray());
        var back = (ushort[,])RoundTrip(image, TangoType.DevUShort, ValueShape.Image, typeof(ushort[,]))!;
        Assert.Equal(image.ToArray(), back);
    }
}
