using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.MaxIv;
using Lima2.Zmq;

namespace Lima2.Acquisition.Publishing;

/// <summary>
/// What a consumer of the re-published stream needs at the end of the series to fill the frames it did not get from
/// the saved files: frame k of this receiver (global index <c>first_frame + k × frame_step</c>) is row
/// <c>k % frames_per_file</c> of <c>files[k / frames_per_file]</c>, dataset <see cref="Dataset"/>.
/// </summary>
/// <param name="FirstFrame">the global index of this receiver's first frame: its rank when frames are dealt round
/// robin, 0 when every receiver takes a part of every frame (partial-frame dispatch)</param>
/// <param name="FrameStep">global frames from one of this receiver's frames to its next: the receivers dealt to, or 1</param>
/// <param name="ReceiverFrames">frames of this receiver's share the graph processed, counted up to the last one (k below it)</param>
/// <param name="Files">the dense files in order; empty when the run saved no dense frames</param>
/// <param name="Error">why the run failed, or null</param>
public sealed record PublishedSeriesEnd(int Rank, int NbReceivers, long FirstFrame, long FrameStep, long ReceiverFrames,
    IReadOnlyList<string> Files, string? Dataset, int FramesPerFile, string? MasterFile, string? Error);

/// <summary>Frames handed to the socket and frames dropped, by reason.</summary>
public sealed record PublishCounts(long Published, IReadOnlyDictionary<string, long> Drops, bool EndSent)
{
    public long Dropped => Drops.Values.Sum();

    public override string ToString() =>
        $"published {Published} frames, dropped {Dropped}" +
        (Drops.Count == 0 ? "" : $" ({string.Join(", ", Drops.Select(d => $"{d.Key} {d.Value}"))})") +
        (EndSent ? "" : "; the end of the series was taken by no consumer");
}

/// <summary>
/// Re-publishes a receiver's processed frames on a ZMQ endpoint it binds (PUSH to workers, PUB to viewers), in MAX IV's
/// unified stream or DECTRIS stream V2, each frame with its global frame index so that a consumer knows its gaps, and
/// with its results (<see cref="PublishedResults"/>: ROI statistics, peaks) when <see cref="PublishResultsOf"/> names
/// the branches that make them.
/// </summary>
/// <remarks>
/// A graph branch that never holds acquisition up: frames are encoded in <see cref="Compute"/> into buffers of a
/// bounded pool (<see cref="PublishConfig.QueueFrames"/> waiting frames plus those being encoded) and queued in
/// <see cref="CommitAsync"/>; one sender thread hands them to the socket without blocking (it waits for the socket to
/// be writable, never the graph). A frame that finds no free buffer — consumers slower than the detector, or none
/// connected — is dropped and counted (<see cref="QueueFull"/>), as are the frames still queued when the end timeout
/// passes (<see cref="NotSentByTheEnd"/>): every processed frame is published or counted dropped. A frame with results
/// waits, holding its buffer, until every result branch has committed it (they commit every frame the graph takes, at
/// most the graph's frames in flight apart), so a slow branch shows as queue-full drops too. A PUB socket drops for a
/// viewer that lags inside libzmq, unseen here: viewers see those gaps by the frame indices.
/// Memory: the pool's buffers, plus up to <see cref="PublishConfig.QueueFrames"/> messages per consumer in libzmq.
/// </remarks>
public sealed class FramePublisher : FrameConsumer<FramePublisher.Encoded>, IAsyncDisposable
{
    public const string QueueFull = "send queue full";
    public const string NotSentByTheEnd = "not sent by the end";

    private static readonly NLog.Logger Log = NLog.LogManager.GetCurrentClassLogger();
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
    private const int EncodeWorkers = 2;
    private const long Series = 1;

    /// <summary>A frame's payload, or no buffer when it found the queue full.</summary>
    public readonly record struct Encoded(PooledBuffer Buffer, int Length, DectrisEncoding Encoding);

    private sealed record Item(long Index, Encoded Frame, PublishedSeriesEnd? End = null, PublishedResults.Results? Results = null);

