using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Lima2.Core.Parameters;

/// <summary>A pixel position <c>{x, y}</c>.</summary>
public sealed record Point
{
    [Minimum(0)] public int X { get; init; }
    [Minimum(0)] public int Y { get; init; }
}

/// <summary>A size in pixels <c>{x, y}</c>.</summary>
public sealed record Dimensions
{
    [Minimum(1)] public int X { get; init; } = 1;
    [Minimum(1)] public int Y { get; init; } = 1;
}

/// <summary>A sub-pixel position <c>{x, y}</c> (arc ROI centre, beam centre).</summary>
public sealed record PointD
{
    public double X { get; init; }
    public double Y { get; init; }
}

/// <summary>A rectangle: top-left corner and dimensions, in pixels.</summary>
public sealed record RectRoi
{
    public Point Topleft { get; init; } = new();
    public Dimensions Dimensions { get; init; } = new();
}

/// <summary>
/// An arc (annular sector): pixels whose centre lies at a distance in [r1, r2] from <c>center</c> and whose angle
/// lies in [a1, a2] degrees. Angles are measured from the +x axis (columns) towards +y (rows), as atan2(dy, dx),
/// and may wrap (a1 = 350, a2 = 370 covers ±10°).
/// </summary>
public sealed record ArcRoi
{
    public PointD Center { get; init; } = new();
    [Minimum(0)] public double R1 { get; init; }
    [Minimum(0)] public double R2 { get; init; } = 1;
    public double A1 { get; init; }
    public double A2 { get; init; } = 360;
}

/// <summary>A switch plus the path of a reference image (mask, flat field, background).</summary>
public sealed record ReferenceImage
{
    public bool Enabled { get; init; }
    [Description("the reference image: a .npy file (numpy), or an HDF5 dataset written file.h5:/path/to/dataset " +
                 "(silx's file.h5::/path/to/dataset also; .h5 .hdf5 .hdf .nxs .cxi) of shape (H, W) or (1, H, W); " +
                 "any integer, float or bool type. A mask keeps the pixels where it is not 0")]
    public string Path { get; init; } = "";
}

public enum TriggerMode
{
    Internal,
    Software,
    External,
    Gate,
}
