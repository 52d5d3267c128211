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
/// have all ended it asks receiver 0 for the master file over the frames each received (frame k of a receiver is row k
/// of its files, saved or left out as no hit): a stopped or endless run's total is known only here, and so is a dead
/// receiver's count (the last one polled).
/// </remarks>
public sealed class ControlLogic : AcqDeviceLogic
{
    private readonly IReadOnlyList<IReceiverLink> _receivers;
    private readonly IDetector _detector;
    private readonly bool _partialFrames;
    private long _framesAcquired;
    private readonly Lock _master = new();
    private bool _masterDue; // from Start to the end of a run of several receivers: its master file is still to ask for
    private readonly long[] _receivedPolled; // each receiver's nb_frames_received on this run as last read: a dead one's last word
    private readonly long[] _rawSavedPolled; // and its nb_frames_saved_raw
    private string? _uuid;
    private string _lastError = LimaError.NoError;
    private bool _stopping; // this run was stopped here: receivers that end short of their share were told to
    private Thread? _poller;
    private CancellationTokenSource? _polling;

    /// <param name="detector">the camera plugin; the simulator's when null</param>
    /// <param name="busyPatience">how long a busy receiver is asked again; <see cref="PatientReceiverLink.DefaultPatience"/> when null</param>
    /// <param name="partialFrames">partial-frame dispatch (receiver_topology partial): every receiver takes a part of every
    /// frame, so a frame is acquired once every receiver has its part, and each receiver's share is every frame</param>
    public ControlLogic(IReadOnlyList<IReceiverLink> receivers, IDetector? detector = null, TimeSpan? busyPatience = null, bool partialFrames = false)
        : base(detector?.Plugin ?? DetectorPlugin.Simulator)
    {
        _partialFrames = partialFrames;
        _receivers = [.. receivers.Select(r => new PatientReceiverLink(r, busyPatience ?? PatientReceiverLink.DefaultPatience))];
        _detector = detector ?? new SimulatorDetector();
        _receivedPolled = new long[_receivers.Count];
        _rawSavedPolled = new long[_receivers.Count];
    }

    public IDetector Detector => _detector;

    public string? Uuid => _uuid;

    public IReadOnlyList<IReceiverLink> Receivers => _receivers;

    /// <summary>Frames the receivers have received in this acquisition (as of the last poll).</summary>
    public long NbFramesAcquired => Interlocked.Read(ref _framesAcquired);

    /// <summary>"No error", or the LIMA_Exception JSON of the last FAULT or of a run that ended short.</summary>
    public override string LastError
    {
        get
        {
            lock (_lock)
                return _lastError;
        }
    }

    /// <summary>
    /// Prepares the run <paramref name="uuid"/>: from IDLE, or from PREPARED, which replaces the pending run (the
    /// receivers replace theirs when the client prepares them). The run already prepared or running is a no-op;
    /// another uuid while RUNNING is refused: one run at a time.
    /// </summary>
    public override void Prepare(string uuid)
    {
        if (!Guid.TryParse(uuid, out _))
            throw new ArgumentException($"Prepare: '{uuid}' is not a uuid");
        lock (_lock)
        {
            if (_uuid == uuid && _status.State is AcqState.Prepared or AcqState.Running)
                return;
            if (_status.State == AcqState.Running)
                throw new StateException($"Prepare {uuid}: run {_uuid} is running, one run at a time: Stop it first");
            if (_status.State is not (AcqState.Idle or AcqState.Prepared))
                Require("Prepare", AcqState.Idle);
        }
        foreach (var r in _receivers)
            Answer(r);
        _detector.Prepare(AcqParams);
        lock (_master)
            _masterDue = false;
        lock (_lock)
        {
            // under the lock: a poll that read the previous run's counts no longer writes them (see Poll)
            _uuid = uuid;
            _stopping = false;
            Interlocked.Exchange(ref _framesAcquired, 0);
            Array.Clear(_receivedPolled);
            Array.Clear(_rawSavedPolled);
            _lastError = LimaError.NoError;
            _status.SetLocked(AcqState.Prepared, $"prepared {uuid}: {AcqParams.Acq.NbFrames} frames, {_receivers.Count} receivers");
        }
        _status.Raise();
    }

