using Lima2.Core.Parameters;
using Lima2.Protocol;

namespace Lima2.Server.Control;

/// <summary>
/// The control device's logic: acquisition parameters, the state machine, and the receivers it watches and drives.
/// </summary>
/// <remarks>
/// Lima2's clients (conductor, BLISS, the old client) write params to and Prepare/Start every device themselves;
/// the control adds what needs one place: it validates the acquisition, starts the receivers that are still
/// prepared when it starts (a receiver's Start is idempotent), fans Trigger, Stop and Reset out to all receivers
/// in parallel, sums their frame counts, and follows their states with <see cref="Poll"/>: it goes IDLE when every
/// receiver has finished, and FAULT, with the reason, when one fails or stops answering (a receiver busy with a long
/// command, which answers a ping but not the request, is asked again for up to <c>busyPatience</c>). Its <see cref="IDetector"/>
/// (the camera plugin) is prepared after the receivers answered, started after they started (so no frame flows
/// before they are ready), finished once they are done, and aborted on Stop and Reset. Once the receivers of a run
/// have all ended it asks receiver 0 for the master file over their saved counts: a stopped or endless run's total is
/// known only here.
/// </remarks>
public sealed class ControlLogic : AcqDeviceLogic, IDisposable
{
    private readonly IReadOnlyList<IReceiverLink> _receivers;
    private readonly IDetector _detector;
    private long _framesAcquired;
    private readonly Lock _master = new();
    private bool _masterDue; // from Start to the end of a run of several receivers: its master file is still to ask for
    private string? _uuid;

    /// <param name="detector">the camera plugin; the simulator's when null</param>
    /// <param name="busyPatience">how long a busy receiver is asked again; <see cref="PatientReceiverLink.DefaultPatience"/> when null</param>
    public ControlLogic(IReadOnlyList<IReceiverLink> receivers, IDetector? detector = null, TimeSpan? busyPatience = null)
        : base(detector?.Plugin ?? DetectorPlugin.Simulator)
    {
        _receivers = [.. receivers.Select(r => new PatientReceiverLink(r, busyPatience ?? PatientReceiverLink.DefaultPatience))];
        _detector = detector ?? new SimulatorDetector();
    }

    public IDetector Detector => _detector;

    public string? Uuid => _uuid;

    public IReadOnlyList<IReceiverLink> Receivers => _receivers;

    /// <summary>Frames the receivers have received in this acquisition (as of the last poll).</summary>
    public long NbFramesAcquired => Interlocked.Read(ref _framesAcquired);

    public void Prepare(string uuid)
    {
        if (!Guid.TryParse(uuid, out _))
            throw new ArgumentException($"Prepare: '{uuid}' is not a uuid");
        Require("Prepare", AcqState.Idle);
        foreach (var r in _receivers)
            Ask(r, "answer", () => r.Read());
        _detector.Prepare(AcqParams);
        _uuid = uuid;
        Interlocked.Exchange(ref _framesAcquired, 0);
        lock (_master)
            _masterDue = false;
        _status.Set(AcqState.Prepared, $"prepared {uuid}: {AcqParams.Acq.NbFrames} frames, {_receivers.Count} receivers");
    }

    public void Start()
    {
        Require("Start", AcqState.Prepared);
        _status.Set(AcqState.Running, $"running {_uuid}");
        lock (_master)
            _masterDue = _receivers.Count > 1;
        FanOut("start", r =>
        {
            if (r.Read().State == AcqState.Prepared)
                r.Start();
        });
        try
        {
            _detector.Start();
        }
        catch (Exception e)
        {
            _status.Set(AcqState.Fault, $"detector did not start: {e.Message}");
            throw;
        }
    }

    public void Trigger()
    {
        Require("Trigger", AcqState.Running);
        _detector.Trigger();
        FanOut("trigger", r => r.Trigger());
    }

