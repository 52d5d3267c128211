using Lima2.Protocol;
using Lima2.Server.Control;

namespace Lima2.Server.Tests;

/// <summary>A receiver the test moves by hand; it can fail or vanish.</summary>
internal sealed class FakeReceiver(string name) : IReceiverLink
{
    public string Name { get; } = name;
    public AcqState State { get; set; } = AcqState.Idle;
    public long Frames { get; set; }
    public long RawSaved { get; set; }
    public string? MasterFailure { get; set; }
    public List<long[]> MasterRequests { get; } = [];
    public List<long[]> RawMasterRequests { get; } = [];
    public bool Gone { get; set; }
    public string Error { get; set; } = LimaError.NoError;
    public List<string> Calls { get; } = [];

    /// <summary>current_pipeline: the run the tests prepare, unless a test says otherwise.</summary>
    public string Pipeline { get; set; } = ControlLogicTests.Uuid;

    /// <summary>Reads that fail as a receiver busy with a long command fails them (it answers a ping, not the read).</summary>
    public int BusyReads { get; set; }
    public int Reads { get; private set; }

    /// <summary>Runs once, after the next read took its snapshot and before it returns (what happens while a read is on its way back).</summary>
    public Action? AfterNextRead { get; set; }

    public ReceiverSnapshot Read()
    {
        Reads++;
        if (Gone)
            throw new InvalidOperationException("API_DeviceNotExported");
        if (BusyReads > 0)
        {
            BusyReads--;
            throw new ReceiverBusyException("Not able to acquire serialization (dev, class or process) monitor");
        }
        var snapshot = new ReceiverSnapshot(State, Frames, Pipeline, RawSaved);
        var after = AfterNextRead;
        AfterNextRead = null;
        after?.Invoke();
        return snapshot;
    }

    public string LastError() => Error;

    public void Start()
    {
        Record("Start");
        State = AcqState.Running;
    }

    /// <summary>Called once this receiver has stopped, inside the control's Stop.</summary>
    public Action? Stopped { get; set; }

    public void Stop()
    {
        Record("Stop");
        State = AcqState.Idle;
        Stopped?.Invoke();
    }

    public void Trigger() => Record("Trigger");

    public string WriteMasterFile(long[] savedPerReceiver)
    {
        Record("writeMasterFile");
        MasterRequests.Add(savedPerReceiver);
        return MasterFailure is null ? "/data/master.h5" : throw new InvalidOperationException(MasterFailure);
    }

    public string WriteRawMasterFile(long[] savedPerReceiver)
    {
        Record("writeRawMasterFile");
        RawMasterRequests.Add(savedPerReceiver);
        return "/data/raw_master.h5";
    }

    public void Reset()
    {
        Record("Reset");
        State = AcqState.Idle;
    }

    private void Record(string call)
    {
        if (Gone)
            throw new InvalidOperationException("API_DeviceNotExported");
        lock (Calls)
            Calls.Add(call);
    }

    public void Dispose()
    {
    }
}

public sealed class ControlLogicTests
{
    internal static readonly string Uuid = Guid.NewGuid().ToString();

    private static (ControlLogic, FakeReceiver[]) System(int n = 2)
    {
        var receivers = Enumerable.Range(0, n).Select(i => new FakeReceiver($"id00/limareceiver/sim@{i}")).ToArray();
        return (new ControlLogic(receivers), receivers);
    }

    [Fact]
    public void Start_starts_the_receivers_still_prepared_and_the_control_goes_idle_when_all_have_finished()
    {
        var (control, receivers) = System(3);
        var changes = new List<AcqState>();
        control.StateChanged += changes.Add;
        receivers[1].State = AcqState.Running; // a client started this one first
        receivers[0].State = receivers[2].State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        Assert.Equal(["Start"], receivers[0].Calls);
        Assert.Empty(receivers[1].Calls);
        Assert.Equal(["Start"], receivers[2].Calls);
        receivers[0].State = AcqState.Idle;
        receivers[0].Frames = 10;
        receivers[1].Frames = 7;
        control.Poll();
        Assert.Equal(AcqState.Running, control.State);
        Assert.Equal(17, control.NbFramesAcquired);
        receivers[1].State = receivers[2].State = AcqState.Idle;
        control.Poll();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Equal([AcqState.Prepared, AcqState.Running, AcqState.Idle], changes);
        Assert.Contains("finished", control.Reason);
    }

