using System.Collections.Concurrent;
using Lima2.Acquisition;
using Lima2.Acquisition.Processing;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Jungfrau;
using Lima2.Protocol;

namespace Lima2.Server.Receiver;

/// <summary>Creates and deletes the processing device of a run (Tango devices in the server, a list in tests).</summary>
public interface IProcessingHost
{
    /// <summary>Makes the pipeline reachable as a processing device; returns the device name.</summary>
    string Create(ProcessingView pipeline);

    void Delete(string deviceName);
}

/// <summary>
/// The receiver device's logic: params written before Prepare, one <see cref="ProcessingView"/> (a <see cref="ReceiverRun"/>
/// keeping what the getters and pops serve) per Prepare uuid with its processing device, the state machine (IDLE →
/// PREPARED → RUNNING → IDLE by itself at the end of its share), and the counters the beamline watches.
/// </summary>
/// <remarks>
/// Prepare runs without the Tango device monitor (it may build kernels, load references and create files for
/// seconds), so every member is safe against concurrent calls: one Prepare at a time, a second one of the same uuid
/// (the control and a client both send it) waits for the first and shares its outcome, one of another uuid is
/// refused, and Stop and Reset wait for a Prepare in flight to end before they act on its run.
/// </remarks>
public sealed class ReceiverLogic : AcqDeviceLogic
{
    private readonly IProcessingHost _host;
    private readonly KernelWarmUp? _kernels;
    private (string Uuid, Task Done)? _preparing;
    private readonly ConcurrentDictionary<string, (ProcessingView Pipeline, string Device, long Order)> _pipelines = new();
    private long _prepared; // pipelines made so far: their order, for erasing the oldest
    private string _procParamsJson;
    private ProcParams _proc = new LegacyProcParams();
    private ProcessingView? _current;
    private Task? _running;
    private CancellationTokenSource? _stop;
    private string _lastError = LimaError.NoError;
    private int _xferred;
    private IReadOnlyList<JungfrauPortCounters> _lastJungfrauPorts = [];
    private readonly FrameBufferReserve _keptBuffers = new(); // frame buffers kept from run to run: no fresh pages to fault
    private readonly FrameBufferReserve _keptRawBuffers = new(); // and those of a JUNGFRAU run's raw words on their way to the disk
    private string? _channelWarning; // the last prepared run's channel's, kept in Status until the next Prepare

    private static readonly NLog.Logger Log = NLog.LogManager.GetLogger("Lima2.Server.Receiver");

    /// <param name="kernels">the peak finder's kernels being built since the start; an SMX Prepare waits for them</param>
    public ReceiverLogic(ReceiverConfig config, IProcessingHost host, KernelWarmUp? kernels = null)
        : base(ChannelFactory.PluginOf(config.Channel.Kind))
    {
        Config = config; // checked at each Prepare, so a wrong property fails Prepare rather than the server's start
        _host = host;
        _kernels = kernels;
        _procParamsJson = ParamsDocument.Write(_proc);
    }

    /// <summary>The receiver's fixed set-up (its device properties).</summary>
    public ReceiverConfig Config { get; }

    /// <summary>Raised when the receiver's share is done (nb_frames_xferred's data-ready event).</summary>
    public event Action<int>? Transferred;

    public override string LastError => Volatile.Read(ref _lastError);

    public ProcessingView? Current => Volatile.Read(ref _current);

    public IReadOnlyList<string> Pipelines => _pipelines.Keys.Order().ToArray();

    public string ProcParamsJson
    {
        get => _procParamsJson;
        set
        {
            var parsed = ProcParamsDocument.Parse(value);
            PipelineConsumers.Validate(parsed);
            lock (_lock)
            {
                RefuseWhileRunning("proc_params");
                _proc = parsed;
                _procParamsJson = value;
            }
        }
    }

    // ---- counters (of the current run) ----

    public long FramesReceived => Current?.Run.Counters?.Received ?? 0;

    public long FramesProcessed => Current?.Run.Counters?.Processed ?? 0;

    public long FramesDropped => Current?.Run.Counters?.Dropped ?? 0;

    public long FramesSaved => Current?.Run.Saved ?? 0;

    /// <summary>Dense frames left out as no hits (SMX fai.dense_skip_nohits): what "saved" lacks of the frames processed.</summary>
    public long FramesNotSavedNoHit => Current?.Run.NotSavedNoHit ?? 0;

    /// <summary>A corrected JUNGFRAU run's raw words saved beside its frames (acq_params saving); 0 for other runs.</summary>
    public long RawFramesSaved => (Current?.Run.Channel as JungfrauChannel)?.RawFramesSaved ?? 0;

    /// <summary>Those raw frames dropped, their queue to the disk full under overload_policy drop; 0 for other runs.</summary>
    public long RawFramesDropped => (Current?.Run.Channel as JungfrauChannel)?.RawFramesDropped ?? 0;

