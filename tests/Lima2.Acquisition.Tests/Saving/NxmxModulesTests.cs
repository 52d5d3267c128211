using System.Runtime.InteropServices;
using System.Text.Json;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Jungfrau;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>
/// The master of a partial-frame dispatch (JUNGFRAU modules over receivers) describes every module as an
/// NXdetector_module, and a reader following dxtbx's NXmx rules places each where the detector's image has it.
/// </summary>
public sealed class NxmxModulesTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_partial_frame_master_places_each_jungfrau_module_where_the_detector_image_has_it()
    {
        // 4 modules as 2 rows of 2 (8 pixels apart across, 36 down); receiver r stacks modules 2r and 2r + 1, as a
        // JUNGFRAU receiver under modules dispatch does
        var detector = JungfrauGeometry.Grid(2, 2, 8, 36, doublePixelGaps: true);
        var stack = JungfrauGeometry.Grid(2, 1, 0, 0, doublePixelGaps: true);
        var parts = new FrameParts(detector.Width, detector.Height, [.. Enumerable.Range(0, 2).Select(rank =>
            new ReceiverFrameParts(stack.Width, stack.Height, [.. Enumerable.Range(0, 2).Select(i => new FramePart(
                0, i * detector.ModuleHeight, detector.ModuleWidth, detector.ModuleHeight,
                detector.Modules[2 * rank + i].X, detector.Modules[2 * rank + i].Y))]))]);
        var metadata = new DetectorMetadata
        {
            XPixelSize = 75e-6, YPixelSize = 75e-6, Distance = 0.1, BeamCenterX = 1000.5, BeamCenterY = 600.25,
            SensorMaterial = "Si", SensorThickness = 320e-6, PixelMask = stack.PixelMask(),
        };
        var frame = new FrameInfo(stack.Width, stack.Height, PixelType.Gray16);
        var master = PartialFrameMaster.Write(_folder.Params(), new SavingRoot(_folder.Root), frame, parts, [0, 0], checkFiles: false,
            new NxmxFacts(metadata, DateTimeOffset.UtcNow), replace: false);

        var nxmx = NxmxReaderTests.ReadNxmx(master);
        Assert.Equal([0, detector.Height, detector.Width], nxmx.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        var modules = nxmx.GetProperty("modules").EnumerateArray().ToArray();
        Assert.Equal(4, modules.Length);
        for (var m = 0; m < 4; m++)
        {
            var (x, y) = detector.Modules[m];
            var module = modules[m];
            Assert.Equal($"/entry/instrument/detector/module_{m}", module.GetProperty("name").GetString());
            Assert.Equal([y, x], module.GetProperty("data_origin").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal([514, 1030], module.GetProperty("data_size").EnumerateArray().Select(e => e.GetInt32()));
            // its first pixel's corner sits where the image's pixel (x, y) is: x pixels along -x and y along -y from
            // the image's first one, which is (beam centre · pixel) from the beam; so the beam is at the same image
            // pixel whichever module a reader asks
            var origin = module.GetProperty("origin").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal((1000.5 - x) * 75e-6, origin[0], 1e-15);
            Assert.Equal((600.25 - y) * 75e-6, origin[1], 1e-15);
            Assert.Equal(0.1, origin[2], 1e-15);
            Assert.Equal([-1.0, 0, 0], module.GetProperty("fast").EnumerateArray().Select(e => e.GetDouble()));
            Assert.Equal([0, -1.0, 0], module.GetProperty("slow").EnumerateArray().Select(e => e.GetDouble()));
            Assert.Equal(1000.5, module.GetProperty("beam_center")[0].GetDouble(), 1e-9);
            Assert.Equal(600.25, module.GetProperty("beam_center")[1].GetDouble(), 1e-9);
            Assert.Equal(0.1, module.GetProperty("distance").GetDouble(), 1e-15);
            // dxtbx's per-panel mask: a module's slice of pixel_mask has its chip gaps only
            Assert.Equal(1030 * 514 - 1024 * 512, module.GetProperty("masked").GetInt32());
        }

        // the master's mask is the detector's: the receivers' chip gaps at their modules' places, gaps between modules
        var mask = Hdf5.H5PyView.Read(master, "/entry/instrument/detector/pixel_mask");
        Assert.Equal([detector.Height, detector.Width], mask.Shape);
        Assert.Equal(MemoryMarshal.AsBytes(detector.PixelMask().AsSpan()).ToArray(), mask.Data);
    }

    /// <summary>
    /// The detector: 2 rows of 2 modules of 24 x 5, 2 pixels apart across and down; receiver 1 of 2 takes the bottom
    /// row, its frames (24 x 10) the two modules stacked.
    /// </summary>
    internal static readonly FrameParts TwoRows = new(50, 12, [
        new ReceiverFrameParts(24, 10, [new FramePart(0, 0, 24, 5, 0, 0), new FramePart(0, 5, 24, 5, 26, 0)]),
        new ReceiverFrameParts(24, 10, [new FramePart(0, 0, 24, 5, 0, 7), new FramePart(0, 5, 24, 5, 26, 7)]),
    ]);

    private static DetectorMetadata Metadata(double beamX, double beamY) => new()
    {
        XPixelSize = 75e-6, YPixelSize = 75e-6, Distance = 0.1, BeamCenterX = beamX, BeamCenterY = beamY,
        SensorMaterial = "Si", SensorThickness = 320e-6,
    };

    /// <summary>Receiver 1's first file of a 2-frame partial-dispatch run over <see cref="TwoRows"/>.</summary>
    private async Task<string> ReceiverOneFile(DetectorMetadata metadata)
    {
        var channel = new ScriptedChannel(SavingFolder.Info, 2) { Parts = TwoRows, Metadata = metadata };
        var settings = new ReceiverSettings(new ReceiverConfig { Rank = 1, NbReceivers = 2, MemoryCap = "16MiB", SavingRoot = _folder.Root },
            new AcqParams<SimulatorDet>(), new LegacyProcParams { Saving = _folder.Params(perFile: 10) with { Enabled = true } });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using (var run = await ReceiverRun.PrepareAsync(settings, channel, timeout.Token))
            Assert.Null((await run.RunAsync(timeout.Token)).Error);
        return Path.Combine(_folder.Root, "data", "scan_1_00000.h5");
    }

    [Fact]
    public async Task A_partial_frame_receivers_files_place_its_stacked_modules_where_the_detector_image_has_them()
    {
        var nxmx = NxmxReaderTests.ReadNxmx(await ReceiverOneFile(Metadata(25.5, 6.5)));
        Assert.Equal(NxmxReaderTests.Sha256([0, 1]), nxmx.GetProperty("sha256").GetString());
        var modules = nxmx.GetProperty("modules").EnumerateArray().ToArray();
        Assert.Equal(2, modules.Length);
        foreach (var (module, part) in modules.Zip(TwoRows.PerReceiver[1].Parts))
        {
            Assert.Equal([part.SourceY, part.SourceX], module.GetProperty("data_origin").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal([5, 24], module.GetProperty("data_size").EnumerateArray().Select(e => e.GetInt32()));
            // the module's first pixel is the detector image's pixel (DetectorX, DetectorY), not the stack's
            var origin = module.GetProperty("origin").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal((25.5 - part.DetectorX) * 75e-6, origin[0], 1e-15);
            Assert.Equal((6.5 - part.DetectorY) * 75e-6, origin[1], 1e-15);
            Assert.Equal(0.1, origin[2], 1e-15);
        }
    }

    [Fact]
    public async Task A_partial_frame_receivers_beam_center_is_the_pixel_of_its_frames_the_beam_hits_the_same_physical_pixel_as_the_masters()
    {
        // the beam on receiver 1's second module (detector pixel (30, 9)), which its frames hold at rows 5-9
        var metadata = Metadata(30.5, 9.25);
        var receiver = NxmxReaderTests.ReadNxmx(await ReceiverOneFile(metadata));
        var master = NxmxReaderTests.ReadNxmx(PartialFrameMaster.Write(_folder.Params(perFile: 10), new SavingRoot(_folder.Root),
            SavingFolder.Info, TwoRows, [2, 2], checkFiles: false, new NxmxFacts(metadata, DateTimeOffset.UtcNow), replace: true));

        // beam_center_x/y as a reader takes them: a position in the file's frames, here the stack's second module
        Assert.Equal((30.5 - 26, 9.25 - 7 + 5), BeamCenter(receiver));
        Assert.Equal((30.5, 9.25), BeamCenter(master));
        // the pixel there, placed by each file's own geometry (its module's chain), is one place in the lab: the
        // master's pixel the beam hits, and the beam (the z axis) crosses it
        var (inReceiver, inMaster) = (PixelCentre(receiver), PixelCentre(master));
        Assert.Equal(inMaster[0], inReceiver[0], 1e-12);
        Assert.Equal(inMaster[1], inReceiver[1], 1e-12);
        Assert.Equal(inMaster[2], inReceiver[2], 1e-12);
        Assert.True(Math.Abs(inReceiver[0]) <= 75e-6 / 2 && Math.Abs(inReceiver[1]) <= 75e-6 / 2, $"the beam misses the pixel centred at {string.Join(", ", inReceiver)}");
        // the geometry agrees: the chain of the module holding that pixel puts the beam at the same frame position
        var module = ModuleHolding(receiver, 4, 7);
        Assert.Equal(4.5, module.GetProperty("beam_center")[0].GetDouble(), 1e-9);
        Assert.Equal(7.25, module.GetProperty("beam_center")[1].GetDouble(), 1e-9);
    }

    [Fact]
    public async Task A_partial_frame_receiver_whose_modules_the_beam_misses_gives_no_beam_center_rather_than_a_pixel_of_another_module()
    {
        // the beam on receiver 0's modules: receiver 1's frames have no pixel it hits, and its stacked modules no
        // common grid to extend (receiver 1's second module's grid would put it on its first module's pixels)
        var receiver = NxmxReaderTests.ReadNxmx(await ReceiverOneFile(Metadata(30.5, 2.25)));

        Assert.Equal(JsonValueKind.Null, receiver.GetProperty("beam_center_x").ValueKind);
        Assert.Equal(JsonValueKind.Null, receiver.GetProperty("beam_center_y").ValueKind);
        // its modules are still placed by their chains, the beam where the detector's image has it
        var second = receiver.GetProperty("modules")[1];
        Assert.Equal((30.5 - 26) * 75e-6, second.GetProperty("origin")[0].GetDouble(), 1e-15);
        Assert.Equal((2.25 - 7) * 75e-6, second.GetProperty("origin")[1].GetDouble(), 1e-15);
    }

    private static (double X, double Y) BeamCenter(JsonElement nxmx) =>
        (nxmx.GetProperty("beam_center_x").GetDouble(), nxmx.GetProperty("beam_center_y").GetDouble());

    /// <summary>The module (dxtbx's panel) whose pixels in the frames hold (<paramref name="x"/>, <paramref name="y"/>).</summary>
    private static JsonElement ModuleHolding(JsonElement nxmx, int x, int y) => nxmx.GetProperty("modules").EnumerateArray().Single(m =>
    {
        var (origin, size) = (m.GetProperty("data_origin"), m.GetProperty("data_size"));
        return y >= origin[0].GetInt32() && y < origin[0].GetInt32() + size[0].GetInt32()
               && x >= origin[1].GetInt32() && x < origin[1].GetInt32() + size[1].GetInt32();
    });

    /// <summary>Where the centre of the frames' pixel at the file's beam_center_x/y is in the lab (m), by its module's chain.</summary>
    private static double[] PixelCentre(JsonElement nxmx)
    {
        var (bx, by) = BeamCenter(nxmx);
        var (x, y) = ((int)Math.Floor(bx), (int)Math.Floor(by));
        var module = ModuleHolding(nxmx, x, y);
        var (row, column) = (y - module.GetProperty("data_origin")[0].GetInt32(), x - module.GetProperty("data_origin")[1].GetInt32());
        var (pixelX, pixelY) = (module.GetProperty("pixel_size")[0].GetDouble(), module.GetProperty("pixel_size")[1].GetDouble());
        return [.. Enumerable.Range(0, 3).Select(i => module.GetProperty("origin")[i].GetDouble()
            + module.GetProperty("fast")[i].GetDouble() * pixelX * (column + 0.5)
            + module.GetProperty("slow")[i].GetDouble() * pixelY * (row + 0.5))];
    }
}
