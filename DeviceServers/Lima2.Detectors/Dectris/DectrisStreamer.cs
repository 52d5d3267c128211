using System.Diagnostics;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Zmq;

namespace Lima2.Detectors.Dectris;

/// <summary>How the emulated detector streams.</summary>
/// <param name="Endpoints">PUSH endpoints to bind, one per receiver: frame i goes to endpoint i % n</param>
/// <param name="Encoding">payload encoding (V1: Raw, Lz4Block, BitshuffleLz4; V2: Raw, Lz4Chunk, BitshuffleLz4)</param>
/// <param name="Detail">V1 header_detail: none, basic or all</param>
/// <param name="FramesPerSecond">the pace; null = as fast as the receivers take them</param>
/// <param name="Prefetch">distinct frames encoded once and sent in turn (frame i shows frame i % p); 0 = every frame encoded</param>
public sealed record StreamerOptions(
    IReadOnlyList<string> Endpoints,
    DectrisStreamVersion Version,
    DectrisEncoding Encoding,
    long Frames,
    string Detail = "basic",
    double? FramesPerSecond = null,
    int Prefetch = 0,
    long Series = 1,
    int SendHighWaterMark = 64);

/// <summary>
/// The stand-in detector: serves a series as a DECTRIS detector does (header, images, end) on PUSH sockets,
/// frames from any <see cref="IFrameSource"/>.
/// </summary>
public sealed class DectrisStreamer : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    private readonly IFrameSource _source;
    private readonly StreamerOptions _options;
    private readonly ZmqContext _context = new();
    private readonly List<ZmqSocket> _sockets = [];
    private readonly StreamV1Writer _v1 = new();
    private readonly StreamV2Writer _v2 = new();
    private readonly Dictionary<long, byte[]> _prefetched = [];
    private readonly byte[] _pixels;
    private readonly byte[] _encoded;
    private readonly CancellationTokenSource _disposing = new();
    private Task _running = Task.CompletedTask;
    private long _sent;
    private long _bytes;

    public DectrisStreamer(IFrameSource source, StreamerOptions options)
    {
        if (options.Endpoints.Count == 0)
            throw new ArgumentException("no endpoint to stream to", nameof(options));
        _source = source;
        _options = options;
        var info = source.Info;
        _pixels = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        _encoded = GC.AllocateUninitializedArray<byte>(Math.Max(
            BitshuffleLz4.MaxEncodedLength(info.ByteSize, info.PixelType.SizeOf()), Lz4Chunk.MaxEncodedLength(info.ByteSize)), pinned: true);
        foreach (var endpoint in options.Endpoints)
        {
            var socket = _context.CreateSocket(ZmqSocketType.Push);
            _sockets.Add(socket);
            socket.SetOption(ZmqOption.SendHighWaterMark, options.SendHighWaterMark);
            socket.SetOption(ZmqOption.SendTimeout, (int)Tick.TotalMilliseconds);
            socket.SetOption(ZmqOption.Linger, 5000);
            socket.Bind(endpoint);
        }
    }

    /// <summary>Images sent so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Payload bytes sent so far (encoded).</summary>
    public long BytesSent => Interlocked.Read(ref _bytes);

    /// <summary>Streams the whole series; returns when the end message is queued (or when cancelled or disposed).</summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        _running = Task.Factory.StartNew(() =>
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
            Run(stop.Token);
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return _running;
    }

    private void Run(CancellationToken token)
    {
        var series = _options.Series;
        // Prefetched frames are encoded before the series starts, so that the stream runs at the network's pace.
        for (long image = 0; image < Math.Min(_options.Prefetch, _options.Frames); image++)
            Payload(image);
        SendHeader(series, _options.Frames, token);
        var clock = Stopwatch.StartNew();
        for (long frame = 0; frame < _options.Frames; frame++)
        {
            if (_options.FramesPerSecond is { } rate)
            {
                var due = TimeSpan.FromSeconds(frame / rate);
                if (due > clock.Elapsed)
                    Task.Delay(due - clock.Elapsed, token).GetAwaiter().GetResult();
            }
            SendImage(series, frame, token);
        }
        SendEnd(series, token);
    }

    /// <summary>The series' header, to every receiver (a detector sends it at arm).</summary>
    public void SendHeader(long series, long frames, CancellationToken token)
    {
        var info = _source.Info;
        foreach (var socket in _sockets)
        {
            if (_options.Version == DectrisStreamVersion.V1)
                SendParts(socket, StreamV1Writer.Header(series, _options.Detail, info, frames), token);
            else
                Send(socket, _v2.Start(series, info, frames), false, token);
        }
    }

    /// <summary>Image <paramref name="frame"/> of the series, to receiver frame % n.</summary>
    public void SendImage(long series, long frame, CancellationToken token)
    {
        var info = _source.Info;
        var payload = Payload(frame);
        var socket = _sockets[(int)(frame % _sockets.Count)];
        if (_options.Version == DectrisStreamVersion.V1)
        {
            var parts = _v1.ImageParts(series, frame, info, _options.Encoding, payload.Length);
            Send(socket, parts.Image, true, token);
            Send(socket, parts.Descriptor, true, token);
            Send(socket, payload, true, token);
            Send(socket, parts.Config, false, token);
        }
        else
            Send(socket, _v2.Image(series, frame, info, _options.Encoding, payload).Span, false, token);
        Interlocked.Increment(ref _sent);
        Interlocked.Add(ref _bytes, payload.Length);
    }

    /// <summary>The series' end message, to every receiver (at disarm, abort, or the series' last image).</summary>
    public void SendEnd(long series, CancellationToken token)
    {
        foreach (var socket in _sockets)
            Send(socket, _options.Version == DectrisStreamVersion.V1 ? StreamV1Writer.End(series) : _v2.End(series), false, token);
    }

    private ReadOnlySpan<byte> Payload(long frame)
    {
        if (_options.Prefetch <= 0)
            return Encode(frame);
        var image = frame % _options.Prefetch;
        if (!_prefetched.TryGetValue(image, out var payload))
            _prefetched[image] = payload = Encode(image).ToArray();
        return payload;
    }

    private ReadOnlySpan<byte> Encode(long frame)
    {
        var info = _source.Info;
        _source.Render(_source.Count is { } count ? frame % count : frame, _pixels);
        var length = _options.Encoding switch
        {
            DectrisEncoding.Raw => info.ByteSize,
            DectrisEncoding.Lz4Block => Lz4.Compress(_pixels, _encoded),
            DectrisEncoding.Lz4Chunk => Lz4Chunk.Encode(_pixels, _encoded),
            _ => BitshuffleLz4.Encode(_pixels, _encoded, info.PixelType.SizeOf()),
        };
        return _options.Encoding == DectrisEncoding.Raw ? _pixels : _encoded.AsSpan(0, length);
    }

    private static void SendParts(ZmqSocket socket, IReadOnlyList<byte[]> parts, CancellationToken token)
    {
        for (var i = 0; i < parts.Count; i++)
            Send(socket, parts[i], i < parts.Count - 1, token);
    }

    /// <summary>Sends one part, waiting (back-pressure from the receiver) but not past cancellation.</summary>
    private static void Send(ZmqSocket socket, ReadOnlySpan<byte> data, bool more, CancellationToken token)
    {
        while (!socket.Send(data, more))
            token.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Stops a <see cref="RunAsync"/> in progress and waits for it (at most one send timeout) before closing the
    /// sockets: a socket is closed only once the thread sending on it is done with it.
    /// </summary>
    public void Dispose()
    {
        if (_disposing.IsCancellationRequested)
            return;
        _disposing.Cancel();
        _running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        foreach (var socket in _sockets)
            socket.Dispose();
        _context.Dispose();
        _disposing.Dispose();
    }
}
