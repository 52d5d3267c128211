using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Lima2.Core.Frames;
using Lima2.Core.Pipeline;

namespace Lima2.Detectors.Jungfrau;

/// <summary>What a JUNGFRAU channel hands to the graph.</summary>
public enum JungfrauOutput
{
    /// <summary>The raw words (gray16: gain bits and ADC), padded packets 0xFFFF.</summary>
    Raw,

    /// <summary>E = (ADC − P[g]) / G[g] in keV (gray32f).</summary>
    Energy,

    /// <summary>Photon counts, 0 below the threshold (gray32s).</summary>
    Photons,
}

/// <summary>One UDP port of a receiver: where it listens and the modules whose packets come to it, in layout order.</summary>
public sealed record JungfrauPort(IPEndPoint Endpoint, IReadOnlyList<int> ModuleIds)
{
    /// <summary>With two interfaces per module (<see cref="JungfrauChannelOptions.Interfaces"/>): which half of its modules the port receives.</summary>
    public int Interface { get; init; }
}

public sealed record JungfrauChannelOptions
{
    public required IReadOnlyList<JungfrauPort> Ports { get; init; }

    /// <summary>Where the modules go in the image: the ports' modules in order (port 0's first).</summary>
    public required JungfrauGeometry Geometry { get; init; }

    /// <summary>UDP interfaces per module, 1 or 2: with 2, each module's halves come to two ports (interface 0 and 1).</summary>
    public int Interfaces { get; init; } = 1;

    /// <summary>Frames of the acquisition, over every receiver; null = until stopped.</summary>
    public long? Frames { get; init; }

    /// <summary>
    /// Full-frame round robin (the detector's UDP destination list sends frame k to receiver k mod n): this receiver
    /// takes the acquisition's frames <see cref="Rank"/> + i·<see cref="Receivers"/>. Partial frames and single
    /// receivers take every frame: 0 of 1.
    /// </summary>
    public int Rank { get; init; }

    /// <inheritdoc cref="Rank"/>
    public int Receivers { get; init; } = 1;

    /// <summary>The frame number of frame 0 (sls detectors count from 1 in each acquisition).</summary>
    public ulong FirstFrameNumber { get; init; } = 1;

    /// <summary>Frames in flight per port (each a pooled buffer of the port's modules); also the depth of each port's queue.</summary>
    public int Window { get; init; } = 16;

