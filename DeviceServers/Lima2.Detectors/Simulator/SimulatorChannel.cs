using System.Collections.Concurrent;
using System.Diagnostics;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;

namespace Lima2.Detectors.Simulator;

/// <summary>
/// Builds the frame source of the simulator's loader (<c>det.image_source = loader</c>): frames read from files,
/// e.g. HDF5 through Lima2.Hdf5. The core has no HDF5 reader; the assembly that has one passes it here.
/// </summary>
public delegate IFrameSource LoaderFactory(LoaderParams loader);

/// <summary>
/// The simulator as one receiver's detector channel: renders (or loads) the frames i with i % n == rank of an
/// acquisition of <c>acq.nb_frames</c> (0 = until stopped), round robin, each a pure function of its global index.
/// </summary>
/// <remarks>
/// Timing: with <c>trigger_mode = internal</c> frame i is due at start + i × (expo_time + latency_time) (global
/// timing, so receivers stay in step); the other modes wait for <see cref="Trigger"/>, each call releasing
/// nb_frames_per_trigger frames. With <c>nb_prefetch_frames</c> = p > 0, frame i shows image i % p, rendered once.
/// </remarks>
public sealed class SimulatorChannel : IDetectorChannel
{
    private readonly Acquisition _acq;
    private readonly IFrameSource _source;
    private readonly int _rank;
    private readonly int _receivers;
    private readonly int _prefetch;
    private readonly ConcurrentDictionary<long, byte[]> _images = new();
    private readonly SemaphoreSlim _triggers = new(0);
    private long _released;

    public SimulatorChannel(Acquisition acq, SimulatorDet det, int rank = 0, int receivers = 1, LoaderFactory? loader = null)
        : this(acq, CreateSource(det, loader), det.NbPrefetchFrames, rank, receivers)
    {
    }