    [Fact]
    public void Close_right_after_the_receivers_finished_counts_their_frames_without_waiting_for_a_poll()
    {
        var (control, receivers) = System();
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        foreach (var r in receivers)
        {
            r.State = AcqState.Idle;
            r.Frames = 5;
        }
        control.Close();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Equal(10, control.NbFramesAcquired);
    }

    [Fact]
    public void A_receiver_that_faults_puts_the_control_in_fault_with_its_error_and_reset_recovers()
    {
        var (control, receivers) = System();
        control.Prepare(Uuid);
        control.Start();
        receivers[1].State = AcqState.Fault;
        receivers[1].Error = new LimaError("disk full", new Dictionary<string, string>()).ToJson();
        control.Poll();
        Assert.Equal(AcqState.Fault, control.State);
        Assert.Contains("sim@1 failed: disk full", control.Reason);
        var refused = Assert.Throws<StateException>(() => control.Prepare(Guid.NewGuid().ToString()));
        Assert.Contains("Reset first", refused.Message);
        control.Reset();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.All(receivers, r => Assert.Contains("Reset", r.Calls));
    }

    [Fact]
    public void A_receiver_that_disappears_while_running_puts_the_control_in_fault_naming_it()
    {
        var (control, receivers) = System();
        control.Prepare(Uuid);
        control.Start();
        receivers[0].Gone = true;
        control.Poll();
        Assert.Equal(AcqState.Fault, control.State);
        Assert.Contains("sim@0 does not answer", control.Reason);
    }

    [Fact]
    public void A_receiver_busy_with_a_long_command_is_asked_again_and_does_not_fault_the_control()
    {
        var (control, receivers) = System();
        control.Prepare(Uuid);
        control.Start();
        foreach (var r in receivers)
            r.State = AcqState.Running;
        receivers[1].BusyReads = 3;
        var readsBefore = receivers[1].Reads;
        control.Poll();
        Assert.Equal(AcqState.Running, control.State);
        Assert.Equal(4, receivers[1].Reads - readsBefore);
    }

    [Fact]
    public void A_poll_whose_reads_were_taken_before_the_client_prepared_every_receiver_and_started_does_not_judge_the_run_by_them()
    {
        var (control, receivers) = System();
        control.Prepare(Uuid);
        receivers[0].State = AcqState.Prepared;
        receivers[1].Pipeline = ""; // the client has not prepared it yet when the poll reads it (the previous run erased)
        receivers[1].AfterNextRead = () =>
        {
            receivers[1].Pipeline = Uuid;
            receivers[1].State = AcqState.Prepared;
            control.Start();
        };
        control.Poll();
        Assert.Equal(AcqState.Running, control.State);
        Assert.Equal($"running {Uuid}", control.Reason);
        control.Poll(); // the next poll reads the run as it is
        Assert.Equal(AcqState.Running, control.State);
    }

    [Fact]
    public void A_receiver_busy_for_longer_than_the_patience_faults_the_control_naming_it()
    {
        var receivers = Enumerable.Range(0, 2).Select(i => new FakeReceiver($"id00/limareceiver/sim@{i}")).ToArray();
        var control = new ControlLogic(receivers, busyPatience: TimeSpan.FromMilliseconds(300));
        control.Prepare(Uuid);
        control.Start();
        receivers[0].BusyReads = int.MaxValue;
        control.Poll();
        Assert.Equal(AcqState.Fault, control.State);
        Assert.Contains("sim@0 does not answer: busy for more than 0.3 s", control.Reason);
    }

    [Fact]
    public void A_receiver_missing_while_idle_does_not_fault_but_prepare_says_which_one()
    {
        var (control, receivers) = System();
        receivers[1].Gone = true;
        control.Poll();
        Assert.Equal(AcqState.Idle, control.State);
        var e = Assert.Throws<InvalidOperationException>(() => control.Prepare(Uuid));
        Assert.Contains("sim@1", e.Message);
        Assert.Equal(AcqState.Idle, control.State);
    }

    [Fact]
    public void Stop_stops_every_receiver_and_returns_to_idle()
    {
        var (control, receivers) = System();
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        control.Stop();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.All(receivers, r => Assert.Equal(["Start", "Stop"], r.Calls));
    }

    [Fact]
    public void A_stop_that_comes_before_the_poll_saw_a_receiver_fail_leaves_the_control_in_fault_naming_it()
    {
        var (control, receivers) = System();
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        receivers[1].State = AcqState.Fault; // a client aborting on this FAULT event is faster than the next poll
        control.Stop();
        Assert.Equal(AcqState.Fault, control.State);
        Assert.Contains(receivers[1].Name, control.Reason);
    }

