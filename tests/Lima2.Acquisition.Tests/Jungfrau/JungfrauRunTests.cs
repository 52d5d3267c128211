using System.Net;
using Lima2.Acquisition.Jungfrau;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;
using Lima2.Protocol;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Jungfrau;

/// <summary>
/// What a <c>jungfrau_udp</c> run does comes from its params (the JUNGFRAU det's <c>pedestal_run</c> and <c>jfrau</c>,
/// SMX's proc_params <c>jfrau</c>), and the paths a client sends stay under the receiver's roots however they change.
/// </summary>
public sealed class JungfrauRunTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("jungfrau-run-").FullName;
    private string Root => Path.Combine(_folder, "root");
    private string Outside => Path.Combine(_folder, "outside");

    public JungfrauRunTests()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Outside);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A 2-module receiver (rank of receivers, whole frames dealt round robin) on free ports; <paramref name="det"/> and <paramref name="proc"/>: the run's params.</summary>
    private ReceiverSettings Settings(string det, string proc = """{"class_name": "LimaProcessingLegacy"}""", int rank = 0, int receivers = 1, long frames = 3,
        string rawSaving = "{}") =>
        ReceiverSettings.Parse($$"""
            {"receiver": {"rank": {{rank}}, "nb_receivers": {{receivers}},
                          "channel": {"kind": "jungfrau_udp", "timeout_ms": 20000,
                                      "jungfrau": {"ports": [0, 0], "dispatch": "{{(receivers > 1 ? "round_robin" : "full_frame")}}", "window": 4, "receive_buffer": "4MiB", "frame_timeout_ms": 300} },
                          "memory_cap": "256MiB", "saving_root": "{{Root}}", "reference_root": "{{Root}}"},
             "acq_params": {"acq": {"nb_frames": {{frames}} }, "det": { {{det}} }, "saving": {{rawSaving}} },
             "proc_params": {{proc}}}
            """);

    private static ParamsError Refusal(Func<object> action) => Assert.Single(Assert.Throws<ParamsException>(action).Errors);

    [Fact]
    public void The_runs_params_choose_raw_words_a_pedestal_run_energies_or_photons()
    {
        Assert.Equal(new JungfrauRun { Output = JungfrauOutputKind.Raw }, JungfrauRun.Of(Settings("")));
        Assert.Equal("jf/pedestal_1.h5", JungfrauRun.Of(Settings("""
            "pedestal_run": "jf/pedestal_{filename_rank}.h5", "gain_mode": "forceswitchg1"
            """, rank: 1, receivers: 2)).PedestalRun);
        var energy = JungfrauRun.Of(Settings(""" "jfrau": {"gain_path": "g.h5", "pedestal_path": "p.h5"} """));
        Assert.Equal((JungfrauOutputKind.Energy, "p.h5", "acq_params.det.jfrau.pedestal_path", "g.h5"),
            (energy.Output, energy.Pedestal!.Value.Path, energy.Pedestal.Value.Field, energy.Gain!.Value.Path));
        // Lima2's SMX block: photon_energy set gives photons at that energy
        var photons = JungfrauRun.Of(Settings("", """
            {"class_name": "LimaProcessingSmx", "jfrau": {"gain_path": "g.h5", "pedestal_path": "p_{filename_rank}.h5", "photon_energy": 9.5}}
            """, rank: 1, receivers: 2));
        Assert.Equal((JungfrauOutputKind.Photons, 9.5f, "proc.jfrau.gain_path", "p_1.h5"),
            (photons.Output, photons.PhotonEnergy, photons.Gain!.Value.Field, photons.Pedestal!.Value.Path));
    }

    [Fact]
    public void The_raw_words_are_saved_beside_a_corrected_run_in_files_of_their_own_and_as_the_frames_of_a_raw_run()
    {
        const string correct = """ "jfrau": {"gain_path": "g.h5", "pedestal_path": "p.h5"} """;
        const string raw = """{"enabled": true, "base_path": "data", "filename_prefix": "raw"}""";
        const string corrected = """{"class_name": "LimaProcessingLegacy", "saving": {"enabled": true, "base_path": "data", "filename_prefix": "energy"}}""";
        Assert.Equal("raw", JungfrauRun.Of(Settings(correct, corrected, rawSaving: raw)).RawSaving?.FilenamePrefix);
        Assert.Null(JungfrauRun.Of(Settings(correct, corrected)).RawSaving);
        Assert.Equal("acq_params.saving", Refusal(() => JungfrauRun.Of(Settings(correct, corrected.Replace("energy", "raw"), rawSaving: raw))).Path);
        // a raw run: its frames are the raw words, saved by the pipeline's dense channel
        var rawRun = ChannelFactory.ForGraph(Settings("", rawSaving: raw));
        Assert.Equal(("raw", true), (Assert.IsType<LegacyProcParams>(rawRun.ProcParams).Saving.FilenamePrefix, ((LegacyProcParams)rawRun.ProcParams).Saving.Enabled));
        Assert.Equal("proc.saving", Refusal(() => JungfrauRun.Of(Settings("", corrected, rawSaving: raw))).Path);
    }

    [Fact]
    public void The_4M_examples_choose_their_run_in_their_params_over_the_same_receiver_block()
    {
        var pedestal = ReceiverSettings.Load(Path.Combine(RepoPaths.Root, "config", "jungfrau4m-pedestal.yaml"));
        var photons = ReceiverSettings.Load(Path.Combine(RepoPaths.Root, "config", "jungfrau4m.yaml"));
        Assert.Equal(new JungfrauRun { Output = JungfrauOutputKind.Raw, PedestalRun = "jf4m/pedestal.h5" }, JungfrauRun.Of(pedestal));
        var run = JungfrauRun.Of(photons);
        Assert.Equal((JungfrauOutputKind.Photons, 12.4f, "jf4m/pedestal.h5"), (run.Output, run.PhotonEnergy, run.Pedestal!.Value.Path));
        Assert.Equal(pedestal.Receiver.Channel.Jungfrau!.Ports, photons.Receiver.Channel.Jungfrau!.Ports);
    }

    [Fact]
    public void The_peak_finder_of_an_SMX_run_gets_the_corrected_frames_without_the_jfrau_block_the_channel_applied()
    {
        var settings = Settings("", """{"class_name": "LimaProcessingSmx", "jfrau": {"gain_path": "g.h5", "pedestal_path": "p.h5"}}""");
        var graph = Assert.IsType<SmxProcParams>(ChannelFactory.ForGraph(settings).ProcParams);
        Assert.Empty(graph.Jfrau.EnumerateObject());
        Assert.Equal("g.h5", ((SmxProcParams)settings.ProcParams).Jfrau.GetProperty("gain_path").GetString());
    }

    [Theory]
    [InlineData(""" "pedestal_run": "p.h5", "jfrau": {"gain_path": "g.h5", "pedestal_path": "p.h5"} """, 1, "acq_params.det.pedestal_run",
        "acq_params.det.pedestal_run: a pedestal run takes raw dark frames: leave acq_params.det.jfrau out")]
    [InlineData(""" "jfrau": {"gain_path": "g.h5"} """, 1, "acq_params.det.jfrau",
        "acq_params.det.jfrau: gain_path and pedestal_path go together")]
    [InlineData(""" "jfrau": {"gain_path": "g.h5", "pedestal_path": "p.h5", "photon_energy": -1} """, 1, "acq_params.det.jfrau.photon_energy",
        "acq_params.det.jfrau.photon_energy: keV per photon: > 0 for photon counts, 0 for energies in keV")]
    [InlineData(""" "jfrau": {"gain": "g.h5"} """, 1, "acq_params.det.jfrau.gain", null)]
    [InlineData(""" "pedestal_run": "jf/pedestal.h5" """, 2, "acq_params.det.pedestal_run",
        "acq_params.det.pedestal_run: each of the 2 receivers writes its own modules' maps: put {filename_rank} in the file name")]
    [InlineData(""" "gain_mode": "fixg0", "jfrau": {"gain_path": "g.h5", "pedestal_path": "p.h5"} """, 1, "acq_params.det.gain_mode",
        "acq_params.det.gain_mode: fixg0 needs the high-gain G0 map, which the correction does not have")]
    public void Params_that_contradict_or_fall_short_are_refused_in_one_sentence_naming_the_field(string det, int receivers, string field, string? what)
    {
        var error = Assert.Throws<ParamsException>(() => JungfrauRun.Of(Settings(det, receivers: receivers)));
        Assert.Equal(field, Assert.Single(error.Errors).Path);
        if (what is not null)
            Assert.Equal(what, LimaError.Sentence(error));
    }

    [Fact]
    public void A_correction_given_both_in_the_SMX_proc_params_and_in_the_det_block_is_refused()
    {
        var error = Refusal(() => JungfrauRun.Of(Settings(""" "jfrau": {"gain_path": "g.h5", "pedestal_path": "p.h5"} """,
            """{"class_name": "LimaProcessingSmx", "jfrau": {"gain_path": "g.h5", "pedestal_path": "p.h5"}}""")));
        Assert.Equal("acq_params.det.jfrau", error.Path);
    }

    [Fact]
    public async Task Calibration_paths_leading_out_of_the_reference_root_by_dot_dot_or_a_link_are_refused_at_prepare()
    {
        var maps = Enumerable.Range(0, 3).Select(_ => new float[2 * JungfrauModule.Pixels]).ToArray();
        JungfrauCalibrationFile.Write(Path.Combine(Outside, "gain.h5"), JungfrauCalibrationFile.Gain, maps);
        JungfrauCalibrationFile.Write(Path.Combine(Outside, "pedestal.h5"), JungfrauCalibrationFile.Pedestal, maps);
        Directory.CreateDirectory(Path.Combine(Root, "jf"));
        File.CreateSymbolicLink(Path.Combine(Root, "jf", "gain.h5"), Path.Combine(Outside, "gain.h5"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "elsewhere"), Outside);

        async Task<ParamsError> Refused(string jfrau) =>
            Assert.Single((await Assert.ThrowsAsync<ParamsException>(() => ReceiverRun.PrepareAsync(Settings($""" "jfrau": {jfrau} """)))).Errors);

        var dotDot = await Refused("""{"gain_path": "../outside/gain.h5", "pedestal_path": "../outside/pedestal.h5"}""");
        Assert.Equal("acq_params.det.jfrau.pedestal_path", dotDot.Path);
        Assert.Contains("'..'", dotDot.Reason);
        var absolute = await Refused($$"""{"gain_path": "{{Outside}}/gain.h5", "pedestal_path": "{{Outside}}/pedestal.h5"}""");
        Assert.Contains("outside", absolute.Reason);
        var fileLink = await Refused("""{"gain_path": "jf/gain.h5", "pedestal_path": "elsewhere/pedestal.h5"}""");
        Assert.Equal("acq_params.det.jfrau.pedestal_path", fileLink.Path);
        Assert.Contains("link", fileLink.Reason);
        File.Copy(Path.Combine(Outside, "pedestal.h5"), Path.Combine(Root, "jf", "pedestal.h5"));
        var gainLink = await Refused("""{"gain_path": "jf/gain.h5", "pedestal_path": "jf/pedestal.h5"}""");
        Assert.Equal("acq_params.det.jfrau.gain_path", gainLink.Path);
        // the same maps beneath the root are taken
        File.Delete(Path.Combine(Root, "jf", "gain.h5"));
        File.Copy(Path.Combine(Outside, "gain.h5"), Path.Combine(Root, "jf", "gain.h5"));
        await using var run = await ReceiverRun.PrepareAsync(Settings(""" "jfrau": {"gain_path": "jf/gain.h5", "pedestal_path": "jf/pedestal.h5"} """));
        Assert.IsType<JungfrauCorrection>(Assert.IsType<JungfrauChannel>(run.Channel).Correction);
    }

    [Fact]
    public async Task A_pedestal_file_outside_the_saving_root_is_refused_at_prepare_and_a_folder_swapped_for_a_link_after_it_is_not_written_through()
    {
        var dotDot = Assert.Single((await Assert.ThrowsAsync<ParamsException>(() =>
            ReceiverRun.PrepareAsync(Settings(""" "pedestal_run": "jf/../../outside/pedestal.h5" """)))).Errors);
        Assert.Equal("acq_params.det.pedestal_run", dotDot.Path);

        const int frames = 3;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var run = await ReceiverRun.PrepareAsync(Settings(""" "pedestal_run": "jf/pedestal.h5" """, frames: frames), timeout.Token);
        // checked at Prepare: the folder exists; now it becomes a link to a folder outside the root
        Directory.Delete(Path.Combine(Root, "jf"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "jf"), Outside);
        var channel = Assert.IsType<JungfrauChannel>(run.Channel);
        var running = run.RunAsync(timeout.Token);
        using var standIn = new JungfrauStandIn(null, new JungfrauModel(2), new JungfrauStandInOptions
        {
            Ports = [.. channel.Ports.Select(p => new IPEndPoint(IPAddress.Loopback, p))],
            Frames = frames,
            Rate = 10,
            Content = JungfrauStandInContent.Dark,
        });
        await standIn.RunAsync(CancellationToken.None);
        var summary = await running;
        Assert.Contains("link", summary.Error?.Message);
        Assert.Equal(frames, channel.FramesComplete);
        Assert.Empty(Directory.GetFiles(Outside));
    }
}
