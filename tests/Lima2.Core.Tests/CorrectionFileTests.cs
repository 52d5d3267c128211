using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Hdf5;
using Lima2.TestSupport;

namespace Lima2.Core.Tests;

/// <summary>Mask, flat field and background read from HDF5 files that h5py wrote, as Lima2 users keep them.</summary>
public class CorrectionFileTests
{
    private const int Width = 37;
    private const int Height = 23;

    private static readonly GraphParts Hdf5Parts = new() { ReferenceImages = Hdf5ReferenceImageReader.Images };

    /// <summary>Runs one frame through a graph built from <paramref name="proc"/>; the saving channel's frame goes to <paramref name="capturePath"/>.</summary>
    private static async Task CorrectAsync(LegacyProcParams proc, Frame input, string capturePath)
    {
        var capture = new NpyCapture(capturePath);
        proc = proc with { Saving = new SavingParams { Enabled = true, BasePath = Path.GetDirectoryName(capturePath)! } };
        await using var graph = GraphBuilder.Build(proc, input.Info, OverloadPolicy.BackPressure, 1 << 20,
            Hdf5Parts with { SinkFactory = (_, _, _) => capture });
        var buffer = await graph.RentAsync(0, default);
        var frame = new Frame(buffer!.Value, input.Info, 0, 0);
        input.Data.Span.CopyTo(frame.Data.Span);
        await graph.SubmitAsync(frame, default);
        var summary = await graph.CompleteAsync();
        Assert.Equal(1, summary.Counters.Processed);
    }

    private sealed class NpyCapture(string path) : FrameConsumer<bool>("saving")
    {
        public override bool Compute(Frame frame) => true;

        public override ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
        {
            NpyFile.Write(path, frame);
            return default;
        }
    }

    private static Frame RandomFrame(PixelType type, int seed)
    {
        var info = new FrameInfo(Width, Height, type);
        var frame = new Frame(PooledBuffer.Unpooled(new byte[info.ByteSize]), info, 0, 0);
        var random = new Random(seed);
        if (type == PixelType.Gray16)
            foreach (ref var p in frame.Pixels<ushort>()) p = (ushort)random.Next(0, 65536);
        else
            foreach (ref var p in frame.Pixels<float>()) p = (float)(random.NextDouble() * 3000 - 200);
        return frame;
    }

    [Theory]
    [InlineData(PixelType.Gray16)]
    [InlineData(PixelType.Gray32f)]
    public async Task Mask_flat_field_and_background_from_hdf5_datasets_correct_frames_as_numpy_does(PixelType type)
    {
        using var dir = new TempDir();
        var d = dir.Path;
        // the three layouts users have: a bool mask in a NeXus-like file, a (1, H, W) float32 flat in silx's
        // file.h5::/path form, a uint16 background next to other datasets
        Python.Eval($$"""
            import h5py, numpy as np
            rng = np.random.default_rng(7)
            with h5py.File("{{d}}/mask.h5", "w") as f:
                f["entry/instrument/detector/pixel_mask"] = rng.random(({{Height}}, {{Width}})) > 0.1
            with h5py.File("{{d}}/flat.hdf5", "w") as f:
                flat = rng.uniform(0.5, 1.5, (1, {{Height}}, {{Width}})).astype(np.float32)
                flat[0, 3, 4] = 0
                f["flat"] = flat
            with h5py.File("{{d}}/background.h5", "w") as f:
                f["other"] = np.zeros(3)
                f["dark/mean"] = rng.integers(0, 400, ({{Height}}, {{Width}})).astype(np.uint16)
            """);
        using var input = RandomFrame(type, 11);
        NpyFile.Write($"{d}/in.npy", input);
        var proc = new LegacyProcParams
        {
            Mask = new ReferenceImage { Enabled = true, Path = $"{d}/mask.h5:/entry/instrument/detector/pixel_mask" },
            Flatfield = new ReferenceImage { Enabled = true, Path = $"{d}/flat.hdf5::/flat" },
            Background = new ReferenceImage { Enabled = true, Path = $"{d}/background.h5:/dark/mean" },
        };
        await CorrectAsync(proc, input, $"{d}/out.npy");

        // Lima2's order: background, flat field (normalised to a mean of 1 over its positive pixels), mask (0 = masked)
        var result = Python.Eval($$"""
            import h5py, numpy as np
            x = np.load("{{d}}/in.npy")
            mask = h5py.File("{{d}}/mask.h5", "r")["entry/instrument/detector/pixel_mask"][()]
            flat = h5py.File("{{d}}/flat.hdf5", "r")["flat"][0].astype(np.float64)
            bg = h5py.File("{{d}}/background.h5", "r")["dark/mean"][()].astype(np.float64)
            gain = np.where(flat > 0, flat[flat > 0].mean() / np.where(flat > 0, flat, 1), 0)
            def cast(v):
                if x.dtype.kind == "f":
                    return v.astype(x.dtype)
                v = np.sign(v) * np.floor(np.abs(v) + 0.5)
                return np.clip(v, np.iinfo(x.dtype).min, np.iinfo(x.dtype).max).astype(x.dtype)
            y = cast(x.astype(np.float64) - bg)
            y = cast(y.astype(np.float64) * gain)
            y[~mask] = 0
            out = np.load("{{d}}/out.npy")
            if x.dtype.kind == "f":
                same = np.allclose(out, y, rtol=1e-6, atol=1e-3)
            else:
                same = np.array_equal(out, y)
            changed = int((out != x).sum())
            print(same, out.dtype == x.dtype, changed, int((~mask).sum()), int((out == 0).sum()))
            """).Trim().Split(' ');
        Assert.Equal("True", result[0]);
        Assert.Equal("True", result[1]);
        Assert.True(int.Parse(result[2]) > Width * Height / 2, $"only {result[2]} pixels changed");
        Assert.True(int.Parse(result[4]) >= int.Parse(result[3]), "every masked pixel is 0");
    }

