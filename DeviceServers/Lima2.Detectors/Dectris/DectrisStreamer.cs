using System.Diagnostics;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Zmq;

namespace Lima2.Detectors.Dectris;

/// <summary>How the emulated detector streams.</summary>
/// <param name="Endpoints">PUSH endpoints to bind, one per receiver: frame i goes to endpoint i % n</param>
/// <param name="Version">the wire format: DECTRIS stream V1, V2, or MAX IV's unified stream</param>
/// <param name="Encoding">payload encoding (V1: Raw, Lz4Block, BitshuffleLz4; V2 and MAX IV: Raw, Lz4Chunk, BitshuffleLz4)</param>
/// <param name="Detail">V1 header_detail: none, basic or all</param>
/// <param name="FramesPerSecond">the pace; null = as fast as the receivers take them</param>
/// <param name="Prefetch">distinct frames encoded once and sent in turn (frame i shows frame i % p), from where they lie
/// (no copy); 0 = every frame encoded</param>
/// <param name="Senders">sender threads, and libzmq I/O threads: endpoint i is served by sender i % s (at most one per endpoint)</param>
/// <param name="DeliveryTimeout">how long the end of a series may wait while no receiver takes any message before the
/// run fails (default 60 s); the run waits for the end to be delivered, however long the receivers take</param>
public sealed record StreamerOptions(
    IReadOnlyList<string> Endpoints,
    DectrisStreamVersion Version,
    DectrisEncoding Encoding,
    long Frames,
    string Detail = "basic",
    double? FramesPerSecond = null,
    int Prefetch = 0,
    long Series = 1,
    int SendHighWaterMark = 64,
    int Senders = 1,
    TimeSpan? DeliveryTimeout = null);