    /// <summary>An incomplete frame is handed on (padded) this long after its first packet.</summary>
    public TimeSpan FrameTimeout { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>No packet on any port for this long while frames are still expected ends the run with an error; zero = wait for ever.</summary>
    public TimeSpan IdleTimeout { get; init; }

    /// <summary>Socket receive buffer asked per port.</summary>
    public int ReceiveBufferBytes { get; init; } = 64 << 20;

    public JungfrauOutput Output { get; init; } = JungfrauOutput.Raw;

    /// <summary>
    /// The correction with the pedestal and gain maps for <see cref="JungfrauOutput.Energy"/> and
    /// <see cref="JungfrauOutput.Photons"/>, module-major (CPU or OpenCL). The channel disposes it.
    /// </summary>
    public IJungfrauCorrector? Correction { get; init; }

    public float PhotonEnergyKeV { get; init; } = 12.4f;

    /// <summary>Energies below this count 0 photons.</summary>
    public float ThresholdKeV { get; init; } = 6.2f;

    /// <summary>A pedestal run: the complete frames' raw words are added to this (module-major), besides being delivered.</summary>
    public PedestalAccumulator? Pedestal { get; init; }

    /// <summary>Called with <see cref="Pedestal"/> when the pedestal run has taken all its frames (to save the maps).</summary>
    public Action<PedestalAccumulator>? PedestalDone { get; init; }

    /// <summary>A corrected run's raw words, saved beside its frames: every frame handed on, placed as they are. The channel disposes it.</summary>
    public IJungfrauRawSaving? RawSaving { get; init; }

    /// <summary>A corrected run whose pedestal maps follow the detector's drift from its dark frames or pixels; null = fixed maps.</summary>
    public PedestalTracking? Tracking { get; init; }

    /// <summary>Called with the tracked pedestal maps (G0, G1, G2, module-major) when a tracked run has taken all its frames (to save them).</summary>
    public Action<float[][]>? TrackingDone { get; init; }

    public DetectorMetadata? Metadata { get; init; }

    /// <summary>Partial-frame dispatch: where every receiver's frames go in the detector's image (for the master file); null for whole frames.</summary>
    public FrameParts? Parts { get; init; }
}

/// <summary>One UDP port's counts: every datagram under one verdict, every frame number as complete, incomplete or missed.</summary>
public sealed record JungfrauPortCounters(int Port, long PacketsCaught, long PacketsPadded, long PacketsLate, long PacketsDuplicate,
    long PacketsRejected, long FramesComplete, long FramesIncomplete, long FramesMissed)
{
    public static JungfrauPortCounters Of(int port, ModuleFrameAssembler a) => new(port, a.Count(PacketVerdict.Placed), a.PacketsPadded,
        a.Count(PacketVerdict.Late), a.Count(PacketVerdict.Duplicate), a.PacketsRejected, a.FramesComplete, a.FramesIncomplete, a.FramesMissed);

    public override string ToString() =>
        $"port {Port}: {PacketsCaught} packets caught, {PacketsPadded} padded, {PacketsLate} late, {PacketsDuplicate} duplicate, " +
        $"{PacketsRejected} rejected; {FramesComplete} frames complete, {FramesIncomplete} incomplete, {FramesMissed} missed";
}

/// <summary>
/// Where the channel's own thread spends a frame, summed over the run: waiting for the ports' frames (gather), copying
/// the ports' modules into one module-major frame (copy), the correction (with pedestal tracking; an OpenCL device's
/// transfers included), the placement into the detector image (place; the raw words saved beside placed into their
/// queue's buffer included) and the buffers and hand-offs to the graph and the raw words' queue (hand-off).
/// Written by the channel's thread only; read it once the run is over.
/// </summary>
public sealed class JungfrauChannelProfile
{
    internal long GatherTicks, CopyTicks, CorrectTicks, PlaceTicks, HandOffTicks;

    /// <summary>Frames built.</summary>
    public long Frames { get; internal set; }

    /// <summary>Each stage's wall time per frame built, in ms.</summary>
    public IReadOnlyList<(string Stage, double MsPerFrame)> PerFrame() =>
    [
        .. new[] { ("gather", GatherTicks), ("copy", CopyTicks), ("correct", CorrectTicks), ("place", PlaceTicks), ("hand-off", HandOffTicks) }
            .Select(s => (s.Item1, s.Item2 * 1e3 / Stopwatch.Frequency / Math.Max(Frames, 1))),
    ];

    public override string ToString() => string.Join(", ", PerFrame().Select(s => $"{s.Stage} {s.MsPerFrame:F3}")) + " ms per frame";
}

/// <summary>
/// <c>jungfrau_udp</c>: a JUNGFRAU receiver's detector channel. Each UDP port has its receive thread and its
/// <see cref="ModuleFrameAssembler"/>; their frames (in frame order per port) are joined by frame number, placed by
/// the <see cref="JungfrauGeometry"/>, corrected when asked and handed to the graph. A frame some port had nothing of
/// is padded there (0xFFFF); a frame no port had anything of is reported lost. Every frame of the acquisition (of
/// this receiver's share under full-frame round robin) counts once: complete, incomplete (delivered, padded) or lost.
/// </summary>
/// <remarks>
/// The sockets are bound at construction (Prepare), so that packets sent before Start wait in the kernel's buffers.
/// Memory: per port, the assembler's window and a queue of as many frames; a full queue blocks its receive thread
/// and the kernel buffer then drops packets, which show as padded packets (back-pressure cannot reach a detector).
/// </remarks>
public sealed class JungfrauChannel : IDetectorChannel
{
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(50);
    private readonly JungfrauChannelOptions _options;
    private readonly JungfrauUdpListener[] _listeners;
    private readonly Channel<AssembledFrame>[] _queues;
    private readonly int[][] _modulePositions; // per port, where each of its modules is in the module-major frame
    private readonly FrameInfo _info;
    private long _complete, _incomplete, _missed;
    private bool _ran;

