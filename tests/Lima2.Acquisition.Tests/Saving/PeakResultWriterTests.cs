using System.Runtime.InteropServices;
using System.Text.Json;
using Lima2.Hdf5;
using Lima2.Acquisition.Saving;
using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;
using Lima2.PeakFinding;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>The peak finder's results on simulator frames, written by <see cref="Hdf5PeakResultWriter"/> and read back
/// with h5py and pyFAI 0.21.3.</summary>
public sealed class PeakResultWriterTests : IDisposable
{
    private const int Width = 160, Height = 128;
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly FrameGenerator Generator = FrameGenerator.Create(new GeneratorParams
    {
        Type = GeneratorType.Diffraction,
        Width = Width,
        Height = Height,
        Diffraction = new DiffractionParams { NbBraggPeaks = 6, Seed = 3, BraggIntensityMin = 800, Rings = [new Ring { Radius = 40 }] },
    });

    /// <summary>A 4-pixel-wide vertical gap at columns 100..103, as between detector modules.</summary>
    private static byte[] Gap() =>
        Enumerable.Range(0, Width * Height).Select(i => i % Width is >= 100 and < 104 ? (byte)1 : (byte)0).ToArray();

    private static PeakFinderModel Model(FaiParams fai)
    {
        const double pixel = 75e-6;
        var geometry = new Geometry(Distance: 0.12, Poni1: (Height - 1) / 2.0 * pixel, Poni2: (Width - 1) / 2.0 * pixel,
            Rot1: 0, Rot2: 0, Rot3: 0, PixelSize1: pixel, PixelSize2: pixel);
        return PeakFinderModel.Create(Width, Height, geometry, Gap(), fai);
    }

    private static readonly FaiParams Fai = new() { CutoffPick = 5, NbBins = 48, AccNbFramesXfer = 2 };

    private PeakSavingChannels Channels(bool sparse = true, bool accumulations = false, int perFile = 2,
        FileExistsPolicy policy = FileExistsPolicy.Abort, string basePath = "smx") => new(
        _folder.Params(perFile: perFile, basePath: basePath) with { Enabled = sparse, FileExistsPolicy = policy },
        _folder.Params(perFile: perFile, basePath: basePath) with { Enabled = accumulations, FilenamePrefix = "acc_corrected" },
        _folder.Params(perFile: perFile, basePath: basePath) with { Enabled = accumulations, FilenamePrefix = "acc_peaks" });

    /// <summary>Runs the C# reference finder on frames 0..frames-1 and writes every result as the server's node does.</summary>
    private List<PeakFrameResult> Run(PeakFinderModel model, PeakSavingChannels channels, int frames, PeakSavingOptions? options = null)
    {
        using var finder = PeakFinder.Create(model, PixelType.Gray16, new PeakFinderOptions { Backend = PeakFinderBackend.Reference });
        using var writer = new Hdf5PeakResultWriter(channels, new SavingRoot(_folder.Root), options);
        writer.Begin(SparseLayout.Of(model));
        var results = new List<PeakFrameResult>();
        for (var i = 0; i < frames; i++)
        {
            var pixels = new byte[Generator.Info.ByteSize];
            Generator.Render(i, pixels);
            using var frame = Frame.FromArray(MemoryMarshal.Cast<byte, ushort>(pixels).ToArray(), Width, Height, index: 100 + i, receiverIndex: i);
            var result = finder.Process(frame);
            results.Add(result);
            writer.Write(result);
        }
        writer.Complete();
        Assert.Equal(channels.Sparse.Enabled ? frames : 0, writer.FramesWritten);
        return results;
    }

    private string File(string name) => Path.Combine(_folder.Root, "smx", name);

