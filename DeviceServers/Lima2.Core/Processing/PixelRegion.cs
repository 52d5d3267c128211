using Lima2.Core.Parameters;

namespace Lima2.Core.Processing;

/// <summary>A horizontal run of pixels: row <see cref="Y"/>, columns [<see cref="X"/>, X + <see cref="Length"/>).</summary>
public readonly record struct PixelRun(int Y, int X, int Length);

/// <summary>
/// A set of pixels of a frame as row runs, sorted by row then column: the rasterised shape of a ROI with the masked
/// pixels already taken out, built once per run so that per-frame statistics only walk spans.
/// </summary>
public sealed class PixelRegion
{
    private readonly PixelRun[] _runs;

    private PixelRegion(PixelRun[] runs)
    {
        _runs = runs;
        Count = runs.Sum(r => (long)r.Length);
    }

    public ReadOnlySpan<PixelRun> Runs => _runs;

    /// <summary>Pixels in the region.</summary>
    public long Count { get; }

    /// <summary>The rectangle clipped to the frame, minus masked pixels.</summary>
    public static PixelRegion Rectangle(int x, int y, int width, int height, int frameWidth, int frameHeight,
        ReadOnlySpan<byte> mask = default)
    {
        var x0 = Math.Clamp(x, 0, frameWidth);
        var x1 = Math.Clamp((long)x + width, 0, frameWidth);
        var y0 = Math.Clamp(y, 0, frameHeight);
        var y1 = Math.Clamp((long)y + height, 0, frameHeight);
        var runs = new List<PixelRun>();
        for (var row = y0; row < y1; row++)
            AddRun(runs, row, x0, (int)x1, frameWidth, mask);
        return new PixelRegion(runs.ToArray());
    }

    public static PixelRegion Rectangle(RectRoi roi, int frameWidth, int frameHeight, ReadOnlySpan<byte> mask = default) =>
        Rectangle(roi.Topleft.X, roi.Topleft.Y, roi.Dimensions.X, roi.Dimensions.Y, frameWidth, frameHeight, mask);

    /// <summary>
    /// The arc rasterised at pixel indices: pixel (x, y) is in when r1 ≤ hypot(x − cx, y − cy) ≤ r2 and its angle
    /// atan2(y − cy, x − cx) in degrees, taken in [a1, a1 + 360), is ≤ a2 (a span of 360° or more is a full ring).
    /// </summary>
    public static PixelRegion Arc(ArcRoi arc, int frameWidth, int frameHeight, ReadOnlySpan<byte> mask = default)
    {
        var (cx, cy) = (arc.Center.X, arc.Center.Y);
        var r1Squared = arc.R1 * arc.R1;
        var r2Squared = arc.R2 * arc.R2;
        var span = arc.A2 - arc.A1;
        var fullCircle = span >= 360;
        var yMin = (int)Math.Max(0, Math.Floor(cy - arc.R2));
        var yMax = (int)Math.Min(frameHeight - 1, Math.Ceiling(cy + arc.R2));
        var xMin = (int)Math.Max(0, Math.Floor(cx - arc.R2));
        var xMax = (int)Math.Min(frameWidth - 1, Math.Ceiling(cx + arc.R2));
        var runs = new List<PixelRun>();
        for (var y = yMin; y <= yMax; y++)
        {
            var start = -1;
            for (var x = xMin; x <= xMax + 1; x++)
            {
                var inside = x <= xMax && InArc(x - cx, y - cy, r1Squared, r2Squared, arc.A1, span, fullCircle);
                if (inside && start < 0)
                    start = x;
                else if (!inside && start >= 0)
                {
                    AddRun(runs, y, start, x, frameWidth, mask);
                    start = -1;
                }
            }
        }
        return new PixelRegion(runs.ToArray());
    }

    private static bool InArc(double dx, double dy, double r1Squared, double r2Squared, double a1, double span, bool full)
    {
        var d2 = dx * dx + dy * dy;
        if (d2 < r1Squared || d2 > r2Squared)
            return false;
        if (full)
            return true;
        var angle = Math.Atan2(dy, dx) * (180.0 / Math.PI);
        var relative = (angle - a1) % 360.0;
        if (relative < 0)
            relative += 360.0;
        return relative <= span;
    }

    /// <summary>Adds row <paramref name="y"/> columns [x0, x1), split around masked pixels (mask value 0).</summary>
    private static void AddRun(List<PixelRun> runs, int y, int x0, int x1, int frameWidth, ReadOnlySpan<byte> mask)
    {
        if (x1 <= x0)
            return;
        if (mask.IsEmpty)
        {
            runs.Add(new PixelRun(y, x0, x1 - x0));
            return;
        }
        var row = mask.Slice(y * frameWidth, frameWidth);
        var start = -1;
        for (var x = x0; x <= x1; x++)
        {
            var used = x < x1 && row[x] != 0;
            if (used && start < 0)
                start = x;
            else if (!used && start >= 0)
            {
                runs.Add(new PixelRun(y, start, x - start));
                start = -1;
            }
        }
    }
}
