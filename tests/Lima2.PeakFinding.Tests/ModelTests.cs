using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.Core.IO;

namespace Lima2.PeakFinding.Tests;

public sealed class ModelTests
{
    [Fact]
    public void A_model_loaded_from_radius_mask_and_bin_files_equals_one_built_from_the_geometry()
    {
        var dir = Directory.CreateTempSubdirectory("lima2-model-");
        try
        {
            var mask = new byte[Synthetic.Width * Synthetic.Height];
            for (var j = 0; j < Synthetic.Width; j++) mask[50 * Synthetic.Width + j] = 1;
            var fromGeometry = PeakFinderModel.Create(Synthetic.Width, Synthetic.Height, Synthetic.Geometry, mask, new FaiParams());
            var radius = Synthetic.Geometry.RadiusMeters(Synthetic.Height, Synthetic.Width);
            NpyFile.Write($"{dir}/r2d.npy", MemoryMarshal.AsBytes(radius.AsSpan()), "<f8", Synthetic.Height, Synthetic.Width);
            NpyFile.Write($"{dir}/mask.npy", mask, "|u1", Synthetic.Height, Synthetic.Width);
            NpyFile.Write($"{dir}/r1d.npy", MemoryMarshal.AsBytes(fromGeometry.BinCenters.AsSpan()), "<f8", fromGeometry.NbBins);
            var p = new FaiParams { Radius2dPath = $"{dir}/r2d.npy", MaskPath = $"{dir}/mask.npy", Radius1dPath = $"{dir}/r1d.npy" };
            var loaded = PeakFinderModel.Load(Synthetic.Width, Synthetic.Height, p, geometry: null);

            Assert.Equal(fromGeometry.NbBins, loaded.NbBins);
            Assert.Equal(fromGeometry.BinPixels, loaded.BinPixels);
            Assert.Equal(fromGeometry.BackgroundPosition, loaded.BackgroundPosition);
            Assert.Equal(fromGeometry.Mask, loaded.Mask);
            Assert.Contains("radius2d_path", Assert.Throws<ArgumentException>(() => PeakFinderModel.Load(10, 10, new FaiParams(), null)).Message);
            Assert.Contains("fai.mask_path", Assert.Throws<ReferenceImageException>(() =>
                PeakFinderModel.Load(10, 10, new FaiParams { MaskPath = $"{dir}/none.npy" }, Synthetic.Geometry)).Message);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Reference_engine_processes_every_pixel_type()
    {
        var counts = Synthetic.Counts(9);
        var model = Synthetic.Model(new FaiParams { CutoffPick = 4 });
        var expected = Run(model, Frame.FromArray(counts, Synthetic.Width, Synthetic.Height));
        Assert.NotEmpty(expected);
        Assert.Equal(expected, Run(model, Frame.FromArray(counts.Select(v => (ushort)v).ToArray(), Synthetic.Width, Synthetic.Height)));
        Assert.Equal(expected, Run(model, Frame.FromArray(counts.Select(v => (uint)v).ToArray(), Synthetic.Width, Synthetic.Height)));
        Assert.Equal(expected, Run(model, Frame.FromArray(counts.Select(v => (short)v).ToArray(), Synthetic.Width, Synthetic.Height)));
        Assert.Equal(expected, Run(model, Frame.FromArray(counts.Select(v => (double)v).ToArray(), Synthetic.Width, Synthetic.Height)));

        static int[] Run(PeakFinderModel m, Frame f)
        {
            using var finder = PeakFinder.Create(m, f.Info.PixelType, Ocl.Reference);
            using (f)
                return finder.Process(f).Peaks.Select(p => p.Index).ToArray();
        }
    }
}