    /// <summary>
    /// The current run's re-publishing counts (null when it does not publish); once its pipeline is erased, the last
    /// run's, so that a client reads them after the conductor's clean-up.
    /// </summary>
    public Lima2.Acquisition.Publishing.PublishCounts? Publishing => Current is { } current ? current.Run.Publishing : Volatile.Read(ref _lastPublishing);

    private Lima2.Acquisition.Publishing.PublishCounts? _lastPublishing;

    /// The per-port counts of the current run when its channel is <c>jungfrau_udp</c>; those of the last finished run
    /// once its pipeline is erased (clients erase it right after the run); none for other channels.
    /// </summary>
    /// <summary>The state's reason, then what the last prepared run's channel warned of (a receive buffer the kernel cut, with the sysctl that fixes it).</summary>
    public override string Reason => Volatile.Read(ref _channelWarning) is { } warning ? $"{base.Reason}\n{warning}" : base.Reason;

    public IReadOnlyList<JungfrauPortCounters> JungfrauPorts =>
        Current?.Run.Channel is JungfrauChannel jungfrau ? jungfrau.PortCounters : Volatile.Read(ref _lastJungfrauPorts);

    /// <summary>
    /// The newest processed frame of the current run, retained for the caller, who disposes it; false before the
    /// first. Read from the frame history the processing device serves, so a reader never touches the frame path.
    /// </summary>
    public bool TryGetLatestFrame([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Lima2.Core.Frames.Frame frame)
    {
        frame = null;
        return Current?.Run.Frames is { } history && history.TryGet(-1, out frame);
    }

    /// <summary>Frames handed on by this receiver: processed ones (what the conductor sums as nb_frames_xferred).</summary>
    public long FramesTransferred => FramesProcessed;

    /// <summary>
    /// Prepares the run <paramref name="uuid"/>. The same uuid again is the run already prepared (the control device
    /// and a client both send it): a no-op whatever that run has reached. Another uuid while PREPARED replaces the
    /// pending run, whose pipeline is erased; while RUNNING it is refused: one run at a time.
    /// </summary>
    public override void Prepare(string uuid)
    {
        if (!Guid.TryParse(uuid, out _))
            throw new ArgumentException($"Prepare: '{uuid}' is not a uuid");
        IAcqParams acq;
        ProcParams proc;
        ProcessingView? pending = null;
        Task? sameUuid = null;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_preparing is { } inFlight)
            {
                if (inFlight.Uuid != uuid)
                    throw new StateException($"Prepare: busy preparing {inFlight.Uuid}: prepare {uuid} once it is done");
                sameUuid = inFlight.Done;
            }
            else if (_current?.Uuid == uuid)
                return;
            else if (_status.State == AcqState.Running)
                throw new StateException($"Prepare {uuid}: run {_current?.Uuid} is running, one run at a time: Stop it first");
            else if (_status.State is not (AcqState.Idle or AcqState.Prepared))
                throw new StateException($"Prepare needs acq_state idle or prepared, it is {Label(_status.State)}" +
                                         (_status.State == AcqState.Fault ? $" ({_status.Reason}): Reset first" : ""));
            else if (_pipelines.ContainsKey(uuid))
                throw new ArgumentException($"Prepare: pipeline {uuid} exists already: use a new uuid or erasePipeline first");
            else
            {
                pending = _status.State == AcqState.Prepared ? _current : null;
                _preparing = (uuid, done.Task);
            }
            acq = AcqParams;
            proc = AcqParams is DectrisAcqParams dectris ? dectris.WithRawSaving(_proc) : _proc;
        }
        if (sameUuid is not null)
        {
            sameUuid.GetAwaiter().GetResult();
            return;
        }
        try
        {
            Prepare(uuid, acq, proc, pending);
        }
        catch (Exception e)
        {
            EndPreparing(done, e);
            throw;
        }
        EndPreparing(done, null);
    }

    private void EndPreparing(TaskCompletionSource done, Exception? error)
    {
        lock (_lock)
            _preparing = null; // first: whoever the outcome wakes may prepare again
        if (error is null)
            done.SetResult();
        else
            done.SetException(error);
    }

    private void Prepare(string uuid, IAcqParams acq, ProcParams proc, ProcessingView? pending)
    {
        if (PipelineConsumers.UsesKernels(proc))
            _kernels?.Wait();
        // its memory is free before the new run takes its own
        if (pending is not null)
            Discard(pending);
        EraseOldestFinished();
        // what the processing device serves: frames for the getters, rows for the pops
        var settings = new ReceiverSettings(Config, acq, proc) { KeepFrames = true, ReducedData = true, KeptBuffers = _keptBuffers,
            KeptRawBuffers = _keptRawBuffers };
        Volatile.Write(ref _channelWarning, null);
        var run = ReceiverRun.PrepareAsync(settings).GetAwaiter().GetResult();
        if (run.Channel is JungfrauChannel { Warnings: [_, ..] warnings })
        {
            foreach (var warning in warnings)
                Log.Warn("Prepare {Uuid}: {Warning}", uuid, warning);
            Volatile.Write(ref _channelWarning, string.Join("\n", warnings));
        }
        var pipeline = new ProcessingView(uuid, run);
        string device;
        try
        {
            device = _host.Create(pipeline);
        }
        catch
        {
            run.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
        _pipelines[uuid] = (pipeline, device, Interlocked.Increment(ref _prepared));
        run.Finished += OnFinished;
        Volatile.Write(ref _current, pipeline);
        _lastError = LimaError.NoError;
        _status.Set(AcqState.Prepared, $"prepared {uuid} ({proc.ClassName}, processing device {device})");
    }

    /// <summary>
    /// Erases a run replaced before it started, with the files it created at Prepare (a corrected JUNGFRAU run's raw
    /// words' included): no frame reached them, and its replacement (the same saving params, file_exists_policy abort)
    /// creates the same ones.
    /// </summary>
    private void Discard(ProcessingView pending)
    {
        IReadOnlyList<string> files = [.. pending.Run.Files, .. (pending.Run.Channel as JungfrauChannel)?.RawSaving?.Files ?? []];
        ErasePipeline(pending.Uuid);
        foreach (var file in files)
            File.Delete(file);
    }

    /// <summary>How many pipelines a receiver keeps (the newest run and the finished ones its clients have not erased).</summary>
    public const int MaxPipelines = 32;

    /// <summary>Erases the oldest finished pipelines so that a new one keeps the count within <see cref="MaxPipelines"/>.</summary>
    private void EraseOldestFinished()
    {
        var finished = _pipelines.Where(p => p.Value.Pipeline.Run.IsFinished).OrderBy(p => p.Value.Order).Select(p => p.Key).ToList();
        foreach (var uuid in finished.Take(_pipelines.Count + 1 - MaxPipelines))
            ErasePipeline(uuid);
    }

    /// <summary>Starts the prepared run; a Start of a run already started is a no-op whatever that run has reached,
    /// fault included (the control device and a client may both send it; a FAULT is told by acq_state's event).</summary>
    public override void Start()
    {
        lock (_lock)
        {
            if (_status.State != AcqState.Prepared)
            {
                // already started (running, finished or failed): the second sender is too late, not wrong
                if (_current is { } started && (_running is not null || started.Run.IsFinished))
                    return;
                throw new StateException($"Start needs acq_state prepared, it is {Label(_status.State)}");
            }
            var pipeline = _current!;
            _stop = new CancellationTokenSource();
            _status.SetLocked(AcqState.Running, $"running {pipeline.Uuid}");
            var token = _stop.Token;
            pipeline.Start(token);
            _running = pipeline.Running;
        }
        _status.Raise();
    }

    /// <summary>A software trigger; one that comes after this receiver has received its share is not for it (the
    /// other receivers' frames are still due) and is ignored.</summary>
    public override void Trigger()
    {
        lock (_lock)
        {
            if (_status.State == AcqState.Running)
                _current?.Run.Trigger();
            else if (!(_status.State == AcqState.Idle && _current?.Run is { IsFinished: true, Error: null }))
                throw new StateException($"Trigger needs acq_state running, it is {Label(_status.State)}");
        }
    }

    /// <summary>Aborts the run and returns once it has ended (files closed); no-op when nothing runs.</summary>
    public override void Stop()
    {
        WaitForPrepare();
        Task? running;
        lock (_lock)
        {
            if (_status.State == AcqState.Prepared && _current is { } pending)
            {
                // a run stopped before it started still ends (is_finished and its event), so that clients erase it
                _stop = new CancellationTokenSource();
                _stop.Cancel();
                pending.Start(_stop.Token);
                _running = pending.Running;
                _status.SetLocked(AcqState.Idle, $"stopped before start ({pending.Uuid})");
            }
            running = _running;
            _stop?.Cancel();
        }
        _status.Raise();
        running?.Wait(TimeSpan.FromSeconds(30));
    }

    /// <summary>Back to IDLE from any state: a running acquisition is aborted first, the frame buffers kept for the next run are freed.</summary>
    public override void Reset()
    {
        Stop();
        _keptBuffers.Trim();
        _keptRawBuffers.Trim();
        lock (_lock)
        {
            _lastError = LimaError.NoError;
            _status.SetLocked(AcqState.Idle, "reset: ready for an acquisition");
        }
        _status.Raise();
    }

    /// <summary>Receivers end by themselves; kept for the old clients that send it.</summary>
    public override void Close()
    {
    }

    /// <summary>
    /// Receiver 0, once its run has ended, writes the master file over every receiver's received frames (the control
    /// device asks, knowing every count); one it already wrote over the same counts (itself, after a complete run) is
    /// returned as is, one over other counts (a receiver that died short of its share) is replaced, and "" is returned
    /// when the run saves no dense frames.
    /// </summary>
    public string WriteMasterFile(IReadOnlyList<long> receivedPerReceiver)
    {
        var run = Current?.Run ?? throw new StateException("writeMasterFile: no pipeline: Prepare first");
        if (run.MasterFile is { } written && run.MasterCounts.SequenceEqual(receivedPerReceiver))
            return written;
        if (!run.Settings.ProcParams.DenseSavingChannels().Any(c => c.Params.Enabled))
            return "";
        return run.WriteMasterFile(receivedPerReceiver);
    }

    /// <summary>
    /// Receiver 0, once its run has ended, writes the raw words' master file of a corrected JUNGFRAU run over every
    /// receiver's raw frames saved (the control asks, as for <see cref="WriteMasterFile"/>); "" when the run saves no
    /// raw words beside its frames.
    /// </summary>
    public string WriteRawMasterFile(IReadOnlyList<long> savedPerReceiver)
    {
        var run = Current?.Run ?? throw new StateException("writeRawMasterFile: no pipeline: Prepare first");
        if (run.Channel is not JungfrauChannel { RawSaving: { } raw })
            return "";
        if (!run.IsFinished)
            throw new StateException($"writeRawMasterFile: run {Current.Uuid} has not ended");
        return raw.WriteMasterFile(savedPerReceiver);
    }

    /// <summary>Deletes a pipeline and its processing device (refused while that pipeline runs).</summary>
    public void ErasePipeline(string uuid)
    {
        if (!_pipelines.TryGetValue(uuid, out var entry))
            throw new ArgumentException($"erasePipeline: no pipeline {uuid} (live: {string.Join(", ", Pipelines)})");
        lock (_lock)
            if (entry.Pipeline == _current && _status.State is AcqState.Running)
                throw new StateException($"erasePipeline: {uuid} is running: Stop first");
        _pipelines.TryRemove(uuid, out _);
        try
        {
            _host.Delete(entry.Device);
        }
        finally
        {
            // the pipeline goes whatever the Tango DB said: its memory and files are this receiver's, not the DB's
            lock (_lock)
            {
                if (entry.Pipeline == _current)
                {
                    if (_status.State == AcqState.Prepared)
                        _status.SetLocked(AcqState.Idle, $"pipeline {uuid} erased");
                    _current = null;
                    _running = null;
                }
            }
            _status.Raise();
            entry.Pipeline.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private void OnFinished(ReceiverRun run)
    {
        Volatile.Write(ref _lastPublishing, run.Publishing);
        if (run.Channel is JungfrauChannel jungfrau)
            Volatile.Write(ref _lastJungfrauPorts, jungfrau.PortCounters);
        lock (_lock)
        {
            if (_current is not { } pipeline || pipeline.Run != run)
                return;
            _running = null;
            if (pipeline.Error is { } error)
            {
                _lastError = error.ToJson();
                _status.SetLocked(AcqState.Fault, $"{pipeline.Uuid} failed: {error.What}");
            }
            else if (_status.State == AcqState.Running)
                _status.SetLocked(AcqState.Idle, $"finished {pipeline.Uuid}: {FramesReceived} frames received, {FramesSaved} saved, " +
                                                 (run.Peaks is { DenseSkipNohits: true } ? $"{FramesNotSavedNoHit} not saved: no hit (fai.dense_skip_nohits), " : "") +
                                                 $"{FramesDropped} dropped" +
                                                 (run.Channel is JungfrauChannel { RawSaving: not null } ? $"; raw words of {RawFramesSaved} saved, {RawFramesDropped} dropped" : ""));
        }
        Interlocked.Exchange(ref _xferred, (int)Math.Min(int.MaxValue, FramesTransferred));
        _status.Raise();
        Transferred?.Invoke(_xferred);
    }

    /// <summary>Returns once a Prepare in flight has ended, prepared or failed.</summary>
    private void WaitForPrepare()
    {
        Task? preparing;
        lock (_lock)
            preparing = _preparing?.Done;
        try
        {
            preparing?.Wait();
        }
        catch (AggregateException)
        {
            // its own caller gets the error
        }
    }

    private static string Label(AcqState s) => s.ToString().ToLowerInvariant();

    public override async ValueTask DisposeAsync()
    {
        Stop();
        foreach (var uuid in _pipelines.Keys.ToList())
            if (_pipelines.TryRemove(uuid, out var entry))
                await entry.Pipeline.DisposeAsync().ConfigureAwait(false);
        _keptBuffers.Dispose();
        _keptRawBuffers.Dispose();
    }
}
