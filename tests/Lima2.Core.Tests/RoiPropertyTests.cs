using FsCheck;
using FsCheck.Fluent;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;

namespace Lima2.Core.Tests;

public class RoiPropertyTests
{
    private static Gen<(int W, int H, ushort[] Pixels)> Frames =>
        from w in Gen.Choose(1, 40)
        from h in Gen.Choose(1, 30)
        from pixels in Gen.ArrayOf(Gen.Choose(0, 65535).Select(v => (ushort)v), w * h)
        select (w, h, pixels);

    [Fact]
    public void The_sums_over_a_partition_of_the_frame_add_up_to_the_total()
    {
        Prop.ForAll(Frames.ToArbitrary(), Gen.Choose(1, 29).ToArbitrary(), Gen.Choose(1, 39).ToArbitrary(), (f, cutY, cutX) =>
        {
            using var frame = Frame.FromArray(f.Pixels, f.W, f.H);
            var y = Math.Min(cutY, f.H);
            var x = Math.Min(cutX, f.W);
            PixelRegion[] parts =
            [
                PixelRegion.Rectangle(0, 0, f.W, y, f.W, f.H),
                PixelRegion.Rectangle(0, y, x, f.H - y, f.W, f.H),
                PixelRegion.Rectangle(x, y, f.W - x, f.H - y, f.W, f.H),
            ];
            var stats = parts.Select(p => RoiMath.Measure(frame, p)).ToArray();
            var whole = RoiMath.Measure(frame, PixelRegion.Rectangle(0, 0, f.W, f.H, f.W, f.H));
            return stats.Sum(s => s.Sum) == whole.Sum
                   && stats.Sum(s => s.Count) == whole.Count
                   && whole.Sum == f.Pixels.Sum(p => (double)p)
                   && stats.Where(s => s.Count > 0).Min(s => s.Min) == whole.Min
                   && stats.Where(s => s.Count > 0).Max(s => s.Max) == whole.Max;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Std_is_never_negative_and_min_avg_max_are_ordered()
    {
        Prop.ForAll(Frames.ToArbitrary(), Gen.Choose(0, 100).ToArbitrary(), (f, masked) =>
        {
            using var frame = Frame.FromArray(f.Pixels, f.W, f.H);
            var mask = f.Pixels.Select((_, i) => (i * 37 % 100) < masked ? (byte)0 : (byte)1).ToArray();
            var s = RoiMath.Measure(frame, PixelRegion.Rectangle(0, 0, f.W, f.H, f.W, f.H, mask));
            var used = f.Pixels.Where((_, i) => mask[i] != 0).Select(p => (double)p).ToArray();
            return s.Std >= 0
                   && s.Count == used.Length
                   && (s.Count == 0
                       ? s == default
                       : s.Min <= s.Avg + 1e-9 && s.Avg <= s.Max + 1e-9 && s.Min == used.Min() && s.Max == used.Max()
                         && Math.Abs(s.Avg * s.Count - s.Sum) <= 1e-6 * Math.Max(1, s.Sum));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_constant_roi_has_zero_std_and_its_value_as_min_avg_max()
    {
        Prop.ForAll(Gen.Choose(0, 65535).ToArbitrary(), Gen.Choose(1, 50).ToArbitrary(), (value, size) =>
        {
            using var frame = Frame.FromArray(Enumerable.Repeat((ushort)value, size * size).ToArray(), size, size);
            var s = RoiMath.Measure(frame, PixelRegion.Rectangle(0, 0, size, size, size, size));
            return s.Std == 0 && s.Min == value && s.Max == value && s.Avg == value && s.Sum == (double)value * size * size;
        }).QuickCheckThrowOnFailure();
    }

    private static Gen<ArcRoi> Arcs =>
        from cx in Gen.Choose(-20, 60)
        from cy in Gen.Choose(-20, 50)
        from r1 in Gen.Choose(0, 30)
        from dr in Gen.Choose(1, 40)
        from a1 in Gen.Choose(-360, 360)
        from span in Gen.Choose(1, 400)
        select new ArcRoi
        {
            Center = new PointD { X = cx + 0.25, Y = cy + 0.5 }, R1 = r1, R2 = r1 + dr + 0.3, A1 = a1 + 0.1, A2 = a1 + 0.1 + span,
        };

    [Fact]
    public void An_arc_region_holds_exactly_the_pixels_of_its_definition_inside_the_frame_and_unmasked()
    {
        const int w = 40, h = 30;
        var mask = Enumerable.Range(0, w * h).Select(i => i % 7 == 0 ? (byte)0 : (byte)1).ToArray();
        Prop.ForAll(Arcs.ToArbitrary(), arc =>
        {
            var region = PixelRegion.Arc(arc, w, h, mask);
            var inRegion = new HashSet<(int, int)>();
            foreach (var run in region.Runs.ToArray())
                for (var x = run.X; x < run.X + run.Length; x++)
                    inRegion.Add((x, run.Y));
            var expected = new HashSet<(int, int)>();
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    double dx = x - arc.Center.X, dy = y - arc.Center.Y, d2 = dx * dx + dy * dy;
                    var angle = Math.Atan2(dy, dx) * 180 / Math.PI;
                    var relative = ((angle - arc.A1) % 360 + 360) % 360;
                    if (mask[y * w + x] != 0 && d2 >= arc.R1 * arc.R1 && d2 <= arc.R2 * arc.R2
                        && (arc.A2 - arc.A1 >= 360 || relative <= arc.A2 - arc.A1))
                        expected.Add((x, y));
                }
            return inRegion.SetEquals(expected) && region.Count == expected.Count;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void The_reduced_data_buffer_keeps_order_and_counts_every_row_it_loses()
    {
        Prop.ForAll(Gen.Choose(1, 20).ToArbitrary(), Gen.ListOf(Gen.Choose(0, 12)).ToArbitrary(), Gen.Choose(1, 5).ToArbitrary(),
            (capacity, pushes, popEvery) =>
            {
                var buffer = new ReducedDataBuffer<int>(capacity);
                var popped = new List<int>();
                var next = 0;
                for (var i = 0; i < pushes.Count; i++)
                {
                    buffer.Push(Enumerable.Range(next, pushes[i]).ToArray());
                    next += pushes[i];
                    if (i % popEvery == 0)
                        popped.AddRange(buffer.Pop());
                }
                popped.AddRange(buffer.Pop());
                var ascending = popped.Zip(popped.Skip(1)).All(p => p.First < p.Second);
                return buffer.Produced == next
                       && buffer.Popped + buffer.Lost == next
                       && popped.Count == buffer.Popped
                       && ascending
                       && (popped.Count == 0 || popped[^1] == next - 1);
            }).QuickCheckThrowOnFailure();
    }
}