    /// <summary>Stops every receiver (each returns once its run has ended), then goes IDLE unless in FAULT.</summary>
    public void Stop()
    {
        var abort = Try(_detector.Abort);
        FanOut("stop", r => r.Stop(), throwFirst: false);
        var master = State == AcqState.Fault ? null : WriteMasterFile(null);
        lock (_lock)
        {
            if (_status.State is AcqState.Prepared or AcqState.Running)
                _status.SetLocked(AcqState.Idle, $"stopped {_uuid}" + (abort is null ? "" : $" (detector abort failed: {abort})") + Note(master));
            else if (_status.State == AcqState.Idle && master is not null)
                _status.SetLocked(AcqState.Idle, _status.Reason + Note(master)); // a poll saw the receivers stopped first
        }
        _status.Raise();
    }

    /// <summary>
    /// Ends the acquisition on the control side: back to IDLE (a FAULT stays until Reset). Clients send it once the
    /// receivers are done, possibly before the next poll has seen it: while RUNNING the receivers are asked, and
    /// their frame counts taken, so that nb_frames_acquired read after Close is the run's total.
    /// </summary>
    public void Close()
    {
        string? master = null;
        if (State == AcqState.Running)
        {
            var reads = _receivers.AsParallel().Select(r => (r.Name, Snapshot: r.Read())).ToList();
            var busy = reads.Where(x => x.Snapshot.State is AcqState.Running or AcqState.Prepared).Select(x => x.Name).ToList();
            if (busy.Count > 0)
                throw new StateException($"Close: receivers still running ({string.Join(", ", busy)}): Stop first, or wait for them to finish");
            Interlocked.Exchange(ref _framesAcquired, reads.Sum(x => x.Snapshot.FramesReceived));
            master = WriteMasterFile([.. reads.Select(x => x.Snapshot)]);
        }
        lock (_lock)
        {
            if (_status.State == AcqState.Fault)
                return;
            _status.SetLocked(AcqState.Idle, $"closed {_uuid}" + Note(master));
        }
        _status.Raise();
        // Close may come before the poll saw the receivers done: the series ends here then
        _detector.Finish();
    }

    public void Reset()
    {
        Try(_detector.Abort);
        FanOut("reset", r => r.Reset(), throwFirst: false);
        _status.Set(AcqState.Idle, "reset: ready for an acquisition");
    }

    /// <summary>
    /// One look at the receivers: the summed frame count, then FAULT if one failed or does not answer while
    /// prepared or running, or IDLE once all have finished a run.
    /// </summary>
    public void Poll()
    {
        var reads = _receivers.AsParallel().AsOrdered().Select(r =>
        {
            try
            {
                return (r, Snapshot: r.Read(), Error: (string?)null);
            }
            catch (Exception e)
            {
                return (r, Snapshot: (ReceiverSnapshot?)null, Error: e.Message);
            }
        }).ToList();
        Interlocked.Exchange(ref _framesAcquired, reads.Sum(x => x.Snapshot?.FramesReceived ?? 0));
        lock (_lock)
        {
            if (_status.State is not (AcqState.Prepared or AcqState.Running))
                return;
        }
        var gone = reads.FirstOrDefault(x => x.Snapshot is null);
        var failed = reads.FirstOrDefault(x => x.Snapshot?.State is AcqState.Fault or AcqState.Terminate);
        string? fault = null;
        if (_detector.Failure is { } detector)
            fault = detector;
        else if (gone.r is not null)
            fault = $"receiver {gone.r.Name} does not answer: {gone.Error}";
        else if (failed.r is not null)
            fault = $"receiver {failed.r.Name} failed: {What(failed.r)}";
        var done = fault is null && reads.All(x => x.Snapshot!.State is AcqState.Idle or AcqState.Stopped);
        var master = done && State == AcqState.Running ? WriteMasterFile([.. reads.Select(x => x.Snapshot!)]) : null;
        lock (_lock)
        {
            if (_status.State is not (AcqState.Prepared or AcqState.Running))
                return;
            if (fault is not null)
                _status.SetLocked(AcqState.Fault, fault);
            else if (_status.State == AcqState.Running && done)
                _status.SetLocked(AcqState.Idle, $"finished {_uuid}: {NbFramesAcquired} frames acquired" + Note(master));
            else
                return;
        }
        // the series is over either way: end it (a finished detector takes the disarm as a no-op)
        if (Try(fault is null ? _detector.Finish : _detector.Abort) is { } error)
            _status.Set(AcqState.Fault, fault is null ? $"detector did not end the series: {error}" : $"{fault} (abort failed too: {error})");
        else
            _status.Raise();
    }

