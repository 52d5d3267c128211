using System.Buffers.Binary;
using System.Text.Json;
using Lima2.Acquisition.Jungfrau;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;
using Lima2.Protocol;
using Lima2.Server.Receiver;

namespace Lima2.Server.Tests;

/// <summary>Processing "devices" as a list: what the receiver created and deleted.</summary>
internal sealed class FakeHost : IProcessingHost
{
    public Dictionary<string, ProcessingView> Devices { get; } = [];

    /// <summary>When set, Create waits for it: a Prepare that lasts as long as the test wants.</summary>
    public ManualResetEventSlim? Hold { get; init; }

    /// <summary>Set when a Create has begun.</summary>
    public ManualResetEventSlim Entered { get; } = new();

    /// <summary>When set, Create fails with it (as a device the Tango DB refuses).</summary>
    public string? Failure { get; init; }

    public string Create(ProcessingView pipeline)
    {
        Entered.Set();
        Hold?.Wait();
        if (Failure is not null)
            throw new InvalidOperationException(Failure);
        var name = $"test/limaprocessing/{pipeline.Uuid}@{pipeline.Run.Settings.Receiver.Rank}";
        Devices[name] = pipeline;
        return name;
    }

    /// <summary>When set, Delete removes the device and then fails with it (as the Tango DB being down does).</summary>
    public string? DeleteFailure { get; set; }

    public void Delete(string deviceName)
    {
        Devices.Remove(deviceName);
        if (DeleteFailure is not null)
            throw new InvalidOperationException(DeleteFailure);
    }
}

