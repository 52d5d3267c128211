using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Zmq;

namespace Lima2.Detectors.Dectris;

/// <summary>The wire formats a <see cref="DectrisChannel"/> reads.</summary>
public enum DectrisStreamVersion
{
    V1,
    V2,

    /// <summary>MAX IV's unified stream (<see cref="MaxIv.MaxIvStream"/>): the same channel, another message decoder.</summary>
    MaxIv,
}

/// <summary>Where and how a receiver reads a DECTRIS stream.</summary>
/// <param name="Endpoint">the detector's PUSH endpoint, e.g. <c>tcp://dcu:9999</c> (the receiver connects)</param>
/// <param name="Rank">this receiver's place among <paramref name="Receivers"/>: frames are dealt round robin</param>
/// <param name="Frame">frame geometry when the header does not say it (V1 header_detail none)</param>
/// <param name="KeepEncoded">keep bitshuffle/LZ4 payloads beside the pixels so saving writes them as they came: each
/// stays in the message part it arrived in, held until its frame is released</param>
/// <param name="ReceiveHighWaterMark">whole messages ZeroMQ queues ahead of the channel (ZMQ_RCVHWM)</param>
/// <param name="DecodeWorkers">frames decoded at once beside the receive thread (proc_params fifo.nb_threads)</param>
/// <param name="ReceiveBufferBytes">the kernel's TCP receive buffer (ZMQ_RCVBUF; Linux books twice as much)</param>
/// <param name="Threshold">which threshold channel of a multi-threshold detector (Eiger2 dual threshold) this
/// receiver takes, e.g. <c>threshold_2</c> or <c>difference</c>: one of the header's <c>channels</c>; null takes the
/// first. When the header lists none (V1), the blobs are <c>threshold_1</c>, <c>threshold_2</c>, ... in their order.</param>
/// <param name="RunFrames">frames of the run over all receivers (acq nb_frames; 0 = endless): frame numbers beyond
/// it, or beyond the header's count, are rejected</param>
/// <param name="TimeoutMs">no message for this long while frames are still expected fails the run, the frames that
/// never came counted lost (receiver channel.timeout_ms; 0 = wait for ever)</param>
/// <param name="MaxMessageBytes">the largest message part taken (ZMQ_MAXMSGSIZE), so that a detector cannot make the
/// receiver hold more than its memory cap: libzmq drops a bigger part unread and closes the connection for good (a
/// protocol error); the frames after it never arrive, and <paramref name="TimeoutMs"/> ends the run; 0 = no limit</param>
/// <param name="Policy">when every kept payload the channel may hold is held: wait for one to be released
/// (back-pressure), or hand the frame over without it (drop: saving encodes the pixels again), as the frame pool does</param>
/// <param name="HoldRawFrames">a raw frame's pixels are the message part they came in (no copy into a pool buffer),
/// held by the frame until its last owner releases it, whenever a hold is free and the part is usable (its own
/// allocation, pixels aligned for their type); off when a consumer needs the frames in the pool's memory (an OpenCL
/// device's driver-pinned buffers): every frame is then copied into a pool buffer</param>
public sealed record DectrisChannelOptions(
    string Endpoint,
    DectrisStreamVersion Version,
    int Rank = 0,
    int Receivers = 1,
    FrameInfo? Frame = null,
    bool KeepEncoded = true,
    int ReceiveHighWaterMark = 2,
    int DecodeWorkers = 2,
    int ReceiveBufferBytes = 4 << 20,
    string? Threshold = null,
    long RunFrames = 0,
    int TimeoutMs = 0,
    long MaxMessageBytes = 0,
    OverloadPolicy Policy = OverloadPolicy.BackPressure,
    bool HoldRawFrames = true)
{
    /// <summary>Messages held in this process outside the frame pool: ZeroMQ's queue, the one it is reading, and ours.</summary>
    internal int MessagesHeld => ReceiveHighWaterMark + 1 + MessageSlots;

    /// <summary>Received messages the channel holds while they wait for or go through decoding.</summary>
    internal int MessageSlots => 2 * DecodeWorkers + 1;

    /// <summary>Message parts the channel may hold past their message: kept payloads, raw frames' pixels.</summary>
    internal bool HoldsParts => KeepEncoded || HoldRawFrames;

    /// <summary>Parts held before a receiver gives more of its cap: as many as the decode stage holds frames.</summary>
    internal int KeptPayloads => HoldsParts ? MessageSlots + 1 : 0;
}

