using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;

namespace Lima2.Cli.StandIns;

/// <summary>
/// The stand-in detector's SIMPLON server (the REST subset <see cref="Lima2.Detectors.Dectris.Simplon.SimplonClient"/> drives), on 127.0.0.1: each
/// <c>arm</c> opens a series on the <see cref="DectrisStreamer"/> (header), whose nimages × ntrigger images go out on
/// each <c>trigger</c> (ints, inte) or at once (exts, exte, as if the triggers came right away); the end message
/// goes out when the last image is out, or at <c>disarm</c> / <c>abort</c>.
/// </summary>
/// <remarks>
/// Config keys it honours: nimages, ntrigger, trigger_mode, count_time, frame_time, photon_energy,
/// threshold_energy, countrate_correction_applied, compression (only the streamer's own encoding); read-only:
/// description, detector_number, x/y_pixel_size, x/y_pixels_in_detector, bit_depth_image. Unknown keys are 404,
/// bad values 400, as on a real detector. Stream messages go out one at a time on a chain of steps, so the
/// streamer is never used from two threads; a <c>trigger</c> answers once its images are out, as a real one does.
/// </remarks>
public sealed class SimplonStandIn : IDisposable
{
    private static readonly string[] Writable =
        ["nimages", "ntrigger", "trigger_mode", "count_time", "frame_time", "photon_energy", "threshold_energy", "countrate_correction_applied", "compression"];

    private readonly DectrisStreamer _streamer;
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, JsonNode> _config;
    private readonly Lock _lock = new();
    private readonly string _compression;
    private readonly TextWriter _log;
    private readonly Task _serving;
    private Task _chain = Task.CompletedTask;
    private CancellationTokenSource _series = new();
    private string _state = "idle";
    private bool _streamEnabled = true;
    private long _sequence;
    private long _triggers;
    private long _queued;

    /// <param name="encoding">the streamer's payload encoding, the only <c>compression</c> the stand-in accepts</param>
    public SimplonStandIn(DectrisStreamer streamer, FrameInfo info, DectrisEncoding encoding, int port, TextWriter? log = null)
    {
        _streamer = streamer;
        _log = log ?? TextWriter.Null;
        _compression = encoding switch
        {
            DectrisEncoding.Raw => "none",
            DectrisEncoding.BitshuffleLz4 => "bslz4",
            _ => "lz4",
        };
        _config = new Dictionary<string, object>
        {
            ["nimages"] = 1,
            ["ntrigger"] = 1,
            ["trigger_mode"] = "ints",
            ["count_time"] = 0.001,
            ["frame_time"] = 0.001,
            ["photon_energy"] = 8041.0,
            ["threshold_energy"] = 4020.5,
            ["countrate_correction_applied"] = true,
            ["compression"] = _compression,
            ["description"] = "Dectris EIGER2 stand-in (lima2 stream)",
            ["detector_number"] = "E-00-0000-STANDIN",
            ["x_pixel_size"] = 75e-6,
            ["y_pixel_size"] = 75e-6,
            ["x_pixels_in_detector"] = info.Width,
            ["y_pixels_in_detector"] = info.Height,
            ["bit_depth_image"] = info.PixelType.SizeOf() * 8,
        }.ToDictionary(p => p.Key, p => Json(p.Value));
        Url = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Url { get; }

    /// <summary>Series armed so far (the last sequence id).</summary>
    public long Sequence => Interlocked.Read(ref _sequence);

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        int status;
        JsonNode? answer;
        try
        {
            var body = request.HasEntityBody ? await new StreamReader(request.InputStream, Encoding.UTF8).ReadToEndAsync().ConfigureAwait(false) : "";
            (status, answer) = await RouteAsync(request.HttpMethod, request.Url!.AbsolutePath, body).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            (status, answer) = (500, Error(e.Message));
        }
        _log.WriteLine($"SIMPLON {request.HttpMethod} {request.Url!.AbsolutePath} -> {status}");
        var bytes = answer is null ? [] : Encoding.UTF8.GetBytes(answer.ToJsonString());
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength64 = bytes.Length;
        try
        {
            await context.Response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
            context.Response.Close();
        }
        catch (HttpListenerException)
        {
            // the client went away
        }
    }