    public JungfrauChannel(JungfrauChannelOptions options)
    {
        var parts = options.Ports.SelectMany(p => p.ModuleIds.Select(id => (id, p.Interface))).ToArray();
        var modules = parts.Select(part => part.id).Distinct().ToArray();
        if (options.Ports.Count == 0 || options.Ports.Any(p => p.ModuleIds.Count == 0))
            throw new ArgumentException("a JUNGFRAU channel listens on at least one port, each carrying at least one module", nameof(options));
        if (options.Interfaces is not (1 or 2) || options.Ports.Any(p => p.Interface < 0 || p.Interface >= options.Interfaces))
            throw new ArgumentException("modules send over 1 or 2 interfaces, and each port receives one of them", nameof(options));
        if (parts.Distinct().Count() != parts.Length || parts.Length != modules.Length * options.Interfaces)
            throw new ArgumentException(options.Interfaces == 1 ? "a module's packets come to one port only"
                : "each module's two halves come to one port each", nameof(options));
        if (modules.Length != options.Geometry.Modules.Count)
            throw new ArgumentException($"the ports carry {modules.Length} modules, the geometry places {options.Geometry.Modules.Count}", nameof(options));
        if (options.Output != JungfrauOutput.Raw && options.Correction?.Pixels != modules.Length * JungfrauModule.Pixels)
            throw new ArgumentException($"{options.Output} output needs pedestal and gain maps of the {modules.Length} modules", nameof(options));
        if (options.Tracking is { } tracking && (options.Output == JungfrauOutput.Raw || tracking.Window < 1 || tracking.DarkEvery < 0 || tracking.G0BandKeV < 0))
            throw new ArgumentException("pedestal tracking needs a corrected output (energy or photons), a window >= 1, dark_every >= 0 and a band >= 0 keV", nameof(options));
        if (options.Receivers < 1 || options.Rank < 0 || options.Rank >= options.Receivers || options.Receivers > 1 && options.Parts is not null)
            throw new ArgumentException($"rank {options.Rank} of {options.Receivers} receivers: whole frames dealt round robin (partial frames go to every receiver)", nameof(options));
        if (options.Pedestal is { } pedestal && pedestal.Pixels != modules.Length * JungfrauModule.Pixels)
            throw new ArgumentException($"the pedestal run's maps have {pedestal.Pixels} pixels, {modules.Length} modules have {modules.Length * JungfrauModule.Pixels}");
        _options = options;
        _info = new FrameInfo(options.Geometry.Width, options.Geometry.Height, options.Output switch
        {
            JungfrauOutput.Energy => PixelType.Gray32f,
            JungfrauOutput.Photons => PixelType.Gray32s,
            _ => PixelType.Gray16,
        });
        _modulePositions = [.. options.Ports.Select(p => p.ModuleIds.Select(id => Array.IndexOf(modules, id)).ToArray())];
        _queues = options.Ports.Select(_ => Channel.CreateBounded<AssembledFrame>(
            new BoundedChannelOptions(options.Window) { SingleReader = true, SingleWriter = true })).ToArray();
        var listeners = new List<JungfrauUdpListener>();
        try
        {
            for (var p = 0; p < options.Ports.Count; p++)
            {
                var queue = _queues[p].Writer;
                var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions
                {
                    ModuleIds = options.Ports[p].ModuleIds,
                    Window = options.Window,
                    FirstFrameNumber = options.FirstFrameNumber + (ulong)options.Rank,
                    FrameStep = (ulong)options.Receivers,
                    Interfaces = options.Interfaces,
                    Interface = options.Ports[p].Interface,
                }, frame => queue.WriteAsync(frame).AsTask().GetAwaiter().GetResult()); // blocks the receive thread while the queue is full
                var listener = new JungfrauUdpListener(options.Ports[p].Endpoint, assembler, options.FrameTimeout, options.ReceiveBufferBytes);
                listeners.Add(listener);
                _ = listener.Completion.ContinueWith(_ => queue.TryComplete(), TaskScheduler.Default); // a failure is read off the listener
            }
        }
        catch
        {
            foreach (var listener in listeners)
                listener.Dispose();
            throw;
        }
        _listeners = [.. listeners];
    }