    private static List<JsonElement> Check(string outDir, params string[] files)
    {
        var output = Python.Run(PythonScripts.Path("sparse_check.py"), ["/entry_0000", outDir, .. files]);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{'))
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    [Fact]
    public void Sparse_files_roll_over_and_hold_pyFAIs_CSR_layout_with_the_frame_indices()
    {
        var model = Model(Fai);
        var results = Run(model, Channels(), 5);

        var names = Directory.GetFiles(Path.Combine(_folder.Root, "smx")).Select(f => Path.GetFileName(f)).Order().ToArray();
        Assert.Equal(["scan_0_00000.h5", "scan_0_00001.h5", "scan_0_00002.h5"], names);
        var infos = Check(_folder.Root, names.Select(File).ToArray());
        for (var f = 0; f < 3; f++)
        {
            var info = infos[f];
            var mine = results.Skip(2 * f).Take(2).ToList();
            var pixels = mine.Sum(r => r.Sparse.Index.Length);
            var sparse = info.GetProperty("sparse");
            void Is(string name, string dtype, params long[] shape)
            {
                Assert.Equal(dtype, sparse.GetProperty(name).GetProperty("dtype").GetString());
                Assert.Equal(shape, sparse.GetProperty(name).GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
            }
            Is("frame_ptr", "<u4", mine.Count + 1);
            Is("index", "<u4", pixels);
            Is("intensity", "<f4", pixels);
            Is("background_avg", "<f4", mine.Count, model.NbBins);
            Is("background_std", "<f4", mine.Count, model.NbBins);
            Is("errors", "<f4", mine.Count, model.NbBins);
            Is("radius", "<f4", model.NbBins);
            Is("mask", "<f4", Height, Width);
            Is("dummy", "<f4");
            Is("frame_idx", "<i8", mine.Count);
            long at = 0;
            Assert.Equal(new[] { 0L }.Concat(mine.Select(r => at += r.Sparse.Index.Length)), Longs(info, "frame_ptr"));
            Assert.Equal(mine.Select(r => r.FrameIndex), Longs(info, "frame_idx"));
            Assert.Equal("NXentry", info.GetProperty("groups").GetProperty("/entry_0000").GetString());
            Assert.Equal("NXdata", info.GetProperty("groups").GetProperty("/entry_0000/sparse_frames").GetString());
            Assert.Equal("NXdata", info.GetProperty("groups").GetProperty("/entry_0000/peaks").GetString());
            Assert.Equal("background_avg", info.GetProperty("signal").GetString());
            Assert.Equal([".", "radius"], info.GetProperty("axes").EnumerateArray().Select(e => e.GetString()));

            // every dataset pyFAI's own save_sparse writes for these frames is here, of the same kind and rank
            foreach (var dataset in info.GetProperty("pyfai_sparse").EnumerateObject().Where(d => d.Name != "script"))
            {
                Assert.True(sparse.TryGetProperty(dataset.Name, out var ours), $"pyFAI writes {dataset.Name}, we do not");
                Assert.Equal(dataset.Value.GetProperty("dtype").GetString()![1], ours.GetProperty("dtype").GetString()![1]);
                Assert.Equal(dataset.Value.GetProperty("shape").GetArrayLength(), ours.GetProperty("shape").GetArrayLength());
            }
        }
    }

    [Fact]
    public void Frames_densified_by_pyFAI_give_the_kept_pixels_exactly_and_the_finders_background_elsewhere()
    {
        var model = Model(Fai);
        var results = Run(model, Channels(perFile: 10), 3);
        var info = Check(_folder.Root, File("scan_0_00000.h5")).Single();
        Assert.Equal(3, Longs(info, "frame_idx").Length);
        var dense = MemoryMarshal.Cast<byte, float>(System.IO.File.ReadAllBytes(Path.Combine(_folder.Root, "scan_0_00000.h5.dense")));
        Assert.Equal(3 * Width * Height, dense.Length);
        for (var k = 0; k < results.Count; k++)
        {
            var sparse = results[k].Sparse;
            var frame = dense.Slice(k * Width * Height, Width * Height);
            Assert.NotEmpty(sparse.Index);
            var kept = new HashSet<int>(sparse.Index);
            for (var j = 0; j < sparse.Index.Length; j++)
                Assert.Equal(sparse.Intensity[j], frame[sparse.Index[j]]);
            var bins = model.NbBins;
            for (var i = 0; i < frame.Length; i++)
            {
                if (model.Mask[i] != 0)
                {
                    Assert.True(float.IsNaN(frame[i]), $"masked pixel {i} reads {frame[i]}");
                    continue;
                }
                if (kept.Contains(i))
                    continue;
                // the finder's own background model: linear between bin centres, flat beyond the end bins
                var pos = Math.Min(model.BackgroundPosition[i], bins - 1);
                var b = (int)pos;
                var f = pos - b;
                var expected = b + 1 < bins ? sparse.BackgroundAvg[b] * (1 - f) + sparse.BackgroundAvg[b + 1] * f : sparse.BackgroundAvg[b];
                Assert.True(Math.Abs(frame[i] - expected) <= 1e-4 + 1e-5 * Math.Abs(expected), $"frame {k} pixel {i}: {frame[i]} vs {expected}");
            }
        }
    }

    [Fact]
    public void The_CXI_peak_tables_hold_the_finders_peaks_which_are_the_planted_ones()
    {
        var results = Run(Model(Fai), Channels(perFile: 10), 4, new PeakSavingOptions(MaxPeaks: 32));
        var info = Check(_folder.Root, File("scan_0_00000.h5")).Single();
        Assert.Equal(new long[] { 4, 32 }, info.GetProperty("peaks").GetProperty("peakXPosRaw").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(results.Select(r => (long)r.Peaks.Length), Longs(info, "nPeaks"));
        foreach (var name in new[] { "peakTotalIntensity", "peakXPosRaw", "peakYPosRaw", "peakSNR" })
            Assert.True(info.GetProperty(name + "_padding_zero").GetBoolean(), $"{name} is not zero-padded");
        for (var k = 0; k < results.Count; k++)
        {
            var peaks = results[k].Peaks;
            Assert.Equal(peaks.Select(p => p.Intensity), Floats(info, "peakTotalIntensity", k));
            Assert.Equal(peaks.Select(p => p.Pos1), Floats(info, "peakXPosRaw", k));
            Assert.Equal(peaks.Select(p => p.Pos0), Floats(info, "peakYPosRaw", k));
            Assert.Equal(peaks.Select(p => p.Snr), Floats(info, "peakSNR", k));
            var x = Floats(info, "peakXPosRaw", k);
            var y = Floats(info, "peakYPosRaw", k);
            foreach (var planted in Generator.PlantedPeaks(k).Where(p => !(p.X > 97 && p.X < 106)))
                Assert.Contains(Enumerable.Range(0, x.Length), i => Math.Abs(x[i] - planted.X) <= 1.5 && Math.Abs(y[i] - planted.Y) <= 1.5);
        }
    }

    [Fact]
    public void Peaks_beyond_the_table_width_are_cut_and_counted_as_stored()
    {
        var results = Run(Model(Fai), Channels(perFile: 10), 2, new PeakSavingOptions(MaxPeaks: 2));
        Assert.All(results, r => Assert.True(r.Peaks.Length > 2));
        var info = Check(_folder.Root, File("scan_0_00000.h5")).Single();
        Assert.Equal([2L, 2L], Longs(info, "nPeaks"));
        Assert.Equal(results[1].Peaks.Take(2).Select(p => p.Pos1), Floats(info, "peakXPosRaw", 1));
    }

    [Fact]
    public void Accumulated_frames_go_to_their_own_channels_as_dense_float_frames()
    {
        var results = Run(Model(Fai), Channels(sparse: false, accumulations: true, perFile: 10), 5);
        var accumulated = results.Where(r => r.AccumulatedCorrected is not null).ToList();
        Assert.Equal(2, accumulated.Count);
        Assert.False(System.IO.File.Exists(File("scan_0_00000.h5")));
        foreach (var (prefix, pick) in new (string, Func<PeakFrameResult, float[]>)[] { ("acc_corrected", r => r.AccumulatedCorrected!), ("acc_peaks", r => r.AccumulatedPeaks!) })
        {
            var view = H5PyView.Read(File($"{prefix}_0_00000.h5"), "/entry_0000/instrument/detector/data");
            Assert.Equal(new long[] { 2, Height, Width }, view.Shape);
            Assert.Equal("<f4", view.Dtype);
            Assert.Equal(accumulated.SelectMany(r => MemoryMarshal.AsBytes(pick(r).AsSpan()).ToArray()), view.Data);
        }
    }

    [Fact]
    public void An_existing_file_stops_Begin_with_policy_abort_and_is_replaced_with_policy_overwrite()
    {
        var model = Model(Fai);
        Run(model, Channels(perFile: 10), 3);
        using (var writer = new Hdf5PeakResultWriter(Channels(perFile: 10), new SavingRoot(_folder.Root)))
        {
            var e = Assert.Throws<IOException>(() => writer.Begin(SparseLayout.Of(model)));
            Assert.Contains("scan_0_00000.h5 already exists", e.Message);
        }
        Run(model, Channels(perFile: 10, policy: FileExistsPolicy.Overwrite), 1);
        Assert.Equal([100L], Longs(Check(_folder.Root, File("scan_0_00000.h5")).Single(), "frame_idx"));
    }

    [Fact]
    public void A_base_path_outside_the_saving_root_is_refused_before_any_file_is_made()
    {
        using var writer = new Hdf5PeakResultWriter(Channels(basePath: "../elsewhere"), new SavingRoot(_folder.Root));
        Assert.Throws<UnauthorizedAccessException>(() => writer.Begin(SparseLayout.Of(Model(Fai))));
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(_folder.Root)!, "elsewhere")));
    }

    private static long[] Longs(JsonElement info, string name) => info.GetProperty(name).EnumerateArray().Select(e => e.GetInt64()).ToArray();

    private static float[] Floats(JsonElement info, string name, int row) =>
        info.GetProperty(name)[row].EnumerateArray().Select(e => e.GetSingle()).ToArray();
}
