using Lima2.Detectors.Jungfrau;

namespace Lima2.Acquisition.Tests.Jungfrau;

public class JungfrauGeometryTests
{
    private static ushort[] Modules(int count) =>
        Enumerable.Range(0, count * JungfrauModule.Pixels).Select(i => (ushort)(i * 31 + i / JungfrauModule.Pixels)).ToArray();

    [Fact]
    public void Only_modules_stacked_in_order_without_gaps_make_an_image_that_is_the_module_major_frame()
    {
        Assert.True(JungfrauGeometry.Grid(3, 1, 0, 0, false).IsModuleMajor);
        Assert.False(JungfrauGeometry.Grid(3, 1, 0, 0, true).IsModuleMajor); // chip gaps
        Assert.False(JungfrauGeometry.Grid(3, 1, 0, 4, false).IsModuleMajor); // rows apart
        Assert.False(JungfrauGeometry.Grid(1, 2, 0, 0, false).IsModuleMajor); // side by side
        Assert.False(new JungfrauGeometry([new(0, 512), new(0, 0)], false).IsModuleMajor); // stacked out of order
    }

    [Theory]
    [InlineData(1, 1, false)]
    [InlineData(1, 2, true)]
    [InlineData(4, 2, true)] // JUNGFRAU 4M: 8 modules, 4 rows of 2
    [InlineData(4, 2, false)]
    public void Every_module_pixel_lands_where_its_chip_and_module_place_it_and_gaps_stay_untouched(int rows, int columns, bool gaps)
    {
        const int gapX = 8, gapY = 36;
        var geometry = JungfrauGeometry.Grid(rows, columns, gapX, gapY, gaps);
        var modules = Modules(rows * columns);
        var image = Enumerable.Repeat((ushort)0xABCD, geometry.Width * geometry.Height).ToArray();
        geometry.Place<ushort>(modules, image);

        var moduleWidth = gaps ? 1030 : 1024;
        var moduleHeight = gaps ? 514 : 512;
        Assert.Equal((columns * moduleWidth + (columns - 1) * gapX, rows * moduleHeight + (rows - 1) * gapY), (geometry.Width, geometry.Height));
        var expected = Enumerable.Repeat((ushort)0xABCD, image.Length).ToArray();
        for (var m = 0; m < rows * columns; m++)
            for (var row = 0; row < 512; row++)
                for (var col = 0; col < 1024; col++)
                {
                    var x = m % columns * (moduleWidth + gapX) + col + (gaps ? 2 * (col / 256) : 0);
                    var y = m / columns * (moduleHeight + gapY) + row + (gaps ? 2 * (row / 256) : 0);
                    expected[y * geometry.Width + x] = modules[m * JungfrauModule.Pixels + row * 1024 + col];
                }
        Assert.True(expected.AsSpan().SequenceEqual(image), "the placed image differs from the per-pixel reference");
    }

    [Fact]
    public void Splitting_double_pixels_shares_border_values_with_the_gaps_and_keeps_the_module_total()
    {
        var geometry = JungfrauGeometry.Grid(1, 1, 0, 0, doublePixelGaps: true);
        var module = Enumerable.Range(0, JungfrauModule.Pixels).Select(i => (float)(i % 97 + 1)).ToArray();
        var image = new float[geometry.Width * geometry.Height];
        geometry.Place<float>(module, image);
        geometry.SplitDoublePixels(image);

        Assert.Equal(module.Sum(v => (double)v), image.Sum(v => (double)v), precision: 3);
        float At(int x, int y) => image[y * geometry.Width + x];
        float Raw(int col, int row) => module[row * 1024 + col];
        // a column border inside the lower chips: chip 0's last column (255) and chip 1's first (256) with their gaps
        Assert.Equal((Raw(255, 300) / 2, Raw(255, 300) / 2), (At(255, 302), At(256, 302)));
        Assert.Equal((Raw(256, 300) / 2, Raw(256, 300) / 2), (At(257, 302), At(258, 302)));
        // a row border and a corner pixel (double in both directions, shared over four)
        Assert.Equal((Raw(10, 255) / 2, Raw(10, 255) / 2), (At(10, 255), At(10, 256)));
        Assert.Equal(Raw(767, 256) / 4, At(771, 258));
        Assert.Equal(Raw(767, 256) / 4, At(772, 257));
        // an inner pixel is left as it was
        Assert.Equal(Raw(100, 100), At(100, 100));
    }

    [Fact]
    public void Overlapping_module_positions_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new JungfrauGeometry([new(0, 0), new(1000, 0)], doublePixelGaps: false));
        Assert.Contains("overlap", error.Message);
    }
}
