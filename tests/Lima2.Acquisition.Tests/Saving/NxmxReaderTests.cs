using System.Security.Cryptography;
using System.Text.Json;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;
using Lima2.Hdf5;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>
/// The dense files and the master file read by readers not written here: a reader following dxtbx's NXmx rules
/// (<c>Python/nxmx_read.py</c>: required groups and attributes, the depends_on chain to ".", unit vectors, units),
/// silx (the default NXdata as an image stack) and NeXus' own <c>nxdir</c> (Debian's nexus-tools).
/// </summary>
public sealed class NxmxReaderTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>What the dxtbx-rules reader gets from <paramref name="file"/>.</summary>
    public static JsonElement ReadNxmx(string file)
    {
        var frames = Path.GetTempFileName();
        try
        {
            return LastJson(Python.Run(PythonScripts.Path("nxmx_read.py"), [file, frames]));
        }
        finally
        {
            File.Delete(frames);
        }
    }

    public static JsonElement ReadSilx(string file) => LastJson(Python.Run(PythonScripts.Path("silx_read.py"), [file]));

    private static JsonElement LastJson(string output) =>
        JsonDocument.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{'))).RootElement.Clone();

    public static string Sha256(IEnumerable<long> globals) =>
        Convert.ToHexStringLower(SHA256.HashData(globals.SelectMany(SavingFolder.Bytes).ToArray()));

    /// <summary>The simulator's detector (diffraction generator) with a wavelength, as a run of ours would save it.</summary>
    private static async Task<(FrameInfo Frame, DetectorMetadata Metadata)> SimulatorFacts()
    {
        var det = new SimulatorDet
        {
            Generator = new GeneratorParams
            {
                Type = GeneratorType.Diffraction, Width = SavingFolder.Info.Width, Height = SavingFolder.Info.Height,
                Diffraction = new DiffractionParams { BeamCenter = new PointD { X = 10.25, Y = 4 }, NbBraggPeaks = 1 },
            },
        };
        await using var channel = new SimulatorChannel(new Core.Parameters.Acquisition { NbFrames = 5 }, det);
        var start = await channel.StartAsync(CancellationToken.None);
        return (start.Frame, start.Metadata! with { IncidentWavelength = 0.9763, SensorMaterial = "Si", SensorThickness = 450e-6 });
    }

    [Fact]
    public async Task Dense_files_and_master_read_back_frames_pixel_size_and_geometry_through_dxtbx_rules_and_silx()
    {
        var (frame, metadata) = await SimulatorFacts();
        var started = new DateTimeOffset(2026, 12, 4, 22, 0, 0, TimeSpan.Zero);
        var facts = new NxmxFacts(metadata, started, SampleName: "lysozyme", InstrumentName: "ID29", SourceName: "ESRF");
        var root = new SavingRoot(_folder.Root);
        var saving = _folder.Params(perFile: 2);
        await using (var sink = new Hdf5FrameSink(saving, frame, root, new SinkOptions(ExpectedFrames: 5, Facts: facts)))
        {
            for (var i = 0; i < 5; i++)
            {
                using var f = SavingFolder.Frame(i, i);
                await sink.WriteAsync(f, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        var master = MasterFile.Write(saving, root, frame, 1, 5, facts);

        var files = new (string Path, long[] Frames)[]
        {
            (Path.Combine(root.Root, "data", "scan_0_00000.h5"), [0, 1]),
            (Path.Combine(root.Root, "data", "scan_0_00001.h5"), [2, 3]),
            (Path.Combine(root.Root, "data", "scan_0_00002.h5"), [4]),
            (master, [0, 1, 2, 3, 4]),
        };
        foreach (var (file, globals) in files)
        {
            var nxmx = ReadNxmx(file);
            Assert.Equal("/entry", nxmx.GetProperty("entry").GetString());
            Assert.Equal("/entry/data/data", nxmx.GetProperty("frames_path").GetString());
            Assert.Equal([globals.Length, frame.Height, frame.Width], nxmx.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal("<u2", nxmx.GetProperty("dtype").GetString());
            Assert.Equal(Sha256(globals), nxmx.GetProperty("sha256").GetString());
            Assert.Equal(started, DateTimeOffset.Parse(nxmx.GetProperty("start_time").GetString()!));
            Assert.True(DateTimeOffset.Parse(nxmx.GetProperty("end_time").GetString()!) > started);
            Assert.Equal(("ID29", "ESRF", "lysozyme"), (nxmx.GetProperty("instrument").GetString(), nxmx.GetProperty("source").GetString(),
                nxmx.GetProperty("sample").GetString()));
            // the values as stored, bit for bit, and the geometry the chain gives (one rounding of bc·px / px)
            Assert.Equal(0.9763, nxmx.GetProperty("wavelength").GetDouble());
            Assert.Equal("Si", nxmx.GetProperty("sensor_material").GetString());
            Assert.Equal(450e-6, nxmx.GetProperty("sensor_thickness").GetDouble());
            Assert.Equal([75e-6, 75e-6], nxmx.GetProperty("pixel_size").EnumerateArray().Select(e => e.GetDouble()));
            Assert.Equal(75e-6, nxmx.GetProperty("x_pixel_size").GetDouble());
            Assert.Equal(0.12, nxmx.GetProperty("distance").GetDouble());
            Assert.Equal(0.12, nxmx.GetProperty("distance_field").GetDouble());
            Assert.Equal(10.75, nxmx.GetProperty("beam_center").EnumerateArray().First().GetDouble(), 1e-12);
            Assert.Equal(4.5, nxmx.GetProperty("beam_center").EnumerateArray().Last().GetDouble(), 1e-12);
            Assert.Equal((10.75, 4.5), (nxmx.GetProperty("beam_center_x").GetDouble(), nxmx.GetProperty("beam_center_y").GetDouble()));
            Assert.Equal(["/entry/instrument/detector/module/fast_pixel_direction", "/entry/instrument/detector/module/module_offset",
                "/entry/instrument/detector/transformations/translation"], nxmx.GetProperty("chain").EnumerateArray().Select(e => e.GetString()));

            var silx = ReadSilx(file);
            Assert.Equal("/entry/data", silx.GetProperty("group").GetString());
            Assert.True(silx.GetProperty("valid").GetBoolean());
            Assert.True(silx.GetProperty("is_image").GetBoolean());
            Assert.Equal("image", silx.GetProperty("interpretation").GetString());
            Assert.Equal(Sha256(globals), silx.GetProperty("sha256").GetString());

            // the Lima2 layout a Lima2 client reads is there too, as links to the same frames
            Assert.Equal(Sha256(globals), Convert.ToHexStringLower(SHA256.HashData(
                Hdf5.H5PyView.Read(file, "/entry_0000/instrument/detector/data").Data)));
        }
    }

    [Fact]
    public void Unknown_geometry_reads_as_nan_and_unknown_never_as_an_invented_number()
    {
        var root = new SavingRoot(_folder.Root);
        var master = MasterFile.Write(_folder.Params(), root, SavingFolder.Info, 1, 0, new NxmxFacts(null, DateTimeOffset.UtcNow));

        var nxmx = ReadNxmx(master);
        Assert.Equal("unknown", nxmx.GetProperty("sensor_material").GetString());
        Assert.Equal(("unknown", "unknown", "unknown"), (nxmx.GetProperty("instrument").GetString(), nxmx.GetProperty("source").GetString(),
            nxmx.GetProperty("sample").GetString()));
        foreach (var name in new[] { "wavelength", "sensor_thickness", "distance" })
            Assert.Equal("nan", nxmx.GetProperty(name).GetString());
        Assert.All(nxmx.GetProperty("pixel_size").EnumerateArray(), e => Assert.Equal("nan", e.GetString()));
        foreach (var optional in new[] { "x_pixel_size", "distance_field", "beam_center_x", "beam_center_y" })
            Assert.Equal(JsonValueKind.Null, nxmx.GetProperty(optional).ValueKind);
    }

    /// <remarks>
    /// Debian's NeXus API (4.4) stops at array attributes ("array attribute not understood by this api"), which NXmx
    /// requires on every axis (<c>@vector</c>, <c>@offset</c>): DECTRIS' files meet the same wall. So nxdir lists the
    /// tree level by level (<c>.</c> matches one level and does not read the attributes of what it lists) and reads
    /// the values it can.
    /// </remarks>
    [Fact]
    public async Task Nexus_tools_nxdir_lists_the_nxmx_tree_with_its_classes_and_reads_its_values()
    {
        var (frame, metadata) = await SimulatorFacts();
        var root = new SavingRoot(_folder.Root);
        var saving = _folder.Params(perFile: 2);
        await using (var sink = new Hdf5FrameSink(saving, frame, root, new SinkOptions(ExpectedFrames: 2,
                         Facts: new NxmxFacts(metadata, DateTimeOffset.UtcNow, InstrumentName: "ID29"))))
        {
            for (var i = 0; i < 2; i++)
            {
                using var f = SavingFolder.Frame(i, i);
                await sink.WriteAsync(f, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        var master = MasterFile.Write(saving, root, frame, 1, 2, new NxmxFacts(metadata, DateTimeOffset.UtcNow, InstrumentName: "ID29"));

        foreach (var file in new[] { Path.Combine(root.Root, "data", "scan_0_00000.h5"), master })
        {
            var tree = string.Concat(new[] { "/entry/.", "/entry/./.", "/entry/instrument/detector/.", "/entry/instrument/detector/module/." }
                .Select(path => Nxdir(file, "-p", path, "--path-mode", "both")));
            foreach (var node in new[]
                     {
                         "/entry:NXentry/data:NXdata/data:SDS[2,10,24]", "/entry:NXentry/definition:SDS",
                         "/entry:NXentry/sample:NXsample/", "/entry:NXentry/source:NXsource/",
                         "/entry:NXentry/instrument:NXinstrument/beam:NXbeam/incident_wavelength:SDS[1]",
                         "/entry:NXentry/instrument:NXinstrument/detector:NXdetector/module:NXdetector_module/fast_pixel_direction:SDS[1]",
                         "/entry:NXentry/instrument:NXinstrument/detector:NXdetector/transformations:NXtransformations/",
                         "/entry:NXentry/instrument:NXinstrument/detector:NXdetector/depends_on:SDS",
                     })
                Assert.Contains(node, tree);
            var values = string.Concat(new[] { "/entry/definition", "/entry/instrument/name", "/entry/instrument/detector/x_pixel_size" }
                .Select(path => Nxdir(file, "-p", path, "-o")));
            Assert.Contains("/entry/definition[4]=NXmx", values);
            Assert.Contains("/entry/instrument/name[4]=ID29", values);
            Assert.Contains("/entry/instrument/detector/x_pixel_size[1]=7.5e-05", values);
        }
    }

    private static string Nxdir(string file, params string[] arguments)
    {
        using var nxdir = ChildProcess.Start("nxdir", [file, .. arguments]);
        Assert.True(nxdir.WaitForExit(TimeSpan.FromSeconds(60)) == 0, $"nxdir {string.Join(' ', arguments)}: {nxdir.Output}");
        return nxdir.Output;
    }
}