    [Fact]
    public void Stop_of_several_receivers_asks_receiver_0_once_for_the_master_file_over_their_received_counts()
    {
        var (control, receivers) = System(3);
        control.Prepare(Uuid);
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Start();
        (receivers[0].Frames, receivers[1].Frames, receivers[2].Frames) = (5, 4, 4);
        control.Stop();
        control.Poll();
        control.Close();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Equal([[5, 4, 4]], receivers[0].MasterRequests);
        Assert.Empty(receivers[1].MasterRequests);
        Assert.Empty(receivers[2].MasterRequests);
    }

    [Fact]
    public void An_endless_run_whose_receivers_were_stopped_by_the_client_gets_its_master_file_at_the_next_poll()
    {
        var (control, receivers) = System();
        control.Prepare(Uuid);
        control.Start();
        foreach (var r in receivers)
            r.State = AcqState.Running;
        control.Poll();
        Assert.Empty(receivers[0].MasterRequests);
        (receivers[0].State, receivers[0].Frames) = (AcqState.Idle, 8);
        (receivers[1].State, receivers[1].Frames) = (AcqState.Idle, 7);
        control.Poll();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Equal([[8, 7]], receivers[0].MasterRequests);
    }

    [Fact]
    public void A_run_whose_receiver_died_gets_its_master_file_over_its_last_polled_count_once_the_others_have_ended()
    {
        var (control, receivers) = System();
        control.Prepare(Uuid);
        control.Start();
        foreach (var r in receivers)
            (r.State, r.Frames) = (AcqState.Running, 3);
        control.Poll();
        receivers[1].Gone = true;
        control.Poll();
        Assert.Equal(AcqState.Fault, control.State);
        Assert.Empty(receivers[0].MasterRequests); // receiver 0 still saves
        (receivers[0].State, receivers[0].Frames) = (AcqState.Idle, 5);
        control.Poll();
        control.Poll();
        Assert.Equal([[5, 3]], receivers[0].MasterRequests);
        Assert.Equal(AcqState.Fault, control.State);
        Assert.Contains("sim@1 does not answer", control.Reason);
    }

    [Fact]
    public void Stop_after_a_receiver_died_asks_receiver_0_for_the_master_file_with_the_dead_ones_last_polled_count()
    {
        var (control, receivers) = System(3);
        control.Prepare(Uuid);
        control.Start();
        foreach (var r in receivers)
            (r.State, r.Frames) = (AcqState.Running, 2);
        control.Poll();
        receivers[2].Frames = 4; // received after the last poll: unknown to the control when it dies
        receivers[2].Gone = true;
        control.Poll();
        Assert.Equal(AcqState.Fault, control.State);
        (receivers[0].Frames, receivers[1].Frames) = (6, 5);
        control.Stop();
        Assert.Equal([[6, 5, 2]], receivers[0].MasterRequests);
        Assert.Equal(AcqState.Fault, control.State);
    }

    [Fact]
    public void A_master_file_that_cannot_be_written_is_said_in_the_status_and_the_control_still_goes_idle()
    {
        var (control, receivers) = System();
        control.Prepare(Uuid);
        control.Start();
        receivers[0].Frames = receivers[1].Frames = 3;
        receivers[0].MasterFailure = "disk full";
        control.Stop();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Contains("master file not written: disk full", control.Reason);
    }

    [Fact]
    public void A_stopped_run_whose_raw_words_were_saved_beside_gets_their_master_too_even_when_the_dense_one_fails()
    {
        var (control, receivers) = System();
        control.Prepare(Uuid);
        control.Start();
        (receivers[0].Frames, receivers[1].Frames) = (3, 3);
        (receivers[0].RawSaved, receivers[1].RawSaved) = (3, 2); // the second's raw queue dropped one
        receivers[0].MasterFailure = "disk full";
        control.Stop();
        Assert.Equal([[3, 2]], receivers[0].RawMasterRequests);
        Assert.Empty(receivers[1].RawMasterRequests);
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Contains("master file not written: disk full", control.Reason);
        Assert.DoesNotContain("raw master file not written", control.Reason);
    }

    [Fact]
    public void A_single_receiver_or_a_run_that_saved_nothing_asks_for_no_master_file()
    {
        var (single, alone) = System(1);
        single.Prepare(Uuid);
        single.Start();
        alone[0].Frames = 9;
        single.Stop();
        Assert.Empty(alone[0].MasterRequests);
        var (control, receivers) = System();
        control.Prepare(Uuid);
        control.Start();
        control.Stop();
        Assert.Empty(receivers[0].MasterRequests);
        Assert.Empty(receivers[0].RawMasterRequests);
    }

