using System.Text.Json;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Detectors.Jungfrau;
using Lima2.Hdf5;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>The NXmx pixel_mask of a JUNGFRAU detector: its gaps, as numpy lays out the 1030×514 modules on their own.</summary>
public sealed class NxmxPixelMaskTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_jungfrau_master_marks_chip_and_module_gaps_as_gap_and_nothing_else()
    {
        // 2 rows of 2 modules, 8 pixels apart across and 36 down, each 4x2 chips of 256 with 2-pixel chip gaps
        var geometry = JungfrauGeometry.Grid(2, 2, 8, 36, doublePixelGaps: true);
        var frame = new FrameInfo(geometry.Width, geometry.Height, PixelType.Gray16);
        var facts = new NxmxFacts(new DetectorMetadata { PixelMask = geometry.PixelMask() }, DateTimeOffset.UtcNow);
        var master = MasterFile.Write(_folder.Params(), new SavingRoot(_folder.Root), frame, 1, 0, facts);

        var check = JsonDocument.Parse(Python.Eval($$"""
            import h5py, json, numpy as np
            with h5py.File("{{master}}", "r") as f:
                m = f["entry/instrument/detector/pixel_mask"][()]
            expected = np.ones(({{frame.Height}}, {{frame.Width}}), np.uint32)  # bit 0: gap, no sensor
            for row in range(2):
                for column in range(2):
                    y0, x0 = row * (514 + 36), column * (1030 + 8)
                    for cy in range(2):
                        for cx in range(4):
                            y, x = y0 + cy * 258, x0 + cx * 258
                            expected[y:y + 256, x:x + 256] = 0
            print(json.dumps({"dtype": m.dtype.str, "shape": list(m.shape), "equal": bool((m == expected).all()),
                              "gaps": int((m == 1).sum()), "good": int((m == 0).sum())}))
            """)).RootElement;
        Assert.Equal("<u4", check.GetProperty("dtype").GetString());
        Assert.Equal([frame.Height, frame.Width], check.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(check.GetProperty("equal").GetBoolean());
        Assert.Equal(4 * 1024 * 512, check.GetProperty("good").GetInt32());
        Assert.Equal(frame.Width * frame.Height - 4 * 1024 * 512, check.GetProperty("gaps").GetInt32());

        var nxmx = NxmxReaderTests.ReadNxmx(master);
        Assert.Equal(frame.Width * frame.Height - 4 * 1024 * 512, nxmx.GetProperty("pixel_mask").GetProperty("masked").GetInt32());
    }

    [Fact]
    public void A_mask_of_another_size_than_the_frames_is_left_out_rather_than_misplaced()
    {
        var facts = new NxmxFacts(new DetectorMetadata { PixelMask = new uint[7] }, DateTimeOffset.UtcNow);
        var master = MasterFile.Write(_folder.Params(), new SavingRoot(_folder.Root), SavingFolder.Info, 1, 0, facts);

        Assert.Equal(JsonValueKind.Null, NxmxReaderTests.ReadNxmx(master).GetProperty("pixel_mask").ValueKind);
    }
}
