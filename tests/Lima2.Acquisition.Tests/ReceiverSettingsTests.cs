using Lima2.Core.Parameters;

namespace Lima2.Acquisition.Tests;

/// <summary>A run's set-up carries the acq_params of the plugin its channel reads, as they were given.</summary>
public sealed class ReceiverSettingsTests
{
    private static ReceiverSettings Parse(string kind, string acq) => ReceiverSettings.Parse($$$"""
        {"receiver": {"channel": {"kind": "{{{kind}}}", "endpoints": ["tcp://127.0.0.1:9999"]}},
         "acq_params": {{{acq}}},
         "proc_params": {"class_name": "LimaProcessingLegacy"}}
        """);

    [Fact]
    public void A_DECTRIS_settings_file_reads_the_Dectris_plugins_acq_params()
    {
        var settings = Parse("dectris_v1", """{"acq": {"nb_frames": 7}, "det": {"photon_energy": 9000}}""");
        var acq = Assert.IsType<DectrisAcqParams>(settings.AcqParams);
        Assert.Equal(7, acq.Acq.NbFrames);
        Assert.Equal(9000, acq.Det.PhotonEnergy);
    }

    [Fact]
    public void A_simulator_settings_file_reads_the_simulators_det_block()
    {
        var settings = ReceiverSettings.Parse("""
            {"receiver": {"channel": {"kind": "simulator"}},
             "acq_params": {"acq": {"nb_frames": 2}, "det": {"generator": {"width": 32, "height": 16}}},
             "proc_params": {"class_name": "LimaProcessingLegacy"}}
            """);
        var acq = Assert.IsType<AcqParams<SimulatorDet>>(settings.AcqParams);
        Assert.Equal(32, acq.Det.Generator.Width);
    }

    [Fact]
    public void The_acq_params_of_another_plugin_are_refused_with_the_field_that_does_not_belong()
    {
        var error = Assert.Throws<ParamsException>(() => Parse("dectris_v2", """{"acq": {"nb_frames": 1}, "det": {"generator": {}}}"""));
        Assert.Contains("det.generator", error.Message);
        var wrongKind = Assert.Throws<ArgumentException>(() => ChannelFactory.Create(
            new ReceiverSettings(new ReceiverConfig(), new DectrisAcqParams(), new LegacyProcParams())));
        Assert.Contains("simulator's acq_params", wrongKind.Message);
    }
}
