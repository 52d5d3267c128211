using Lima2.Cli.StandIns;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Dectris.Simplon;
using Lima2.Detectors.Simulator;
using Lima2.Protocol;
using Lima2.Server.Control;
using Lima2.TestSupport;
using Lima2.Zmq;
using System.Net;

namespace Lima2.Server.Tests;

/// <summary>A detector plugin that records the control's calls and can fail.</summary>
internal sealed class FakeDetector : IDetector
{
    public List<string> Calls { get; } = [];
    public string? Failure { get; set; }
    public Exception? PrepareError { get; set; }

    public DetectorPlugin Plugin => DetectorPlugin.Dectris;
    public string Version => "dectris-1.0.0";
    public string Info(IAcqParams acq) => "{}";
    public string Status(AcqState state) => "{}";
    public string Capabilities() => "{}";

    public void Prepare(IAcqParams acq)
    {
        Calls.Add("Prepare");
        if (PrepareError is not null)
            throw PrepareError;
    }

    public void Start() => Calls.Add("Start");
    public void Trigger() => Calls.Add("Trigger");
    public void Finish() => Calls.Add("Finish");
    public void Abort() => Calls.Add("Abort");

    public void Dispose()
    {
    }
}

public sealed class ControlDetectorTests
{
    private static readonly string Uuid = ControlLogicTests.Uuid; // the run the fake receivers are on

    private static (ControlLogic, FakeReceiver[], FakeDetector) System()
    {
        var receivers = new[] { new FakeReceiver("r@0"), new FakeReceiver("r@1") };
        var detector = new FakeDetector();
        return (new ControlLogic(receivers, detector), receivers, detector);
    }

    [Fact]
    public void The_detector_property_names_the_plugin_and_a_wrong_one_is_refused_naming_the_property()
    {
        Assert.IsType<SimulatorDetector>(DetectorFactory.Create("simulator", "", "1.8.0"));
        using (var dectris = DetectorFactory.Create("dectris_v2", "http://127.0.0.1:1", "1.8.0"))
            Assert.Equal(DetectorPlugin.Dectris, Assert.IsType<DectrisDetector>(dectris).Plugin);
        using (var jungfrau = DetectorFactory.Create("jungfrau:2x1", "", "1.8.0"))
            Assert.Equal(2, Assert.IsType<JungfrauDetector>(jungfrau).Geometry.Modules.Count);
        Assert.Equal("property detector: 'eiger' is no plugin (simulator | dectris | jungfrau[:ROWSxCOLUMNS])",
            Assert.Throws<ArgumentException>(() => DetectorFactory.Create("eiger", "", "1.8.0")).Message);
        Assert.StartsWith("property simplon_url: '' is not a URL",
            Assert.Throws<ArgumentException>(() => DetectorFactory.Create("dectris", "", "1.8.0")).Message);
    }

    [Fact]
    public void The_detector_is_started_after_the_receivers_and_its_series_ended_when_they_are_all_done()
    {
        var (control, receivers, detector) = System();
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        Assert.Equal(["Prepare"], detector.Calls);
        control.Start();
        Assert.All(receivers, r => Assert.Equal(AcqState.Running, r.State));
        Assert.Equal(["Prepare", "Start"], detector.Calls);
        receivers[0].State = AcqState.Idle;
        control.Poll();
        Assert.Equal(["Prepare", "Start"], detector.Calls);
        receivers[1].State = AcqState.Idle;
        control.Poll();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Equal(["Prepare", "Start", "Finish"], detector.Calls);
    }

    [Fact]
    public void A_detector_that_refuses_Prepare_leaves_the_control_idle_and_the_error_says_why()
    {
        var (control, _, detector) = System();
        detector.PrepareError = new SimplonException("config/nimages", HttpStatusCode.BadRequest, "detector refused config/nimages: HTTP 400");
        var error = Assert.Throws<SimplonException>(() => control.Prepare(Uuid));
        Assert.Contains("config/nimages", error.Message);
        Assert.Equal(AcqState.Idle, control.State);
    }

    [Fact]
    public void A_detector_failing_mid_run_puts_the_control_in_FAULT_with_the_reason_and_aborts_it()
    {
        var (control, _, detector) = System();
        control.Prepare(Uuid);
        control.Start();
        detector.Failure = "detector trigger failed: HTTP 500";
        control.Poll();
        Assert.Equal(AcqState.Fault, control.State);
        Assert.Contains("HTTP 500", control.Reason);
        Assert.Equal("Abort", detector.Calls[^1]);
    }

    [Fact]
    public void Stop_aborts_the_detector_and_software_triggers_reach_it()
    {
        var (control, _, detector) = System();
        control.Prepare(Uuid);
        control.Start();
        control.Trigger();
        control.Stop();
        Assert.Equal(["Prepare", "Start", "Trigger", "Abort"], detector.Calls);
        Assert.Equal(AcqState.Idle, control.State);
    }