    public string Name => $"jungfrau_udp {string.Join(",", _listeners.Select(l => l.Port))}";

    /// <summary>The ports as bound (a port 0 asked is the one the kernel chose).</summary>
    public IReadOnlyList<int> Ports => [.. _listeners.Select(l => l.Port)];

    /// <summary>One line per port whose receive buffer the kernel cut (net.core.rmem_max too small); empty when none.</summary>
    public IReadOnlyList<string> Warnings => [.. _listeners.Select(l => l.ReceiveBufferWarning).OfType<string>()];

    /// <summary>What corrects the frames (CPU or OpenCL); null for raw output.</summary>
    public IJungfrauCorrector? Correction => _options.Correction;

    /// <summary>Per-port counts so far (read while the receive threads run, each count may lag by a packet).</summary>
    public IReadOnlyList<JungfrauPortCounters> PortCounters => [.. _listeners.Select(l => JungfrauPortCounters.Of(l.Port, l.Assembler))];

    /// <summary>The datagrams not placed, per port and verdict (late, duplicate, wrong size, ...), as "port P: verdict".</summary>
    public IReadOnlyDictionary<string, long> Rejections => _listeners
        .SelectMany(l => Enum.GetValues<PacketVerdict>().Where(v => v != PacketVerdict.Placed)
            .Select(v => (Key: $"port {l.Port}: {v} packets", Count: l.Assembler.Count(v))))
        .Where(x => x.Count > 0).ToDictionary(x => x.Key, x => x.Count);

    /// <summary>Frames every port had whole.</summary>
    public long FramesComplete => Interlocked.Read(ref _complete);

    /// <summary>Frames delivered with padded packets.</summary>
    public long FramesIncomplete => Interlocked.Read(ref _incomplete);

    /// <summary>Frames of which no port had a packet (reported lost).</summary>
    public long FramesMissed => Interlocked.Read(ref _missed);

    /// <summary>Frames whose raw words were saved beside the corrected ones (0 without raw saving).</summary>
    public long RawFramesSaved => _options.RawSaving?.Saved ?? 0;

    /// <summary>Where a corrected run's raw words are saved beside its frames, or null.</summary>
    public IJungfrauRawSaving? RawSaving => _options.RawSaving;

    /// <summary>Frames whose raw words were dropped, the queue to the disk full under the drop policy (0 without raw saving).</summary>
    public long RawFramesDropped => _options.RawSaving?.Dropped ?? 0;

    /// <summary>Where the channel's thread spent the run's frames (read it once the run is over).</summary>
    public JungfrauChannelProfile Profile { get; } = new();

    /// <summary>The geometry is known from the configuration: the graph is built at Prepare.</summary>
    public bool StartsAtPrepare => true;

    public long? TotalFrames => _options.Frames;

    /// <summary>The frames this receiver takes: all of them, or its round-robin share; null = until stopped.</summary>
    private long? Share => _options.Frames is { } frames
        ? frames / _options.Receivers + (_options.Rank < frames % _options.Receivers ? 1 : 0)
        : null;

    /// <summary>
    /// Bytes the channel may hold besides the graph's frames: per port its kernel buffer, window and queue, one frame of
    /// scratch, and the raw words' queue to the disk.
    /// </summary>
    public long BufferedBytesBound(FrameInfo frame) => _listeners.Zip(_options.Ports).Sum(x =>
            (long)x.First.ReceiveBufferBytes + 2L * _options.Window * x.First.Assembler.FramePixels * sizeof(ushort))
        + (long)_options.Geometry.Modules.Count * JungfrauModule.Pixels * (sizeof(ushort) + sizeof(float))
        + (_options.RawSaving?.BufferedBytes ?? 0);

