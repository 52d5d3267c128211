using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Lima2.Core.Frames;

namespace Lima2.LiveView;

/// <summary>
/// A device's live view over HTTP: <c>/</c> the page, <c>/events</c> its updates (server-sent events, one per
/// sample of the <see cref="LiveFeed"/>, the newest only), <c>/status</c> the counters as JSON with the recent
/// history, <c>/metrics</c> the counters in Prometheus' text format, <c>/last_frame</c> the newest frame.
/// </summary>
/// <remarks>
/// The BCL's <see cref="HttpListener"/> rather than ASP.NET Core's Kestrel: a few watchers per device need no more,
/// and the server's self-contained publish stays without the ASP.NET shared framework (about 100 MB).
/// Nothing here touches the frame path: the feed samples counters at its period, and a frame is read from the
/// device's frame history (retained for the copy, then released) only when a client asks for it, one at a time,
/// the last answer kept for the clients asking for the same frame.
/// </remarks>
public sealed class LiveServer : IDisposable
{
    /// <summary>Pages (event streams) served at once; more are refused (503) rather than queued.</summary>
    public const int MaxEventClients = 16;

    /// <summary>A client that takes longer than this to accept one event is dropped.</summary>
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly ILiveSource _source;
    private readonly HttpListener _listener;
    private readonly LiveFeed _feed;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly Lock _frameLock = new();
    private (long Frame, int Factor, byte[] Body)? _lastFrame;
    private int _eventClients;

