using System.Runtime.InteropServices;
using Lima2.Acquisition.Saving;
using Lima2.Acquisition.Tests.Dectris;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>
/// The files of a DECTRIS stream carry the geometry of its series header (the emulator's, as the SIMPLON stand-in
/// sends it): pixel size, distance, beam centre, wavelength, sensor and pixel mask, read back through dxtbx's NXmx rules
/// and h5py.
/// </summary>
public sealed class NxmxDectrisTests : IDisposable
{
    private readonly SavingFolder _folder = new();
    private readonly StandInDetector _detector = new(lingerMilliseconds: 1000);

    public void Dispose()
    {
        _detector.Dispose();
        _folder.Dispose();
    }

    [Theory]
    [InlineData(DectrisStreamVersion.V1)]
    [InlineData(DectrisStreamVersion.V2)]
    public async Task A_header_with_detail_all_gives_the_files_pixel_size_distance_beam_centre_wavelength_and_pixel_mask(DectrisStreamVersion version)
    {
        var frame = SavingFolder.Info;
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, version));
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        if (version == DectrisStreamVersion.V1)
            _detector.Send(StreamV1Writer.Header(1, "all", frame, 3));
        else
            _detector.Send([new StreamV2Writer().Start(1, frame, 3, pixelMask: true)]);
        var start = await starting.WaitAsync(TimeSpan.FromSeconds(20));

        var root = new SavingRoot(_folder.Root);
        var saving = _folder.Params(perFile: 3);
        var facts = new NxmxFacts(start.Metadata, DateTimeOffset.UtcNow);
        await using (var sink = new Hdf5FrameSink(saving, start.Frame, root, new SinkOptions(ExpectedFrames: 3, Facts: facts)))
        {
            for (var i = 0; i < 3; i++)
            {
                using var f = SavingFolder.Frame(i, i);
                await sink.WriteAsync(f, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        var master = MasterFile.Write(saving, root, start.Frame, 1, 3, facts);

        foreach (var file in new[] { Path.Combine(root.Root, "data", "scan_0_00000.h5"), master })
        {
            var nxmx = NxmxReaderTests.ReadNxmx(file);
            Assert.Equal(NxmxReaderTests.Sha256([0, 1, 2]), nxmx.GetProperty("sha256").GetString());
            Assert.Equal([75e-6, 75e-6], nxmx.GetProperty("pixel_size").EnumerateArray().Select(e => e.GetDouble()));
            Assert.Equal(0.2, nxmx.GetProperty("distance").GetDouble());
            Assert.Equal(frame.Width / 2.0, nxmx.GetProperty("beam_center").EnumerateArray().First().GetDouble(), 1e-12);
            Assert.Equal(frame.Height / 2.0, nxmx.GetProperty("beam_center").EnumerateArray().Last().GetDouble(), 1e-12);
            Assert.Equal((frame.Width / 2.0, frame.Height / 2.0), (nxmx.GetProperty("beam_center_x").GetDouble(), nxmx.GetProperty("beam_center_y").GetDouble()));
            Assert.Equal(DetectorMetadata.PlanckSpeedOfLightEvAngstrom / EmulatedDetector.PhotonEnergy, nxmx.GetProperty("wavelength").GetDouble());
            Assert.Equal("Si", nxmx.GetProperty("sensor_material").GetString());
            Assert.Equal(450e-6, nxmx.GetProperty("sensor_thickness").GetDouble());

            // the detector's mask as it sent it: dead (bit 1), hot (bit 3) and noisy (bit 4) at the start of row 1
            var expected = new uint[frame.Width * frame.Height];
            (expected[frame.Width], expected[frame.Width + 1], expected[frame.Width + 2]) = (1u << 1, 1u << 3, 1u << 4);
            var mask = Hdf5.H5PyView.Read(file, "/entry/instrument/detector/pixel_mask");
            Assert.Equal("<u4", mask.Dtype);
            Assert.Equal([frame.Height, frame.Width], mask.Shape);
            Assert.Equal(MemoryMarshal.AsBytes(expected.AsSpan()).ToArray(), mask.Data);
            var read = nxmx.GetProperty("pixel_mask");
            Assert.Equal(3, read.GetProperty("masked").GetInt32());
            Assert.False(read.GetProperty("applied").GetBoolean());
        }
    }
}
