using System.Numerics;
using System.Reflection;
using FsCheck;
using FsCheck.Fluent;
using Lima2.Core.Frames;
using Lima2.Core.Processing;

namespace Lima2.Core.Tests;

/// <summary>
/// The one-pass SIMD ROI statistics (<see cref="RoiSet"/>, <see cref="RoiMath"/>) against an independent scalar oracle:
/// every pixel of each clipped, masked rectangle summed in <see cref="BigInteger"/>. Integer frames are bit-exact;
/// floating-point frames agree within the documented tolerance.
/// </summary>
public class RoiPassTests
{
    private static readonly PixelType[] Integers =
        [PixelType.Gray8, PixelType.Gray8s, PixelType.Gray16, PixelType.Gray16s, PixelType.Gray32, PixelType.Gray32s];

    private sealed record Case(PixelType Type, int Width, int Height, int Seed, bool Masked, (int X, int Y, int W, int H)[] Rects);

    // widths past 2 × 32 lanes so vectors and scalar tails both run; rectangles may stick out of the frame or be empty
    private static Gen<Case> Cases(PixelType[] types) =>
        from type in Gen.Elements(types)
        from width in Gen.Choose(1, 150)
        from height in Gen.Choose(1, 9)
        from seed in Gen.Choose(0, int.MaxValue)
        from masked in Gen.Elements(false, true)
        from count in Gen.Choose(1, 6)
        from rects in Gen.ArrayOf(
            from x in Gen.Choose(-10, width + 5)
            from y in Gen.Choose(-3, height + 2)
            from w in Gen.Choose(0, width + 20)
            from h in Gen.Choose(0, height + 4)
            select (x, y, w, h), count)
        select new Case(type, width, height, seed, masked, rects);

    /// <summary>Random pixels, a third of them at the type's extremes (where biasing and widening overflow first).</summary>
    private static Frame RandomFrame(PixelType type, int width, int height, int seed)
    {
        var random = new Random(seed);
        var info = new FrameInfo(width, height, type);
        var frame = new Frame(PooledBuffer.Unpooled(new byte[info.ByteSize]), info, 0, 0);
        long Pick(long min, long max) => random.Next(3) switch { 0 => random.Next(2) == 0 ? min : max, _ => random.NextInt64(min, max + 1) };
        switch (type)
        {
            case PixelType.Gray8: foreach (ref var p in frame.Pixels<byte>()) p = (byte)Pick(byte.MinValue, byte.MaxValue); break;
            case PixelType.Gray8s: foreach (ref var p in frame.Pixels<sbyte>()) p = (sbyte)Pick(sbyte.MinValue, sbyte.MaxValue); break;
            case PixelType.Gray16: foreach (ref var p in frame.Pixels<ushort>()) p = (ushort)Pick(ushort.MinValue, ushort.MaxValue); break;
            case PixelType.Gray16s: foreach (ref var p in frame.Pixels<short>()) p = (short)Pick(short.MinValue, short.MaxValue); break;
            case PixelType.Gray32: foreach (ref var p in frame.Pixels<uint>()) p = (uint)Pick(uint.MinValue, uint.MaxValue); break;
            case PixelType.Gray32s: foreach (ref var p in frame.Pixels<int>()) p = (int)Pick(int.MinValue, int.MaxValue); break;
            case PixelType.Gray32f: foreach (ref var p in frame.Pixels<float>()) p = (float)(random.NextDouble() * 4000 - 1000); break;
            case PixelType.Gray64f: foreach (ref var p in frame.Pixels<double>()) p = 1e6 + random.NextDouble(); break;
        }
        return frame;
    }

    private static double Pixel(Frame frame, int index) => frame.Info.PixelType switch
    {
        PixelType.Gray8 => frame.Pixels<byte>()[index],
        PixelType.Gray8s => frame.Pixels<sbyte>()[index],
        PixelType.Gray16 => frame.Pixels<ushort>()[index],
        PixelType.Gray16s => frame.Pixels<short>()[index],
        PixelType.Gray32 => frame.Pixels<uint>()[index],
        PixelType.Gray32s => frame.Pixels<int>()[index],
        PixelType.Gray32f => frame.Pixels<float>()[index],
        _ => frame.Pixels<double>()[index],
    };

