using System.Diagnostics;
using Lima2.Acquisition.Processing;
using Lima2.Acquisition.Publishing;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;
using Lima2.Hdf5;

namespace Lima2.Acquisition;

/// <summary>
/// One receiver's acquisition, for <c>lima2 receive</c> and the receiver device alike: its detector channel (simulator
/// or DECTRIS stream), the processing graph built from proc_params (with the SMX peak finder and what
/// <see cref="ReceiverSettings"/> asks to keep), HDF5 saving in the saving root under one memory cap, and the master
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
    private static readonly NLog.Logger Log = NLog.LogManager.GetCurrentClassLogger();

    private readonly IDetectorChannel _channel;
    private readonly MasterFilePolicy _master;
    private readonly Stopwatch _clock = new();
    private DateTimeOffset _started;
    private NxmxFacts? _facts; // what the files say besides the frames, once the stream has started
    private Hdf5FrameSink[] _sinks = [];
    private FramePublisher? _publisher; // a branch of the graph, which disposes it
    private FrameGraph? _graph;
    private SavingRoot? _savingRoot; // held open by the run: every file it saves is created beneath it
    private SavingRoot? _referenceRoot; // and every reference image it reads is opened beneath this one
    private Exception? _error;
    private volatile bool _finished;

    private ReceiverRun(ReceiverSettings settings, IDetectorChannel channel)
    {
        Settings = settings;
        _channel = channel;
        _master = new MasterFilePolicy(settings.Receiver.Rank, settings.Receiver.NbReceivers,
            settings.ProcParams.DenseSavingChannels().Select(c => c.Params).FirstOrDefault(p => p.Enabled));
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

    /// <summary>Frames received so far (each has its row in the dense files, saved or not).</summary>
    public long Received => Counters?.Received ?? 0;

    /// <summary>Dense frames saved so far.</summary>
    public long Saved => Volatile.Read(ref _sinks).Sum(s => s.FramesWritten);

    public long SavedBytes => Volatile.Read(ref _sinks).Sum(s => s.BytesWritten);

    /// <summary>Dense frames left out so far as no hits (SMX fai.dense_skip_nohits): processed, not saved.</summary>
    public long NotSavedNoHit => Volatile.Read(ref _sinks).Sum(s => s.FramesSkipped);

    /// <summary>Every file created so far: dense files, then the peak finder's sparse and accumulation files.</summary>
    public IReadOnlyList<string> Files =>
    [
        .. Volatile.Read(ref _sinks).SelectMany(s => Enumerable.Range(0, s.FilesCreated).Select(i => s.FilePath(i))),
        .. Peaks?.Files ?? [],
    ];

    /// <summary>The master file written by rank 0 at the end, or null.</summary>
    public string? MasterFile => _master.Path;

    /// <summary>The frames per receiver <see cref="MasterFile"/> was written over (each receiver's share after a complete run).</summary>
    public IReadOnlyList<long> MasterCounts => _master.Counts;

    /// <summary>Frames re-published and dropped by the publisher (receiver <c>publish</c>), or null when not publishing.</summary>
    public PublishCounts? Publishing => Volatile.Read(ref _publisher)?.Counts;

    /// <summary>The SMX peak-finding branch, or null.</summary>
    public PeakFindingNode? Peaks => Find<PeakFindingNode>();

    /// <summary>The last processed frames (with <see cref="ReceiverSettings.KeepFrames"/>).</summary>
    public FrameHistory? Frames => Find<FrameHistory>();

    /// <summary>
    /// The last input frames (with <see cref="ReceiverSettings.KeepFrames"/>, Legacy and XPCS): copies taken before
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
    public static Task<ReceiverRun> PrepareAsync(ReceiverSettings settings, CancellationToken cancellationToken = default) =>
        PrepareAsync(settings, ChannelFactory.Create(settings), cancellationToken);

    /// <summary>Prepares a run over <paramref name="channel"/>, which the run owns and disposes from then on.</summary>
    public static async Task<ReceiverRun> PrepareAsync(ReceiverSettings settings, IDetectorChannel channel,
        CancellationToken cancellationToken = default)
    {
        var run = new ReceiverRun(ChannelFactory.ForGraph(settings), channel);
        try
        {
            ParamsValidator.ThrowIfAny(settings.Receiver.Validate());
            if (run._channel.StartsAtPrepare)
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
        var run = await PrepareAsync(settings, cancellationToken).ConfigureAwait(false);
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

    private FrameGraph BuildGraph(ChannelStart start)
    {
        var config = Settings.Receiver;
        var proc = Settings.ProcParams;
        ParamsValidator.ThrowIfAny(GeometryValidator.Validate(proc, start.Frame));
        var root = _savingRoot = new SavingRoot(config.SavingRoot);
        _started = DateTimeOffset.UtcNow;
        var referenceRoot = _referenceRoot = new SavingRoot(config.ReferenceRoot);
        var references = Hdf5ReferenceImageReader.Images.Under(referenceRoot.Root, referenceRoot.OpenRead);
        var facts = _facts = Facts(start, references);
        var sinkOptions = new SinkOptions(Parallelism: Math.Max(2, proc.Fifo.NbThreads), ExpectedFrames: start.ExpectedFrames,
            Facts: facts);
        var sinks = new List<Hdf5FrameSink>();
        var parts = new GraphParts
        {
            ReferenceImages = references,
            KeepFrames = Settings.KeepFrames,
            KeepInputFrames = Settings.KeepFrames && proc.ServesInputFrames(),
            SinkFactory = (name, saving, frame) =>
            {
                var sink = new Hdf5FrameSink(saving with { FilenameRank = config.Rank }, frame, root, sinkOptions, name);
                sinks.Add(sink);
                return sink;
            },
            ExtraConsumers = frame =>
            {
                var extra = new List<FrameConsumer>();
                if (Settings.ReducedData)
                    extra.Add(new FrameIdxNode(proc.Buffers.NbFrameIdxBuffer));
                extra.AddRange(PipelineConsumers.For(proc,
                    new PipelineContext(frame, config, root, references, start.Metadata, Settings.ReducedData)));
                if (config.Publish is { } publish)
                    extra.Add(_publisher = new FramePublisher(publish, frame, start.ExpectedFrames));
                return extra;
            },
        };
        var memory = Memory = ReceiverMemory.Plan(config, _channel, proc, start.Frame, sinkOptions);
        var frameMemory = PipelineConsumers.FrameMemory(proc, config);
        parts = parts with { FrameMemory = Settings.KeptBuffers?.For(frameMemory, memory.PoolBytes) ?? frameMemory };
        try
        {
            var graph = GraphBuilder.Build(proc, start.Frame, config.OverloadPolicy, memory.PoolBytes, parts);
            _publisher?.PublishResultsOf(new PublishedResults(graph.Find<RoiStatisticsNode>(), graph.Find<PeakFindingNode>()));
            if (graph.Find<PeakFindingNode>() is { DenseSkipNohits: true } peaks && sinks is [var dense])
                dense.SaveOnly(new DenseHits(peaks).KeepAsync);
            Volatile.Write(ref _sinks, [.. sinks]);
            return graph;
        }
        catch
        {
            // the sinks made before a later part failed (e.g. the peak finder's files) are not the graph's yet
            foreach (var sink in sinks)
                sink.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _publisher?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _publisher = null;
            throw;
        }
    }

    /// <summary>
    /// What the saved files say besides the frames: the detector's facts with the acquisition's experiment over them
    /// and the processing's mask file in the pixel mask (as far as they hold for the saved frames), the names, the
    /// run's start, the modules of a partial frame.
    /// </summary>
    /// <exception cref="ReferenceImageException">the mask file cannot be read under the reference root or is not a frame's size.</exception>
    private NxmxFacts Facts(ChannelStart start, ReferenceImages references)
    {
        var experiment = Settings.AcqParams.Acq.Experiment;
        var metadata = experiment.Over(start.Metadata);
        if (PipelineConsumers.MaskFileOf(Settings.ProcParams) is { } mask)
            metadata = metadata with
            {
                PixelMask = Nxmx.WithUserMask(metadata.PixelMask, references.Read(mask.Path, mask.Field, start.Frame.Width, start.Frame.Height)),
            };
        // under partial-frame dispatch the frames are this receiver's stack of modules, each placed in the detector's
        // image (unless reshaping moved their pixels)
        var modules = Settings.ProcParams.FrameReshaping() is { Enabled: true } ? null : start.Parts?.PerReceiver[Settings.Receiver.Rank].Parts
            .Select(p => new NxmxModule(p.SourceX, p.SourceY, p.Width, p.Height, p.DetectorX, p.DetectorY)).ToArray();
        return new NxmxFacts(SavedMetadata(metadata, Settings.ProcParams), _started,
            experiment.SampleName, experiment.InstrumentName, experiment.SourceName, modules);
    }

    /// <summary>
    /// The detector facts that hold for the saved frames: binning, crop, flip and rotation (roi_flip_rot) move and
    /// resize pixels, so the pixel size, beam centre and pixel mask of the detector are left out rather than written wrong.
    /// </summary>
    private static DetectorMetadata SavedMetadata(DetectorMetadata metadata, ProcParams proc) =>
        proc.FrameReshaping() is { Enabled: true }
            ? metadata with { XPixelSize = null, YPixelSize = null, BeamCenterX = null, BeamCenterY = null, PixelMask = null }
            : metadata;

    /// <summary>Software trigger (simulator in software trigger mode); a detector's channel ignores it.</summary>
    public void Trigger() => _channel.Trigger();

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
            channel = result.Channel ?? new ChannelSummary(0, 0, ChannelEnd.Failed, "channel failed");
            counters = result.Graph.Counters;
            if (result.Error is { } error)
                Fail(error);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            channel = new ChannelSummary(0, 0, ChannelEnd.Stopped, "stopped before the stream started");
        }
        catch (Exception e)
        {
            Fail(e);
        }
        if (Error is null && channel is not null)
        {
            try
            {
                _master.WriteAtEnd(FramesOnDisk(), stopped: channel.End == ChannelEnd.Stopped, _channel.TotalFrames, Received);
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }
        if (_publisher is { } publisher)
            await publisher.EndSeriesAsync(SeriesEnd()).ConfigureAwait(false); // the files are closed: consumers may read them
        var summary = new ReceiverSummary(channel ?? new ChannelSummary(0, 0, ChannelEnd.Failed, "failed to start"),
            counters ?? new GraphCounters().Snapshot(), _clock.Elapsed, Saved, SavedBytes, Files, MasterFile, _channel.Rejections,
            _channel.LastRejection, PeakCounts(), Error, Publishing, NotSavedNoHit);
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
                Log.Error(e, "receiver {Rank}: a listener of the end of the run failed", Settings.Receiver.Rank);
            }
        }
        return summary;
    }

    private void Fail(Exception e) => Interlocked.CompareExchange(ref _error, e, null);

    /// <summary>Where the frames of this run were saved, for the consumers of the re-published stream to fill their gaps.</summary>
    private PublishedSeriesEnd SeriesEnd()
    {
        var config = Settings.Receiver;
        var saving = Settings.ProcParams.DenseSavingChannels().Select(c => c.Params).FirstOrDefault(p => p.Enabled);
        var sink = Volatile.Read(ref _sinks).FirstOrDefault();
        var files = sink is null ? [] : Enumerable.Range(0, sink.FilesCreated).Select(i => sink.FilePath(i)).ToArray();
        // partial-frame dispatch: every receiver takes (its part of) every frame; else frames are dealt round robin
        var (first, step) = Stream?.Parts is null ? (config.Rank, config.NbReceivers) : (0, 1);
        return new PublishedSeriesEnd(config.Rank, config.NbReceivers, first, step, 0, files, saving is null ? null : NexusLayout.DatasetPath(saving),
            saving?.NbFramesPerFile ?? 0, MasterFile, Error?.Message);
    }

    /// <summary>
    /// Receiver 0 writes the master file over the frames every receiver received, once they have all ended: for a run
    /// of several receivers that was stopped or endless, whose total only the control device, which reads every
    /// receiver's count, knows. Returns its path (also <see cref="MasterFile"/>).
    /// </summary>
    /// <param name="receivedPerReceiver">nb_frames_received of each receiver, indexed by rank</param>
    /// <exception cref="InvalidOperationException">not receiver 0, the run has not ended, or no dense saving.</exception>
    public string WriteMasterFile(IReadOnlyList<long> receivedPerReceiver) =>
        _master.WriteOver(FramesOnDisk(), receivedPerReceiver, IsFinished, _channel.TotalFrames, Received);

    /// <summary>Where the dense frames went, once the graph is built.</summary>
    private SavedFrames? FramesOnDisk() => Graph is { } graph
        ? new SavedFrames(_savingRoot!, graph.OutputInfo, _facts, Stream?.Parts)
        : null;

    public async ValueTask DisposeAsync()
    {
        if (Graph is { } graph)
            await graph.DisposeAsync().ConfigureAwait(false); // and its sinks: the run only reads their counts
        await _channel.DisposeAsync().ConfigureAwait(false);
        _savingRoot?.Dispose();
        _referenceRoot?.Dispose();
    }
}
