using System.Collections.Concurrent;
using Lima2.Core.Frames;
using Lima2.Core.Pipeline;
using Lima2.Zmq;

namespace Lima2.Detectors.Dectris;

public enum DectrisStreamVersion
{
    V1,
    V2,
}

/// <summary>Where and how a receiver reads a DECTRIS stream.</summary>
/// <param name="Endpoint">the detector's PUSH endpoint, e.g. <c>tcp://dcu:9999</c> (the receiver connects)</param>
/// <param name="Rank">this receiver's place among <paramref name="Receivers"/>: frames are dealt round robin</param>
/// <param name="Frame">frame geometry when the header does not say it (V1 header_detail none)</param>
/// <param name="KeepEncoded">keep bitshuffle/LZ4 payloads beside the pixels so saving writes them as they came</param>
/// <param name="ReceiveHighWaterMark">messages ZeroMQ queues ahead of the channel (memory outside the frame pool)</param>
public sealed record DectrisChannelOptions(
    string Endpoint,
    DectrisStreamVersion Version,
    int Rank = 0,
    int Receivers = 1,
    FrameInfo? Frame = null,
    bool KeepEncoded = true,
    int ReceiveHighWaterMark = 64);

/// <summary>
/// A receiver's DECTRIS stream V1 or V2 channel (ZeroMQ PULL). Each image is decoded once, into a buffer of the
/// target's pool; a bitshuffle/LZ4 payload is also kept as it came (one more copy of the compressed bytes).
/// </summary>
/// <remarks>
/// Every frame of this receiver's share is accounted for: delivered, or reported lost with its reason (corrupt
/// payload, wrong geometry, never arrived). Messages that are not frames of the share — garbage, duplicates,
/// frames arriving after their turn, frames of another receiver — are rejected and counted with their reason in
/// <see cref="Rejections"/>; none of them stops the channel.
/// </remarks>
public sealed class DectrisChannel : IDetectorChannel
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    private readonly DectrisChannelOptions _options;
    private readonly ZmqContext _context = new();
    private readonly ZmqSocket _socket;
    private readonly ZmqMultipartMessage _message = new();
    private readonly ConcurrentDictionary<string, long> _rejections = new();

    private DectrisHeader? _header;
    private FrameInfo _frame;
    private long? _expected;
    private bool _pendingMessage;
    private long _delivered;
    private long _lost;
    private long _next;
    private string? _lastProblem;

    public DectrisChannel(DectrisChannelOptions options)
    {
        if (options.Receivers < 1 || options.Rank < 0 || options.Rank >= options.Receivers)
            throw new ArgumentOutOfRangeException(nameof(options), $"rank {options.Rank} of {options.Receivers} receivers");
        _options = options;
        _socket = _context.CreateSocket(ZmqSocketType.Pull);
        _socket.SetOption(ZmqOption.ReceiveHighWaterMark, options.ReceiveHighWaterMark);
        _socket.SetOption(ZmqOption.ReceiveTimeout, (int)Tick.TotalMilliseconds);
        _socket.SetOption(ZmqOption.Linger, 0);
        _socket.Connect(options.Endpoint);
        _next = options.Rank;
    }

    public string Name => $"dectris-{_options.Version.ToString().ToLowerInvariant()} {_options.Endpoint}";

    /// <summary>The series header, once <see cref="StartAsync"/> has seen it.</summary>
    public DectrisHeader? Header => _header;

    public long Delivered => Interlocked.Read(ref _delivered);

    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Messages rejected, by reason ("malformed", "duplicate frame", ...).</summary>
    public IReadOnlyDictionary<string, long> Rejections => _rejections;

    /// <summary>The text of the last problem seen (rejection or loss), for logs and status.</summary>
    public string? LastProblem => Volatile.Read(ref _lastProblem);

    public ValueTask<ChannelStart> StartAsync(CancellationToken cancellationToken) =>
        new(Task.Factory.StartNew(() => WaitForHeader(cancellationToken), cancellationToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default));

    public Task<ChannelSummary> RunAsync(IFrameTarget target, CancellationToken cancellationToken)
    {
        if (_header is null)
            throw new InvalidOperationException("StartAsync first: the series header has not been seen");
        if (target.InputInfo != _frame)
            throw new ArgumentException($"the target expects {target.InputInfo} frames, the stream has {_frame}");
        return Task.Factory.StartNew(() => Run(target, cancellationToken), cancellationToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private ChannelStart WaitForHeader(CancellationToken cancellationToken)
    {
        while (_header is null)
        {
            if (!Receive(cancellationToken))
                throw new OperationCanceledException("stopped while waiting for the series header", cancellationToken);
            var decoded = Decode(out var problem);
            if (problem is not null)
                Reject("malformed", problem);
            else if (decoded.Kind == DectrisMessageKind.Header)
                _header = decoded.Header;
            else
                Reject("before the series header", $"a {decoded.Kind} message came before the series header");
        }
        var frame = _header.Frame ?? _options.Frame;
        if (frame is null)
        {
            // Header detail none: the first image says the geometry; it stays in the buffer for RunAsync.
            while (frame is null)
            {
                if (!Receive(cancellationToken))
                    throw new OperationCanceledException("stopped while waiting for the first image", cancellationToken);
                var decoded = Decode(out var problem);
                if (problem is null && decoded.Kind == DectrisMessageKind.Image)
                    frame = decoded.Image.Info;
                else
                    Reject("malformed", problem ?? $"a {decoded.Kind} message came before the first image");
            }
            _pendingMessage = true;
        }
        _frame = frame.Value;
        if (_header.Images is { } images)
            _expected = Math.Max(0, (images - _options.Rank + _options.Receivers - 1) / _options.Receivers);
        return new ChannelStart(_frame, _expected);
    }

    private ChannelSummary Run(IFrameTarget target, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, target.Aborted);
        var token = stop.Token;
        var end = "stopped";
        try
        {
            end = Receive(target, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stop or abort while waiting for a buffer or a place in the graph's queue.
        }
        if (end != "stopped" && _expected is { } total)
        {
            // The frames of the share that never came are lost.
            for (; _next < _options.Rank + total * _options.Receivers; _next += _options.Receivers)
                Lose(target, _next, $"frame {_next} never arrived");
        }
        return new ChannelSummary(Delivered, Lost, end);
    }

    /// <summary>Receives and delivers until the end of the series; returns why it ended.</summary>
    private string Receive(IFrameTarget target, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            if (_expected is { } expected && Delivered + Lost >= expected)
                return "all frames received";
            if (!_pendingMessage && !Receive(token))
                break;
            _pendingMessage = false;
            var decoded = Decode(out var problem);
            if (problem is not null)
            {
                if (decoded.Kind == DectrisMessageKind.Image && decoded.Image.Frame >= 0)
                    OnBrokenFrame(target, decoded.Image.Frame, problem);
                else
                    Reject("malformed", problem);
                continue;
            }
            if (decoded.Kind == DectrisMessageKind.End)
                return "end of series";
            if (decoded.Kind == DectrisMessageKind.Header)
            {
                Reject("header during the series", $"a second series header (series {decoded.Series}) came during series {_header!.Series}");
                continue;
            }
            Deliver(target, decoded.Image, token);
        }
        return "stopped";
    }

    private void Deliver(IFrameTarget target, DectrisImage image, CancellationToken token)
    {
        var index = image.Frame;
        if (!Admit(target, index))
            return;
        if (image.Series != _header!.Series)
        {
            Lose(target, index, $"frame {index} belongs to series {image.Series}, not {_header.Series}");
            return;
        }
        if (image.Info != _frame)
        {
            Lose(target, index, $"frame {index} is {image.Info}, the series has {_frame} frames");
            return;
        }
        var rented = target.RentAsync(index, token).AsTask().GetAwaiter().GetResult();
        if (rented is not { } pixels)
        {
            Interlocked.Increment(ref _lost); // counted by the target as an overload drop
            return;
        }
        try
        {
            image.DecodeInto(pixels.Array);
        }
        catch (DectrisFormatException e)
        {
            pixels.Dispose();
            Lose(target, index, e.Message);
            return;
        }
        var frame = new Frame(pixels, _frame, index, (index - _options.Rank) / _options.Receivers);
        if (_options.KeepEncoded && image.Encoding == DectrisEncoding.BitshuffleLz4)
            KeepEncoded(target, frame, image.Payload, token);
        target.SubmitAsync(frame, token).AsTask().GetAwaiter().GetResult();
        Interlocked.Increment(ref _delivered);
    }

    /// <summary>
    /// Checks frame <paramref name="index"/> against this receiver's share and order; frames of the share
    /// skipped on the way are lost. False when the message is not to be delivered.
    /// </summary>
    private bool Admit(IFrameTarget target, long index)
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
        for (; _next < index; _next += receivers)
            Lose(target, _next, $"frame {_next} never arrived (frame {index} came instead)");
        _next = index + receivers;
        return true;
    }

    private void OnBrokenFrame(IFrameTarget target, long index, string problem)
    {
        if (Admit(target, index))
            Lose(target, index, problem);
    }

    private void KeepEncoded(IFrameTarget target, Frame frame, ReadOnlySpan<byte> payload, CancellationToken token)
    {
        var pool = target.Pool;
        if (payload.Length > pool.BufferBytes)
            return; // incompressible frame: saving compresses the pixels again
        PooledBuffer buffer;
        if (target.Policy == OverloadPolicy.BackPressure && pool.Capacity >= 2)
            buffer = pool.RentAsync(token).AsTask().GetAwaiter().GetResult();
        else if (!pool.TryRent(out buffer))
            return;
        payload.CopyTo(buffer.Array);
        frame.AttachEncoded(FrameEncoding.BitshuffleLz4, buffer, payload.Length);
    }

    private void Lose(IFrameTarget target, long index, string reason)
    {
        Interlocked.Increment(ref _lost);
        Volatile.Write(ref _lastProblem, reason);
        target.ReportLost(index, reason);
    }

    private void Reject(string kind, string reason)
    {
        _rejections.AddOrUpdate(kind, 1, (_, n) => n + 1);
        Volatile.Write(ref _lastProblem, reason);
    }

    /// <summary>Waits for the next message; false when cancelled.</summary>
    private bool Receive(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_socket.Receive(_message))
                return true;
        }
        return false;
    }

    /// <summary>Decodes the message in the buffer; a broken message gives its problem (and its frame number if known).</summary>
    private DectrisMessage Decode(out string? problem)
    {
        problem = null;
        try
        {
            return _options.Version == DectrisStreamVersion.V1
                ? StreamV1.Decode(new ZmqParts(_message))
                : StreamV2.Decode(_message[0].Memory);
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

    public ValueTask DisposeAsync()
    {
        _message.Dispose();
        _socket.Dispose();
        _context.Dispose();
        return ValueTask.CompletedTask;
    }
}
