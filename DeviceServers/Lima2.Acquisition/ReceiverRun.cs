using System.Diagnostics;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Loader;
using Lima2.Detectors.Simulator;
using Lima2.Hdf5.Saving;

namespace Lima2.Acquisition;

/// <summary>A moment of a run, for a progress line.</summary>
public sealed record ReceiverProgress(TimeSpan Elapsed, long Received, long Processed, long Dropped, long Saved, long SavedBytes, long InputBytes);

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
    string? Error);

/// <summary>
/// One receiver's acquisition without Tango: its detector channel (simulator or DECTRIS stream), the processing graph
/// built from proc_params, HDF5 saving in the saving root, and the master file when this is receiver 0.
/// </summary>
public sealed class ReceiverRun : IAsyncDisposable
{
    private readonly ReceiverSettings _settings;
    private readonly IDetectorChannel _channel;
    private readonly List<Hdf5FrameSink> _sinks = [];
    private readonly Stopwatch _clock = new();
    private FrameGraph? _graph;

    private ReceiverRun(ReceiverSettings settings, IDetectorChannel channel)
    {
        _settings = settings;
        _channel = channel;
    }

    public IDetectorChannel Channel => _channel;

    public FrameGraph Graph => _graph ?? throw new InvalidOperationException("the run has not started");

    public ChannelStart? Stream { get; private set; }