public sealed class ReceiverLogicTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("lima2-recv-").FullName;

    private const string Acq = """
        {"acq": {"nb_frames": 30, "expo_time": 100},
         "det": {"generator": {"type": "gauss", "width": 64, "height": 48, "gauss": {"peaks": [{"x0": 20, "y0": 20, "fwhm": 5, "max": 100}]}}}}
        """;

    private string Legacy(string extra = "") => $$$"""
        {"class_name": "LimaProcessingLegacy",
         "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 10, "y": 10}, "dimensions": {"x": 20, "y": 20}}]},
         "saving": {"enabled": true, "base_path": "{{{_root}}}/run", "filename_prefix": "r", "nb_frames_per_file": 10}{{{extra}}}}
        """;

    private ReceiverLogic Receiver(FakeHost host, int rank = 0, int receivers = 1) =>
        new(new ReceiverConfig { Rank = rank, NbReceivers = receivers, SavingRoot = _root }, host);

    private static void WaitFor(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public async Task While_a_Prepare_is_in_flight_the_same_uuid_waits_for_it_another_uuid_is_refused_busy_and_the_state_stays_idle()
    {
        var host = new FakeHost { Hold = new ManualResetEventSlim() };
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = Legacy();
        var uuid = Guid.NewGuid().ToString();
        var first = Task.Run(() => receiver.Prepare(uuid));
        Assert.True(host.Entered.Wait(TimeSpan.FromSeconds(30)));
        var second = Task.Run(() => receiver.Prepare(uuid)); // the control and the client both send it
        var other = Assert.Throws<StateException>(() => receiver.Prepare(Guid.NewGuid().ToString()));
        Assert.Contains($"busy preparing {uuid}", other.Message);
        Assert.Equal(AcqState.Idle, receiver.State);
        Assert.Throws<StateException>(receiver.Start);
        Assert.Empty(receiver.Pipelines);
        await Task.Delay(200);
        Assert.False(second.IsCompleted);
        host.Hold.Set();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(AcqState.Prepared, receiver.State);
        Assert.Equal([uuid], receiver.Pipelines);
        Assert.Single(host.Devices);
    }

    [Fact]
    public async Task A_Prepare_waiting_for_the_same_uuid_gets_the_failure_of_the_one_in_flight()
    {
        var host = new FakeHost { Hold = new ManualResetEventSlim(), Failure = "the Tango DB refused the device" };
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = Legacy();
        var uuid = Guid.NewGuid().ToString();
        var first = Task.Run(() => receiver.Prepare(uuid));
        Assert.True(host.Entered.Wait(TimeSpan.FromSeconds(30)));
        var second = Task.Run(() => receiver.Prepare(uuid));
        await Task.Delay(200);
        host.Hold.Set();
        Assert.Equal("the Tango DB refused the device", (await Assert.ThrowsAsync<InvalidOperationException>(() => first)).Message);
        Assert.Equal("the Tango DB refused the device", (await Assert.ThrowsAsync<InvalidOperationException>(() => second)).Message);
        Assert.Equal(AcqState.Idle, receiver.State);
    }

    [Fact]
    public async Task Stop_during_a_Prepare_waits_for_it_and_leaves_the_receiver_idle()
    {
        var host = new FakeHost { Hold = new ManualResetEventSlim() };
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = Legacy();
        var uuid = Guid.NewGuid().ToString();
        var prepare = Task.Run(() => receiver.Prepare(uuid));
        Assert.True(host.Entered.Wait(TimeSpan.FromSeconds(30)));
        var stop = Task.Run(receiver.Stop);
        await Task.Delay(200);
        Assert.False(stop.IsCompleted);
        host.Hold.Set();
        await Task.WhenAll(prepare, stop).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(AcqState.Idle, receiver.State);
        Assert.Contains($"stopped before start ({uuid})", receiver.Reason);
    }

    [Fact]
    public async Task A_run_goes_prepared_running_then_idle_by_itself_with_every_frame_of_its_share_accounted_for()
    {
        var host = new FakeHost();
        await using var receiver = Receiver(host, rank: 1, receivers: 2);
        var states = new List<AcqState>();
        receiver.StateChanged += s => { lock (states) states.Add(s); };
        var transferred = -1;
        receiver.Transferred += n => transferred = n;
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = Legacy();
        var uuid = Guid.NewGuid().ToString();
        receiver.Prepare(uuid);
        Assert.Equal(AcqState.Prepared, receiver.State);
        Assert.Equal([uuid], receiver.Pipelines);
        Assert.Single(host.Devices);
        receiver.Start();
        receiver.Start(); // a second sender (control and client) is not an error
        // the end of the share is told last (after the state change and its event): wait for it
        WaitFor(() => Volatile.Read(ref transferred) >= 0);
        Assert.Equal(AcqState.Idle, receiver.State);
        Assert.Equal([AcqState.Prepared, AcqState.Running, AcqState.Idle], states);
        Assert.Equal(15, receiver.FramesReceived);
        Assert.Equal(15, receiver.FramesProcessed);
        Assert.Equal(15, receiver.FramesSaved);
        Assert.Equal(0, receiver.FramesDropped);
        Assert.Equal(15, transferred);
        var run = receiver.Current!;
        Assert.True(run.Run.IsFinished);
        Assert.Null(run.Error);
        var counters = JsonSerializer.Deserialize<Dictionary<string, long>>(run.ProgressCounters())!;
        Assert.Equal(15, counters["nb_frames_source"]);

        Assert.Equal(29, Assert.Single(run.LatestRoiStatistics()).FrameIdx); // the receiver's live ROI counters
        var rows = Rows(run.PopRoiStatistics(), 32);
        Assert.Equal(Enumerable.Range(0, 15).Select(i => 1 + 2 * i), rows.Select(r => BinaryPrimitives.ReadInt32LittleEndian(r)));
        Assert.Equal(Enumerable.Range(0, 15), rows.Select(r => BinaryPrimitives.ReadInt32LittleEndian(r.AsSpan(4))));
        Assert.Empty(Rows(run.PopRoiStatistics(), 32));
        Assert.Equal(29, Assert.Single(run.LatestRoiStatistics()).FrameIdx); // popping leaves the live counters
        var frame = run.GetFrame(-1);
        Assert.Equal(EncodedLayouts.DenseFrame, frame.Format);
        Assert.Equal(29UL, BinaryPrimitives.ReadUInt64LittleEndian(frame.Data.AsSpan(56)));
        Assert.Throws<InvalidOperationException>(() => run.GetFrame(2)); // rank 1 never had an even frame

        receiver.ErasePipeline(uuid);
        Assert.Empty(receiver.Pipelines);
        Assert.Empty(host.Devices);
    }

    [Fact]
    public async Task Erasing_the_pipeline_as_soon_as_the_share_is_done_waits_for_the_runs_other_listeners()
    {
        var host = new FakeHost();
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = Legacy();
        var uuid = Guid.NewGuid().ToString();
        receiver.Prepare(uuid);
        var pipeline = receiver.Current!;
        using var entered = new ManualResetEventSlim();
        string? seen = null;
        // a listener told after the receiver (as the processing device is) still reads the run when a client that
        // heard the end of the share erases the pipeline
        pipeline.Run.Finished += _ =>
        {
            entered.Set();
            Thread.Sleep(300);
            try
            {
                seen = pipeline.GetFrame(-1).Format == EncodedLayouts.DenseFrame ? "dense frame" : "other";
            }
            catch (Exception e)
            {
                seen = e.Message;
            }
        };
        receiver.Start();
        Assert.True(entered.Wait(TimeSpan.FromSeconds(30)));
        receiver.ErasePipeline(uuid);
        Assert.Equal("dense frame", seen);
    }

    [Fact]
    public async Task Malformed_proc_params_are_refused_with_the_field_path_and_the_previous_ones_stay()
    {
        await using var receiver = Receiver(new FakeHost());
        receiver.ProcParamsJson = Legacy();
        var e = Assert.Throws<ParamsException>(() => receiver.ProcParamsJson = """{"class_name": "LimaProcessingLegacy", "fifo": {"nb_threads": 0}}""");
        Assert.Contains("proc.fifo.nb_threads", e.Message);
        var smx = Assert.Throws<ParamsException>(() => receiver.ProcParamsJson = """{"class_name": "LimaProcessingSmx", "fai": {"cutoff_pick": "high"}}""");
        Assert.Contains("proc.fai.cutoff_pick", smx.Message);
        Assert.Contains("\"LimaProcessingLegacy\"", receiver.ProcParamsJson);
        Assert.Equal(AcqState.Idle, receiver.State);
    }

    [Fact]
    public async Task A_ROI_outside_the_frame_fails_prepare_and_the_receiver_stays_idle_without_pipeline()
    {
        var host = new FakeHost();
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = """
            {"class_name": "LimaProcessingLegacy",
             "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 60, "y": 0}, "dimensions": {"x": 20, "y": 20}}]}}
            """;
        var e = Assert.ThrowsAny<Exception>(() => receiver.Prepare(Guid.NewGuid().ToString()));
        Assert.Contains("rect_rois[0]", e.Message);
        Assert.Equal(AcqState.Idle, receiver.State);
        Assert.Empty(receiver.Pipelines);
        Assert.Empty(host.Devices);
    }

    [Fact]
    public async Task A_DECTRIS_receiver_without_endpoint_refuses_Prepare_naming_the_setting_and_stays_idle()
    {
        var host = new FakeHost();
        var config = new ReceiverConfig { Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1 }, SavingRoot = _root };
        await using var receiver = new ReceiverLogic(config, host);
        var e = Assert.Throws<ParamsException>(() => receiver.Prepare(Guid.NewGuid().ToString()));
        Assert.Contains("channel.endpoints", e.Message);
        Assert.Equal(AcqState.Idle, receiver.State);
        Assert.Empty(host.Devices);
    }

    [Fact]
    public async Task A_DECTRIS_receivers_run_carries_the_Dectris_acq_params_it_was_given()
    {
        var config = new ReceiverConfig
        {
            Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = ["tcp://127.0.0.1:1"] }, SavingRoot = _root,
        };
        await using var receiver = new ReceiverLogic(config, new FakeHost());
        receiver.AcqParamsJson = """{"acq": {"nb_frames": 3}, "det": {"photon_energy": 9000}}""";
        receiver.Prepare(Guid.NewGuid().ToString());
        var acq = Assert.IsType<DectrisAcqParams>(receiver.Current!.Run.Settings.AcqParams);
        Assert.Equal((3L, 9000.0), (acq.Acq.NbFrames, acq.Det.PhotonEnergy));
    }

    [Fact]
    public async Task The_failing_pipeline_puts_the_receiver_in_fault_with_last_error_and_reset_recovers()
    {
        await using var receiver = Receiver(new FakeHost());
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = """{"class_name": "LimaProcessingFailing"}""";
        receiver.Prepare(Guid.NewGuid().ToString());
        receiver.Start();
        WaitFor(() => receiver.State == AcqState.Fault);
        var error = LimaError.Parse(receiver.LastError)!;
        Assert.Contains("failed", error.What);
        Assert.Equal(error.What, receiver.Current!.Error!.What);
        var refused = Assert.Throws<StateException>(() => receiver.Prepare(Guid.NewGuid().ToString()));
        Assert.Contains("Reset first", refused.Message);
        receiver.Reset();
        Assert.Equal(AcqState.Idle, receiver.State);
        Assert.Equal(LimaError.NoError, receiver.LastError);
    }

    [Fact]
    public async Task Stop_aborts_an_endless_run_and_returns_once_it_has_ended()
    {
        await using var receiver = Receiver(new FakeHost());
        receiver.AcqParamsJson = Acq.Replace("\"nb_frames\": 30", "\"nb_frames\": 0");
        receiver.ProcParamsJson = Legacy();
        receiver.Prepare(Guid.NewGuid().ToString());
        receiver.Start();
        WaitFor(() => receiver.FramesProcessed > 5);
        receiver.Stop();
        Assert.Equal(AcqState.Idle, receiver.State);
        var c = receiver.Current!.Run.Counters!;
        Assert.Equal(c.Received, c.Processed + c.Dropped);
        Assert.True(receiver.Current.Run.IsFinished);
    }

    [Fact]
    public async Task WriteMasterFile_on_receiver_0_of_two_after_a_stop_writes_it_once_and_answers_the_same_path_again()
    {
        await using var receiver = Receiver(new FakeHost(), rank: 0, receivers: 2);
        Assert.Throws<StateException>(() => receiver.WriteMasterFile([1, 1]));
        receiver.AcqParamsJson = Acq.Replace("\"nb_frames\": 30", "\"nb_frames\": 0");
        receiver.ProcParamsJson = Legacy();
        receiver.Prepare(Guid.NewGuid().ToString());
        receiver.Start();
        WaitFor(() => receiver.FramesSaved > 5);
        receiver.Stop();
        Assert.Null(receiver.Current!.Run.MasterFile); // a stopped run of two: receiver 0 alone does not know the total
        var path = receiver.WriteMasterFile([receiver.FramesReceived, 0]);
        Assert.True(File.Exists(path), path);
        Assert.Equal(path, receiver.WriteMasterFile([receiver.FramesReceived, 0]));
    }

    [Fact]
    public async Task WriteMasterFile_over_other_counts_than_the_master_file_written_at_the_end_rewrites_it()
    {
        await using var receiver = Receiver(new FakeHost(), rank: 0, receivers: 2);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = Legacy();
        receiver.Prepare(Guid.NewGuid().ToString());
        receiver.Start();
        WaitFor(() => receiver.State == AcqState.Idle && receiver.Current!.Run.IsFinished);
        var written = receiver.Current!.Run.MasterFile!; // a complete run: over each receiver's share
        Assert.Equal(written, receiver.WriteMasterFile([15, 15]));
        string Mapped() => Lima2.TestSupport.Python.Eval($$"""
            import h5py
            with h5py.File("{{written}}", "r") as f:
                d = f["entry_0000/instrument/detector/data"]
                print(list(f["entry_0000/instrument/detector/frames_saved_per_receiver"][()]), "missing_frames" in d.attrs)
            """).Trim();
        Assert.Equal("[15, 15] False", Mapped());

        // receiver 1 died (last seen having saved 4 frames, none in a closed file): the control tells, and the master
        // file no longer claims its frames but states the gap
        Assert.Equal(written, receiver.WriteMasterFile([15, 4]));
        Assert.Equal("[15, 0] True", Mapped());
    }

    [Fact]
    public async Task WriteMasterFile_refuses_counts_the_run_cannot_have_with_a_clear_error()
    {
        await using var receiver = Receiver(new FakeHost(), rank: 0, receivers: 2);
        receiver.AcqParamsJson = Acq.Replace("\"nb_frames\": 30", "\"nb_frames\": 100000");
        receiver.ProcParamsJson = Legacy();
        receiver.Prepare(Guid.NewGuid().ToString());
        receiver.Start();
        WaitFor(() => receiver.FramesSaved > 5);
        receiver.Stop();
        var received = receiver.FramesReceived;

        Assert.Equal("receiver 1 cannot have received 3000000 frames: its share of the run's 100000 frames is 50000",
            Assert.Throws<ArgumentException>(() => receiver.WriteMasterFile([received, 3_000_000])).Message);
        Assert.Equal($"receiver 0 received {received} frames, not {received + 1}",
            Assert.Throws<ArgumentException>(() => receiver.WriteMasterFile([received + 1, 0])).Message);
        Assert.Equal("receiver 1 cannot have received -1 frames",
            Assert.Throws<ArgumentException>(() => receiver.WriteMasterFile([received, -1])).Message);
        Assert.Null(receiver.Current!.Run.MasterFile);
        Assert.True(File.Exists(receiver.WriteMasterFile([received, 0])));
    }

    [Fact]
    public async Task WriteMasterFile_of_a_run_that_saves_no_dense_frames_answers_empty()
    {
        await using var receiver = Receiver(new FakeHost(), rank: 0, receivers: 2);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = """{"class_name": "LimaProcessingLegacy"}""";
        receiver.Prepare(Guid.NewGuid().ToString());
        receiver.Start();
        WaitFor(() => receiver.State == AcqState.Idle);
        Assert.Equal("", receiver.WriteMasterFile([15, 15]));
    }

    private static List<byte[]> Rows(EncodedData encoded, int size)
    {
        Assert.Equal(EncodedLayouts.StructuredArray, encoded.Format);
        return encoded.Data.Skip(EncodedLayouts.HeaderSize).Chunk(size).ToList();
    }

    [Fact]
    public async Task A_second_Prepare_and_Start_of_the_same_run_are_already_done_even_once_that_run_has_faulted()
    {
        var host = new FakeHost();
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = """{"class_name": "LimaProcessingFailing"}""";
        var uuid = Guid.NewGuid().ToString();
        receiver.Prepare(uuid);
        receiver.Prepare(uuid); // the control device forwards what the client also sends
        Assert.Single(host.Devices);
        receiver.Start();
        WaitFor(() => receiver.State == AcqState.Fault);
        receiver.Prepare(uuid);
        receiver.Start(); // the FAULT is told by acq_state's event, not by the second sender's Start
        Assert.Equal(AcqState.Fault, receiver.State);
        Assert.Equal([uuid], receiver.Pipelines);
    }

    [Fact]
    public async Task A_new_Prepare_while_prepared_replaces_the_pending_run_and_while_running_is_refused()
    {
        var host = new FakeHost();
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq.Replace("\"nb_frames\": 30", "\"nb_frames\": 0");
        receiver.ProcParamsJson = Legacy();
        var first = Guid.NewGuid().ToString();
        receiver.Prepare(first);
        var pending = receiver.Current!;
        var second = Guid.NewGuid().ToString();
        receiver.Prepare(second);
        Assert.Equal(AcqState.Prepared, receiver.State);
        Assert.Equal([second], receiver.Pipelines);
        Assert.Equal([$"test/limaprocessing/{second}@0"], host.Devices.Keys);
        Assert.False(pending.Run.IsFinished); // erased without running: its device is gone, no frame of it counted
        receiver.Start();
        WaitFor(() => receiver.FramesReceived > 2);
        var refused = Assert.Throws<StateException>(() => receiver.Prepare(Guid.NewGuid().ToString()));
        Assert.Contains($"run {second} is running, one run at a time: Stop it first", refused.Message);
        Assert.Equal(AcqState.Running, receiver.State);
        receiver.Stop();
        var c = receiver.Current!.Run.Counters!;
        Assert.Equal(c.Received, c.Processed + c.Dropped);
        Assert.Equal(second, receiver.Current.Uuid);
    }

    [Fact]
    public async Task A_prepared_JUNGFRAU_run_replaced_by_another_Prepare_leaves_none_of_its_raw_files()
    {
        var model = new JungfrauModel(1);
        JungfrauCalibrationFile.Write(Path.Combine(_root, "pedestal.h5"), JungfrauCalibrationFile.Pedestal, model.Pedestal);
        JungfrauCalibrationFile.Write(Path.Combine(_root, "gain.h5"), JungfrauCalibrationFile.Gain, model.Gain);
        var config = ReceiverConfig.Parse($"channel: {{ kind: jungfrau_udp, jungfrau: {{ ports: [0] }} }}\nsaving_root: {_root}\nreference_root: {_root}");
        await using var receiver = new ReceiverLogic(config, new FakeHost());
        // a corrected run whose raw words are saved beside (acq_params saving): their first file is created at Prepare
        string CorrectedRun(string rawPrefix) => $$$"""
            {"acq": {"nb_frames": 5}, "det": {"jfrau": {"pedestal_path": "pedestal.h5", "gain_path": "gain.h5", "photon_energy": 0}},
             "saving": {"enabled": true, "base_path": "{{{_root}}}/raw", "filename_prefix": "{{{rawPrefix}}}", "file_exists_policy": "abort"}}
            """;
        string[] RawFiles() => [.. Directory.GetFiles(Path.Combine(_root, "raw")).Select(Path.GetFileName).Order()!];
        receiver.ProcParamsJson = """{"class_name": "LimaProcessingLegacy"}""";
        receiver.AcqParamsJson = CorrectedRun("first");
        receiver.Prepare(Guid.NewGuid().ToString());
        Assert.Equal(["first_0_00000.h5"], RawFiles());

        receiver.AcqParamsJson = CorrectedRun("second");
        receiver.Prepare(Guid.NewGuid().ToString());
        Assert.Equal(["second_0_00000.h5"], RawFiles());
        // the same params again: the replacement creates the same file, which file_exists_policy abort would refuse
        receiver.Prepare(Guid.NewGuid().ToString());
        Assert.Equal(AcqState.Prepared, receiver.State);
        Assert.Equal(["second_0_00000.h5"], RawFiles());
    }

    [Fact]
    public async Task A_trigger_after_the_share_is_done_is_ignored_and_one_before_prepare_is_refused()
    {
        await using var receiver = Receiver(new FakeHost(), rank: 1, receivers: 2);
        receiver.AcqParamsJson = Acq.Replace("\"nb_frames\": 30", "\"nb_frames\": 4, \"trigger_mode\": \"software\"");
        receiver.ProcParamsJson = Legacy();
        Assert.Throws<StateException>(receiver.Trigger);
        receiver.Prepare(Guid.NewGuid().ToString());
        receiver.Start();
        // frames 1 and 3 are this receiver's: the 4th trigger releases its last one
        for (var i = 0; i < 4; i++)
            receiver.Trigger();
        WaitFor(() => receiver.State == AcqState.Idle);
        Assert.Equal(2, receiver.FramesReceived);
        receiver.Trigger(); // the other receivers' frames may still be due
        Assert.Equal(AcqState.Idle, receiver.State);
    }

    [Fact]
    public async Task Reset_of_a_run_prepared_but_never_started_finishes_its_pipeline_so_clients_erase_it()
    {
        var host = new FakeHost();
        await using var receiver = Receiver(host);
        var transferred = -1;
        receiver.Transferred += n => transferred = n;
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = Legacy();
        var uuid = Guid.NewGuid().ToString();
        receiver.Prepare(uuid);
        var pipeline = receiver.Current!;
        var finished = new TaskCompletionSource();
        pipeline.Run.Finished += _ => finished.TrySetResult(); // what pushes is_finished's data-ready event
        receiver.Reset();
        Assert.Equal(AcqState.Idle, receiver.State);
        Assert.True(pipeline.Run.IsFinished);
        await finished.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, transferred);
        Assert.Equal(0, receiver.FramesReceived);
        receiver.ErasePipeline(uuid);
        Assert.Empty(host.Devices);
    }

    [Fact]
    public async Task ErasePipeline_while_the_tango_db_is_down_still_disposes_the_pipeline_and_says_why()
    {
        var host = new FakeHost();
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq;
        receiver.ProcParamsJson = Legacy(); // saving: the run holds its files and saving root open from Prepare
        var uuid = Guid.NewGuid().ToString();
        receiver.Prepare(uuid);
        Assert.NotEmpty(OpenUnder(_root));
        host.DeleteFailure = "API_CorbaException: the database does not answer";
        var e = Assert.Throws<InvalidOperationException>(() => receiver.ErasePipeline(uuid));
        Assert.Contains("database", e.Message);
        Assert.Empty(receiver.Pipelines);
        Assert.Null(receiver.Current);
        Assert.Equal(AcqState.Idle, receiver.State);
        Assert.Empty(OpenUnder(_root)); // disposed: nothing of the run stays open
    }

    /// <summary>This process's open descriptors that lead to <paramref name="folder"/> or below it.</summary>
    private static List<string> OpenUnder(string folder) =>
        [.. new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
            .Select(fd => { try { return fd.LinkTarget; } catch (IOException) { return null; } })
            .OfType<string>()
            .Where(target => target == folder || target.StartsWith(folder + "/", StringComparison.Ordinal))];

    [Fact]
    public async Task Beyond_the_limit_the_oldest_finished_pipelines_are_erased_so_pipelines_stays_readable()
    {
        var host = new FakeHost();
        await using var receiver = Receiver(host);
        receiver.AcqParamsJson = Acq.Replace("\"nb_frames\": 30", "\"nb_frames\": 1");
        receiver.ProcParamsJson = """{"class_name": "LimaProcessingLegacy"}""";
        var uuids = new List<string>();
        for (var i = 0; i < ReceiverLogic.MaxPipelines + 3; i++)
        {
            var uuid = Guid.NewGuid().ToString();
            uuids.Add(uuid);
            receiver.Prepare(uuid);
            receiver.Start();
            WaitFor(() => receiver.State == AcqState.Idle); // the run's end, as a client sees it
        }
        Assert.Equal(ReceiverLogic.MaxPipelines, receiver.Pipelines.Count);
        Assert.Equal(uuids.Skip(3).Order(), receiver.Pipelines);
        Assert.Equal(ReceiverLogic.MaxPipelines, host.Devices.Count);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
