using System.Text.Json;
using Lima2.Acquisition.Saving;
using Lima2.Hdf5;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>The NXdetector fields an NXmx reader needs, as h5py reads them from the files we write.</summary>
public sealed class NxmxMetadataTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Every field under the detector group with its value and @units, as JSON.</summary>
    private static JsonElement DetectorFields(string file) => JsonDocument.Parse(Python.Eval($$"""
        import h5py, json
        with h5py.File("{{file}}", "r") as f:
            d = f["entry/instrument/detector"]
            out = {}
            for name, item in d.items():
                if isinstance(item, h5py.Dataset) and item.shape == ():
                    v = item[()]
                    out[name] = {"value": v.decode() if isinstance(v, bytes) else "nan" if v != v else v.item(), "units": item.attrs.get("units"), "dtype": item.dtype.kind}
            print(json.dumps(out))
        """)).RootElement.Clone();

    [Fact]
    public async Task Receiver_and_master_files_carry_pixel_size_distance_beam_centre_times_and_saturation_with_units()
    {
        var acq = new Core.Parameters.Acquisition { NbFrames = 4, ExpoTime = 2000, LatencyTime = 500 };
        var det = new SimulatorDet
        {
            Generator = new GeneratorParams
            {
                Type = GeneratorType.Diffraction, Width = SavingFolder.Info.Width, Height = SavingFolder.Info.Height,
                Diffraction = new DiffractionParams { BeamCenter = new PointD { X = 10.25, Y = 4 }, NbBraggPeaks = 1 },
            },
        };
        await using var channel = new SimulatorChannel(acq, det);
        var start = await channel.StartAsync(CancellationToken.None);
        var root = new SavingRoot(_folder.Root);
        var saving = _folder.Params(perFile: 2);
        await using (var sink = new Hdf5FrameSink(saving, start.Frame, root, new SinkOptions(Facts: new NxmxFacts(start.Metadata, DateTimeOffset.UtcNow))))
        {
            for (var i = 0; i < 3; i++)
            {
                using var frame = SavingFolder.Frame(i, i);
                await sink.WriteAsync(frame, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        var master = MasterFile.Write(saving, root, start.Frame, 1, 3, new NxmxFacts(start.Metadata, DateTimeOffset.UtcNow));

        foreach (var file in new[] { Path.Combine(root.Root, "data", "scan_0_00000.h5"), Path.Combine(root.Root, "data", "scan_0_00001.h5"), master })
        {
            var fields = DetectorFields(file);
            void Is(string name, double value, string units)
            {
                Assert.True(fields.TryGetProperty(name, out var field), $"{file} has no {name}");
                Assert.Equal(value, field.GetProperty("value").GetDouble(), 1e-12);
                Assert.Equal(units, field.GetProperty("units").GetString());
                Assert.Equal("f", field.GetProperty("dtype").GetString());
            }
            Is("x_pixel_size", 75e-6, "m");
            Is("y_pixel_size", 75e-6, "m");
            Is("distance", 0.12, "m");
            Is("beam_center_x", 10.75, "pixel");
            Is("beam_center_y", 4.5, "pixel");
            Is("count_time", 0.002, "s");
            Is("frame_time", 0.0025, "s");
            Assert.Equal(65535, fields.GetProperty("saturation_value").GetProperty("value").GetInt64());
            Assert.Equal("i", fields.GetProperty("saturation_value").GetProperty("dtype").GetString());
            Assert.Equal("unknown", fields.GetProperty("sensor_material").GetProperty("value").GetString()); // the simulator has no sensor
            Assert.Equal("nan", fields.GetProperty("sensor_thickness").GetProperty("value").GetString()); // NXmx requires it: unknown is NaN
        }
    }

    [Fact]
    public void Sensor_material_is_a_string_field_and_unknown_facts_are_left_out()
    {
        var root = new SavingRoot(_folder.Root);
        var metadata = new DetectorMetadata { SensorMaterial = "CdTe", SensorThickness = 750e-6, CountTime = 0.01 };
        var master = MasterFile.Write(_folder.Params(), root, SavingFolder.Info, 1, 0, new NxmxFacts(metadata, DateTimeOffset.UtcNow));

        var fields = DetectorFields(master);
        Assert.Equal("CdTe", fields.GetProperty("sensor_material").GetProperty("value").GetString());
        Assert.Equal(750e-6, fields.GetProperty("sensor_thickness").GetProperty("value").GetDouble(), 1e-15);
        Assert.Equal("m", fields.GetProperty("sensor_thickness").GetProperty("units").GetString());
        string[] optional = ["x_pixel_size", "y_pixel_size", "distance", "beam_center_x", "beam_center_y", "count_time", "frame_time",
            "saturation_value", "sensor_thickness", "bit_depth_readout"];
        Assert.Equal(["count_time", "sensor_thickness"], fields.EnumerateObject().Select(p => p.Name).Where(optional.Contains).Order());
    }
}
