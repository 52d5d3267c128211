using Lima2.Core.Frames;

namespace Lima2.Detectors.Jungfrau;

/// <summary>Where one module's top-left pixel lands in the detector image.</summary>
public readonly record struct ModulePosition(int X, int Y);

/// <summary>
/// Places assembled modules (module-major 1024×512 raw blocks, as <see cref="ModuleFrameAssembler"/> hands them on)
/// into the detector image. With <see cref="DoublePixelGaps"/> each module is 1030×514: its 2×4 chips of 256×256 are
/// set 2 pixels apart, leaving room for the chip-border pixels, which are twice as large on the sensor
/// (paulscherrerinstitute/jungfrau_utils). Gap pixels stay as the image had them (jungfrau_utils' "keep");
/// <see cref="SplitDoublePixels"/> shares each border pixel's value with its gap neighbour ("interp").
/// </summary>
public sealed class JungfrauGeometry
{
    public const int ChipSize = 256;
    public const int GappedModuleWidth = JungfrauModule.Width + 3 * 2;
    public const int GappedModuleHeight = JungfrauModule.Height + 2;

    public JungfrauGeometry(IReadOnlyList<ModulePosition> modules, bool doublePixelGaps)
    {
        if (modules.Count == 0)
            throw new ArgumentException("a detector has at least one module", nameof(modules));
        if (modules.Any(m => m.X < 0 || m.Y < 0))
            throw new ArgumentException("module positions must not be negative", nameof(modules));
        Modules = modules;
        DoublePixelGaps = doublePixelGaps;
        Width = modules.Max(m => m.X) + ModuleWidth;
        Height = modules.Max(m => m.Y) + ModuleHeight;
        for (var i = 0; i < modules.Count; i++)
            for (var j = i + 1; j < modules.Count; j++)
                if (Math.Abs(modules[i].X - modules[j].X) < ModuleWidth && Math.Abs(modules[i].Y - modules[j].Y) < ModuleHeight)
                    throw new ArgumentException($"modules {i} and {j} overlap", nameof(modules));
    }

    /// <summary>
    /// Modules on a grid, row by row from the top, <paramref name="gapX"/>/<paramref name="gapY"/> pixels apart:
    /// a JUNGFRAU 4M is 8 modules as 4 rows of 2.
    /// </summary>
    public static JungfrauGeometry Grid(int rows, int columns, int gapX, int gapY, bool doublePixelGaps)
    {
        var width = (doublePixelGaps ? GappedModuleWidth : JungfrauModule.Width) + gapX;
        var height = (doublePixelGaps ? GappedModuleHeight : JungfrauModule.Height) + gapY;
        var positions = Enumerable.Range(0, rows * columns).Select(i => new ModulePosition(i % columns * width, i / columns * height)).ToArray();
        return new JungfrauGeometry(positions, doublePixelGaps);
    }

    public IReadOnlyList<ModulePosition> Modules { get; }
    public bool DoublePixelGaps { get; }
    public int ModuleWidth => DoublePixelGaps ? GappedModuleWidth : JungfrauModule.Width;
    public int ModuleHeight => DoublePixelGaps ? GappedModuleHeight : JungfrauModule.Height;
    public int Width { get; }
    public int Height { get; }

    /// <summary>The image is the module-major frame itself (raw layout, modules one under the other in order): placing is a copy.</summary>
    public bool IsModuleMajor => !DoublePixelGaps && Width == JungfrauModule.Width
                                 && Modules.Select((m, i) => m.X == 0 && m.Y == i * JungfrauModule.Height).All(stacked => stacked);

    /// <summary>Copies each module of <paramref name="modules"/> (module-major raw blocks) to its place; other pixels are left alone.</summary>
    public void Place<T>(ReadOnlySpan<T> modules, Span<T> image)
    {
        if (modules.Length != Modules.Count * JungfrauModule.Pixels)
            throw new ArgumentException($"expected {Modules.Count} modules of {JungfrauModule.Pixels} pixels", nameof(modules));
        if (image.Length != Width * Height)
            throw new ArgumentException($"expected a {Width}x{Height} image", nameof(image));
        var chipColumns = DoublePixelGaps ? JungfrauModule.Width / ChipSize : 1;
        var chipWidth = JungfrauModule.Width / chipColumns;
        for (var m = 0; m < Modules.Count; m++)
        {
            var module = modules.Slice(m * JungfrauModule.Pixels, JungfrauModule.Pixels);
            for (var row = 0; row < JungfrauModule.Height; row++)
            {
                var y = Modules[m].Y + row + (DoublePixelGaps && row >= ChipSize ? 2 : 0);
                for (var chip = 0; chip < chipColumns; chip++)
                {
                    var x = Modules[m].X + chip * (chipWidth + (DoublePixelGaps ? 2 : 0));
                    module.Slice(row * JungfrauModule.Width + chip * chipWidth, chipWidth).CopyTo(image.Slice(y * Width + x, chipWidth));
                }
            }
        }
    }

    /// <summary>
    /// The NXmx pixel mask of the detector image: <see cref="PixelMaskBits.Gap"/> on every pixel no module pixel is
    /// placed on (<see cref="Place{T}"/>'s): between modules and, in the 1030×514 layout, the chip gaps.
    /// </summary>
    public uint[] PixelMask()
    {
        var mask = new uint[Width * Height];
        mask.AsSpan().Fill((uint)PixelMaskBits.Gap);
        var placed = new uint[Modules.Count * JungfrauModule.Pixels]; // None: a placed pixel is a sensor's
        Place<uint>(placed, mask);
        return mask;
    }

    /// <summary>
    /// Shares every chip-border pixel's value equally with the gap pixel beside it (corner pixels over four), so that
    /// intensity per sensor area is kept; for corrected (energy or photon-density) images after <see cref="Place{T}"/>.
    /// </summary>
    public void SplitDoublePixels(Span<float> image)
    {
        if (!DoublePixelGaps)
            throw new InvalidOperationException("the raw 1024x512 layout has no gap pixels to split into");
        foreach (var (x0, y0) in Modules)
        {
            for (var y = y0; y < y0 + GappedModuleHeight; y++)
                for (var gap = 1; gap <= 3; gap++)
                {
                    var left = y * Width + x0 + gap * (ChipSize + 2) - 3; // last column of the chip on the left
                    image[left] /= 2;
                    image[left + 1] = image[left];
                    image[left + 3] /= 2;
                    image[left + 2] = image[left + 3];
                }
            var top = (y0 + ChipSize - 1) * Width; // last row of the upper chips
            for (var x = x0; x < x0 + GappedModuleWidth; x++)
            {
                image[top + x] /= 2;
                image[top + Width + x] = image[top + x];
                image[top + 3 * Width + x] /= 2;
                image[top + 2 * Width + x] = image[top + 3 * Width + x];
            }
        }
    }
}