    [Theory]
    [InlineData("mask", "missing.h5:/mask", "missing.h5 does not exist")]
    [InlineData("flatfield", "ref.h5:/calib/nothing", "has no dataset /calib/nothing")]
    [InlineData("flatfield", "ref.h5:/nowhere/flat", "(there is no /nowhere)")]
    [InlineData("background", "ref.h5:/small", "has shape (4, 5), the frames have shape (23, 37)")]
    [InlineData("background", "ref.h5:/stack", "has shape (2, 23, 37), a reference image is (H, W) or (1, H, W)")]
    [InlineData("mask", "ref.h5:/names", "holds strings, not numbers")]
    [InlineData("mask", "ref.h5:/calib", "is not a dataset")]
    [InlineData("mask", "ref.h5", "names no dataset: write")]
    [InlineData("mask", "ref.tiff", "no reader for")]
    public async Task A_correction_image_that_cannot_be_used_is_a_params_error_on_its_path_field(string field, string path, string reason)
    {
        using var dir = new TempDir();
        var d = dir.Path;
        Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{d}}/ref.h5", "w") as f:
                f["calib/flat"] = np.ones(({{Height}}, {{Width}}))
                f["small"] = np.ones((4, 5), np.int32)
                f["stack"] = np.ones((2, {{Height}}, {{Width}}), np.uint8)
                f["names"] = np.array([b"a", b"b"])
            """);
        var image = new ReferenceImage { Enabled = true, Path = $"{d}/{path}" };
        var proc = field switch
        {
            "mask" => new LegacyProcParams { Mask = image },
            "flatfield" => new LegacyProcParams { Flatfield = image },
            _ => new LegacyProcParams { Background = image },
        };
        using var input = RandomFrame(PixelType.Gray16, 1);
        var e = await Assert.ThrowsAsync<ParamsException>(() => CorrectAsync(proc, input, $"{d}/out.npy"));
        var error = Assert.Single(e.Errors);
        Assert.Equal($"proc.{field}.path", error.Path);
        Assert.Contains(reason, error.Reason);
    }

    [Fact]
    public void Hdf5_paths_split_into_file_and_dataset_at_the_first_extension_followed_by_a_dataset()
    {
        var reader = Hdf5ReferenceImageReader.Instance;
        Assert.Equal("/data/run.h5/calib.h5", reader.FileOf("/data/run.h5/calib.h5:/mask.h5"));
        Assert.Equal("/data/m.NXS", reader.FileOf("/data/m.NXS::/entry/mask"));
        Assert.True(reader.CanRead("/data/m.cxi"));
        Assert.False(reader.CanRead("/data/mask.npy"));
        Assert.False(reader.CanRead("/data/mask.h5x:/m"));
    }
}