    /// <summary>A frame whose frame or results are still to come (by global index).</summary>
    private sealed class Pending
    {
        public Encoded Frame;
        public bool FrameCame;
        public int Reported;
        public readonly PublishedResults.Results Results = new();
    }

    private readonly PublishConfig _config;
    private readonly FrameInfo _frame;
    private readonly long? _expectedFrames;
    private readonly FramePool _buffers;
    private readonly ZmqContext _context = new();
    private readonly ZmqSocket _socket;
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly ConcurrentDictionary<string, long> _drops = new();
    private readonly MaxIvStreamWriter _maxIv = new();
    private readonly StreamV2Writer _v2 = new();
    private readonly ArrayBufferWriter<byte> _json = new();
    private readonly Dictionary<long, Pending> _pending = [];
    private readonly Lock _join = new();
    private PublishedResults? _results;
    private readonly Task _sender;
    private long _deadline = long.MaxValue; // Stopwatch ticks after which nothing more waits for a consumer
    private long _published;
    private long _receiverFrames;
    private volatile bool _endSent;
    private int _disposed;

    /// <param name="frame">the processed frames' geometry</param>
    /// <param name="expectedFrames">frames of this receiver's share, when known (DECTRIS V2 start's number_of_images)</param>
    /// <exception cref="ZmqException">the endpoint cannot be bound.</exception>
    public FramePublisher(PublishConfig config, FrameInfo frame, long? expectedFrames) : base("publish")
    {
        _config = config;
        _frame = frame;
        _expectedFrames = expectedFrames;
        _buffers = new FramePool(EncodedBytes(frame), BufferBytes(config, frame));
        _socket = _context.CreateSocket(config.Socket == PublishSocket.Push ? ZmqSocketType.Push : ZmqSocketType.Pub);
        try
        {
            _socket.SetOption(ZmqOption.SendHighWaterMark, config.QueueFrames);
            _socket.SetOption(ZmqOption.Linger, config.EndTimeoutMs);
            _socket.Bind(config.Endpoint);
        }
        catch
        {
            _socket.Dispose();
            _context.Dispose();
            _buffers.Dispose();
            throw;
        }
        _sender = Task.Factory.StartNew(Send, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public long Published => Interlocked.Read(ref _published);

    /// <summary>The memory a publisher of <paramref name="frame"/>'s frames holds at most: the queue and the frames being encoded.</summary>
    public static long BufferBytes(PublishConfig config, FrameInfo frame) => (long)EncodedBytes(frame) * (config.QueueFrames + EncodeWorkers);

    private static int EncodedBytes(FrameInfo frame) => Math.Max(frame.ByteSize, Math.Max(
        BitshuffleLz4.MaxEncodedLength(frame.ByteSize, frame.PixelType.SizeOf()), Lz4Chunk.MaxEncodedLength(frame.ByteSize)));

    public PublishCounts Counts => new(Published, new Dictionary<string, long>(_drops), _endSent);

    public override int MaxDegreeOfParallelism => EncodeWorkers;

    /// <summary>Encodes a frame into a free buffer; none free: the frame is dropped (counted at its commit).</summary>
    public override Encoded Compute(Frame frame)
    {
        if (!_buffers.TryRent(out var buffer))
            return default;
        try
        {
            var pixels = frame.Data.Span;
            var target = buffer.Span;
            switch (_config.Compression)
            {
                case PublishCompression.Bslz4 when frame.Encoding == FrameEncoding.BitshuffleLz4 && !frame.EncodedData.IsEmpty:
                    frame.EncodedData.Span.CopyTo(target); // the detector's chunk, passed on as it came
                    return new Encoded(buffer, frame.EncodedData.Length, DectrisEncoding.BitshuffleLz4);
                case PublishCompression.Bslz4:
                    return new Encoded(buffer, BitshuffleLz4.Encode(pixels, target, frame.Info.PixelType.SizeOf()), DectrisEncoding.BitshuffleLz4);
                case PublishCompression.Lz4:
                    return new Encoded(buffer, Lz4Chunk.Encode(pixels, target), DectrisEncoding.Lz4Chunk);
                default:
                    pixels.CopyTo(target);
                    return new Encoded(buffer, pixels.Length, DectrisEncoding.Raw);
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends every frame with the results of <paramref name="results"/>' branches. Called once the graph is built,
    /// before its first frame.
    /// </summary>
    public void PublishResultsOf(PublishedResults results)
    {
        _results = results;
        results.Subscribe(OnResults);
    }

    /// <summary>Queues the frame for the sender thread, once its results have come; never waits.</summary>
    public override ValueTask CommitAsync(Frame frame, Encoded encoded, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _receiverFrames, Math.Max(_receiverFrames, frame.ReceiverIndex + 1));
        if (encoded.Buffer.IsEmpty)
            Drop(QueueFull);
        if (_results is not { Sources: > 0 })
        {
            if (!encoded.Buffer.IsEmpty)
                Queue(new Item(frame.Index, encoded));
            return default;
        }
        lock (_join)
        {
            var pending = PendingOf(frame.Index);
            pending.Frame = encoded;
            pending.FrameCame = true;
            pending.Results.ReceiverIndex = frame.ReceiverIndex;
            Release(frame.Index, pending);
        }
        return default;
    }

    /// <summary>A result branch committed a frame (in its own order, beside the publisher's).</summary>
    private void OnResults(Frame frame, PublishedResults.Results results)
    {
        lock (_join)
        {
            var pending = PendingOf(frame.Index);
            pending.Results.Add(results);
            pending.Reported++;
            Release(frame.Index, pending);
        }
    }

    private Pending PendingOf(long index)
    {
        if (!_pending.TryGetValue(index, out var pending))
            _pending.Add(index, pending = new Pending());
        return pending;
    }

    /// <summary>Sends a frame whose results have all come (a frame dropped at its encoding is let go with them).</summary>
    private void Release(long index, Pending pending)
    {
        if (!pending.FrameCame || pending.Reported < _results!.Sources)
            return;
        _pending.Remove(index);
        if (!pending.Frame.Buffer.IsEmpty)
            Queue(new Item(index, pending.Frame, Results: pending.Results));
    }

    private void Queue(Item item)
    {
        if (_queue.Writer.TryWrite(item))
            return;
        item.Frame.Buffer.Dispose();
        Drop(NotSentByTheEnd);
    }

    /// <summary>
    /// Lets go of the frames still waiting for results: only a graph that stopped before its branches committed them
    /// leaves any (counted not sent).
    /// </summary>
    private void ReleaseWaiting()
    {
        lock (_join)
        {
            foreach (var pending in _pending.Values)
            {
                if (pending.Frame.Buffer.IsEmpty)
                    continue;
                pending.Frame.Buffer.Dispose();
                Drop(NotSentByTheEnd);
            }
            _pending.Clear();
        }
    }

    /// <summary>
    /// Sends the end of the series after the frames still queued, and waits at most <see cref="PublishConfig.EndTimeoutMs"/>
    /// for consumers to take them; frames left by then are counted dropped. Called once the files are closed.
    /// </summary>
    public async Task EndSeriesAsync(PublishedSeriesEnd end)
    {
        ReleaseWaiting();
        if (!_queue.Writer.TryWrite(new Item(-1, default, end with { ReceiverFrames = Volatile.Read(ref _receiverFrames) })))
            return;
        Volatile.Write(ref _deadline, Stopwatch.GetTimestamp() + _config.EndTimeoutMs * Stopwatch.Frequency / 1000);
        _queue.Writer.TryComplete();
        await _sender.ConfigureAwait(false);
    }

    private void Drop(string reason) => _drops.AddOrUpdate(reason, 1, static (_, n) => n + 1);

    /// <summary>The sender thread: the only user of the socket after the constructor.</summary>
    private void Send()
    {
        try
        {
            SendHeader();
            var reader = _queue.Reader;
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var item))
                {
                    if (item.End is { } end)
                        _endSent = SendEnd(end);
                    else
                        SendFrame(item);
                }
            }
        }
        catch (Exception e)
        {
            Log.Error(e, "publishing on {Endpoint} failed", _config.Endpoint);
            while (_queue.Reader.TryRead(out var left))
                Discard(left);
        }
    }

    private void SendHeader()
    {
        if (_config.Format == PublishFormat.MaxIv)
            SendParts(_maxIv.Header().Span, default, single: true);
        else
            SendParts(_v2.Start(Series, _frame, _expectedFrames ?? 0), default, single: true);
    }

    private void SendFrame(Item item)
    {
        var payload = item.Frame.Buffer.Span[..item.Frame.Length];
        var results = item.Results;
        var sent = _config.Format == PublishFormat.MaxIv
            ? SendParts(_maxIv.Image(item.Index, _frame, item.Frame.Encoding, results is null ? null : results.Write).Span, payload, single: false)
            : SendParts(_v2.Image(Series, item.Index, _frame, item.Frame.Encoding, payload, results is null ? null : Json(results.Write)).Span,
                default, single: true);
        item.Frame.Buffer.Dispose();
        if (sent)
            Interlocked.Increment(ref _published);
        else
            Drop(NotSentByTheEnd);
    }

    private bool SendEnd(PublishedSeriesEnd end)
    {
        var sent = _config.Format == PublishFormat.MaxIv
            ? SendParts(_maxIv.End(w => WriteEnd(w, end)).Span, default, single: true)
            : SendParts(_v2.End(Series, Json(w => WriteEnd(w, end))), default, single: true);
        if (!sent)
            Log.Warn("the end of the series on {Endpoint} was taken by no consumer within {Timeout} ms", _config.Endpoint, _config.EndTimeoutMs);
        return sent;
    }

    private void WriteEnd(Utf8JsonWriter writer, PublishedSeriesEnd end)
    {
        foreach (var (key, value) in EndFields(end))
        {
            writer.WritePropertyName(key);
            JsonSerializer.Serialize(writer, value);
        }
        _results?.WriteEnd(writer);
    }

    /// <summary>The fields <paramref name="write"/> writes, as the text of one JSON object (DECTRIS V2's user_data).</summary>
    private string Json(Action<Utf8JsonWriter> write)
    {
        _json.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_json))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(_json.WrittenSpan);
    }

    /// <summary>The end's fields (MAX IV: beside htype and msg_number; DECTRIS V2: as user_data JSON), the drops so far
    /// included; then what the consumer needs to make the results of the frames it missed.</summary>
    private Dictionary<string, object?> EndFields(PublishedSeriesEnd end) => new()
    {
        ["rank"] = end.Rank,
        ["nb_receivers"] = end.NbReceivers,
        ["first_frame"] = end.FirstFrame,
        ["frame_step"] = end.FrameStep,
        ["receiver_frames"] = end.ReceiverFrames,
        ["published"] = Published,
        ["dropped"] = new Dictionary<string, long>(_drops),
        ["files"] = end.Files,
        ["dataset"] = end.Dataset,
        ["frames_per_file"] = end.FramesPerFile,
        ["master_file"] = end.MasterFile,
        ["error"] = end.Error,
    };

    /// <summary>Sends a message of one or two parts without blocking; waits for room until the end's deadline.</summary>
    private bool SendParts(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, bool single) =>
        SendPart(first, more: !single) && (single || SendPart(second, more: false));

    private bool SendPart(ReadOnlySpan<byte> part, bool more)
    {
        while (!_socket.Send(part, more, dontWait: true))
        {
            if (Stopwatch.GetTimestamp() >= Volatile.Read(ref _deadline))
                return false;
            _socket.Poll(ZmqPollEvents.Out, Tick);
        }
        return true;
    }

    private void Discard(Item item)
    {
        if (item.End is not null)
            return;
        item.Frame.Buffer.Dispose();
        Drop(NotSentByTheEnd);
    }

    /// <summary>Ends a publisher whose series did not end (the run failed to start): no end message, nothing waited for.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Volatile.Write(ref _deadline, 0);
        ReleaseWaiting();
        _queue.Writer.TryComplete();
        await _sender.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _context.Dispose();
        _buffers.Dispose();
    }
}
