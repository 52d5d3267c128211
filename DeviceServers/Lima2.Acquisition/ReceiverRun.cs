using System.Diagnostics;
using Lima2.Acquisition.Jungfrau;
using Lima2.Acquisition.Processing;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Jungfrau;
using Lima2.Detectors.Simulator;
using Lima2.Hdf5;

namespace Lima2.Acquisition;

/// <summary>What an SMX run's peak finder has found so far.</summary>
/// <param name="Frames">frames searched</param>
/// <param name="Hits">frames with at least fai.min_nb_peaks peaks</param>
/// <param name="Peaks">peaks in all frames</param>
public sealed record PeakCounts(long Frames, long Hits, long Peaks)
{
    public double HitRate => Frames == 0 ? 0 : (double)Hits / Frames;
}

/// <summary>A moment of a run, for a progress line. <see cref="Peaks"/> is null when the run finds no peaks.</summary>
public sealed record ReceiverProgress(TimeSpan Elapsed, long Received, long Processed, long Dropped, long Saved, long SavedBytes,
    long InputBytes, PeakCounts? Peaks);

/// <summary>
/// How a receiver's memory cap is shared: the channel's bound on received messages (ZeroMQ queue, kernel socket
/// buffer, messages being decoded), the saving sinks' compressed-chunk buffers, and the frame pool, which gets the rest.
/// </summary>
public sealed record ReceiverMemory(long CapBytes, long ChannelBytes, long SinkBytes, long PoolBytes);

/// <summary>How a run ended. <see cref="Error"/> is null when every frame went through without a fault.</summary>
public sealed record ReceiverSummary(
    ChannelSummary Channel,
    GraphCountersSnapshot Counters,
    TimeSpan Elapsed,
    long Saved,
    long SavedBytes,
    IReadOnlyList<string> Files,
    string? MasterFile,
    IReadOnlyDictionary<string, long> Rejections,
    PeakCounts? Peaks,
    Exception? Error);

/// <summary>What a run keeps for readers (the processing device's getters and pops) besides its files.</summary>
public sealed record ReceiverRunOptions
{
    /// <summary>
    /// The last buffers.nb_frames_buffer processed frames (<see cref="ReceiverRun.Frames"/>) and, for the classes with
    /// an input frame source (Legacy, XPCS), the last buffers.nb_input_frames_buffer input frames
    /// (<see cref="ReceiverRun.InputFrames"/>).
    /// </summary>
    public bool KeepFrames { get; init; }

    /// <summary>
    /// Rows for the pops beyond ROI statistics and profiles (<see cref="FrameIdxNode"/>) and, for XPCS, the photon-sparse
    /// frames and their fill factors (<see cref="XpcsSparseNode"/>).
    /// </summary>
    public bool ReducedData { get; init; }
}

/// <summary>
/// One receiver's acquisition, for <c>lima2 receive</c> and the receiver device alike: its detector channel (simulator
/// or DECTRIS stream), the processing graph built from proc_params (with the SMX peak finder and what
/// <see cref="ReceiverRunOptions"/> asks to keep), HDF5 saving in the saving root under one memory cap, and the master
/// file when this is receiver 0.
/// </summary>
/// <remarks>
/// Life cycle: <see cref="PrepareAsync"/> (the simulator's graph is built here, so errors of proc_params that need the
/// frame geometry surface at Prepare), then <see cref="RunAsync"/> once, which waits for the stream to start when it
/// has not (a DECTRIS header), runs to the end of the receiver's share or a stop, and reports a failure in
/// <see cref="Error"/> and the summary rather than throwing. <see cref="Finished"/> is raised once at the end, after
/// the files are closed. Readers may poll the counters, <see cref="Frames"/>, <see cref="Peaks"/> ... from other
/// threads meanwhile.
/// </remarks>
public sealed class ReceiverRun : IAsyncDisposable
{
    private readonly IDetectorChannel _channel;
    private readonly ReceiverRunOptions _options;
    private readonly Stopwatch _clock = new();
    private Hdf5FrameSink[] _sinks = [];
    private FrameGraph? _graph;
    private SavingRoot? _savingRoot; // held open by the run: every file it saves is created beneath it
    private SavingRoot? _referenceRoot; // and every reference image it reads is opened beneath this one
    private Exception? _error;
    private volatile bool _finished;

