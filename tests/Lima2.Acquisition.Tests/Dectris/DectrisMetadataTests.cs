using System.Formats.Cbor;
using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>The detector facts of a series header reach the frame path as <see cref="ChannelStart.Metadata"/>.</summary>
public sealed class DectrisMetadataTests : IDisposable
{
    private readonly StandInDetector _detector = new(lingerMilliseconds: 1000);

    public void Dispose() => _detector.Dispose();

    private async Task<ChannelStart> Start(DectrisStreamVersion version, IReadOnlyList<byte[]> header)
    {
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, version));
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        _detector.Send(header);
        return await starting.WaitAsync(TimeSpan.FromSeconds(20));
    }

    private static byte[] V1Config(Dictionary<string, object> extra)
    {
        var config = new Dictionary<string, object>
        {
            ["x_pixels_in_detector"] = Info.Width,
            ["y_pixels_in_detector"] = Info.Height,
            ["bit_depth_image"] = 16,
            ["nimages"] = 3,
            ["ntrigger"] = 1,
        };
        foreach (var (key, value) in extra)
            config[key] = value;
        return JsonSerializer.SerializeToUtf8Bytes(config);
    }

    private static readonly byte[] V1HeaderPart = JsonSerializer.SerializeToUtf8Bytes(new { htype = "dheader-1.0", series = 1, header_detail = "basic" });

    [Fact]
    public async Task A_V1_basic_header_gives_pixel_size_distance_beam_centre_times_saturation_and_sensor()
    {
        var config = V1Config(new()
        {
            ["x_pixel_size"] = 7.5e-5,
            ["y_pixel_size"] = 7.6e-5,
            ["detector_distance"] = 0.125,
            ["beam_center_x"] = 512.5,
            ["beam_center_y"] = 498.25,
            ["count_time"] = 0.0099,
            ["frame_time"] = 0.01,
            ["countrate_correction_count_cutoff"] = 126367,
            ["sensor_material"] = "CdTe",
            ["sensor_thickness"] = 7.5e-4,
            ["photon_energy"] = 12400.0,
        });
        var start = await Start(DectrisStreamVersion.V1, [V1HeaderPart, config]);
        Assert.Equal(new DetectorMetadata
        {
            XPixelSize = 7.5e-5,
            YPixelSize = 7.6e-5,
            Distance = 0.125,
            BeamCenterX = 512.5,
            BeamCenterY = 498.25,
            CountTime = 0.0099,
            FrameTime = 0.01,
            SaturationValue = 126367,
            SensorMaterial = "CdTe",
            SensorThickness = 7.5e-4,
            // no wavelength key: the one of photon_energy
            IncidentWavelength = 12398.419843320026 / 12400.0,
        }, start.Metadata);
    }

    [Fact]
    public async Task Keys_a_V1_header_does_not_have_stay_unknown()
    {
        var start = await Start(DectrisStreamVersion.V1, [V1HeaderPart, V1Config(new() { ["count_time"] = 0.5, ["sensor_material"] = 3 })]);
        Assert.Equal(new DetectorMetadata { CountTime = 0.5 }, start.Metadata);
    }

    private static byte[] V2Start(Action<CborWriter> extra, int extraKeys)
    {
        var writer = new CborWriter(CborConformanceMode.Lax);
        writer.WriteTag(CborTag.SelfDescribeCbor);
        writer.WriteStartMap(5 + extraKeys);
        writer.WriteTextString("type");
        writer.WriteTextString("start");
        writer.WriteTextString("series_id");
        writer.WriteInt64(1);
        writer.WriteTextString("image_size_x");
        writer.WriteInt32(Info.Width);
        writer.WriteTextString("image_size_y");
        writer.WriteInt32(Info.Height);
        writer.WriteTextString("image_dtype");
        writer.WriteTextString("uint16");
        extra(writer);
        writer.WriteEndMap();
        return writer.Encode();
    }

    [Fact]
    public async Task A_V2_start_gives_the_metadata_with_the_distance_from_the_detector_translation()
    {
        var message = V2Start(w =>
        {
            w.WriteTextString("pixel_size_x");
            w.WriteDouble(7.5e-5);
            w.WriteTextString("pixel_size_y");
            w.WriteSingle(7.5e-5f);
            w.WriteTextString("detector_translation");
            w.WriteStartArray(3);
            w.WriteDouble(0.001);
            w.WriteDouble(-0.002);
            w.WriteDouble(0.25);
            w.WriteEndArray();
            w.WriteTextString("beam_center_x");
            w.WriteDouble(1030.5);
            w.WriteTextString("beam_center_y");
            w.WriteInt32(1065);
            w.WriteTextString("count_time");
            w.WriteDouble(0.002);
            w.WriteTextString("frame_time");
            w.WriteDouble(0.0025);
            w.WriteTextString("saturation_value");
            w.WriteInt64(65534);
            w.WriteTextString("sensor_material");
            w.WriteTextString("Si");
            w.WriteTextString("sensor_thickness");
            w.WriteDouble(4.5e-4);
        }, 10);
        var start = await Start(DectrisStreamVersion.V2, [message]);
        Assert.Equal(new DetectorMetadata
        {
            XPixelSize = 7.5e-5,
            YPixelSize = (double)7.5e-5f,
            Distance = 0.25,
            BeamCenterX = 1030.5,
            BeamCenterY = 1065,
            CountTime = 0.002,
            FrameTime = 0.0025,
            SaturationValue = 65534,
            SensorMaterial = "Si",
            SensorThickness = 4.5e-4,
        }, start.Metadata);
    }

    [Fact]
    public void A_V2_detector_distance_wins_over_the_translation_and_absent_keys_stay_unknown()
    {
        var message = V2Start(w =>
        {
            w.WriteTextString("detector_translation");
            w.WriteStartArray(3);
            w.WriteDouble(0);
            w.WriteDouble(0);
            w.WriteDouble(0.25);
            w.WriteEndArray();
            w.WriteTextString("detector_distance");
            w.WriteDouble(0.3);
        }, 2);
        Assert.Equal(new DetectorMetadata { Distance = 0.3 }, StreamV2.Decode(message).Header!.Metadata);
        Assert.Equal(new DetectorMetadata(), StreamV2.Decode(V2Start(_ => { }, 0)).Header!.Metadata);
    }
}