    public SimulatorChannel(Acquisition acq, IFrameSource source, int prefetch = 0, int rank = 0, int receivers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(receivers);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, receivers);
        _acq = acq;
        _source = source;
        _rank = rank;
        _receivers = receivers;
        _prefetch = prefetch;
        if (source.Count is { } available && (acq.NbFrames == 0 || acq.NbFrames > available) && prefetch == 0)
            throw new ArgumentException($"the source has {available} frames, the acquisition asks for {(acq.NbFrames == 0 ? "endless" : acq.NbFrames)}");
    }

    public string Name => $"simulator {_rank}/{_receivers}";

    public IFrameSource Source => _source;

    /// <summary>The peaks planted in frame <paramref name="index"/> (prefetch taken into account); empty for a loader.</summary>
    public IReadOnlyList<PlantedPeak> PlantedPeaks(long index) =>
        _source is FrameGenerator generator ? generator.PlantedPeaks(_prefetch > 0 ? index % _prefetch : index) : [];

    /// <summary>How many of <paramref name="totalFrames"/> frames receiver <paramref name="rank"/> of <paramref name="receivers"/> gets.</summary>
    public static long Share(long totalFrames, int rank, int receivers) =>
        totalFrames / receivers + (rank < totalFrames % receivers ? 1 : 0);

    /// <summary>Global index of this receiver's frame number <paramref name="local"/>.</summary>
    public long GlobalIndex(long local) => _rank + local * _receivers;

    public ValueTask<ChannelStart> StartAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(new ChannelStart(_source.Info,
            _acq.NbFrames == 0 ? null : Share(_acq.NbFrames, _rank, _receivers)) { Metadata = Metadata() });

    /// <summary>Exposure times; for generated frames also the simulated detector (for a loader it is unknown).</summary>
    private DetectorMetadata Metadata()
    {
        // acq.expo_time and acq.latency_time are in µs
        var metadata = new DetectorMetadata
        {
            CountTime = _acq.ExpoTime * 1e-6,
            FrameTime = (_acq.ExpoTime + _acq.LatencyTime) * 1e-6,
        };
        if (_source is not FrameGenerator generator)
            return metadata;
        metadata = metadata with
        {
            XPixelSize = FrameGenerator.PixelSize,
            YPixelSize = FrameGenerator.PixelSize,
            SaturationValue = generator.SaturationValue,
        };
        // the generator's centre counts pixel centres from 0; the files count from the first pixel's corner
        return generator is DiffractionGenerator diffraction
            ? metadata with
            {
                Distance = DiffractionGenerator.Distance,
                BeamCenterX = diffraction.BeamCenter.X + 0.5,
                BeamCenterY = diffraction.BeamCenter.Y + 0.5,
            }
            : metadata;
    }

    /// <summary>Software (or emulated external) trigger: releases the next nb_frames_per_trigger frames.</summary>
    public void Trigger() => _triggers.Release();

    /// <summary>The geometry is the source's: known before any frame.</summary>
    public bool StartsAtPrepare => true;

    public long? TotalFrames => _acq.NbFrames > 0 ? _acq.NbFrames : null;

    public async Task<ChannelSummary> RunAsync(IFrameTarget target, CancellationToken cancellationToken)
    {
        if (target.InputInfo != _source.Info)
            throw new ChannelException($"the target expects {target.InputInfo} frames, the simulator makes {_source.Info}");
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, target.Aborted);
        var token = linked.Token;
        var period = TimeSpan.FromTicks((_acq.ExpoTime + _acq.LatencyTime) * TimeSpan.TicksPerMicrosecond);
        var clock = Stopwatch.StartNew();
        long delivered = 0, lost = 0;
        try
        {
            for (long local = 0; _acq.NbFrames == 0 || local < Share(_acq.NbFrames, _rank, _receivers); local++)
            {
                var index = GlobalIndex(local);
                await WaitUntilDueAsync(index, period, clock, token).ConfigureAwait(false);
                var buffer = await target.RentAsync(index, token).ConfigureAwait(false);
                if (buffer is not { } pooled)
                {
                    lost++;
                    continue;
                }
                Frame frame;
                try
                {
                    Fill(index, pooled.Span[.._source.Info.ByteSize]);
                    frame = new Frame(pooled, _source.Info, index, local);
                }
                catch
                {
                    pooled.Dispose();
                    throw;
                }
                delivered++; // the target owns the frame from here on, even if the hand-over is cancelled
                await target.SubmitAsync(frame, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return target.Aborted.IsCancellationRequested
                ? new ChannelSummary(delivered, lost, ChannelEnd.Aborted, "aborted by the graph")
                : new ChannelSummary(delivered, lost, ChannelEnd.Stopped, "stopped");
        }
        return new ChannelSummary(delivered, lost, ChannelEnd.Completed, "end of acquisition");
    }

    private async ValueTask WaitUntilDueAsync(long index, TimeSpan period, Stopwatch clock, CancellationToken token)
    {
        if (_acq.TriggerMode != TriggerMode.Internal)
        {
            while (index >= Interlocked.Read(ref _released))
            {
                await _triggers.WaitAsync(token).ConfigureAwait(false);
                Interlocked.Add(ref _released, _acq.NbFramesPerTrigger);
            }
            return;
        }
        var due = period * index;
        var wait = due - clock.Elapsed;
        if (wait > TimeSpan.FromMilliseconds(1))
            await Task.Delay(wait, token).ConfigureAwait(false);
    }

    private void Fill(long index, Span<byte> destination)
    {
        if (_prefetch <= 0)
        {
            _source.Render(index, destination);
            return;
        }
        var image = _images.GetOrAdd(index % _prefetch, key =>
        {
            var bytes = new byte[_source.Info.ByteSize];
            _source.Render(key, bytes);
            return bytes;
        });
        image.CopyTo(destination);
    }

    private static IFrameSource CreateSource(SimulatorDet det, LoaderFactory? loader) => det.ImageSource switch
    {
        ImageSource.Generator => FrameGenerator.Create(det.Generator),
        _ => loader?.Invoke(det.Loader)
             ?? throw new NotSupportedException("image_source 'loader' needs a frame reader for its files (HDF5: Lima2.Hdf5); none was given"),
    };

    public ValueTask DisposeAsync()
    {
        _triggers.Dispose();
        return default;
    }
}