    [Fact]
    public void Trigger_goes_to_every_receiver_only_while_running()
    {
        var (control, receivers) = System();
        Assert.Throws<StateException>(control.Trigger);
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        control.Trigger();
        Assert.All(receivers, r => Assert.Contains("Trigger", r.Calls));
    }

    [Fact]
    public void Malformed_acq_params_are_refused_with_the_field_path_and_leave_the_previous_params()
    {
        var (control, _) = System();
        control.AcqParamsJson = """{"acq": {"nb_frames": 5}}""";
        var e = Assert.Throws<Lima2.Core.Parameters.ParamsException>(() =>
            control.AcqParamsJson = """{"acq": {"nb_frames": -1, "expo_time": "fast"}}""");
        Assert.Contains("acq_params.acq.nb_frames", e.Message);
        Assert.Contains("acq_params.acq.expo_time", e.Message);
        Assert.Equal(5, control.AcqParams.Acq.NbFrames);
        Assert.Equal(AcqState.Idle, control.State);
    }

    [Fact]
    public void Prepare_refuses_what_is_not_a_uuid()
    {
        var (control, _) = System();
        Assert.Throws<ArgumentException>(() => control.Prepare("run-1"));
        Assert.Equal(AcqState.Idle, control.State);
    }

    [Fact]
    public void Trigger_skips_a_receiver_that_has_its_share_and_the_run_ends_without_fault()
    {
        var (control, receivers) = System();
        control.AcqParamsJson = """{"acq": {"nb_frames": 3, "trigger_mode": "software"}}""";
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        control.Trigger();
        control.Trigger();
        // receiver 0 has frames 0 and 2, receiver 1 frame 1: after the third trigger receiver 1 is done
        receivers[1].State = AcqState.Idle;
        receivers[1].Frames = 1;
        control.Trigger();
        Assert.Equal(3, receivers[0].Calls.Count(c => c == "Trigger"));
        Assert.Equal(2, receivers[1].Calls.Count(c => c == "Trigger"));
        receivers[0].State = AcqState.Idle;
        receivers[0].Frames = 2;
        control.Poll();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Equal(3, control.NbFramesAcquired);
        Assert.Equal(LimaError.NoError, control.LastError);
    }

    [Fact]
    public void Last_error_is_no_error_until_a_fault_then_its_lima_payload_until_reset()
    {
        var (control, receivers) = System();
        Assert.Equal(LimaError.NoError, control.LastError);
        control.Prepare(Uuid);
        control.Start();
        receivers[0].Gone = true;
        control.Poll();
        Assert.Equal(AcqState.Fault, control.State);
        var error = LimaError.Parse(control.LastError)!;
        Assert.Equal(control.Reason, error.What);
        Assert.Contains("sim@0 does not answer", error.What);
        receivers[0].Gone = false;
        control.Reset();
        Assert.Equal(LimaError.NoError, control.LastError);
    }

    [Fact]
    public void Prepare_while_prepared_replaces_the_pending_run_and_while_running_is_refused_naming_the_running_one()
    {
        var (control, receivers) = System();
        control.Prepare(Guid.NewGuid().ToString());
        control.Prepare(Uuid); // a re-prepare after an aborted scan
        Assert.Equal(AcqState.Prepared, control.State);
        Assert.Equal(Uuid, control.Uuid);
        control.Prepare(Uuid); // the same run again: already done
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Start();
        var other = Guid.NewGuid().ToString();
        var refused = Assert.Throws<StateException>(() => control.Prepare(other));
        Assert.Contains($"run {Uuid} is running, one run at a time", refused.Message);
        Assert.Equal(AcqState.Running, control.State);
        Assert.Equal(Uuid, control.Uuid);
    }

    [Fact]
    public void Nb_frames_acquired_after_prepare_counts_only_the_receivers_already_on_the_new_run()
    {
        var (control, receivers) = System();
        var previous = Guid.NewGuid().ToString();
        foreach (var r in receivers)
            (r.Pipeline, r.Frames) = (previous, 50);
        control.Prepare(Uuid);
        (receivers[1].Pipeline, receivers[1].Frames, receivers[1].State) = (Uuid, 0, AcqState.Prepared);
        control.Poll(); // receiver 0 is not prepared yet: it still shows the previous run's 50
        Assert.Equal(0, control.NbFramesAcquired);
        (receivers[0].Pipeline, receivers[0].Frames, receivers[0].State) = (Uuid, 0, AcqState.Prepared);
        control.Start();
        receivers[0].Frames = 3;
        control.Poll();
        Assert.Equal(3, control.NbFramesAcquired);
    }