    private LiveServer(ILiveSource source, HttpListener listener, Uri url, TimeSpan period)
    {
        _source = source;
        _listener = listener;
        Url = url;
        _feed = new LiveFeed(source, period);
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>Where the page is, e.g. <c>http://lid00rcv1:8081/</c>.</summary>
    public Uri Url { get; }

    public LiveFeed Feed => _feed;

    /// <summary>
    /// Serves <paramref name="source"/> on <paramref name="host"/> (an address or host name; "" = every interface)
    /// at <paramref name="port"/> (0: a free one, which <see cref="Url"/> tells).
    /// </summary>
    /// <param name="period">how often counters are sampled and pages updated (default 250 ms)</param>
    public static LiveServer Start(ILiveSource source, string host, int port, TimeSpan? period = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var prefixHost = host.Length == 0 ? "+" : host.Contains(':') && !host.StartsWith('[') ? $"[{host}]" : host;
        var urlHost = host.Length == 0 ? Dns.GetHostName() : prefixHost;
        for (var attempt = 1; ; attempt++)
        {
            var chosen = port != 0 ? port : FreePort(host);
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://{prefixHost}:{chosen}/");
            try
            {
                listener.Start();
                return new LiveServer(source, listener, new Uri($"http://{urlHost}:{chosen}/"), period ?? TimeSpan.FromMilliseconds(250));
            }
            catch (HttpListenerException) when (port == 0 && attempt < 5)
            {
                // another process took the free port between the probe and the bind: probe again
                listener.Close();
            }
            catch (HttpListenerException e)
            {
                listener.Close();
                throw new InvalidOperationException($"live view: cannot listen on {prefixHost}:{chosen}: {e.Message}", e);
            }
        }
    }

    private static int FreePort(string host)
    {
        var address = host.Length == 0 ? IPAddress.Any
            : IPAddress.TryParse(host.Trim('[', ']'), out var parsed) ? parsed
            : Dns.GetHostAddresses(host).First();
        using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(address, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            if (context.Request.HttpMethod is not ("GET" or "HEAD"))
            {
                await ReplyAsync(response, 405, "text/plain", "only GET\n"u8.ToArray()).ConfigureAwait(false);
                return;
            }
            switch (context.Request.Url?.AbsolutePath)
            {
                case "/":
                    await ReplyAsync(response, 200, "text/html; charset=utf-8", Page.Value).ConfigureAwait(false);
                    break;
                case "/status":
                    await ReplyAsync(response, 200, "application/json", JsonSerializer.SerializeToUtf8Bytes(Status(history: true), Json)).ConfigureAwait(false);
                    break;
                case "/metrics":
                    await ReplyAsync(response, 200, "text/plain; version=0.0.4; charset=utf-8",
                        Encoding.UTF8.GetBytes(PrometheusText.Write(_source.Name, _feed.Latest))).ConfigureAwait(false);
                    break;
                case "/last_frame":
                    await LastFrameAsync(context).ConfigureAwait(false);
                    break;
                case "/events":
                    await EventsAsync(context).ConfigureAwait(false);
                    break;
                default:
                    await ReplyAsync(response, 404, "text/plain", "not found: /, /events, /status, /metrics, /last_frame\n"u8.ToArray()).ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // the client went away
            response.Abort();
        }
        catch (Exception e)
        {
            try
            {
                await ReplyAsync(response, 500, "text/plain", Encoding.UTF8.GetBytes($"{e.GetType().Name}: {e.Message}\n")).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // the response had started: the client sees it cut short
                response.Abort();
            }
        }
    }

    private static async Task ReplyAsync(HttpListenerResponse response, int code, string type, byte[] body)
    {
        response.StatusCode = code;
        response.ContentType = type;
        response.Headers["Cache-Control"] = "no-store";
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body).ConfigureAwait(false);
        response.Close();
    }

    /// <summary>The counters as /status and each event give them.</summary>
    private object Status(bool history)
    {
        var s = _feed.Latest;
        var c = s.Counters;
        return new
        {
            device = _source.Name,
            sequence = s.Sequence,
            time = s.Time,
            state = c.State,
            run = c.Run,
            nb_frames_received = c.Received,
            nb_frames_processed = c.Processed,
            nb_frames_saved = c.Saved,
            nb_frames_dropped = c.Dropped,
            saved_bytes = c.SavedBytes,
            nb_hits = c.Hits,
            hit_rate = c.HitRate,
            roi_sums = c.RoiSums,
            last_frame = c.LastFrame,
            frame_rate = s.FrameRate,
            receivers = c.Parts,
            problem = _feed.Problem,
            history = history
                ? _feed.History().Select(h => new { time = h.Time, frame_rate = h.FrameRate, hit_rate = h.Counters.HitRate, roi_sums = h.Counters.RoiSums, run = h.Counters.Run })
                : null,
        };
    }

    /// <summary>
    /// The newest frame: a 4-byte little-endian length, a JSON header of that length (MAX IV's image header
    /// <c>htype, frame, shape, type, compression</c>, plus the reduction and what to draw over it), then the pixels,
    /// row-major, little-endian. <c>?downsample=n</c> keeps the maximum of each n × n block; <c>?max_size=s</c>
    /// picks the smallest n that fits s × s; neither: every pixel.
    /// </summary>
    private async Task LastFrameAsync(HttpListenerContext context)
    {
        var query = context.Request.QueryString;
        if (!TryQueryInt(query["downsample"], 1, out var downsample) || !TryQueryInt(query["max_size"], 1, out var maxSize))
        {
            await ReplyAsync(context.Response, 400, "text/plain", "downsample and max_size are integers >= 1\n"u8.ToArray()).ConfigureAwait(false);
            return;
        }
        byte[]? body;
        lock (_frameLock)
            body = LastFrameBody(downsample, maxSize);
        if (body is null)
        {
            await ReplyAsync(context.Response, 404, "text/plain", "no frame yet\n"u8.ToArray()).ConfigureAwait(false);
            return;
        }
        await ReplyAsync(context.Response, 200, "application/octet-stream", body).ConfigureAwait(false);
    }

    private static bool TryQueryInt(string? text, int min, out int value)
    {
        value = 0;
        return text is null || int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min;
    }

    private byte[]? LastFrameBody(int downsample, int maxSize)
    {
        if (!_source.TryGetLatestFrame(out var frame))
            return null;
        FramePreview preview;
        using (frame)
        {
            var height = frame.Info.Height * frame.Info.Channels;
            var factor = maxSize > 0 ? Math.Max(1, Math.Max(CeilDiv(frame.Info.Width, maxSize), CeilDiv(height, maxSize))) : Math.Max(1, downsample);
            if (_lastFrame is { } cached && cached.Frame == frame.Index && cached.Factor == factor)
                return cached.Body;
            preview = FramePreview.OfFactor(frame, factor);
        }
        var overlay = _source.Overlay(preview.FrameIndex);
        var header = JsonSerializer.SerializeToUtf8Bytes(new
        {
            htype = "image",
            frame = preview.FrameIndex,
            shape = new[] { preview.Height, preview.Width },
            type = preview.PixelType.ToDtypeName(),
            compression = "none",
            downsample = preview.Factor,
            rects = overlay.Rects,
            arcs = overlay.Arcs,
            peaks = overlay.Peaks,
        }, Json);
        var body = new byte[4 + header.Length + preview.Pixels.Length];
        BinaryPrimitives.WriteInt32LittleEndian(body, header.Length);
        header.CopyTo(body, 4);
        preview.Pixels.CopyTo(body, 4 + header.Length);
        _lastFrame = (preview.FrameIndex, preview.Factor, body);
        return body;
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;

    /// <summary>Server-sent events: the newest sample each time there is one; a page that reads slowly skips samples.</summary>
    private async Task EventsAsync(HttpListenerContext context)
    {
        var response = context.Response;
        if (Interlocked.Increment(ref _eventClients) > MaxEventClients)
        {
            Interlocked.Decrement(ref _eventClients);
            await ReplyAsync(response, 503, "text/plain", Encoding.UTF8.GetBytes($"{MaxEventClients} pages are watching already\n")).ConfigureAwait(false);
            return;
        }
        try
        {
            response.StatusCode = 200;
            response.ContentType = "text/event-stream";
            response.Headers["Cache-Control"] = "no-store";
            response.SendChunked = true;
            var stream = response.OutputStream;
            long seen = 0;
            while (!_stop.IsCancellationRequested)
            {
                var sample = await _feed.NextAsync(seen, _stop.Token).ConfigureAwait(false);
                seen = sample.Sequence;
                var data = Encoding.UTF8.GetBytes($"id: {seen}\ndata: {JsonSerializer.Serialize(Status(history: false), Json)}\n\n");
                var write = SendAsync(stream, data);
                if (await Task.WhenAny(write, Task.Delay(WriteTimeout, _stop.Token)).ConfigureAwait(false) != write)
                {
                    response.Abort(); // too slow: dropped
                    return;
                }
                await write.ConfigureAwait(false);
            }
            response.Abort();
        }
        catch (OperationCanceledException)
        {
            // the server stops
            response.Abort();
        }
        finally
        {
            Interlocked.Decrement(ref _eventClients);
        }
    }

    private static async Task SendAsync(Stream stream, byte[] data)
    {
        await stream.WriteAsync(data).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }

    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = typeof(LiveServer).Assembly.GetManifestResourceStream("live.html")
                           ?? throw new InvalidOperationException("the live page is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        try
        {
            _accepting.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // stopped
        }
        _feed.Dispose();
        _stop.Dispose();
    }
}