    private ReceiverRun(ReceiverSettings settings, ReceiverRunOptions options, IDetectorChannel channel)
    {
        Settings = settings;
        _options = options;
        _channel = channel;
    }

    public ReceiverSettings Settings { get; }

    public IDetectorChannel Channel => _channel;

    /// <summary>The stream's description once it has started.</summary>
    public ChannelStart? Stream { get; private set; }

    /// <summary>The processing graph, once the stream has started.</summary>
    public FrameGraph? Graph => Volatile.Read(ref _graph);

    public FrameInfo? Input => Graph?.InputInfo;

    public FrameInfo? Output => Graph?.OutputInfo;

    public GraphCounters? Counters => Graph?.Counters;

    /// <summary>How the memory cap is shared, once the stream has started.</summary>
    public ReceiverMemory? Memory { get; private set; }

    /// <summary>Bytes the frame pool has allocated so far (it never frees them before the end): the run's peak.</summary>
    public long PoolAllocatedBytes => Graph?.Pool.AllocatedBytes ?? 0;

    /// <summary>Dense frames saved so far.</summary>
    public long Saved => Volatile.Read(ref _sinks).Sum(s => s.FramesWritten);

    public long SavedBytes => Volatile.Read(ref _sinks).Sum(s => s.BytesWritten);

    /// <summary>Every file created so far: dense files, then the peak finder's sparse and accumulation files.</summary>
    public IReadOnlyList<string> Files =>
    [
        .. Volatile.Read(ref _sinks).SelectMany(s => Enumerable.Range(0, s.FilesCreated).Select(i => s.FilePath(i))),
        .. Peaks?.Files ?? [],
    ];

    /// <summary>The master file written by rank 0 at the end, or null.</summary>
    public string? MasterFile { get; private set; }

    /// <summary>The frames per receiver <see cref="MasterFile"/> was written over (each receiver's share after a complete run).</summary>
    public IReadOnlyList<long> MasterCounts { get; private set; } = [];

    /// <summary>The SMX peak-finding branch, or null.</summary>
    public PeakFindingNode? Peaks => Find<PeakFindingNode>();

    /// <summary>The last processed frames (with <see cref="ReceiverRunOptions.KeepFrames"/>).</summary>
    public FrameHistory? Frames => Find<FrameHistory>();

    /// <summary>
    /// The last input frames (with <see cref="ReceiverRunOptions.KeepFrames"/>, Legacy and XPCS): copies taken before
    /// the first step that changes frames, or the processed frames when no step does.
    /// </summary>
    public FrameHistory? InputFrames => Graph is { } graph
        ? graph.Transforms.OfType<InputFrameHistory>().FirstOrDefault()?.Frames ?? (graph.Transforms.Count == 1 ? Frames : null)
        : null;

    public bool IsFinished => _finished;

    /// <summary>The first failure of the run (channel, graph, saving, master file), or null.</summary>
    public Exception? Error => Volatile.Read(ref _error);

    /// <summary>Raised once when the run has ended (error or not), after the files are closed.</summary>
    public event Action<ReceiverRun>? Finished;

    /// <summary>The first consumer of type <typeparamref name="T"/> of the graph, if it is built.</summary>
    public T? Find<T>() where T : FrameConsumer => Graph?.Find<T>();