    /// <summary>The used pixels of a rectangle, straight from its definition.</summary>
    private static List<double> Used(Frame frame, (int X, int Y, int W, int H) r, byte[]? mask)
    {
        var values = new List<double>();
        for (var y = Math.Max(0, r.Y); y < Math.Min(frame.Info.Height, r.Y + r.H); y++)
            for (var x = Math.Max(0, r.X); x < Math.Min(frame.Info.Width, r.X + r.W); x++)
                if (mask is null || mask[y * frame.Info.Width + x] != 0)
                    values.Add(Pixel(frame, y * frame.Info.Width + x));
        return values;
    }

    /// <summary>Exact integer statistics: std = √(n·Σx² − (Σx)²) / n from exact integers, as the SIMD pass documents.</summary>
    private static RoiStats ExactIntegerStats(List<double> values)
    {
        if (values.Count == 0)
            return default;
        var n = values.Count;
        var sum = BigInteger.Zero;
        var squares = BigInteger.Zero;
        foreach (var v in values)
        {
            var x = new BigInteger(v);
            sum += x;
            squares += x * x;
        }
        return new RoiStats(n, Nearest(sum), values.Min(), values.Max(), Nearest(sum) / n, Math.Sqrt(Nearest(n * squares - sum * sum)) / n);
    }

    /// <summary>The double nearest to <paramref name="x"/>, ties to even (BigInteger's own conversion truncates).</summary>
    private static double Nearest(BigInteger x)
    {
        var magnitude = BigInteger.Abs(x);
        var shift = (int)magnitude.GetBitLength() - 53;
        if (shift <= 0)
            return (double)(long)x;
        var kept = magnitude >> shift;
        var rest = magnitude - (kept << shift);
        var half = BigInteger.One << (shift - 1);
        if (rest > half || (rest == half && !kept.IsEven))
            kept += 1;
        return x.Sign * Math.ScaleB((double)(long)kept, shift);
    }

    private static (byte[]? Mask, PixelRegion[] Regions) Regions(Case c)
    {
        var mask = c.Masked ? Enumerable.Range(0, c.Width * c.Height).Select(i => (byte)((i * 7919 + c.Seed) % 5 == 0 ? 0 : 1)).ToArray() : null;
        return (mask, c.Rects.Select(r => PixelRegion.Rectangle(r.X, r.Y, r.W, r.H, c.Width, c.Height, mask)).ToArray());
    }

