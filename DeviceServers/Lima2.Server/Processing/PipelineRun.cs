using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Simulator;
using Lima2.Hdf5.Saving;
using Lima2.PeakFinding;
using Lima2.Protocol;

namespace Lima2.Server.Processing;

/// <summary>A receiver's fixed set-up (its device properties).</summary>
/// <param name="Rank">index of the receiver: it gets frames i with i % NbReceivers == Rank</param>
public sealed record ReceiverSetup(
    int Rank = 0,
    int NbReceivers = 1,
    ChannelKind Channel = ChannelKind.Simulator,
    string Endpoint = "",
    long MemoryCapBytes = 1L << 30,
    OverloadPolicy Policy = OverloadPolicy.BackPressure,
    string SavingRoot = "/tmp",
    PeakFinderBackend PeakFinder = PeakFinderBackend.Auto);

/// <summary>
/// One receiver's acquisition for one Prepare uuid: the detector channel, the processing graph built from
/// proc_params (with the SMX peak finder, frame history, reduced data), HDF5 saving of the dense channel and the
/// master file (rank 0). The processing device of the uuid reads everything it serves from here.
/// </summary>
/// <remarks>
/// Lima2.Acquisition's ReceiverRun was not on main when this was written; this is the small adapter over the
/// core's GraphBuilder, the channels and the HDF5 sink that the receiver device needs (frame history and the
/// peak-finding branch included).
/// </remarks>
public sealed class PipelineRun : IAsyncDisposable
{
    private readonly IDetectorChannel _channel;
    private readonly List<Hdf5FrameSink> _sinks = [];
    private FrameGraph? _graph;
    private volatile bool _finished;
    private LimaError? _error;

    private PipelineRun(string uuid, ReceiverSetup setup, AcqParams<SimulatorDet> acq, ProcParams proc, IDetectorChannel channel)
    {
        Uuid = uuid;
        Setup = setup;
        Acq = acq;
        Proc = proc;
        _channel = channel;
    }

    public string Uuid { get; }

    public ReceiverSetup Setup { get; }

    public AcqParams<SimulatorDet> Acq { get; }

    public ProcParams Proc { get; }

    public string ClassName => Proc.ClassName;

    public FrameInfo? Input => _graph?.InputInfo;

    public FrameInfo? Output => _graph?.OutputInfo;

    public bool IsFinished => _finished;

    /// <summary>Why the run failed, or null.</summary>
    public LimaError? Error => Volatile.Read(ref _error);

    /// <summary>Raised once when the run has ended (error or not), after the files are closed.</summary>
    public event Action<PipelineRun>? Finished;

    /// <summary>The master file written by rank 0, or null.</summary>
    public string? MasterFile { get; private set; }

    public IReadOnlyList<string> Files => _sinks.SelectMany(s => Enumerable.Range(0, s.FilesCreated).Select(i => s.FilePath(i))).ToList();

    public GraphCounters? Counters => _graph?.Counters;

    public long Saved => _sinks.Sum(s => s.FramesWritten);

    public PeakFindingNode? Peaks => _graph?.Find<PeakFindingNode>();

    public RoiStatisticsNode? RoiStatistics => _graph?.Find<RoiStatisticsNode>();