/// <summary>
/// A receiver's DECTRIS stream V1 or V2 channel (ZeroMQ PULL), which also reads MAX IV's unified stream. The receive thread only reads each message's
/// description, checks it against the share and order, and rents the frame's buffer; the pixels are decoded by
/// <see cref="DectrisChannelOptions.DecodeWorkers"/> workers straight from ZeroMQ's message into the pooled buffer
/// (the one copy), a bitshuffle/LZ4 payload also kept as it came, where it came (the message part, held by the
/// frame until its last owner releases it), and the frames are handed over in order. A raw frame needs no decoding:
/// its pixels are the message part itself, held the same way, unless <see cref="DectrisChannelOptions.HoldRawFrames"/>
/// is off or the part is not usable (then it is copied into a pooled buffer, as any other frame).
/// </summary>
/// <remarks>
/// Every frame of this receiver's share is accounted for: delivered, or reported lost with its reason (corrupt
/// payload, wrong geometry, never arrived, stopped before delivery). Messages that are not frames of the share —
/// garbage, duplicates, frames arriving after their turn, frames of another receiver — are rejected and counted
/// with their reason in <see cref="Rejections"/>; none of them stops the channel. The images of the thresholds a
/// multi-threshold receiver does not take are counted there too, under a reason that names the one it takes.
/// Memory outside the frame pool is bounded: <see cref="BufferedBytesBound"/>, kept payloads included; a receiver
/// gives it more room for them from its cap (<see cref="HoldMoreChunks"/>).
/// </remarks>
public sealed class DectrisChannel : IDetectorChannel, IDecodeOwner, IEncodedChunkHolder
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    /// <summary>The receive thread's name, as profilers and /proc show it.</summary>
    public const string ReceiveThreadName = "lima2 receive";

    /// <summary>Room for a message's JSON or CBOR fields beside its payload, in the memory bound.</summary>
    private const int MessageOverheadBytes = 64 << 10;

    /// <summary>
    /// Frames of the share a frame number may skip. A detector numbers its frames in order on one TCP stream, so a
    /// bigger jump is a corrupt number, not frames gone missing: it is rejected rather than counting (and looping
    /// over) every frame it skips.
    /// </summary>
    internal const long MaxSkippedFrames = 1 << 16;

    private readonly DectrisChannelOptions _options;
    private readonly ZmqContext _context = ZmqContext.ForReceiving(); // its I/O thread, and the heap it reads into, kept for the next run
    private readonly ZmqSocket _socket;
    private readonly ConcurrentDictionary<string, long> _rejections = new();
    private readonly ZmqMultipartMessage[] _slots;
    private readonly Channel<ZmqMultipartMessage> _freeSlots = Channel.CreateUnbounded<ZmqMultipartMessage>();
    private readonly CancellationTokenSource _disposing = new();

    /// <summary>The receive thread (header wait or run): the only user of the socket and the slots until it ends.</summary>
    private Task _receiving = Task.CompletedTask;

    private DectrisHeader? _header;
    private FrameInfo _frame;
    private long? _expected;
    private int _channel;
    private string? _otherChannels;
    private ZmqMultipartMessage? _pendingMessage;
    private int _keptPayloads;
    private ZmqHeldParts? _kept;
    private long _delivered;
    private long _lost;
    private long _rawFramesHeld;
    private long _next;
    private string? _lastRejection;

    public DectrisChannel(DectrisChannelOptions options)
    {
        if (options.Receivers < 1 || options.Rank < 0 || options.Rank >= options.Receivers)
            throw new ArgumentOutOfRangeException(nameof(options), $"rank {options.Rank} of {options.Receivers} receivers");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.DecodeWorkers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.ReceiveHighWaterMark);
        _options = options;
        _keptPayloads = options.KeptPayloads;
        ZmqMessageMemory.KeepFreedMessages(); // each frame's message reuses freed pages instead of faulting fresh ones
        _slots = new ZmqMultipartMessage[options.MessageSlots];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new ZmqMultipartMessage();
            _freeSlots.Writer.TryWrite(_slots[i]);
        }
        _socket = _context.CreateSocket(ZmqSocketType.Pull);
        _socket.SetOption(ZmqOption.ReceiveHighWaterMark, options.ReceiveHighWaterMark);
        if (options.ReceiveBufferBytes > 0)
            _socket.SetOption(ZmqOption.ReceiveBuffer, options.ReceiveBufferBytes);
        _socket.SetOption(ZmqOption.ReceiveTimeout, (int)Tick.TotalMilliseconds);
        _socket.SetOption(ZmqOption.Linger, 0);
        if (options.MaxMessageBytes > 0)
            _socket.SetOption(ZmqOption.MaxMessageSize, options.MaxMessageBytes);
        _socket.Connect(options.Endpoint);
        _next = options.Rank;
    }

    public string Name => _options.Version == DectrisStreamVersion.MaxIv
        ? $"maxiv {_options.Endpoint}"
        : $"dectris-{_options.Version.ToString().ToLowerInvariant()} {_options.Endpoint}";

    /// <summary>The series header, once <see cref="StartAsync"/> has seen it.</summary>
    public DectrisHeader? Header => _header;

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Messages rejected, by reason ("malformed", "duplicate frame", ...).</summary>
    public IReadOnlyDictionary<string, long> Rejections => _rejections;

    /// <summary>The series header's image count, once <see cref="StartAsync"/> has seen it.</summary>
    public long? TotalFrames => _header?.Images;

    public string? LastRejection => Volatile.Read(ref _lastRejection);

    /// <summary>Message parts (kept payloads, raw frames' pixels) the channel may hold at once (0 when it holds none).</summary>
    public int KeptPayloadCapacity => _keptPayloads;

    /// <summary>Message parts held now by frames not yet released.</summary>
    public int KeptPayloadsHeld => _kept?.Held ?? 0;

    /// <summary>The most message parts held at once in the run.</summary>
    public int KeptPayloadsPeak => _kept?.PeakHeld ?? 0;

    /// <summary>Raw frames whose pixels were held in the message part they came in instead of copied into a pool buffer.</summary>
    public long RawFramesHeld => Interlocked.Read(ref _rawFramesHeld);

    /// <summary>
    /// Most bytes one held part keeps: a frame with its message's fields around it (a V2 raw image is a CBOR message
    /// with the pixels inside), each held part counted as that much in <see cref="BufferedBytesBound"/>.
    /// </summary>
    private static long HeldPartBytes(FrameInfo frame) => (long)frame.ByteSize + MessageOverheadBytes;

    /// <summary>
    /// Most bytes of received messages this channel makes the process hold outside the frame pool, once the frame
    /// geometry is known: ZeroMQ's queue (<see cref="DectrisChannelOptions.ReceiveHighWaterMark"/> messages), the
    /// message ZeroMQ is reading, the channel's message slots, each at most a raw frame plus its fields, and the
    /// kernel's socket buffer (twice <see cref="DectrisChannelOptions.ReceiveBufferBytes"/>). A receiver subtracts it
    /// from its memory cap before sizing the frame pool.
    /// </summary>
    public long BufferedBytesBound(FrameInfo frame) =>
        (long)_options.MessagesHeld * (frame.ByteSize + MessageOverheadBytes) + 2L * Math.Max(0, _options.ReceiveBufferBytes)
        + _keptPayloads * HeldPartBytes(frame);

    /// <summary>
    /// More held parts (kept payloads, raw frames' pixels) for the run, each counted as a whole frame and its fields
    /// (a bigger part is not held): <paramref name="budgetBytes"/> / that size of them. Before <see cref="RunAsync"/>.
    /// </summary>
    public long HoldMoreChunks(FrameInfo frame, long budgetBytes)
    {
        if (!_options.HoldsParts || budgetBytes <= 0)
            return 0;
        var more = (int)Math.Min(int.MaxValue - _keptPayloads, budgetBytes / HeldPartBytes(frame));
        _keptPayloads += more;
        return more * HeldPartBytes(frame);
    }

    public ValueTask<ChannelStart> StartAsync(CancellationToken cancellationToken)
    {
        var start = Task.Factory.StartNew(() =>
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
            return WaitForHeader(stop.Token);
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _receiving = start;
        return new(start);
    }

    public Task<ChannelSummary> RunAsync(IFrameTarget target, CancellationToken cancellationToken)
    {
        if (_header is null)
            throw new InvalidOperationException("StartAsync first: the series header has not been seen");
        if (target.InputInfo != _frame)
            throw new ArgumentException($"the target expects {target.InputInfo} frames, the stream has {_frame}");
        if (_keptPayloads > 0)
            _kept = new ZmqHeldParts(_keptPayloads, (int)Math.Min(int.MaxValue, HeldPartBytes(_frame)));
        var run = Task.Factory.StartNew(() => Run(target, cancellationToken), cancellationToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _receiving = run;
        return run;
    }

    private ChannelStart WaitForHeader(CancellationToken cancellationToken)
    {
        var message = TakeSlot(cancellationToken);
        while (_header is null)
        {
            if (!Receive(message, cancellationToken))
                throw new OperationCanceledException("stopped while waiting for the series header", cancellationToken);
            var decoded = Decode(message, out var problem);
            if (problem is not null)
                Reject("malformed", problem);
            else if (decoded.Kind == DectrisMessageKind.Header)
                _header = decoded.Header;
            else
                Reject("before the series header", $"a {decoded.Kind} message came before the series header");
        }
        // a threshold the detector does not send fails here, before any image is waited for
        var (channel, taken) = ResolveThreshold(_header.Channels, _options.Threshold);
        if (_header.Channels is { Count: > 1 } names)
            _otherChannels = OtherChannelsReason(names.Where((_, i) => i != channel), taken);
        var frame = _header.Frame ?? _options.Frame;
        if (frame is null)
        {
            // Header detail none: the first image says the geometry; it stays in its slot for RunAsync.
            while (frame is null)
            {
                if (!Receive(message, cancellationToken))
                    throw new OperationCanceledException("stopped while waiting for the first image", cancellationToken);
                var decoded = Decode(message, out var problem);
                if (problem is null && decoded.Kind == DectrisMessageKind.Image)
                    frame = decoded.Image.Info;
                else
                    Reject("malformed", problem ?? $"a {decoded.Kind} message came before the first image");
            }
            _pendingMessage = message;
        }
        else
            FreeSlot(message);
        _frame = frame.Value;
        _channel = channel; // the geometry came from any channel; the images are read at this one from now on
        // the run's count bounds a header's: frames beyond either are rejected, not waited for nor counted lost
        var runFrames = _options.RunFrames > 0 ? _options.RunFrames : (long?)null;
        if ((_header.Images, runFrames) switch { ({ } h, { } r) => Math.Min(h, r), (var h, var r) => h ?? r } is { } images)
            _expected = Math.Max(0, (images - _options.Rank + _options.Receivers - 1) / _options.Receivers);
        return new ChannelStart(_frame, _expected) { Metadata = _header.Metadata };
    }

    /// <summary>The place of the threshold to take among the image's channels, and its name.</summary>
    /// <exception cref="ChannelException">the threshold is not one of the channels.</exception>
    private static (int Index, string Name) ResolveThreshold(IReadOnlyList<string>? channels, string? threshold)
    {
        if (channels is { Count: > 0 })
        {
            var index = threshold is null ? 0 : channels.ToList().IndexOf(threshold);
            return index >= 0 ? (index, channels[index])
                : throw new ChannelException($"receiver.channel.threshold '{threshold}' is not one of the detector's channels: {string.Join(", ", channels)}");
        }
        if (threshold is null)
            return (0, "threshold_1");
        // No list (V1): channel n is threshold_n; whether an image has that many is checked frame by frame.
        return threshold.StartsWith("threshold_", StringComparison.Ordinal) && int.TryParse(threshold.AsSpan(10), out var n) && n >= 1
            && $"threshold_{n}" == threshold
            ? (n - 1, threshold)
            : throw new ChannelException(
                $"receiver.channel.threshold '{threshold}': the series header lists no channels, name one by its place in the image: threshold_1, threshold_2, ...");
    }

    private static string OtherChannelsReason(IEnumerable<string> others, string taken) =>
        $"images of {string.Join(", ", others)} not taken (receiver.channel.threshold: {taken})";

    private ChannelSummary Run(IFrameTarget target, CancellationToken cancellationToken)
    {
        Thread.CurrentThread.Name = ReceiveThreadName; // a thread of its own (LongRunning)
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, target.Aborted, _disposing.Token);
        var token = stop.Token;
        var delivery = new DecodeStage(this, target, _frame, _options, stop);
        var end = Stopped(target);
        var missing = 0L;
        try
        {
            end = Receive(target, delivery, token);
            if (end.End is not (ChannelEnd.Stopped or ChannelEnd.Aborted) && _expected is { } total)
            {
                // The frames of the share that never came are lost.
                var why = end == TimedOut ? $" (no message for {_options.TimeoutMs} ms)" : "";
                for (; _next < _options.Rank + total * _options.Receivers; _next += _options.Receivers, missing++)
                    delivery.Lose(_next, $"frame {_next} never arrived{why}");
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stop or abort while waiting for a buffer, a message slot or room in the decoding queue.
        }
        finally
        {
            // Frames already admitted are handed over or reported lost whatever ended the run.
            delivery.Complete();
        }
        if (end == TimedOut)
            throw new ChannelException($"the stream stopped: no message for {_options.TimeoutMs} ms (receiver channel.timeout_ms)" +
                (_expected is null ? "" : $", {missing} frames that never came counted lost"));
        return new ChannelSummary(Delivered, Lost, end.End, end.Detail);
    }

    private readonly record struct Ending(ChannelEnd End, string Detail);

    private static readonly Ending TimedOut = new(ChannelEnd.Failed, "timed out");

    private static Ending Stopped(IFrameTarget target) => target.Aborted.IsCancellationRequested
        ? new(ChannelEnd.Aborted, "aborted by the graph")
        : new(ChannelEnd.Stopped, "stopped");

    /// <summary>Receives and dispatches until the end of the series; returns why it ended.</summary>
    private Ending Receive(IFrameTarget target, DecodeStage delivery, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            if (_expected is { } expected && (_next - _options.Rank) / _options.Receivers >= expected)
                return new(ChannelEnd.Completed, "all frames received");
            var message = _pendingMessage ?? TakeSlot(token);
            var received = _pendingMessage is not null || Receive(message, token, _options.TimeoutMs);
            _pendingMessage = null;
            if (!received)
            {
                FreeSlot(message);
                if (token.IsCancellationRequested)
                    break;
                return TimedOut;
            }
            var decoded = Decode(message, out var problem);
            if (problem is not null)
            {
                FreeSlot(message);
                // A broken image is the lost frame of its turn; the number of any other broken message is not
                // trusted: it neither skips frames nor makes the good ones that follow late.
                if (decoded.Kind == DectrisMessageKind.Image && decoded.Image.Frame == _next)
                {
                    if (Admit(delivery, _next))
                        delivery.Lose(decoded.Image.Frame, problem);
                }
                else
                    Reject("malformed", problem);
                continue;
            }
            if (decoded.Kind != DectrisMessageKind.Image)
            {
                FreeSlot(message);
                if (decoded.Kind == DectrisMessageKind.End)
                    return new(ChannelEnd.Completed, "end of series");
                Reject("header during the series", $"a second series header (series {decoded.Series}) came during series {_header!.Series}");
                continue;
            }
            Dispatch(target, delivery, message, decoded.Image, token);
        }
        return Stopped(target);
    }

    /// <summary>Checks an image against the share, rents its buffers and queues it for decoding; the slot goes with it.</summary>
    private void Dispatch(IFrameTarget target, DecodeStage delivery, ZmqMultipartMessage message, DectrisImage image, CancellationToken token)
    {
        var index = image.Frame;
        if (!Admit(delivery, index))
        {
            FreeSlot(message);
            return;
        }
        var problem = image.Series != _header!.Series ? $"frame {index} belongs to series {image.Series}, not {_header.Series}"
            : image.Info != _frame ? $"frame {index} is {image.Info}, the series has {_frame} frames"
            : null;
        if (problem is not null)
        {
            FreeSlot(message);
            delivery.Lose(index, problem);
            return;
        }
        if (image.OtherChannels is > 0 and var others)
        {
            // not lost but left by choice: counted, under a reason that names the threshold taken
            _otherChannels ??= OtherChannelsReason(
                Enumerable.Range(1, others + 1).Where(n => n != _channel + 1).Select(n => $"threshold_{n}"), $"threshold_{_channel + 1}");
            _rejections.AddOrUpdate(_otherChannels, static (_, o) => o, static (_, n, o) => n + o, (long)others);
        }
        var job = new DecodeJob(message, Locate(message, image.Payload), image.Encoding, index);
        if (image.Encoding == DectrisEncoding.Raw && HoldPixels(job, message))
        {
            delivery.Post(job);
            return;
        }
        try
        {
            if (Wait(target.RentAsync(index, token)) is not { } pixels)
            {
                job.Discard(this);
                Interlocked.Increment(ref _lost); // counted by the target as an overload drop
                return;
            }
            job.Pixels = pixels;
            if (image.Encoding == DectrisEncoding.BitshuffleLz4)
                Keep(job, message, token);
        }
        catch
        {
            job.Discard(this);
            throw;
        }
        delivery.Post(job);
    }

    /// <summary>
    /// Takes a bitshuffle/LZ4 payload out of its message for saving as it came, when the run keeps payloads and it is
    /// no bigger than a frame (what each kept payload is counted as); the message goes back to receiving. A part
    /// bigger than a frame beside its payload (a V2 message with other thresholds) gives a copy of the payload.
    /// </summary>
    private void Keep(DecodeJob job, ZmqMultipartMessage message, CancellationToken token)
    {
        var (part, offset, length) = job.Payload;
        if (_kept is not { } kept || length > kept.PartBytes)
            return;
        job.Kept = _options.Policy == OverloadPolicy.BackPressure
            ? kept.Hold(message[part], offset, length, token)
            : kept.TryHold(message[part], offset, length);
        if (job.Kept is null)
            return;
        job.Message = null;
        FreeSlot(message);
    }

    /// <summary>
    /// Makes a raw frame's pixels the message part they came in, held by the frame until its last owner releases it,
    /// instead of a pooled buffer and a copy: when the run allows it, the part is held in place (not copied), its pixels
    /// are aligned for their type and a hold is free now. Otherwise the frame takes a pooled buffer like any other,
    /// which is where back-pressure waits and the drop policy drops and counts.
    /// </summary>
    private bool HoldPixels(DecodeJob job, ZmqMultipartMessage message)
    {
        var (part, offset, length) = job.Payload;
        if (!_options.HoldRawFrames || _kept is not { } kept || length != _frame.ByteSize || !kept.HoldsInPlace(message[part].Length)
            || !IsAligned(message[part].Span[offset..], _frame.PixelType.SizeOf()))
            return false;
        if (kept.TryHold(message[part], offset, length) is not { } held)
            return false;
        job.Pixels = PooledBuffer.Lent(held);
        job.PixelsInMessage = true;
        job.Message = null;
        FreeSlot(message);
        Interlocked.Increment(ref _rawFramesHeld);
        return true;
    }

    private static unsafe bool IsAligned(ReadOnlySpan<byte> bytes, int alignment)
    {
        fixed (byte* at = bytes)
            return (nuint)at % (nuint)alignment == 0;
    }

    /// <summary>
    /// Checks frame <paramref name="index"/> against this receiver's share and order; frames of the share
    /// skipped on the way are lost. False when the message is not to be delivered.
    /// </summary>
    private bool Admit(DecodeStage delivery, long index)
    {
        var receivers = _options.Receivers;
        if (index % receivers != _options.Rank)
        {
            Reject("other receiver's frame", $"frame {index} belongs to receiver {index % receivers}, this is receiver {_options.Rank} of {receivers}");
            return false;
        }
        if (_expected is { } expected && index >= _options.Rank + expected * receivers)
        {
            Reject("beyond the series", $"frame {index} is beyond the {expected} frames of this receiver");
            return false;
        }
        if (index < _next)
        {
            if (index == _next - receivers)
                Reject("duplicate frame", $"frame {index} came twice");
            else
                Reject("out of order", $"frame {index} came after frame {_next - receivers}; it was counted lost");
            return false;
        }
        if ((index - _next) / receivers > MaxSkippedFrames)
        {
            Reject("implausible frame number", $"frame {index} would skip {(index - _next) / receivers} frames after frame {_next - receivers}");
            return false;
        }
        for (; _next < index; _next += receivers)
            delivery.Lose(_next, $"frame {_next} never arrived (frame {index} came instead)");
        _next = index + receivers;
        return true;
    }

    /// <summary>The receive thread waits for a buffer; one already free costs no task object.</summary>
    private static T Wait<T>(ValueTask<T> rent) => rent.IsCompletedSuccessfully ? rent.Result : rent.AsTask().GetAwaiter().GetResult();

    /// <summary>Where the payload lies in the message, so that a decoder finds it again once the ref struct is gone.</summary>
    private static PayloadLocation Locate(ZmqMultipartMessage message, ReadOnlySpan<byte> payload)
    {
        for (var part = 0; part < message.Count; part++)
            if (message[part].Span.Overlaps(payload, out var offset))
                return new PayloadLocation(part, offset, payload.Length);
        throw new InvalidOperationException("the image payload is not inside its message");
    }

    private void Reject(string kind, string reason)
    {
        _rejections.AddOrUpdate(kind, 1, (_, n) => n + 1);
        Volatile.Write(ref _lastRejection, reason);
    }

    void IDecodeOwner.OnDelivered() => Interlocked.Increment(ref _delivered);

    // the reason goes to the frame target too, whose counters keep the last loss
    void IDecodeOwner.OnLost(string reason) => Interlocked.Increment(ref _lost);

    void IDecodeOwner.FreeSlot(ZmqMultipartMessage message) => FreeSlot(message);

    private ZmqMultipartMessage TakeSlot(CancellationToken cancellationToken) =>
        _freeSlots.Reader.TryRead(out var slot) ? slot : _freeSlots.Reader.ReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult();

    private void FreeSlot(ZmqMultipartMessage slot) => _freeSlots.Writer.TryWrite(slot);

    /// <summary>Waits for the next message; false when cancelled or, with a timeout, when none came within it.</summary>
    private bool Receive(ZmqMultipartMessage message, CancellationToken cancellationToken, int timeoutMs = 0)
    {
        var since = Stopwatch.GetTimestamp();
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_socket.Receive(message))
                return true;
            if (timeoutMs > 0 && Stopwatch.GetElapsedTime(since).TotalMilliseconds >= timeoutMs)
                return false;
        }
        return false;
    }

    /// <summary>Decodes a message's fields; a broken message gives its problem (and its frame number if known).</summary>
    private DectrisMessage Decode(ZmqMultipartMessage message, out string? problem)
    {
        problem = null;
        try
        {
            return _options.Version switch
            {
                DectrisStreamVersion.V1 => StreamV1.Decode(new ZmqParts(message), _channel),
                DectrisStreamVersion.V2 => StreamV2.Decode(message[0].Memory, _channel),
                _ => MaxIv.MaxIvStream.Decode(new ZmqParts(message), _channel),
            };
        }
        catch (DectrisFormatException e)
        {
            problem = e.Message;
            // An image whose frame number is known is a lost frame of the share; anything else is only rejected.
            return new DectrisMessage
            {
                Kind = e.Frame is null ? DectrisMessageKind.Header : DectrisMessageKind.Image,
                Image = new DectrisImage { Frame = e.Frame ?? -1 },
            };
        }
    }

    /// <summary>
    /// Stops the receive thread and waits for it (at most one receive timeout, plus the frames being decoded) before
    /// closing the socket and the message slots: libzmq aborts the process if they are closed under a call in flight.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested)
            return;
        await _disposing.CancelAsync().ConfigureAwait(false);
        await _receiving.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        foreach (var slot in _slots)
            slot.Dispose();
        _kept?.Dispose(); // payloads still kept by frames go when the frames do
        _socket.Dispose();
        _context.Dispose();
        _disposing.Dispose();
    }
}