    [Fact]
    public void Integer_frames_give_bit_exact_statistics_for_all_rois_in_one_pass_and_one_by_one()
    {
        Prop.ForAll(Cases(Integers).ToArbitrary(), c =>
        {
            using var frame = RandomFrame(c.Type, c.Width, c.Height, c.Seed);
            var (mask, regions) = Regions(c);
            var together = new RoiStats[regions.Length];
            new RoiSet(regions).Measure(frame, together);
            for (var i = 0; i < regions.Length; i++)
            {
                var expected = ExactIntegerStats(Used(frame, c.Rects[i], mask));
                Assert.Equal(expected, together[i]);
                Assert.Equal(expected, RoiMath.Measure(frame, regions[i]));
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Floating_point_frames_agree_with_a_two_pass_sum_within_the_documented_tolerance()
    {
        Prop.ForAll(Cases([PixelType.Gray32f, PixelType.Gray64f]).ToArbitrary(), c =>
        {
            using var frame = RandomFrame(c.Type, c.Width, c.Height, c.Seed);
            var (mask, regions) = Regions(c);
            var actual = new RoiStats[regions.Length];
            new RoiSet(regions).Measure(frame, actual);
            for (var i = 0; i < regions.Length; i++)
            {
                var values = Used(frame, c.Rects[i], mask);
                if (values.Count == 0)
                {
                    Assert.Equal(default, actual[i]);
                    continue;
                }
                // gray64f frames sit at 1e6 ± 0.5: the sum-of-squares formula without the shift would lose the std
                var avg = values.Sum() / values.Count;
                var std = Math.Sqrt(values.Sum(v => (v - avg) * (v - avg)) / values.Count);
                var scale = values.Max(Math.Abs);
                Assert.Equal(values.Count, actual[i].Count);
                Assert.Equal(values.Min(), actual[i].Min);
                Assert.Equal(values.Max(), actual[i].Max);
                Assert.InRange(actual[i].Sum, values.Sum() - 1e-12 * scale * values.Count, values.Sum() + 1e-12 * scale * values.Count);
                Assert.InRange(actual[i].Avg, avg - 1e-12 * scale, avg + 1e-12 * scale);
                Assert.InRange(actual[i].Std, std - 1e-6 * Math.Max(std, 1e-3), std + 1e-6 * Math.Max(std, 1e-3));
            }
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(ushort.MaxValue, 7)]
    [InlineData(0, 65000)]
    public void A_run_longer_than_the_32_bit_partial_sums_hold_is_still_exact(ushort fill, ushort odd)
    {
        // 2^15 vectors of 16 pixels at either extreme fill the 32-bit sum lanes (c = u − 2^15 at +32767 or −32768):
        // one row of 600,000 such pixels crosses that
        const int width = 600_000;
        var pixels = Enumerable.Repeat(fill, width).ToArray();
        pixels[12345] = odd;
        using var frame = Frame.FromArray(pixels, width, 1);
        var stats = RoiMath.Measure(frame, PixelRegion.Rectangle(0, 0, width, 1, width, 1));
        var expected = ExactIntegerStats(pixels.Select(p => (double)p).ToList());
        Assert.Equal(expected, stats);
        Assert.Equal((double)fill * (width - 1) + odd, stats.Sum);
    }

    [Fact]
    public void Overlapping_rois_each_get_their_own_statistics()
    {
        using var frame = Frame.FromArray(Enumerable.Range(0, 64 * 4).Select(i => (ushort)i).ToArray(), 64, 4);
        PixelRegion[] regions = [PixelRegion.Rectangle(0, 0, 64, 4, 64, 4), PixelRegion.Rectangle(10, 1, 40, 2, 64, 4), PixelRegion.Rectangle(10, 1, 40, 2, 64, 4)];
        var stats = new RoiStats[3];
        new RoiSet(regions).Measure(frame, stats);
        Assert.Equal(Enumerable.Range(0, 256).Sum(), stats[0].Sum);
        Assert.Equal(Enumerable.Range(74, 40).Concat(Enumerable.Range(138, 40)).Sum(), stats[1].Sum);
        Assert.Equal(stats[1], stats[2]);
        Assert.Equal(74, stats[1].Min);
        Assert.Equal(177, stats[1].Max);
    }

    [Fact]
    public void The_simd_loops_are_optimised_at_their_first_call_not_run_as_tier_0_code()
    {
        // a receiver profile found these loops running unoptimised for a whole short run on a loaded machine
        static IEnumerable<MethodInfo> Loops(Type type, Func<MethodInfo, bool> which) =>
            type.GetNestedTypes(BindingFlags.NonPublic).Prepend(type)
                .SelectMany(t => t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                .Where(which);
        var roi = Loops(typeof(RoiSet).Assembly.GetType("Lima2.Core.Processing.RoiPass")!, m => m.Name == "Add" && !m.IsAbstract).ToList();
        var bitshuffle = Loops(typeof(Lima2.Compression.Bitshuffle), m => m.Name is "BitUntransposeColumns" or "BitTransposeColumns"
            or "BitUntransposeColumnsGfni" or "BitTransposeColumnsGfni" or "BitUntransposePairsGfni" or "BitTransposePairsGfni" or "Interleave" or "Deinterleave8"
            && m.MethodImplementationFlags.HasFlag(MethodImplAttributes.NoInlining)).ToList();
        Assert.Equal(4, roi.Count);
        Assert.Equal(8, bitshuffle.Count);
        Assert.All(roi.Concat(bitshuffle), m => Assert.True(m.MethodImplementationFlags.HasFlag(MethodImplAttributes.AggressiveOptimization),
            $"{m.DeclaringType!.Name}.{m.Name} is not AggressiveOptimization"));
    }
}