    /// <summary>
    /// Makes the channel and, when the frame geometry is known before the stream starts (simulator), the graph:
    /// errors in proc_params that need the geometry (ROIs outside the frame, missing files, a memory cap too small)
    /// are thrown here.
    /// </summary>
    public static async Task<ReceiverRun> PrepareAsync(ReceiverSettings settings, ReceiverRunOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        var run = new ReceiverRun(settings, options ?? new ReceiverRunOptions(), CreateChannel(settings));
        try
        {
            if (run._channel is SimulatorChannel or JungfrauChannel) // their frame geometry is known before the stream starts
                await run.StartStreamAsync(cancellationToken).ConfigureAwait(false);
            return run;
        }
        catch
        {
            await run.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Prepares and waits for the stream to start (a DECTRIS header): the graph is built on return.</summary>
    public static async Task<ReceiverRun> StartAsync(ReceiverSettings settings, CancellationToken cancellationToken)
    {
        var run = await PrepareAsync(settings, null, cancellationToken).ConfigureAwait(false);
        try
        {
            await run.StartStreamAsync(cancellationToken).ConfigureAwait(false);
            return run;
        }
        catch
        {
            await run.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Waits for the stream to start and builds the graph; nothing to do when that is done already.</summary>
    public async Task StartStreamAsync(CancellationToken cancellationToken)
    {
        if (Graph is not null)
            return;
        var start = await _channel.StartAsync(cancellationToken).ConfigureAwait(false);
        Stream = start;
        Volatile.Write(ref _graph, BuildGraph(start));
    }

    private static IDetectorChannel CreateChannel(ReceiverSettings settings)
    {
        var config = settings.Receiver;
        ParamsValidator.ThrowIfAny(config.Validate());
        if (config.Channel.Kind == ChannelKind.JungfrauUdp)
            return JungfrauChannelFactory.Create(settings);
        var endpoint = config.Channel.Kind == ChannelKind.Simulator ? null
            : config.Channel.Endpoints is [var single] ? single
            : throw new ArgumentException($"a DECTRIS receiver reads one endpoint, the configuration names {config.Channel.Endpoints.Count}");
        return config.Channel.Kind switch
        {
            ChannelKind.Simulator => new SimulatorChannel(settings.AcqParams.Acq, settings.AcqParams.Det, config.Rank,
                config.NbReceivers, loader =>
                {
                    // the files are open once the source is made: the root is needed no longer
                    using var root = new SavingRoot(config.ReferenceRoot);
                    return Hdf5FrameSource.Open(loader, root);
                }),
            var kind => new DectrisChannel(DectrisOptions(settings, endpoint!,
                kind == ChannelKind.DectrisV1 ? DectrisStreamVersion.V1 : DectrisStreamVersion.V2)),
        };
    }

    private static DectrisChannelOptions DectrisOptions(ReceiverSettings settings, string endpoint, DectrisStreamVersion version)
    {
        var config = settings.Receiver;
        return new DectrisChannelOptions(endpoint, version, config.Rank, config.NbReceivers,
            DecodeWorkers: settings.ProcParams.Fifo.NbThreads, Threshold: config.Channel.Threshold,
            // the compressed frame costs a second pool buffer and a copy: kept only when saving writes it as it came
            KeepEncoded: GraphBuilder.DenseSavingChannels(settings.ProcParams)
                .Any(c => c.Params is { Enabled: true, Compression: SavingCompression.BshufLz4 }),
            RunFrames: settings.AcqParams.Acq.NbFrames, TimeoutMs: config.Channel.TimeoutMs,
            // the geometry comes with the header, after the connection is made; a header may carry per-pixel arrays
            // (flat field, pixel mask) several times a frame's size: only what could never fit the cap is dropped
            MaxMessageBytes: config.MemoryCapBytes);
    }

    private FrameGraph BuildGraph(ChannelStart start)
    {
        var config = Settings.Receiver;
        var proc = Settings.ProcParams;
        ParamsValidator.ThrowIfAny(GeometryValidator.Validate(proc, start.Frame));
        var root = _savingRoot = new SavingRoot(config.SavingRoot);
        var referenceRoot = _referenceRoot = new SavingRoot(config.ReferenceRoot);
        var references = Hdf5ReferenceImageReader.Images.Under(referenceRoot.Root, referenceRoot.OpenRead);
        var sinkOptions = new SinkOptions(Parallelism: Math.Max(2, proc.Fifo.NbThreads), ExpectedFrames: start.ExpectedFrames,
            Metadata: SavedMetadata(start.Metadata, proc));
        var sinks = new List<Hdf5FrameSink>();
        var parts = new GraphParts
        {
            ReferenceImages = references,
            KeepFrames = _options.KeepFrames,
            KeepInputFrames = _options.KeepFrames && proc is LegacyProcParams or XpcsProcParams,
            SinkFactory = (_, saving, frame) =>
            {
                var sink = new Hdf5FrameSink(saving with { FilenameRank = config.Rank }, frame, root, sinkOptions);
                sinks.Add(sink);
                return sink;
            },
            ExtraConsumers = frame =>
            {
                var extra = new List<FrameConsumer>();
                if (_options.ReducedData)
                    extra.Add(new FrameIdxNode(proc.Buffers.NbFrameIdxBuffer));
                if (proc is SmxProcParams smx)
                    extra.Add(PeakFindingNode.Create(smx, frame, config.PeakFinder, root, references, config.Rank, start.Metadata));
                if (_options.ReducedData && proc is XpcsProcParams)
                    extra.Add(new XpcsSparseNode(frame, proc.Buffers.NbSparseFramesBuffer, proc.Buffers.NbFramesBuffer, proc.Fifo.NbThreads));
                return extra;
            },
        };
        // The cap covers every frame-sized buffer of the run: the channel's received messages and the sinks'
        // compressed chunks come off it first, the frame pool gets the rest.
        var channelBytes = _channel switch
        {
            DectrisChannel dectris => dectris.BufferedBytesBound(start.Frame),
            JungfrauChannel jungfrau => jungfrau.BufferedBytesBound,
            _ => 0,
        };
        var sinkBytes = GraphBuilder.DenseSavingChannels(proc).Where(c => c.Params.Enabled)
            .Sum(c => Hdf5FrameSink.BufferBytes(c.Params, start.Frame, sinkOptions));
        var poolBytes = config.MemoryCapBytes - channelBytes - sinkBytes;
        if (poolBytes < 2L * start.Frame.ByteSize)
            throw new ArgumentException(
                $"memory_cap {config.MemoryCap} leaves {Math.Max(0, poolBytes)} bytes for frames after {channelBytes} bytes of stream " +
                $"buffers and {sinkBytes} bytes of saving buffers; {start.Frame} frames need at least {2L * start.Frame.ByteSize}");
        Memory = new ReceiverMemory(config.MemoryCapBytes, channelBytes, sinkBytes, poolBytes);
        try
        {
            var graph = GraphBuilder.Build(proc, start.Frame, config.OverloadPolicy, poolBytes, parts);
            Volatile.Write(ref _sinks, [.. sinks]);
            return graph;
        }
        catch
        {
            // the sinks made before a later part failed (e.g. the peak finder's files) are not the graph's yet
            foreach (var sink in sinks)
                sink.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>
    /// The detector facts that hold for the saved frames: binning, crop, flip and rotation (roi_flip_rot) move and
    /// resize pixels, so the pixel size and beam centre of the detector are left out rather than written wrong.
    /// </summary>
    private static DetectorMetadata? SavedMetadata(DetectorMetadata? metadata, ProcParams proc) =>
        proc is LegacyProcParams { RoiFlipRot.Enabled: true } && metadata is not null
            ? metadata with { XPixelSize = null, YPixelSize = null, BeamCenterX = null, BeamCenterY = null }
            : metadata;

    /// <summary>Software trigger (simulator in software trigger mode).</summary>
    public void Trigger()
    {
        if (_channel is SimulatorChannel simulator)
            simulator.Trigger();
    }

    public ReceiverProgress Progress()
    {
        var counters = Counters;
        var received = counters?.Received ?? 0;
        return new ReceiverProgress(_clock.Elapsed, received, counters?.Processed ?? 0, counters?.Dropped ?? 0, Saved, SavedBytes,
            received * (Input?.ByteSize ?? 0), PeakCounts());
    }

    private PeakCounts? PeakCounts() => Peaks is { } peaks ? new PeakCounts(peaks.Frames, peaks.Hits, peaks.TotalPeaks) : null;

    /// <summary>
    /// Runs to the end of the receiver's share, <paramref name="stop"/> (a stop, not an error) or a failure, which is
    /// reported in <see cref="Error"/> and the summary, not thrown. Frames already in the graph are processed and saved.
    /// </summary>
    public async Task<ReceiverSummary> RunAsync(CancellationToken stop)
    {
        ChannelSummary? channel = null;
        GraphCountersSnapshot? counters = null;
        try
        {
            await StartStreamAsync(stop).ConfigureAwait(false);
            _clock.Start();
            var result = await ChannelRunner.RunAsync(_channel, Graph!, stop).ConfigureAwait(false);
            _clock.Stop();
            channel = result.Channel ?? new ChannelSummary(0, 0, "channel failed");
            counters = result.Graph.Counters;
            if (result.Error is { } error)
                Fail(error);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            channel = new ChannelSummary(0, 0, "stopped"); // before the stream started
        }
        catch (Exception e)
        {
            Fail(e);
        }
        if (Error is null && channel is not null)
        {
            try
            {
                MasterFile = WriteMasterFile(stopped: channel.EndReason == "stopped");
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }
        var rejections = _channel switch
        {
            DectrisChannel dectris => dectris.Rejections,
            JungfrauChannel jungfrau => jungfrau.Rejections,
            _ => new Dictionary<string, long>(),
        };
        var summary = new ReceiverSummary(channel ?? new ChannelSummary(0, 0, "failed to start"),
            counters ?? new GraphCounters().Snapshot(), _clock.Elapsed, Saved, SavedBytes, Files, MasterFile, rejections,
            PeakCounts(), Error);
        _finished = true;
        foreach (var handler in Finished?.GetInvocationList() ?? [])
        {
            try
            {
                ((Action<ReceiverRun>)handler)(this);
            }
            catch (Exception e)
            {
                // a listener's failure (an event that cannot be pushed) must not hide the run's end from the others
                Console.Error.WriteLine($"receiver {Settings.Receiver.Rank}: a listener of the end of the run failed: {e.Message}");
            }
        }
        return summary;
    }

    private void Fail(Exception e) => Interlocked.CompareExchange(ref _error, e, null);

    /// <summary>
    /// Receiver 0 writes the master file of a distributed acquisition once the total is known; a single receiver
    /// also writes it over what it saved when the run was stopped or endless (nb_frames 0). Several receivers of such
    /// a run leave it to the one who knows every receiver's count (<see cref="WriteMasterFile(IReadOnlyList{long})"/>).
    /// </summary>
    private string? WriteMasterFile(bool stopped)
    {
        var config = Settings.Receiver;
        if (config.Rank != 0 || Volatile.Read(ref _sinks).Length == 0 || Graph is not { } graph)
            return null;
        var total = PlannedFrames;
        var saving = DenseSaving()!;
        if (!stopped && total is { } frames)
        {
            MasterCounts = Saving.MasterFile.Shares(config.NbReceivers, frames);
            return Saving.MasterFile.Write(saving, _savingRoot!, graph.OutputInfo, config.NbReceivers,
                frames, SavedMetadata(Stream?.Metadata, Settings.ProcParams));
        }
        return config.NbReceivers == 1 && Saved > 0 ? WriteMaster(saving, graph, [Saved]) : null;
    }

    /// <summary>
    /// Receiver 0 writes the master file over the frames every receiver saved, once they have all ended: for a run of
    /// several receivers that was stopped or endless, whose total only the control device, which reads every
    /// receiver's count, knows. Returns its path (also <see cref="MasterFile"/>).
    /// </summary>
    /// <param name="savedPerReceiver">nb_frames_saved of each receiver, indexed by rank</param>
    /// <exception cref="InvalidOperationException">not receiver 0, the run has not ended, or no dense saving.</exception>
    public string WriteMasterFile(IReadOnlyList<long> savedPerReceiver)
    {
        var config = Settings.Receiver;
        if (config.Rank != 0 || !IsFinished)
            throw new InvalidOperationException($"the master file is written by receiver 0 once its run has ended (this is receiver {config.Rank}, " +
                                                $"{(IsFinished ? "ended" : "not ended")})");
        if (savedPerReceiver.Count != config.NbReceivers)
            throw new ArgumentException($"{savedPerReceiver.Count} counts for {config.NbReceivers} receivers", nameof(savedPerReceiver));
        CheckCounts(savedPerReceiver);
        if (Graph is not { } graph || DenseSaving() is not { } saving)
            throw new InvalidOperationException("this run saves no dense frames: there is no master file");
        var path = WriteMaster(saving, graph, savedPerReceiver);
        MasterFile = path;
        return path;
    }

    /// <summary>The frames the run was to take (the series header's count for a DECTRIS stream), null when endless or unknown.</summary>
    private long? PlannedFrames => _channel switch
    {
        DectrisChannel d => d.Header?.Images,
        _ => Settings.AcqParams.Acq.NbFrames > 0 ? Settings.AcqParams.Acq.NbFrames : null,
    };

    /// <summary>
    /// The counts come from a client: each must be one the run can have, so that a forged one cannot make the master
    /// file map frames that were never taken (the files are checked too, see <see cref="Saving.MasterFile.FramesInFiles"/>).
    /// </summary>
    private void CheckCounts(IReadOnlyList<long> savedPerReceiver)
    {
        var nbFrames = PlannedFrames;
        var shares = nbFrames is { } planned ? Saving.MasterFile.Shares(savedPerReceiver.Count, planned) : null;
        for (var rank = 0; rank < savedPerReceiver.Count; rank++)
        {
            var count = savedPerReceiver[rank];
            if (count < 0)
                throw new ArgumentException($"receiver {rank} cannot have saved {count} frames");
            if (shares is not null && count > shares[rank])
                throw new ArgumentException($"receiver {rank} cannot have saved {count} frames: its share of the run's {nbFrames} frames is {shares[rank]}");
        }
        if (savedPerReceiver[Settings.Receiver.Rank] != Saved)
            throw new ArgumentException($"receiver {Settings.Receiver.Rank} saved {Saved} frames, not {savedPerReceiver[Settings.Receiver.Rank]}");
    }

    private SavingParams? DenseSaving() =>
        GraphBuilder.DenseSavingChannels(Settings.ProcParams).Select(c => c.Params).FirstOrDefault(p => p.Enabled);

    /// <summary>Writes the master file over <paramref name="savedPerReceiver"/>, replacing the one this run wrote before.</summary>
    private string WriteMaster(SavingParams saving, FrameGraph graph, IReadOnlyList<long> savedPerReceiver)
    {
        var path = Saving.MasterFile.Write(saving, _savingRoot!, graph.OutputInfo, savedPerReceiver,
            SavedMetadata(Stream?.Metadata, Settings.ProcParams), replace: MasterFile is not null);
        MasterCounts = [.. savedPerReceiver];
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        if (Graph is { } graph)
            await graph.DisposeAsync().ConfigureAwait(false);
        foreach (var sink in Volatile.Read(ref _sinks))
            await sink.DisposeAsync().ConfigureAwait(false); // the graph completes sinks, their owner disposes them
        await _channel.DisposeAsync().ConfigureAwait(false);
        _savingRoot?.Dispose();
        _referenceRoot?.Dispose();
    }
}