    /// <summary>The stream's description; its metadata carry the gaps of the geometry as the pixel mask.</summary>
    public ValueTask<ChannelStart> StartAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(new ChannelStart(_info, Share)
        {
            Metadata = (_options.Metadata ?? new DetectorMetadata()) with { PixelMask = _options.Geometry.PixelMask() },
            Parts = _options.Parts,
        });

    public async Task<ChannelSummary> RunAsync(IFrameTarget target, CancellationToken cancellationToken)
    {
        if (_ran)
            throw new InvalidOperationException("a JUNGFRAU channel runs once");
        _ran = true;
        if (target.InputInfo != _info)
            throw new ChannelException($"the target expects {target.InputInfo} frames, the JUNGFRAU channel makes {_info}");
        var raw = _options.RawSaving;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, target.Aborted, raw?.Queue.Aborted ?? default);
        var token = linked.Token;
        var frame = new Merge(this);
        foreach (var listener in _listeners)
            listener.Start();
        long delivered = 0, lost = 0, taken = 0; // taken: this receiver's frames so far
        var share = Share;
        try
        {
            for (; share is not { } frames || taken < frames; taken++)
            {
                var index = _options.Rank + taken * _options.Receivers; // in the acquisition
                var frameNumber = _options.FirstFrameNumber + (ulong)index;
                var gathering = Stopwatch.GetTimestamp();
                var gathered = await frame.GatherAsync(frameNumber, token).ConfigureAwait(false);
                var renting = Stopwatch.GetTimestamp();
                Profile.GatherTicks += renting - gathering;
                if (!gathered)
                {
                    if (frame.AllPortsEnded && _options.Frames is null)
                        break; // an endless run whose ports timed out: nothing more will come
                    Interlocked.Increment(ref _missed);
                    target.ReportLost(index, "no packet of the frame reached any port");
                    lost++;
                    continue;
                }
                Interlocked.Increment(ref frame.IsComplete ? ref _complete : ref _incomplete);
                var buffer = await target.RentAsync(index, token).ConfigureAwait(false);
                Profile.HandOffTicks += Stopwatch.GetTimestamp() - renting;
                if (buffer is not { } pooled)
                {
                    frame.Release();
                    lost++;
                    continue;
                }
                // the raw words' buffer; none under the drop policy when the queue to the disk is full (counted there)
                PooledBuffer? rawBuffer = null;
                try
                {
                    if (raw is not null)
                        rawBuffer = await raw.Queue.RentAsync(index, token).ConfigureAwait(false);
                }
                catch
                {
                    pooled.Dispose(); // stopped while waiting for room: the frame was not handed on
                    throw;
                }
                Frame built;
                Frame? rawWords = null;
                try
                {
                    frame.Build(pooled.Span[.._info.ByteSize], rawBuffer is { } r ? r.Span[..raw!.Queue.InputInfo.ByteSize] : default, index, Profile);
                    built = new Frame(pooled, _info, index, taken);
                    if (rawBuffer is { } words)
                        rawWords = new Frame(words, raw!.Queue.InputInfo, index, taken);
                }
                catch
                {
                    pooled.Dispose();
                    rawBuffer?.Dispose();
                    throw;
                }
                finally
                {
                    frame.Release();
                }
                delivered++;
                var submitting = Stopwatch.GetTimestamp();
                try
                {
                    await target.SubmitAsync(built, token).ConfigureAwait(false); // the graph counts the frame whatever happens
                }
                catch
                {
                    rawWords?.Dispose();
                    throw;
                }
                if (rawWords is not null)
                    await raw!.Queue.SubmitAsync(rawWords, token).ConfigureAwait(false);
                Profile.HandOffTicks += Stopwatch.GetTimestamp() - submitting;
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            await StopAndDrainAsync(frame).ConfigureAwait(false);
            if (target.Aborted.IsCancellationRequested)
                return new ChannelSummary(delivered, lost, ChannelEnd.Aborted, "aborted by the graph");
            if (raw is not null)
                await raw.CompleteAsync(stopped: true).ConfigureAwait(false); // a failed write stopped the run: throws it
            return new ChannelSummary(delivered, lost, ChannelEnd.Stopped, "stopped" + RawSavedDetail());
        }
        catch
        {
            await StopAndDrainAsync(frame).ConfigureAwait(false);
            throw;
        }
        await StopAndDrainAsync(frame).ConfigureAwait(false);
        if (frame.TimedOut && share is { } planned && taken == planned && frame.TailMissed > 0)
            throw new ChannelException($"no UDP packet for {_options.IdleTimeout.TotalSeconds:0.###} s: the last {frame.TailMissed} of " +
                                       $"{planned} frames never came (counted lost)");
        if (_options.Pedestal is { } dark)
        {
            if (dark.Frames == 0)
                throw new ChannelException("the pedestal run had no complete frame: no pedestal maps");
            _options.PedestalDone?.Invoke(dark);
        }
        if (_options.Tracking is not null)
            _options.TrackingDone?.Invoke(_options.Correction!.Pedestal());
        if (raw is not null)
            await raw.CompleteAsync(stopped: false).ConfigureAwait(false);
        return new ChannelSummary(delivered, lost, ChannelEnd.Completed, "end of acquisition" + RawSavedDetail());
    }