    /// <summary>/detector/api/&lt;version&gt;/{config,command,status}/… and /stream/api/&lt;version&gt;/config/mode.</summary>
    private async Task<(int, JsonNode?)> RouteAsync(string method, string path, string body)
    {
        var parts = path.Trim('/').Split('/');
        if (parts.Length < 5 || parts[1] != "api")
            return (404, Error($"no such resource {path}"));
        var (area, group, key) = (parts[0], parts[3], string.Join('/', parts[4..]));
        return (area, group, method) switch
        {
            ("detector", "config", "GET") => GetConfig(key),
            ("detector", "config", "PUT") => PutConfig(key, Value(body)),
            ("detector", "command", "PUT") => await CommandAsync(key).ConfigureAwait(false),
            ("detector", "status", "GET") => Status(key),
            ("stream", "config", "PUT") when key == "mode" => StreamMode(Value(body)),
            ("stream", "config", "GET") when key == "mode" => (200, new JsonObject { ["value"] = _streamEnabled ? "enabled" : "disabled" }),
            _ => (404, Error($"no such resource {method} {path}")),
        };
    }

    private (int, JsonNode?) GetConfig(string key)
    {
        lock (_lock)
            return _config.TryGetValue(key, out var value)
                ? (200, new JsonObject { ["value"] = value.DeepClone(), ["access_mode"] = Writable.Contains(key) ? "rw" : "r" })
                : (404, Error($"unknown config key {key}"));
    }

    private (int, JsonNode?) PutConfig(string key, JsonNode? value)
    {
        lock (_lock)
        {
            if (!_config.ContainsKey(key))
                return (404, Error($"unknown config key {key}"));
            if (!Writable.Contains(key))
                return (400, Error($"{key} is read-only"));
            if (_state != "idle")
                return (400, Error($"{key} cannot change while {_state}: disarm first"));
            if (value is null)
                return (400, Error($"{key}: the body must be {{\"value\": ...}}"));
            if (Check(key, value) is { } wrong)
                return (400, Error($"{key}: {wrong}"));
            _config[key] = value.DeepClone();
            return (200, new JsonArray(key));
        }
    }

    private string? Check(string key, JsonNode value)
    {
        try
        {
            switch (key)
            {
                case "nimages" or "ntrigger":
                    return value.GetValue<long>() >= 1 ? null : "must be >= 1";
                case "trigger_mode":
                    return value.GetValue<string>() is "ints" or "exts" or "inte" or "exte" ? null : "must be ints, exts, inte or exte";
                case "compression":
                    return value.GetValue<string>() == _compression ? null : $"this stand-in streams {_compression} (lima2 stream --encoding)";
                case "countrate_correction_applied":
                    value.GetValue<bool>();
                    return null;
                default:
                    return value.GetValue<double>() >= 0 ? null : "must be >= 0";
            }
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            return $"wrong type of value {value.ToJsonString()}";
        }
    }

    private (int, JsonNode?) Status(string key) => key switch
    {
        "state" => (200, new JsonObject { ["value"] = State }),
        "humidity" => (200, new JsonObject { ["value"] = 1.5 }),
        "temperature" => (200, new JsonObject { ["value"] = 24.0 }),
        "high_voltage/state" => (200, new JsonObject { ["value"] = "READY" }),
        _ => (404, Error($"unknown status key {key}")),
    };

    private string State
    {
        get
        {
            lock (_lock)
                return _state;
        }
    }

    private (int, JsonNode?) StreamMode(JsonNode? value)
    {
        var mode = value?.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;
        if (mode is not ("enabled" or "disabled"))
            return (400, Error("mode must be enabled or disabled"));
        lock (_lock)
            _streamEnabled = mode == "enabled";
        return (200, new JsonArray("mode"));
    }

    private async Task<(int, JsonNode?)> CommandAsync(string command)
    {
        switch (command)
        {
            case "arm":
                return Arm();
            case "trigger":
                Task images;
                lock (_lock)
                {
                    if (_state != "ready")
                        return (400, Error($"trigger needs the detector armed (state ready), it is {_state}"));
                    if (Mode is not ("ints" or "inte"))
                        return (400, Error($"trigger_mode {Mode} waits for external triggers"));
                    if (_triggers >= Long("ntrigger"))
                        return (400, Error("every trigger of the series has been sent"));
                    _triggers++;
                    images = QueueImages(Long("nimages"));
                }
                await images.ConfigureAwait(false);
                return (200, null);
            case "disarm" or "abort" or "cancel":
                await EndSeries().ConfigureAwait(false);
                return (200, null);
            default:
                return (404, Error($"unknown command {command}"));
        }
    }