    /// <summary>
    /// Makes the channel and, when the frame geometry is known before the stream starts (simulator), the graph:
    /// errors in proc_params that need the geometry (ROIs outside the frame, missing files) surface here.
    /// </summary>
    public static async Task<PipelineRun> PrepareAsync(string uuid, ReceiverSetup setup, AcqParams<SimulatorDet> acq,
        ProcParams proc, CancellationToken cancellationToken)
    {
        IDetectorChannel channel = setup.Channel switch
        {
            ChannelKind.Simulator => new SimulatorChannel(acq.Acq, acq.Det, setup.Rank, setup.NbReceivers),
            var kind => new DectrisChannel(new DectrisChannelOptions(setup.Endpoint,
                kind == ChannelKind.DectrisV1 ? DectrisStreamVersion.V1 : DectrisStreamVersion.V2, setup.Rank, setup.NbReceivers,
                DecodeWorkers: proc.Fifo.NbThreads)),
        };
        var run = new PipelineRun(uuid, setup, acq, proc, channel);
        try
        {
            if (channel is SimulatorChannel)
                run.Build(await channel.StartAsync(cancellationToken).ConfigureAwait(false));
            return run;
        }
        catch
        {
            await run.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void Build(ChannelStart start)
    {
        ParamsValidator.ThrowIfAny(ParamsValidator.Validate(Proc, start.Frame));
        var root = new SavingRoot(Setup.SavingRoot);
        var parts = new GraphParts
        {
            KeepFrames = true,
            SinkFactory = (_, saving, frame) =>
            {
                var sink = new Hdf5FrameSink(saving with { FilenameRank = Setup.Rank }, frame, root,
                    new SinkOptions(Parallelism: Math.Max(2, Proc.Fifo.NbThreads), ExpectedFrames: start.ExpectedFrames));
                _sinks.Add(sink);
                return sink;
            },
            ExtraConsumers = frame =>
            {
                var extra = new List<FrameConsumer> { new FrameIdxNode(Proc.Buffers.NbFrameIdxBuffer) };
                if (Proc is SmxProcParams smx)
                    extra.Add(PeakFindingNode.Create(smx, frame, Setup.PeakFinder, root, Setup.Rank));
                if (Proc is XpcsProcParams)
                    extra.Add(new FillFactorNode(Proc.Buffers.NbFramesBuffer, Proc.Fifo.NbThreads));
                return extra;
            },
        };
        _graph = GraphBuilder.Build(Proc, start.Frame, Setup.Policy, Setup.MemoryCapBytes, parts);
    }

    /// <summary>Software trigger (simulator in software/external trigger mode).</summary>
    public void Trigger()
    {
        if (_channel is SimulatorChannel simulator)
            simulator.Trigger();
    }

    /// <summary>Runs to the end of the receiver's share, <paramref name="stop"/>, or a failure; never throws.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        ChannelSummary? channel = null;
        try
        {
            if (_graph is null)
                Build(await _channel.StartAsync(stop).ConfigureAwait(false));
            var result = await ChannelRunner.RunAsync(_channel, _graph!, stop).ConfigureAwait(false);
            channel = result.Channel;
            if (result.Error is { } error)
                Fail(error);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // stopped before the stream started
        }
        catch (Exception e)
        {
            Fail(e);
        }
        if (Error is null && channel is { EndReason: not "stopped" })
        {
            try
            {
                MasterFile = WriteMasterFile();
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }
        _finished = true;
        foreach (var handler in Finished?.GetInvocationList() ?? [])
        {
            try
            {
                ((Action<PipelineRun>)handler)(this);
            }
            catch (Exception e)
            {
                // a listener's failure (an event that cannot be pushed) must not hide the run's end from the others
                Console.Error.WriteLine($"pipeline {Uuid}: a listener of the end of the run failed: {e.Message}");
            }
        }
    }

    private void Fail(Exception e) => Interlocked.CompareExchange(ref _error, LimaFailure.Payload(e), null);

    /// <summary>Rank 0 writes the master file (VDS over every receiver's files) once its own share is saved.</summary>
    private string? WriteMasterFile()
    {
        if (Setup.Rank != 0 || _sinks.Count == 0 || Acq.Acq.NbFrames <= 0 || _graph is null)
            return null;
        var saving = GraphBuilder.DenseSavingChannels(Proc).First(c => c.Params.Enabled).Params;
        return Hdf5.Saving.MasterFile.Write(saving, new SavingRoot(Setup.SavingRoot), _graph.OutputInfo, Setup.NbReceivers,
            Acq.Acq.NbFrames);
    }

    // ---- what the processing device serves ----

    public string ProgressCounters()
    {
        var c = _graph?.Counters;
        var counters = new Dictionary<string, long>
        {
            ["nb_frames_source"] = c?.Received ?? 0,
            ["nb_frames_input"] = c?.Received ?? 0,
            ["nb_frames_processed"] = c?.Processed ?? 0,
            ["nb_frames_dropped"] = c?.Dropped ?? 0,
            ["nb_frames_saved"] = Saved,
        };
        if (Peaks is { } peaks)
        {
            counters["nb_frames_sparse"] = peaks.Frames;
            counters["nb_hits"] = peaks.Hits;
            counters["nb_peaks"] = peaks.TotalPeaks;
        }
        return JsonSerializer.Serialize(counters);
    }

    public string LastFrames()
    {
        var c = _graph?.Counters;
        var last = new Dictionary<string, long>
        {
            ["input_idx"] = c?.LastInputIndex ?? -1,
            ["processed_idx"] = c?.LastProcessedIndex ?? -1,
        };
        if (Peaks is { } peaks)
            last["sparse_idx"] = peaks.Sparse(-1)?.FrameIndex ?? -1;
        return JsonSerializer.Serialize(last);
    }

    public static string FrameInfoJson(FrameInfo? info) => info is { } f
        ? JsonSerializer.Serialize(new { nb_channels = f.Channels, dimensions = new { x = f.Width, y = f.Height }, pixel_type = f.PixelType.ToLimaName() })
        : "{}";

    /// <summary>A processed frame (global index, -1 = newest) as DENSE_FRAME; throws when it is no longer kept.</summary>
    public EncodedData GetFrame(long index)
    {
        var history = _graph?.Find<FrameHistory>() ?? throw NotAvailable("frame", index);
        if (!history.TryGet(index, out var frame))
            throw NotAvailable("frame", index);
        using (frame)
            return EncodedLayouts.Dense(frame);
    }

    public EncodedData GetSparseFrame(long index)
    {
        var sparse = Peaks?.Sparse(index) ?? throw NotAvailable("sparse frame", index);
        return new EncodedData(SparseFrame.Tag, sparse.Encode());
    }

    public EncodedData GetAccumulated(bool peaks)
    {
        var node = Peaks;
        var acc = node?.LastAccumulation ?? throw new InvalidOperationException(
            "no accumulated frame yet (fai.acc_nb_frames_xfer frames must have been processed)");
        using var frame = Frame.FromArray(peaks ? acc.AccumulatedPeaks! : acc.AccumulatedCorrected!, node!.Width, node.Height, acc.FrameIndex);
        return EncodedLayouts.Dense(frame);
    }

    public EncodedData PopRoiStatistics() => Structured(RoiStatistics?.Rows.Pop() ?? []);

    public EncodedData PopRoiProfiles() => Structured(_graph?.Find<RoiProfilesNode>()?.Rows.Pop() ?? []);

    public EncodedData PopPeakCounters() => EncodedLayouts.Structured<PeakCounterRecord>(Peaks?.Counters.Pop() ?? []);

    public EncodedData PopFillFactors() => EncodedLayouts.Structured<FillFactorRecord>(_graph?.Find<FillFactorNode>()?.Rows.Pop() ?? []);

    public EncodedData PopFrameIdx() => EncodedLayouts.Structured<FrameIdxRecord>(_graph?.Find<FrameIdxNode>()?.Rows.Pop() ?? []);

    /// <summary>The ROI statistics of the newest frame measured (one row per ROI), for the receiver's counters.</summary>
    public RoiStatRow[] LatestRoiStatistics() => RoiStatistics?.Latest ?? [];

    private static EncodedData Structured(RoiStatRow[] rows) =>
        EncodedLayouts.Structured<RoiStatisticsRecord>(rows.Select(r =>
            new RoiStatisticsRecord(r.FrameIdx, r.RecvIdx, r.Min, r.Max, r.Avg, r.Std, r.Sum)).ToArray());

    private static InvalidOperationException NotAvailable(string what, long index) =>
        new($"{what} {(index < 0 ? "(latest)" : index.ToString())} is not available on this receiver");

    public async ValueTask DisposeAsync()
    {
        if (_graph is not null)
            await _graph.DisposeAsync().ConfigureAwait(false);
        foreach (var sink in _sinks)
            await sink.DisposeAsync().ConfigureAwait(false);
        await _channel.DisposeAsync().ConfigureAwait(false);
    }
}