    /// <summary>The raw words' own count in the summary: they are saved outside the graph, so nb_frames_saved does not hold them.</summary>
    private string RawSavedDetail() => _options.RawSaving is { } raw
        ? $"; raw words of {raw.Saved} frames saved" + (raw.Dropped > 0 ? $", of {raw.Dropped} dropped (their queue to the disk was full)" : "")
        : "";

    /// <summary>Stops the receive threads and gives back every frame they still hand on (frames beyond the acquisition's).</summary>
    private async Task StopAndDrainAsync(Merge merge)
    {
        merge.Release();
        foreach (var listener in _listeners)
            listener.RequestStop();
        foreach (var queue in _queues)
            await foreach (var leftover in queue.Reader.ReadAllAsync().ConfigureAwait(false))
                leftover.Dispose();
        merge.DisposeHeads();
    }

    public async ValueTask DisposeAsync()
    {
        (_options.Correction as IDisposable)?.Dispose();
        if (_options.RawSaving is { } raw)
            await raw.DisposeAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            try
            {
                listener.Dispose();
            }
            catch (InvalidOperationException)
            {
                // the loop's failure ended the run already and was reported there
            }
        }
        foreach (var queue in _queues)
            while (queue.Reader.TryRead(out var leftover))
                leftover.Dispose();
    }

    /// <summary>The join of the ports' frames of one frame number, and the module-major scratch frame they fill (one at a time).</summary>
    private sealed class Merge(JungfrauChannel channel)
    {
        private readonly AssembledFrame?[] _heads = new AssembledFrame?[channel._listeners.Length];
        private readonly bool[] _ended = new bool[channel._listeners.Length];
        private readonly bool[] _taken = new bool[channel._listeners.Length];
        private readonly ushort[] _raw = new ushort[channel._options.Geometry.Modules.Count * JungfrauModule.Pixels];
        private readonly bool _inPlace = channel._options.Geometry.IsModuleMajor; // the graph's frame is the module-major frame: no placing copy
        private float[]? _corrected;
        private long _missedSinceTimeout;

        public bool IsComplete { get; private set; }
        public bool TimedOut { get; private set; }
        public bool AllPortsEnded => _ended.All(e => e);

        /// <summary>Frames reported lost after the idle timeout stopped the ports.</summary>
        public long TailMissed => _missedSinceTimeout;

        /// <summary>Waits until every port has handed on <paramref name="frameNumber"/> or a later frame (or ended); false when none had it.</summary>
        public async ValueTask<bool> GatherAsync(ulong frameNumber, CancellationToken token)
        {
            var any = false;
            IsComplete = true;
            for (var p = 0; p < _heads.Length; p++)
            {
                while (!_ended[p] && (_heads[p] is not { } head || head.FrameNumber < frameNumber))
                {
                    _heads[p]?.Dispose(); // only a frame older than the acquisition's first could be here
                    _heads[p] = await NextAsync(p, token).ConfigureAwait(false);
                    _ended[p] = _heads[p] is null;
                }
                _taken[p] = _heads[p]?.FrameNumber == frameNumber;
                any |= _taken[p];
                IsComplete &= _taken[p] && _heads[p]!.IsComplete;
            }
            if (!any && TimedOut)
                _missedSinceTimeout++;
            return any;
        }

        private async ValueTask<AssembledFrame?> NextAsync(int port, CancellationToken token)
        {
            var reader = channel._queues[port].Reader;
            var idle = channel._options.IdleTimeout;
            while (true)
            {
                if (reader.TryRead(out var frame))
                    return frame;
                if (reader.Completion.IsCompleted)
                {
                    var loop = channel._listeners[port].Completion;
                    if (loop.Exception?.InnerException is { } failure) // a receive loop's failure ends the run
                        throw new ChannelException($"the receive loop of UDP port {channel._listeners[port].Port} failed: {failure.Message}", failure);
                    return null;
                }
                if (idle > TimeSpan.Zero && !TimedOut
                    && Stopwatch.GetElapsedTime(channel._listeners.Max(l => l.LastDatagramTicks)) > idle)
                {
                    TimedOut = true; // the ports hand on what they hold and end
                    foreach (var listener in channel._listeners)
                        listener.RequestStop();
                }
                var wait = reader.WaitToReadAsync(token).AsTask();
                await Task.WhenAny(wait, Task.Delay(IdlePoll, token)).ConfigureAwait(false);
                token.ThrowIfCancellationRequested();
            }
        }

        /// <summary>
        /// Places and corrects the gathered ports' modules, frame <paramref name="index"/> of the run, into
        /// <paramref name="destination"/> (a frame of the channel's output), and its raw words, placed alike, into
        /// <paramref name="rawDestination"/> when they are saved (else empty); a complete frame moves a tracked pedestal.
        /// </summary>
        public void Build(Span<byte> destination, Span<byte> rawDestination, long index, JungfrauChannelProfile profile)
        {
            var start = Stopwatch.GetTimestamp();
            var options = channel._options;
            var raw = _inPlace && options.Output == JungfrauOutput.Raw ? MemoryMarshal.Cast<byte, ushort>(destination) : _raw;
            var partPixels = JungfrauModule.Pixels / options.Interfaces;
            for (var p = 0; p < _heads.Length; p++)
            {
                var positions = channel._modulePositions[p];
                for (var m = 0; m < positions.Length; m++)
                {
                    var part = raw.Slice(positions[m] * JungfrauModule.Pixels + options.Ports[p].Interface * partPixels, partPixels);
                    if (_taken[p])
                        _heads[p]!.Pixels.Slice(m * partPixels, partPixels).CopyTo(part);
                    else
                        part.Fill(ModuleFrameAssembler.PaddingValue); // the port had nothing of this frame: all its packets padded
                }
            }
            if (IsComplete)
                options.Pedestal?.Add(raw);
            var track = IsComplete && options.Tracking is { } tracking ? tracking.For(index) : default;
            var geometry = options.Geometry;
            if (geometry.Width * geometry.Height != raw.Length)
                destination.Clear(); // gap pixels and space between modules
            var copied = Stopwatch.GetTimestamp();
            profile.CopyTicks += copied - start;
            var corrected = copied; // raw: nothing to correct
            switch (options.Output)
            {
                case JungfrauOutput.Raw when !_inPlace:
                    geometry.Place<ushort>(_raw, MemoryMarshal.Cast<byte, ushort>(destination));
                    break;
                case JungfrauOutput.Energy:
                    var energy = _inPlace ? MemoryMarshal.Cast<byte, float>(destination) : (_corrected ??= new float[_raw.Length]);
                    options.Correction!.ToEnergy(_raw, energy, track);
                    corrected = Stopwatch.GetTimestamp();
                    if (!_inPlace)
                        geometry.Place<float>(energy, MemoryMarshal.Cast<byte, float>(destination));
                    break;
                case JungfrauOutput.Photons:
                    var photons = _inPlace ? MemoryMarshal.Cast<byte, int>(destination) : MemoryMarshal.Cast<float, int>((_corrected ??= new float[_raw.Length]).AsSpan());
                    options.Correction!.ToPhotons(_raw, photons, options.PhotonEnergyKeV, options.ThresholdKeV, track);
                    corrected = Stopwatch.GetTimestamp();
                    if (!_inPlace)
                        geometry.Place<int>(photons, MemoryMarshal.Cast<byte, int>(destination));
                    break;
            }
            if (!rawDestination.IsEmpty)
            {
                if (geometry.Width * geometry.Height != raw.Length)
                    rawDestination.Clear(); // the gaps are 0, as in a raw run
                geometry.Place<ushort>(raw, MemoryMarshal.Cast<byte, ushort>(rawDestination));
            }
            var end = Stopwatch.GetTimestamp();
            profile.CorrectTicks += corrected - copied;
            profile.PlaceTicks += end - corrected; // the raw words saved beside included
            profile.Frames++;
        }

        /// <summary>Gives back the buffers of the ports that had the frame just gathered.</summary>
        public void Release()
        {
            for (var p = 0; p < _heads.Length; p++)
                if (_taken[p])
                {
                    _heads[p]!.Dispose();
                    _heads[p] = null;
                    _taken[p] = false;
                }
        }

        public void DisposeHeads()
        {
            for (var p = 0; p < _heads.Length; p++)
            {
                _heads[p]?.Dispose();
                _heads[p] = null;
            }
        }
    }
}