    private (int, JsonNode?) Arm()
    {
        lock (_lock)
        {
            if (_state != "idle")
                return (400, Error($"arm needs state idle, it is {_state}: disarm first"));
            var series = ++_sequence;
            _series = new CancellationTokenSource();
            _state = "ready";
            _triggers = 0;
            _queued = 0;
            var total = Long("nimages") * Long("ntrigger");
            var stream = _streamEnabled;
            Enqueue(token =>
            {
                if (stream)
                    _streamer.SendHeader(series, total, token);
            });
            if (Mode is "exts" or "exte")
            {
                _triggers = Long("ntrigger");
                QueueImages(total);
            }
            _log.WriteLine($"SIMPLON armed series {series}: {total} images, {Mode}");
            return (200, new JsonObject { ["sequence id"] = series });
        }
    }

    /// <summary>Queues the next <paramref name="count"/> images of the series; the last one ends it. Under the lock.</summary>
    private Task QueueImages(long count)
    {
        var series = _sequence;
        var first = _queued;
        _queued += count;
        var total = Long("nimages") * Long("ntrigger");
        var stream = _streamEnabled;
        _state = "acquire";
        return Enqueue(token =>
        {
            for (var frame = first; frame < first + count && stream; frame++)
                _streamer.SendImage(series, frame, token);
            lock (_lock)
            {
                if (series != _sequence || first + count < total)
                {
                    if (series == _sequence && _state == "acquire")
                        _state = "ready";
                    return;
                }
            }
            EndNow(series, stream);
        });
    }

    /// <summary>disarm / abort: images still queued are dropped, the end message goes out if it has not.</summary>
    private Task EndSeries()
    {
        lock (_lock)
        {
            if (_state == "idle")
                return Task.CompletedTask;
            _series.Cancel();
            var series = _sequence;
            var stream = _streamEnabled;
            return Enqueue(_ => EndNow(series, stream), cancellable: false);
        }
    }

    private void EndNow(long series, bool stream)
    {
        lock (_lock)
        {
            if (series != _sequence || _state == "idle")
                return;
            _state = "idle";
        }
        // a receiver that stopped reading must not hold the detector: the end waits a few seconds at most
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            if (stream)
                _streamer.SendEnd(series, patience.Token);
            _log.WriteLine($"SIMPLON series {series} ended");
        }
        catch (OperationCanceledException)
        {
            _log.WriteLine($"SIMPLON series {series}: the end message found no receiver");
        }
    }

    /// <summary>Runs <paramref name="step"/> after the steps queued before it. Under the lock.</summary>
    private Task Enqueue(Action<CancellationToken> step, bool cancellable = true)
    {
        var token = cancellable ? _series.Token : CancellationToken.None;
        _chain = _chain.ContinueWith(_ =>
        {
            try
            {
                step(token);
            }
            catch (OperationCanceledException)
            {
                // aborted: the end step queued by the abort follows
            }
            catch (Exception e)
            {
                _log.WriteLine($"SIMPLON stream failed: {e.Message}");
                lock (_lock)
                    _state = "error";
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        return _chain;
    }

    private string Mode => _config["trigger_mode"].GetValue<string>();

    private long Long(string key) => _config[key].GetValue<long>();

    private static JsonNode? Value(string body)
    {
        var node = body.Length == 0 ? null : JsonNode.Parse(body);
        return node is JsonObject o && o.TryGetPropertyValue("value", out var value) ? value : null;
    }

    /// <summary>A value as it would come off the wire, so that GetValue converts between number types.</summary>
    private static JsonNode Json(object value) => JsonNode.Parse(JsonSerializer.Serialize(value))!;

    private static JsonObject Error(string message) => new() { ["error"] = message };

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        lock (_lock)
            _series.Cancel();
        _chain.Wait(TimeSpan.FromSeconds(5));
        _serving.Wait(TimeSpan.FromSeconds(5));
        _series.Dispose();
    }
}
