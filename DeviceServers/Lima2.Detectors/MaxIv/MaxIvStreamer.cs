using System.Diagnostics;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;
using Lima2.Zmq;

namespace Lima2.Detectors.MaxIv;

/// <summary>How the stand-in MAX IV source streams.</summary>
/// <param name="Endpoints">PUSH endpoints to bind, one per receiver: frame i goes to endpoint i % n</param>
/// <param name="Encoding">payload: Raw (<c>none</c>), Lz4Chunk (<c>lz4</c>) or BitshuffleLz4 (<c>bslz4</c>)</param>
/// <param name="FramesPerSecond">the pace; null = as fast as the receivers take them</param>
public sealed record MaxIvStreamerOptions(
    IReadOnlyList<string> Endpoints,
    DectrisEncoding Encoding,
    long Frames,
    double? FramesPerSecond = null,
    int SendHighWaterMark = 64);

/// <summary>
/// The stand-in of a MAX IV source (a streaming-receiver's forwarder, a detector behind it): a series of
/// <see cref="MaxIvStream"/> messages on PUSH sockets — header, images, series_end — frames from any
/// <see cref="IFrameSource"/>, each message numbered over the whole stream as its own socket sees it.
/// </summary>
public sealed class MaxIvStreamer : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    private readonly IFrameSource _source;
    private readonly MaxIvStreamerOptions _options;
    private readonly ZmqContext _context = new();
    private readonly List<(ZmqSocket Socket, MaxIvStreamWriter Writer)> _outputs = [];
    private readonly byte[] _pixels;
    private readonly byte[] _encoded;
    private readonly CancellationTokenSource _disposing = new();
    private Task _running = Task.CompletedTask;
    private long _sent;
    private long _bytes;

    public MaxIvStreamer(IFrameSource source, MaxIvStreamerOptions options)
    {
        if (options.Endpoints.Count == 0)
            throw new ArgumentException("no endpoint to stream to", nameof(options));
        MaxIvStream.CompressionName(options.Encoding); // refuses an encoding the format has not
        _source = source;
        _options = options;
        var info = source.Info;
        _pixels = GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
        _encoded = GC.AllocateUninitializedArray<byte>(Math.Max(
            BitshuffleLz4.MaxEncodedLength(info.ByteSize, info.PixelType.SizeOf()), Lz4Chunk.MaxEncodedLength(info.ByteSize)), pinned: true);
        foreach (var endpoint in options.Endpoints)
        {
            var socket = _context.CreateSocket(ZmqSocketType.Push);
            _outputs.Add((socket, new MaxIvStreamWriter()));
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
        foreach (var (socket, writer) in _outputs)
            Send(socket, writer.Header().Span, false, token);
        var clock = Stopwatch.StartNew();
        for (long frame = 0; frame < _options.Frames; frame++)
        {
            if (_options.FramesPerSecond is { } rate && TimeSpan.FromSeconds(frame / rate) - clock.Elapsed is { Ticks: > 0 } wait)
                Task.Delay(wait, token).GetAwaiter().GetResult();
            var (socket, writer) = _outputs[(int)(frame % _outputs.Count)];
            var payload = Encode(frame);
            Send(socket, writer.Image(frame, _source.Info, _options.Encoding).Span, true, token);
            Send(socket, payload, false, token);
            Interlocked.Increment(ref _sent);
            Interlocked.Add(ref _bytes, payload.Length);
        }
        foreach (var (socket, writer) in _outputs)
            Send(socket, writer.End().Span, false, token);
    }

    private ReadOnlySpan<byte> Encode(long frame)
    {
        var info = _source.Info;
        _source.Render(_source.Count is { } count ? frame % count : frame, _pixels);
        return _options.Encoding switch
        {
            DectrisEncoding.Raw => _pixels,
            DectrisEncoding.Lz4Chunk => _encoded.AsSpan(0, Lz4Chunk.Encode(_pixels, _encoded)),
            _ => _encoded.AsSpan(0, BitshuffleLz4.Encode(_pixels, _encoded, info.PixelType.SizeOf())),
        };
    }

    /// <summary>Sends one part, waiting (back-pressure from the receiver) but not past cancellation.</summary>
    private static void Send(ZmqSocket socket, ReadOnlySpan<byte> data, bool more, CancellationToken token)
    {
        while (!socket.Send(data, more))
            token.ThrowIfCancellationRequested();
    }

    /// <summary>Stops a run in progress and waits for it (at most one send timeout) before closing the sockets.</summary>
    public void Dispose()
    {
        if (_disposing.IsCancellationRequested)
            return;
        _disposing.Cancel();
        _running.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        foreach (var (socket, _) in _outputs)
            socket.Dispose();
        _context.Dispose();
        _disposing.Dispose();
    }
}