/// <summary>
/// Where a corrected run's raw words go beside its corrected frames (the JUNGFRAU plugin's raw saving): a bounded queue
/// written to disk off the channel's thread.
/// </summary>
public interface IJungfrauRawSaving : IAsyncDisposable
{
    /// <summary>
    /// Takes frame i's raw words, placed as the run's frames are (gray16): rent a buffer (waiting for room, or dropped
    /// and counted under the drop policy), fill it, submit it. Its <see cref="IFrameTarget.Aborted"/> fires when a
    /// write failed: <see cref="CompleteAsync"/> then throws why.
    /// </summary>
    IFrameTarget Queue { get; }

    /// <summary>Frames written so far.</summary>
    long Saved { get; }

    /// <summary>Frames whose words found the queue full under the drop policy (not saved).</summary>
    long Dropped { get; }

    /// <summary>Most bytes the queue and its writer hold, beside the graph's frames.</summary>
    long BufferedBytes { get; }

    /// <summary>
    /// The run has ended, all its frames taken or <paramref name="stopped"/>: waits for the queued words to be written,
    /// closes the files and writes the master file.
    /// </summary>
    /// <exception cref="ChannelException">a write failed (full disk, ...): the one-sentence reason</exception>
    Task CompleteAsync(bool stopped);

    /// <summary>The raw words' files created so far (the first at Prepare), master file aside.</summary>
    IReadOnlyList<string> Files { get; }

    /// <summary>The raw words' master file once written, or null.</summary>
    string? MasterFile { get; }

    /// <summary>
    /// Receiver 0, once the run has ended: writes the raw words' master file over the frames every receiver saved
    /// (a stopped or endless run of several receivers, whose counts only the control knows); returns its path.
    /// </summary>
    /// <param name="savedPerReceiver">each receiver's raw frames saved, in rank order</param>
    /// <exception cref="ArgumentException">a count the run cannot have</exception>
    string WriteMasterFile(IReadOnlyList<long> savedPerReceiver);
}