    /// <summary>
    /// Starts the run once every receiver has prepared it (a receiver on another run, e.g. prepared by a second
    /// client, is a FAULT naming it), then the receivers still prepared, then the detector.
    /// </summary>
    public override void Start()
    {
        Require("Start", AcqState.Prepared);
        var uuid = Uuid;
        var reads = _receivers.AsParallel().AsOrdered().Select(r => (r, Snapshot: Answer(r))).ToList();
        if (Stranger(reads, uuid) is { } stranger)
        {
            Fault(stranger);
            throw new StateException(stranger);
        }
        _status.Set(AcqState.Running, $"running {uuid}");
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
            Fault($"detector did not start: {e.Message}");
            throw;
        }
    }

    /// <summary>A software trigger, to the receivers still running: one that has received its share is IDLE and
    /// expects no more.</summary>
    public override void Trigger()
    {
        Require("Trigger", AcqState.Running);
        _detector.Trigger();
        FanOut("trigger", r =>
        {
            if (r.Read().State == AcqState.Running)
                r.Trigger();
        });
    }

    /// <summary>Stops every receiver (each returns once its run has ended), then goes IDLE unless in FAULT.</summary>
    public override void Stop()
    {
        lock (_lock)
            _stopping = true;
        // a receiver that failed before this Stop (a client aborting on its FAULT event may be faster than the next
        // poll) makes the run a FAULT, not a stopped run
        if (State == AcqState.Running && _receivers.FirstOrDefault(HasFailed) is { } failed)
            Fault($"receiver {failed.Name} failed: {What(failed)}");
        var abort = Try(_detector.Abort);
        FanOut("stop", r => r.Stop(), throwFirst: false);
        // in FAULT too: a dead receiver counts what it was last seen to have received
        var master = WriteMasterFile(null);
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
    public override void Close()
    {
        string? master = null, shortfall = null;
        if (State == AcqState.Running)
        {
            var reads = _receivers.AsParallel().AsOrdered().Select(r => (r, Snapshot: r.Read())).ToList();
            var busy = reads.Where(x => x.Snapshot.State is AcqState.Running or AcqState.Prepared).Select(x => x.r.Name).ToList();
            if (busy.Count > 0)
                throw new StateException($"Close: receivers still running ({string.Join(", ", busy)}): Stop first, or wait for them to finish");
            Interlocked.Exchange(ref _framesAcquired, Acquired(reads.Select(x => x.Snapshot.FramesReceived)));
            master = WriteMasterFile([.. reads.Select(x => x.Snapshot)]);
            shortfall = Shortfall(reads);
        }
        lock (_lock)
        {
            if (_status.State == AcqState.Fault)
                return;
            _status.SetLocked(AcqState.Idle, $"closed {_uuid}" + Note(shortfall) + Note(master));
            if (shortfall is not null)
                _lastError = Payload(shortfall);
        }
        _status.Raise();
        // Close may come before the poll saw the receivers done: the series ends here then
        _detector.Finish();
    }

    public override void Reset()
    {
        Try(_detector.Abort);
        FanOut("reset", r => r.Reset(), throwFirst: false);
        lock (_lock)
        {
            _lastError = LimaError.NoError;
            _status.SetLocked(AcqState.Idle, "reset: ready for an acquisition");
        }
        _status.Raise();
    }

    /// <summary>
    /// One look at the receivers: the summed frame count, then FAULT if one failed or does not answer while
    /// prepared or running, or IDLE once all have finished a run.
    /// </summary>
    public void Poll()
    {
        // the reads are judged against the state they were taken in: a Start (or Close) while they are under way
        // leaves them stale (a receiver read before the client prepared it shows the previous run)
        string? uuid;
        AcqState polled;
        lock (_lock)
            (uuid, polled) = (_uuid, _status.State);
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
        lock (_lock)
        {
            // a Prepare since the reads began starts a new count: these reads are the previous run's
            if (_uuid != uuid)
                return;
            // only the receivers on this run count: the others (not prepared yet) still show the previous run's
            Interlocked.Exchange(ref _framesAcquired, Acquired(reads.Select(x => x.Snapshot is { } s && s.Pipeline == uuid ? s.FramesReceived : 0)));
            for (var rank = 0; rank < reads.Count; rank++)
                if (reads[rank].Snapshot is { } s && s.Pipeline == uuid)
                {
                    _receivedPolled[rank] = s.FramesReceived;
                    _rawSavedPolled[rank] = s.RawFramesSaved;
                }
            if (_status.State is not (AcqState.Prepared or AcqState.Running or AcqState.Fault))
                return;
        }
        if (State == AcqState.Fault)
        {
            // a run that faulted (a receiver died or failed) gets its master file too, from receiver 0 if it is on
            // this run, once every receiver still answering has ended
            var onRun = reads.Select(x => x.Snapshot?.Pipeline == uuid ? x.Snapshot : null).ToList();
            if (onRun[0] is not null && onRun.All(s => s?.State is not (AcqState.Prepared or AcqState.Running))
                && WriteMasterFile(onRun) is { } problem)
            {
                lock (_lock)
                    FaultLocked(_status.Reason + Note(problem));
                _status.Raise();
            }
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
        else if (polled == AcqState.Running)
            fault = Stranger([.. reads.Select(x => (x.r, x.Snapshot!))], uuid);
        var done = fault is null && reads.All(x => x.Snapshot!.State is AcqState.Idle or AcqState.Stopped);
        var running = polled == AcqState.Running;
        var master = done && running ? WriteMasterFile([.. reads.Select(x => x.Snapshot!)]) : null;
        var shortfall = done && running ? Shortfall([.. reads.Select(x => (x.r, x.Snapshot!))]) : null;
        lock (_lock)
        {
            if (_status.State is not (AcqState.Prepared or AcqState.Running) || _status.State != polled || _uuid != uuid)
                return;
            if (fault is not null)
                FaultLocked(fault);
            else if (_status.State == AcqState.Running && done)
            {
                shortfall = _stopping ? null : shortfall; // a poll that saw the receivers of a Stop end first
                _status.SetLocked(AcqState.Idle, $"finished {_uuid}: {NbFramesAcquired} frames acquired" + Note(shortfall) + Note(master));
                if (shortfall is not null)
                    _lastError = Payload(shortfall);
            }
            else
                return;
        }
        // the series is over either way: end it (a finished detector takes the disarm as a no-op)
        if (Try(fault is null ? _detector.Finish : _detector.Abort) is { } error)
            Fault(fault is null ? $"detector did not end the series: {error}" : $"{fault} (abort failed too: {error})");
        else
            _status.Raise();
    }

    /// <summary>Why a receiver is not on this run (not prepared, or prepared for another uuid), or null.</summary>
    private static string? Stranger(IReadOnlyList<(IReceiverLink r, ReceiverSnapshot Snapshot)> reads, string? uuid) =>
        reads.FirstOrDefault(x => x.Snapshot.Pipeline != uuid) is ({ } r, { } s)
            ? s.Pipeline == ""
                ? $"receiver {r.Name} has no pipeline for run {uuid}: Prepare every receiver with this run's uuid"
                : $"receiver {r.Name} is on run {s.Pipeline}, not on this run {uuid}: another client prepared it"
            : null;

    /// <summary>
    /// Which receivers of a finite run that has ended received fewer frames than their round-robin share (a receiver
    /// stopped or reset behind the control's back), or null when none did.
    /// </summary>
    private string? Shortfall(IReadOnlyList<(IReceiverLink r, ReceiverSnapshot Snapshot)> reads)
    {
        long total = AcqParams.Acq.NbFrames, n = reads.Count;
        if (total <= 0 || Acquired(reads.Select(x => x.Snapshot.FramesReceived)) >= total)
            return null;
        var missing = reads.Select((x, rank) => (x.r.Name, Got: x.Snapshot.FramesReceived,
                Share: _partialFrames ? total : total / n + (rank < total % n ? 1 : 0)))
            .Where(x => x.Got < x.Share).Select(x => $"receiver {x.Name} received {x.Got} of its {x.Share} frames");
        return $"run {_uuid} ended short: {string.Join(", ", missing)}";
    }

    /// <summary>The frames the receivers have together: the sum of their round-robin shares, or, with partial frames, those every receiver has its part of.</summary>
    private long Acquired(IEnumerable<long> receivedPerReceiver) => _partialFrames ? receivedPerReceiver.DefaultIfEmpty(0).Min() : receivedPerReceiver.Sum();

    private static string Payload(string what) =>
        new LimaError(what, new Dictionary<string, string> { ["type"] = "AcquisitionFault" }).ToJson();

    /// <summary>FAULT with its reason, which last_error tells too; the caller holds the lock and raises after.</summary>
    private void FaultLocked(string reason)
    {
        _status.SetLocked(AcqState.Fault, reason);
        _lastError = Payload(reason);
    }

    private void Fault(string reason)
    {
        lock (_lock)
            FaultLocked(reason);
        _status.Raise();
    }

    private static ReceiverSnapshot Answer(IReceiverLink r)
    {
        try
        {
            return r.Read();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"receiver {r.Name} did not answer: {e.Message}", e);
        }
    }

    /// <summary>
    /// Once per run of several receivers, all of them ended: receiver 0 writes the master file over the frames each
    /// received (after a complete run it answers with the one it wrote itself). Returns why that failed, or null; the
    /// frames are safe in the receivers' own files either way, so it is said in the status, not thrown.
    /// </summary>
    /// <param name="reads">the receivers' snapshots taken after they ended, in rank order (null for one that did not
    /// answer: its last polled count is taken); null: read them now</param>
    private string? WriteMasterFile(IReadOnlyList<ReceiverSnapshot?>? reads)
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

    private static ReceiverSnapshot? ReadOrNull(IReceiverLink r)
    {
        try
        {
            return r.Read();
        }
        catch (Exception)
        {
            return null; // dead: what it received is what it was last seen to have received
        }
    }

    private string? AskMasterFile(IReadOnlyList<ReceiverSnapshot?>? reads)
    {
        reads ??= [.. _receivers.AsParallel().AsOrdered().Select(ReadOrNull)];
        // every frame a receiver took has its row, saved or left out as no hit (SMX fai.dense_skip_nohits): the
        // master maps them all, so that its frame i is the acquisition's frame i
        var received = reads.Select((s, rank) => s?.FramesReceived ?? _receivedPolled[rank]).ToArray();
        // a corrected JUNGFRAU run's raw words beside its frames: their own master file, over their own counts
        var raw = reads.Select((s, rank) => s?.RawFramesSaved ?? _rawSavedPolled[rank]).ToArray();
        var dense = received.Sum() > 0 ? Try(() => _receivers[0].WriteMasterFile(received)) : null;
        var rawWords = raw.Sum() > 0 ? Try(() => _receivers[0].WriteRawMasterFile(raw)) : null;
        // either failing leaves the other written: the frames are safe in the receivers' files anyway
        var problems = new[] { dense is null ? null : $"master file not written: {dense}", rawWords is null ? null : $"raw master file not written: {rawWords}" }
            .OfType<string>().ToList();
        return problems.Count == 0 ? null : string.Join("; ", problems);
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

    private static bool HasFailed(IReceiverLink r)
    {
        try
        {
            return r.Read().State is AcqState.Fault or AcqState.Terminate;
        }
        catch (Exception)
        {
            return false; // one that does not answer is the poll's to report
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
            Fault(first.Message);
            throw first;
        }
    }

    /// <summary>
    /// <see cref="Poll"/>s every <paramref name="period"/> on a thread of its own until <see cref="StopPolling"/>; a
    /// poll that throws is logged to <paramref name="log"/> and the next one runs.
    /// </summary>
    public void StartPolling(TimeSpan period, NLog.Logger log)
    {
        if (_poller is not null)
            throw new InvalidOperationException("the receivers are polled already");
        var stop = new CancellationTokenSource();
        _polling = stop;
        _poller = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    Poll();
                }
                catch (Exception e)
                {
                    log.Warn(e, "polling the receivers failed");
                }
                stop.Token.WaitHandle.WaitOne(period);
            }
        }) { Name = $"poll {log.Name}", IsBackground = true };
        _poller.Start();
    }

    /// <summary>Returns once the polling thread has ended (its poll in flight done); no-op when not polling.</summary>
    public void StopPolling()
    {
        _polling?.Cancel();
        _poller?.Join();
        _polling?.Dispose();
        (_polling, _poller) = (null, null);
    }

    public override ValueTask DisposeAsync()
    {
        StopPolling();
        foreach (var r in _receivers)
            r.Dispose();
        _detector.Dispose();
        return ValueTask.CompletedTask;
    }
}
