using System.Runtime.InteropServices;
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

    [Fact]
    public async Task A_partial_frame_receivers_files_place_its_stacked_modules_where_the_detector_image_has_them()
    {
        // the detector: 2 rows of 2 modules of 24 x 5, 2 pixels apart across and down; receiver 1 of 2 takes the
        // bottom row, its frames (24 x 10) the two modules stacked
        var parts = new FrameParts(50, 12, [
            new ReceiverFrameParts(24, 10, [new FramePart(0, 0, 24, 5, 0, 0), new FramePart(0, 5, 24, 5, 26, 0)]),
            new ReceiverFrameParts(24, 10, [new FramePart(0, 0, 24, 5, 0, 7), new FramePart(0, 5, 24, 5, 26, 7)]),
        ]);
        var channel = new ScriptedChannel(SavingFolder.Info, 2)
        {
            Parts = parts,
            Metadata = new DetectorMetadata
            {
                XPixelSize = 75e-6, YPixelSize = 75e-6, Distance = 0.1, BeamCenterX = 25.5, BeamCenterY = 6.5,
                SensorMaterial = "Si", SensorThickness = 320e-6,
            },
        };
        var settings = new ReceiverSettings(new ReceiverConfig { Rank = 1, NbReceivers = 2, MemoryCap = "16MiB", SavingRoot = _folder.Root },
            new AcqParams<SimulatorDet>(), new LegacyProcParams { Saving = _folder.Params(perFile: 10) with { Enabled = true } });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using (var run = await ReceiverRun.PrepareAsync(settings, channel, timeout.Token))
            Assert.Null((await run.RunAsync(timeout.Token)).Error);

        var nxmx = NxmxReaderTests.ReadNxmx(Path.Combine(_folder.Root, "data", "scan_1_00000.h5"));
        Assert.Equal(NxmxReaderTests.Sha256([0, 1]), nxmx.GetProperty("sha256").GetString());
        var modules = nxmx.GetProperty("modules").EnumerateArray().ToArray();
        Assert.Equal(2, modules.Length);
        foreach (var (module, part) in modules.Zip(parts.PerReceiver[1].Parts))
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
}