    /// <summary>Makes the channel and waits for the stream to start (a DECTRIS header), then builds the graph.</summary>
    public static async Task<ReceiverRun> StartAsync(ReceiverSettings settings, CancellationToken cancellationToken)
    {
        var run = new ReceiverRun(settings, CreateChannel(settings));
        try
        {
            var start = await run._channel.StartAsync(cancellationToken).ConfigureAwait(false);
            run.Stream = start;
            run._graph = run.BuildGraph(start);
            return run;
        }
        catch
        {
            await run.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static IDetectorChannel CreateChannel(ReceiverSettings settings)
    {
        var config = settings.Receiver;
        var endpoint = config.Channel.Kind == ChannelKind.Simulator ? null
            : config.Channel.Endpoints is [var single] ? single
            : throw new ArgumentException($"a DECTRIS receiver reads one endpoint, the configuration names {config.Channel.Endpoints.Count}");
        return config.Channel.Kind switch
        {
            ChannelKind.Simulator => new SimulatorChannel(settings.AcqParams.Acq, settings.AcqParams.Det, config.Rank,
                config.NbReceivers, Hdf5FrameSource.Open),
            var kind => new DectrisChannel(new DectrisChannelOptions(endpoint!,
                kind == ChannelKind.DectrisV1 ? DectrisStreamVersion.V1 : DectrisStreamVersion.V2, config.Rank, config.NbReceivers,
                DecodeWorkers: settings.ProcParams.Fifo.NbThreads)),
        };
    }

    private FrameGraph BuildGraph(ChannelStart start)
    {
        var config = _settings.Receiver;
        var proc = _settings.ProcParams;
        ParamsValidator.ThrowIfAny(ParamsValidator.Validate(proc, start.Frame));
        var root = new SavingRoot(config.SavingRoot);
        var sinkOptions = new SinkOptions(Parallelism: Math.Max(2, proc.Fifo.NbThreads), ExpectedFrames: start.ExpectedFrames);
        var parts = new GraphParts
        {
            SinkFactory = (_, saving, frame) =>
            {
                var sink = new Hdf5FrameSink(saving with { FilenameRank = config.Rank }, frame, root, sinkOptions);
                _sinks.Add(sink);
                return sink;
            },
        };
        // The cap covers every frame-sized buffer of the run: the channel's received messages and the sinks'
        // compressed chunks come off it first, the frame pool gets the rest.
        var channelBytes = _channel is DectrisChannel dectris ? dectris.BufferedBytesBound(start.Frame) : 0;
        var sinkBytes = GraphBuilder.DenseSavingChannels(proc).Where(c => c.Params.Enabled)
            .Sum(c => Hdf5FrameSink.BufferBytes(c.Params, start.Frame, sinkOptions));
        var poolBytes = config.MemoryCapBytes - channelBytes - sinkBytes;
        if (poolBytes < 2L * start.Frame.ByteSize)
            throw new ArgumentException(
                $"memory_cap {config.MemoryCap} leaves {Math.Max(0, poolBytes)} bytes for frames after {channelBytes} bytes of stream " +
                $"buffers and {sinkBytes} bytes of saving buffers; {start.Frame} frames need at least {2L * start.Frame.ByteSize}");
        Memory = new ReceiverMemory(config.MemoryCapBytes, channelBytes, sinkBytes, poolBytes);
        return GraphBuilder.Build(proc, start.Frame, config.OverloadPolicy, poolBytes, parts);
    }

    /// <summary>How the memory cap is shared, once the stream has started.</summary>
    public ReceiverMemory? Memory { get; private set; }

    /// <summary>Bytes the frame pool has allocated so far (it never frees them before the end): the run's peak.</summary>
    public long PoolAllocatedBytes => _graph?.Pool.AllocatedBytes ?? 0;

    public ReceiverProgress Progress()
    {
        var counters = Graph.Counters;
        return new ReceiverProgress(_clock.Elapsed, counters.Received, counters.Processed, counters.Dropped,
            _sinks.Sum(s => s.FramesWritten), _sinks.Sum(s => s.BytesWritten), counters.Received * Graph.InputInfo.ByteSize);
    }

    /// <summary>Runs to the end of the stream (or cancellation = stop); a fault is reported in the summary, not thrown.</summary>
    public async Task<ReceiverSummary> RunAsync(CancellationToken cancellationToken)
    {
        var graph = Graph;
        _clock.Start();
        var result = await ChannelRunner.RunAsync(_channel, graph, cancellationToken).ConfigureAwait(false);
        _clock.Stop();
        var error = result.Error?.Message;
        var channel = result.Channel ?? new ChannelSummary(0, 0, "channel failed");
        var summary = result.Graph;
        string? master = null;
        if (error is null)
            master = WriteMasterFile(channel);
        var rejections = _channel is DectrisChannel dectris ? dectris.Rejections : new Dictionary<string, long>();
        var files = _sinks.SelectMany(s => Enumerable.Range(0, s.FilesCreated).Select(i => s.FilePath(i))).ToList();
        return new ReceiverSummary(channel, summary.Counters, _clock.Elapsed, _sinks.Sum(s => s.FramesWritten),
            _sinks.Sum(s => s.BytesWritten), files, master, rejections, error);
    }

    /// <summary>Receiver 0 writes the master file of a distributed acquisition once the total is known.</summary>
    private string? WriteMasterFile(ChannelSummary channel)
    {
        var config = _settings.Receiver;
        if (config.Rank != 0 || _sinks.Count == 0 || channel.EndReason == "stopped")
            return null;
        long? total = _channel switch
        {
            DectrisChannel d => d.Header?.Images,
            _ => _settings.AcqParams.Acq.NbFrames > 0 ? _settings.AcqParams.Acq.NbFrames : null,
        };
        if (total is not { } frames)
            return null;
        var saving = GraphBuilder.DenseSavingChannels(_settings.ProcParams).First(c => c.Params.Enabled).Params;
        return MasterFile.Write(saving, new SavingRoot(config.SavingRoot), Graph.OutputInfo, config.NbReceivers, frames);
    }

    public async ValueTask DisposeAsync()
    {
        if (_graph is not null)
            await _graph.DisposeAsync().ConfigureAwait(false);
        foreach (var sink in _sinks)
            await sink.DisposeAsync().ConfigureAwait(false); // the graph completes sinks, their owner disposes them
        await _channel.DisposeAsync().ConfigureAwait(false);
    }
}