    /// <summary>
    /// Once per run of several receivers, all of them ended: receiver 0 writes the master file over the frames each
    /// saved (after a complete run it answers with the one it wrote itself). Returns why that failed, or null; the
    /// frames are safe in the receivers' own files either way, so it is said in the status, not thrown.
    /// </summary>
    /// <param name="reads">the receivers' snapshots taken after they ended, in rank order; null: read them now</param>
    private string? WriteMasterFile(IReadOnlyList<ReceiverSnapshot>? reads)
    {
        // held while receiver 0 writes: a Stop racing the poll that saw the receivers stopped returns (and the
        // control goes idle) only once the file is there
        lock (_master)
        {
            if (!_masterDue)
                return null;
            _masterDue = false;
            return AskMasterFile(reads);
        }
    }

    private string? AskMasterFile(IReadOnlyList<ReceiverSnapshot>? reads)
    {
        try
        {
            var saved = (reads ?? [.. _receivers.AsParallel().AsOrdered().Select(r => r.Read())]).Select(s => s.FramesSaved).ToArray();
            if (saved.Sum() > 0)
                _receivers[0].WriteMasterFile(saved);
            return null;
        }
        catch (Exception e)
        {
            return $"master file not written: {e.Message}";
        }
    }

    private static string Note(string? problem) => problem is null ? "" : $" ({problem})";

    private static string? Try(Action call)
    {
        try
        {
            call();
            return null;
        }
        catch (Exception e)
        {
            return e.Message;
        }
    }

    private static string What(IReceiverLink r)
    {
        try
        {
            var text = r.LastError();
            return text.TrimStart().StartsWith('{') ? LimaError.Parse(text)?.What ?? text : text;
        }
        catch (Exception e)
        {
            return $"(last_error unreadable: {e.Message})";
        }
    }

    private void Require(string command, AcqState expected)
    {
        lock (_lock)
            if (_status.State != expected)
                throw new StateException(
                    $"{command} needs acq_state {expected.ToString().ToLowerInvariant()}, it is {_status.State.ToString().ToLowerInvariant()}" +
                    (_status.State == AcqState.Fault ? $" ({_status.Reason}): Reset first" : ""));
    }

    private static void Ask(IReceiverLink r, string what, Action call)
    {
        try
        {
            call();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"receiver {r.Name} did not {what}: {e.Message}", e);
        }
    }

    /// <summary>Calls every receiver at once; the first failure is thrown after all have been called.</summary>
    private void FanOut(string what, Action<IReceiverLink> call, bool throwFirst = true)
    {
        var errors = new Exception?[_receivers.Count];
        Parallel.For(0, _receivers.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _receivers.Count) }, i =>
        {
            try
            {
                call(_receivers[i]);
            }
            catch (Exception e)
            {
                errors[i] = new InvalidOperationException($"receiver {_receivers[i].Name} did not {what}: {e.Message}", e);
            }
        });
        if (throwFirst && errors.FirstOrDefault(e => e is not null) is { } first)
        {
            _status.Set(AcqState.Fault, first.Message);
            throw first;
        }
    }


    public void Dispose()
    {
        foreach (var r in _receivers)
            r.Dispose();
        _detector.Dispose();
    }
}
