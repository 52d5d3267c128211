using System.Text.Json;
using Lima2.Core.Parameters;
using Lima2.Protocol;
using Lima2.Server.Control;

namespace Lima2.Server.Tests;

/// <summary>The control's Jungfrau plugin: what it says about the detector and the det block it takes from Lima2's clients.</summary>
public sealed class JungfrauDetectorTests
{
    [Fact]
    public void Det_info_names_the_Jungfrau_plugin_and_the_assembled_4M_image_with_its_gaps()
    {
        using var detector = JungfrauDetector.FromProperty("jungfrau");
        var info = JsonDocument.Parse(detector.Info(AcqParamsDocument.Default(DetectorPlugin.Jungfrau))).RootElement;
        Assert.Equal("Jungfrau", info.GetProperty("plugin").GetString());
        Assert.Equal("JUNGFRAU 4M", info.GetProperty("model").GetString());
        // 2 × 1030 + 8 by 4 × 514 + 3 × 36, as jungfrau_utils lays out a 4M
        Assert.Equal((2068, 2164), (info.GetProperty("dimensions").GetProperty("x").GetInt32(), info.GetProperty("dimensions").GetProperty("y").GetInt32()));
        Assert.Equal(75e-6, info.GetProperty("pixel_size").GetProperty("x").GetDouble());
        Assert.Equal("gray16", info.GetProperty("pixel_type").GetString());
        Assert.Equal(DetectorPlugin.Jungfrau, detector.Plugin);
        Assert.Matches(@"^jungfrau-\d+\.\d+\.\d+$", detector.Version);
        using var single = JungfrauDetector.FromProperty("jungfrau:1x1");
        Assert.Equal((1030, 514), (single.Geometry.Width, single.Geometry.Height));
    }

    [Theory]
    [InlineData("jungfrau:4")]
    [InlineData("jungfrau:0x2")]
    [InlineData("jungfrau:4x2x1")]
    [InlineData("jungfrau:-1x2")]
    public void A_layout_that_is_not_rows_x_columns_is_refused_naming_the_property(string property)
    {
        var error = Assert.Throws<ArgumentException>(() => JungfrauDetector.FromProperty(property));
        Assert.StartsWith($"property detector: '{property}'", error.Message);
    }

    [Fact]
    public void The_det_block_Lima2_clients_send_is_taken_and_a_wrong_gain_mode_is_refused_naming_the_field()
    {
        var acq = AcqParamsDocument.Parse(DetectorPlugin.Jungfrau, """
            {"acq": {"nb_frames": 10, "expo_time": 10, "trigger_mode": "internal"},
             "det": {"gain_mode": "forceswitchg2", "packet_fifo_depth": 5000, "auto_comparator_disable": true}}
            """);
        using var detector = JungfrauDetector.FromProperty("jungfrau:1x2");
        detector.Prepare(acq);
        Assert.Equal(new JungfrauDet { GainMode = JungfrauGainMode.ForceSwitchG2, PacketFifoDepth = 5000, AutoComparatorDisable = true }, detector.Det);

        var wrong = Assert.Throws<ParamsException>(() => AcqParamsDocument.Parse(DetectorPlugin.Jungfrau, """{"det": {"gain_mode": "hg0"}}"""));
        Assert.Equal("acq_params.det.gain_mode", Assert.Single(wrong.Errors).Path);
        var schema = AcqParamsDocument.Schema(DetectorPlugin.Jungfrau).ToJsonString();
        Assert.Contains("\"packet_fifo_depth\"", schema);
        Assert.Contains("\"fixg0\"", schema);
    }
}