    [Fact]
    public void Start_with_a_receiver_on_another_run_faults_naming_it_and_starts_nothing()
    {
        var (control, receivers) = System();
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        var other = Guid.NewGuid().ToString();
        receivers[1].Pipeline = other; // a second client prepared it
        control.Prepare(Uuid);
        var e = Assert.Throws<StateException>(control.Start);
        Assert.Contains($"sim@1 is on run {other}, not on this run {Uuid}", e.Message);
        Assert.Equal(AcqState.Fault, control.State);
        Assert.Contains("sim@1", LimaError.Parse(control.LastError)!.What);
        Assert.All(receivers, r => Assert.DoesNotContain("Start", r.Calls));
    }

    [Fact]
    public void With_partial_frames_a_frame_is_acquired_once_every_receiver_has_its_part_and_each_receivers_share_is_every_frame()
    {
        var receivers = Enumerable.Range(0, 2).Select(i => new FakeReceiver($"id00/limareceiver/jf@{i}")).ToArray();
        var control = new ControlLogic(receivers, partialFrames: true) { AcqParamsJson = """{"acq": {"nb_frames": 10}}""" };
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        (receivers[0].Frames, receivers[1].Frames) = (10, 7);
        control.Poll();
        Assert.Equal(7, control.NbFramesAcquired); // not 17: frames 7 to 9 lack receiver 1's modules
        (receivers[0].State, receivers[1].State) = (AcqState.Idle, AcqState.Idle);
        control.Poll();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Equal($"run {Uuid} ended short: receiver id00/limareceiver/jf@1 received 7 of its 10 frames", LimaError.Parse(control.LastError)!.What);
    }

    [Fact]
    public void A_run_that_ends_short_is_not_reported_as_a_success_status_and_last_error_name_the_receiver_and_its_counts()
    {
        var (control, receivers) = System();
        control.AcqParamsJson = """{"acq": {"nb_frames": 400}}""";
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        (receivers[0].State, receivers[0].Frames) = (AcqState.Idle, 200);
        (receivers[1].State, receivers[1].Frames) = (AcqState.Idle, 118); // reset behind the control's back
        control.Poll();
        var what = LimaError.Parse(control.LastError)!.What;
        Assert.Equal($"run {Uuid} ended short: receiver id00/limareceiver/sim@1 received 118 of its 200 frames", what);
        Assert.Contains(what, control.Reason);
        // stopped here: receivers ending short were told to, even when a poll sees them end before Stop returns
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Guid.NewGuid().ToString());
        foreach (var r in receivers)
            r.Pipeline = control.Uuid!;
        control.Start();
        receivers[0].Stopped = () =>
        {
            receivers[1].State = AcqState.Idle;
            control.Poll(); // inside Stop's fan-out: both receivers ended short, stopped
        };
        control.Stop();
        Assert.Equal(AcqState.Idle, control.State);
        Assert.Equal(LimaError.NoError, control.LastError);
    }

    [Fact]
    public async Task Polling_follows_the_receivers_on_a_thread_of_its_own_until_it_is_stopped()
    {
        var (control, receivers) = System();
        foreach (var r in receivers)
            r.State = AcqState.Prepared;
        control.Prepare(Uuid);
        control.Start();
        var idle = new TaskCompletionSource();
        control.StateChanged += s =>
        {
            if (s == AcqState.Idle)
                idle.TrySetResult();
        };
        var log = NLog.LogManager.GetLogger(nameof(ControlLogicTests));
        control.StartPolling(TimeSpan.FromMilliseconds(5), log);
        Assert.Throws<InvalidOperationException>(() => control.StartPolling(TimeSpan.FromMilliseconds(5), log));
        foreach (var r in receivers)
        {
            r.Frames = 10;
            r.State = AcqState.Idle;
        }
        await idle.Task.WaitAsync(TimeSpan.FromSeconds(10)); // no Poll called here: the thread saw them end
        Assert.Equal(20, control.NbFramesAcquired);
        control.StopPolling();
        var reads = receivers[0].Reads;
        await Task.Delay(100);
        Assert.Equal(reads, receivers[0].Reads);
        // polled again, then disposed: DisposeAsync ends the thread too
        control.StartPolling(TimeSpan.FromMilliseconds(5), log);
        await control.DisposeAsync();
        reads = receivers[0].Reads;
        await Task.Delay(100);
        Assert.Equal(reads, receivers[0].Reads);
    }
}