    [Fact]
    public async Task The_SIMPLON_client_names_the_key_and_HTTP_status_the_stand_in_refuses()
    {
        var generator = FrameGenerator.Create(new GeneratorParams { Width = 16, Height = 8 });
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var streamer = new DectrisStreamer(generator, new StreamerOptions([endpoint], DectrisStreamVersion.V1, DectrisEncoding.BitshuffleLz4, 0));
        using var context = new ZmqContext();
        using var receiver = context.CreateSocket(ZmqSocketType.Pull); // takes the header and end of the armed series
        receiver.Connect(endpoint);
        using var standIn = new SimplonStandIn(streamer, generator.Info, DectrisEncoding.BitshuffleLz4, FreePort.Next());
        using var client = new SimplonClient(new Uri(standIn.Url));

        var unknown = await Assert.ThrowsAsync<SimplonException>(() => client.SetConfigAsync("flux_capacitor", 1));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        Assert.Contains("config/flux_capacitor", unknown.Message);
        Assert.Contains("HTTP 404", unknown.Message);
        var wrong = await Assert.ThrowsAsync<SimplonException>(() => client.SetConfigAsync("trigger_mode", "sometimes"));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.Status);
        Assert.Contains("config/trigger_mode", wrong.Message);

        Assert.Equal(["nimages"], await client.SetConfigAsync("nimages", 3));
        Assert.Equal(3, (await client.GetConfigAsync("nimages"))!.GetValue<long>());
        Assert.Equal(new SimplonDescription("Dectris EIGER2 stand-in (lima2 stream)", "E-00-0000-STANDIN", 75e-6, 75e-6, 16, 8, 16),
            await client.DescribeAsync());
        Assert.Equal("idle", await client.StateAsync());
        Assert.Equal(1, await client.ArmAsync());
        Assert.Equal("ready", await client.StateAsync());
        await client.AbortAsync();
        Assert.Equal("idle", await client.StateAsync());
    }
}

public sealed class DectrisRawSavingTests
{
    private static readonly SavingParams Raw = new() { Enabled = true, BasePath = "/tmp/raw", FilenamePrefix = "eiger", FilenameRank = 1 };

    [Fact]
    public void The_Dectris_saving_block_saves_the_frames_a_pipeline_receives()
    {
        var acq = new DectrisAcqParams { Saving = Raw };
        Assert.Equal(Raw, ((LegacyProcParams)acq.WithRawSaving(new LegacyProcParams())).Saving);
        Assert.Equal(Raw, ((SmxProcParams)acq.WithRawSaving(new SmxProcParams())).SavingDense);
        var unchanged = new SmxProcParams();
        Assert.Same(unchanged, new DectrisAcqParams().WithRawSaving(unchanged));
    }

    [Fact]
    public void Saving_the_frames_in_both_acq_params_and_proc_params_is_refused_naming_the_channel()
    {
        var proc = new LegacyProcParams { Saving = Raw with { FilenamePrefix = "other" } };
        var error = Assert.Throws<ParamsException>(() => new DectrisAcqParams { Saving = Raw }.WithRawSaving(proc));
        Assert.Contains("proc.saving", error.Message);
    }

    [Fact]
    public void A_Dectris_acq_params_document_with_a_bad_saving_block_says_which_field()
    {
        var error = Assert.Throws<ParamsException>(() => AcqParamsDocument.Parse(DetectorPlugin.Dectris,
            """{"acq": {"nb_frames": 2}, "det": {"compression": "lz4"}, "saving": {"enabled": true, "nb_frames_per_file": 0}}"""));
        Assert.Contains("saving.nb_frames_per_file", error.Message);
        var parsed = (DectrisAcqParams)AcqParamsDocument.Parse(DetectorPlugin.Dectris,
            """{"acq": {"nb_frames": 2}, "det": {"compression": "lz4", "photon_energy": 9000}}""");
        Assert.Equal(DectrisCompression.Lz4, parsed.Det.Compression);
        Assert.False(parsed.Saving.Enabled);
    }

    [Fact]
    public void The_Dectris_schema_a_Dectris_server_publishes_describes_its_det_and_saving_blocks()
    {
        var schema = System.Text.Json.Nodes.JsonNode.Parse(Schemas.AcqParams(DetectorPlugin.Dectris))!["properties"]!;
        Assert.NotNull(schema["det"]!["properties"]!["photon_energy"]);
        Assert.NotNull(schema["saving"]!["properties"]!["filename_rank"]);
        Assert.Null(System.Text.Json.Nodes.JsonNode.Parse(Schemas.AcqParams())!["properties"]!["det"]!["properties"]!["photon_energy"]);
    }
}