/// <summary>
/// The stand-in detector: serves a series as a DECTRIS detector or a MAX IV source does (header, images, end) on PUSH
/// sockets, frames from any <see cref="IFrameSource"/>, each format's messages from its <see cref="StreamFormatWriter"/>.
/// Frames are encoded once; image payloads go out without a copy where the format allows (<see cref="ZmqSendBuffer"/>),
/// each endpoint from one of <see cref="StreamerOptions.Senders"/> threads.
/// </summary>
public sealed class DectrisStreamer : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan DefaultDeliveryTimeout = TimeSpan.FromSeconds(60);

    private readonly IFrameSource _source;
    private readonly StreamerOptions _options;
    private readonly ZmqContext _context;
    private readonly List<ZmqSocket> _sockets = [];
    private readonly StreamFormatWriter[] _writers;
    private readonly Sender[] _senders;
    private readonly ZmqSendBuffer?[] _prefetched;
    private readonly Lock _sourceLock = new();
    private readonly Action _onReleased;
    private readonly CancellationTokenSource _disposing = new();
    private Task _running = Task.CompletedTask;
    private ZmqSendBuffer[] _ends = [];
    private long _sent;
    private long _bytes;
    private long _released;

    public DectrisStreamer(IFrameSource source, StreamerOptions options)
    {
        if (options.Endpoints.Count == 0)
            throw new ArgumentException("no endpoint to stream to", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Senders, 1, nameof(options.Senders));
        _writers = StreamFormatWriter.ForEndpoints(options.Version, options.Encoding, options.Detail, options.Endpoints.Count);
        _source = source;
        _options = options;
        _onReleased = () => Interlocked.Increment(ref _released);
        _prefetched = new ZmqSendBuffer?[Math.Max(options.Prefetch, 0)];
        var senders = Math.Min(options.Senders, options.Endpoints.Count);
        _context = new ZmqContext(ioThreads: senders);
        _senders = [.. Enumerable.Range(0, senders).Select(_ => new Sender(this))];
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

    /// <summary>
    /// Streams the whole series; returns once the end message has been written to every receiver's connection
    /// (libzmq released it, so nothing before it is still queued), or when cancelled or disposed.
    /// </summary>
    /// <exception cref="TimeoutException">no receiver took a message for <see cref="StreamerOptions.DeliveryTimeout"/> before the end was delivered</exception>
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
            Prefetched(image);
        SendHeader(series, _options.Frames, token);
        RunSenders(token);
        SendEnd(series, token);
        AwaitDelivery(series, token);
    }

    /// <summary>Every sender thread sends its endpoints' images, in frame order; the first failure stops them all.</summary>
    private void RunSenders(CancellationToken token)
    {
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(token);
        void Send(int sender)
        {
            try
            {
                SendImages(sender, failed.Token);
            }
            catch
            {
                failed.Cancel();
                throw;
            }
        }
        var others = Enumerable.Range(1, _senders.Length - 1)
            .Select(sender => Task.Factory.StartNew(() => Send(sender), token, TaskCreationOptions.LongRunning, TaskScheduler.Default))
            .ToArray();
        try
        {
            Send(0);
        }
        finally
        {
            Task.WhenAll(others).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        }
        token.ThrowIfCancellationRequested();
        if (others.FirstOrDefault(t => t.IsFaulted) is { } fault)
            throw fault.Exception!.InnerException!;
    }

    private void SendImages(int sender, CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        for (long frame = 0; frame < _options.Frames; frame++)
        {
            var endpoint = (int)(frame % _sockets.Count);
            if (endpoint % _senders.Length != sender)
                continue;
            if (_options.FramesPerSecond is { } rate)
            {
                var due = TimeSpan.FromSeconds(frame / rate);
                if (due > clock.Elapsed)
                    Task.Delay(due - clock.Elapsed, token).GetAwaiter().GetResult();
            }
            _senders[sender].SendImage(endpoint, _options.Series, frame, token);
        }
    }

    /// <summary>The series' header, to every receiver (a detector sends it at arm).</summary>
    public void SendHeader(long series, long frames, CancellationToken token)
    {
        for (var endpoint = 0; endpoint < _sockets.Count; endpoint++)
            _writers[endpoint].SendHeader(Socket(endpoint, token), series, _source.Info, frames);
    }

    /// <summary>Image <paramref name="frame"/> of the series, to receiver frame % n (from the caller's thread).</summary>
    public void SendImage(long series, long frame, CancellationToken token) =>
        _senders[0].SendImage((int)(frame % _sockets.Count), series, frame, token);

    /// <summary>The series' end message, queued to every receiver (at disarm, abort, or the series' last image).</summary>
    public void SendEnd(long series, CancellationToken token)
    {
        var ends = new ZmqSendBuffer[_sockets.Count];
        for (var endpoint = 0; endpoint < ends.Length; endpoint++)
        {
            var end = _writers[endpoint].End(series);
            ends[endpoint] = new ZmqSendBuffer(end.Length, _onReleased);
            end.CopyTo(ends[endpoint].Span);
        }
        foreach (var previous in Interlocked.Exchange(ref _ends, ends))
            previous.Dispose();
        for (var endpoint = 0; endpoint < ends.Length; endpoint++)
            Socket(endpoint, token).Send(ends[endpoint], more: false);
    }

    /// <summary>
    /// Waits until libzmq has released the end message on every socket: written to the connection, with everything
    /// queued before it. A receiver slower than the queue's drain is waited for as long as it takes messages;
    /// <see cref="StreamerOptions.DeliveryTimeout"/> of no progress at all ends the wait with an error.
    /// </summary>
    private void AwaitDelivery(long series, CancellationToken token)
    {
        var ends = _ends;
        int Undelivered() => ends.Count(end => end.InFlight > 0);
        var timeout = _options.DeliveryTimeout ?? DefaultDeliveryTimeout;
        var progress = Interlocked.Read(ref _released);
        var idle = Stopwatch.StartNew();
        while (Undelivered() > 0)
        {
            token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(5));
            token.ThrowIfCancellationRequested();
            var now = Interlocked.Read(ref _released);
            if (now != progress)
            {
                progress = now;
                idle.Restart();
            }
            else if (idle.Elapsed > timeout)
                throw new TimeoutException($"the end of series {series} did not reach {Undelivered()} of {_sockets.Count} receivers: " +
                                           $"none took a message for {timeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>Frame <paramref name="frame"/>'s payload when frames are prefetched (encoded at first use, then shared), else null.</summary>
    private ZmqSendBuffer? Prefetched(long frame)
    {
        if (_prefetched.Length == 0)
            return null;
        var image = (int)(frame % _prefetched.Length);
        lock (_prefetched)
            return _prefetched[image] ??= _senders[0].Encode(image);
    }

    private StreamerSocket Socket(int endpoint, CancellationToken token) => new(_sockets[endpoint], _onReleased, token);

    /// <summary>One sender thread's scratch frames (the source itself is read under a lock).</summary>
    private sealed class Sender(DectrisStreamer streamer)
    {
        private byte[]? _pixels;
        private byte[]? _encoded;

        /// <summary>Frame <paramref name="frame"/> to <paramref name="endpoint"/>, on the thread that serves it.</summary>
        public void SendImage(int endpoint, long series, long frame, CancellationToken token)
        {
            var shared = streamer.Prefetched(frame);
            var payload = shared ?? Encode(frame);
            try
            {
                streamer._writers[endpoint].SendImage(streamer.Socket(endpoint, token), series, frame, streamer._source.Info,
                    streamer._options.Encoding, payload);
            }
            finally
            {
                // a buffer of its own goes once libzmq has released it; a prefetched one stays for the next frames
                if (shared is null)
                    payload.Dispose();
            }
            Interlocked.Increment(ref streamer._sent);
            Interlocked.Add(ref streamer._bytes, payload.Length);
        }

        /// <summary>Frame <paramref name="frame"/> rendered and encoded into a send buffer of its exact length.</summary>
        public ZmqSendBuffer Encode(long frame)
        {
            var source = streamer._source;
            var info = source.Info;
            var encoding = streamer._options.Encoding;
            _pixels ??= GC.AllocateUninitializedArray<byte>(info.ByteSize, pinned: true);
            lock (streamer._sourceLock)
                source.Render(source.Count is { } count ? frame % count : frame, _pixels);
            if (encoding == DectrisEncoding.Raw)
                return Filled(_pixels);
            _encoded ??= GC.AllocateUninitializedArray<byte>(Math.Max(
                BitshuffleLz4.MaxEncodedLength(info.ByteSize, info.PixelType.SizeOf()), Lz4Chunk.MaxEncodedLength(info.ByteSize)), pinned: true);
            var length = encoding switch
            {
                DectrisEncoding.Lz4Block => Lz4.Compress(_pixels, _encoded),
                DectrisEncoding.Lz4Chunk => Lz4Chunk.Encode(_pixels, _encoded),
                _ => BitshuffleLz4.Encode(_pixels, _encoded, info.PixelType.SizeOf()),
            };
            return Filled(_encoded.AsSpan(0, length));
        }

        private ZmqSendBuffer Filled(ReadOnlySpan<byte> bytes)
        {
            var buffer = new ZmqSendBuffer(bytes.Length, streamer._onReleased);
            bytes.CopyTo(buffer.Span);
            return buffer;
        }
    }

    /// <summary>
    /// Stops a <see cref="RunAsync"/> in progress and waits for it (at most one send timeout) before closing the
    /// sockets: a socket is closed only once the thread sending on it is done with it. The payloads are freed once
    /// libzmq has released every message of them (closing the context waits for that).
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
        foreach (var payload in _prefetched)
            payload?.Dispose();
        foreach (var end in _ends)
            end.Dispose();
        _disposing.Dispose();
    }
}
