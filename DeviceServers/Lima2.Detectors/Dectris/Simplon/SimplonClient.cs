using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Lima2.Detectors.Dectris.Simplon;

/// <summary>A SIMPLON request the detector refused or did not answer: names the key or command and the HTTP status.</summary>
public sealed class SimplonException(string what, HttpStatusCode? status, string message, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The config key, status key or command, e.g. <c>config/nimages</c> or <c>command/arm</c>.</summary>
    public string What { get; } = what;

    /// <summary>The HTTP status, or null when the detector did not answer.</summary>
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>What a DECTRIS detector says about itself (config keys read once at Prepare).</summary>
public sealed record SimplonDescription(
    string Description, string DetectorNumber, double XPixelSize, double YPixelSize, int Width, int Height, int BitDepthImage);

/// <summary>
/// The subset of the DECTRIS SIMPLON REST API that the control device drives: detector config, arm / trigger /
/// disarm / abort, the detector state, and the stream interface's mode. Values travel as <c>{"value": ...}</c>.
/// </summary>
public sealed class SimplonClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _version;
    private readonly TimeSpan _timeout;

    /// <param name="baseUrl">the detector control unit, e.g. <c>http://dcu:80</c></param>
    /// <param name="version">the API version in the paths, e.g. <c>1.8.0</c></param>
    /// <param name="timeout">how long a request may take (arm included), except trigger: 10 s by default</param>
    public SimplonClient(Uri baseUrl, string version = "1.8.0", TimeSpan? timeout = null)
    {
        // per request: a trigger lasts as long as its images take
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = Timeout.InfiniteTimeSpan };
        _version = version;
        _timeout = timeout ?? TimeSpan.FromSeconds(10);
    }

    public Uri BaseUrl => _http.BaseAddress!;

    /// <summary>Sets one detector config key; returns the keys the detector changed as a consequence.</summary>
    public async Task<IReadOnlyList<string>> SetConfigAsync(string key, object value, CancellationToken token = default)
    {
        var body = await SendAsync(HttpMethod.Put, $"detector/api/{_version}/config/{key}", $"config/{key}", new { value }, token).ConfigureAwait(false);
        return body is JsonArray changed ? changed.Select(k => k?.GetValue<string>() ?? "").ToList() : [];
    }

    /// <summary>Reads one detector config key's value.</summary>
    public async Task<JsonNode?> GetConfigAsync(string key, CancellationToken token = default) =>
        Value(await SendAsync(HttpMethod.Get, $"detector/api/{_version}/config/{key}", $"config/{key}", null, token).ConfigureAwait(false), $"config/{key}");

    /// <summary>Arms the detector (the stream's header goes out); returns the series' sequence id.</summary>
    public async Task<long> ArmAsync(CancellationToken token = default)
    {
        var body = await CommandAsync("arm", token).ConfigureAwait(false);
        return body?["sequence id"]?.GetValue<long>()
               ?? throw new SimplonException("command/arm", HttpStatusCode.OK, $"{BaseUrl} command/arm: the answer has no sequence id: {body?.ToJsonString()}");
    }

    /// <summary>One software trigger; on a real detector it returns once the trigger's images are taken (no timeout).</summary>
    public Task TriggerAsync(CancellationToken token = default) =>
        SendAsync(HttpMethod.Put, $"detector/api/{_version}/command/trigger", "command/trigger", null, token, timeout: false);

    /// <summary>Ends the series: the detector sends the stream's end message.</summary>
    public Task DisarmAsync(CancellationToken token = default) => CommandAsync("disarm", token);

    /// <summary>Stops at once, images in flight are lost; the series ends.</summary>
    public Task AbortAsync(CancellationToken token = default) => CommandAsync("abort", token);

    /// <summary>The detector state: na, idle, ready, acquire, configure, initialize, error.</summary>
    public async Task<string> StateAsync(CancellationToken token = default) =>
        (await GetStatusAsync("state", token).ConfigureAwait(false))?.GetValue<string>() ?? "na";

    /// <summary>One detector status key, e.g. <c>state</c>, <c>humidity</c>, <c>temperature</c>, <c>high_voltage/state</c>.</summary>
    public async Task<JsonNode?> GetStatusAsync(string key, CancellationToken token = default) =>
        Value(await SendAsync(HttpMethod.Get, $"detector/api/{_version}/status/{key}", $"status/{key}", null, token).ConfigureAwait(false), $"status/{key}");

    /// <summary>Turns the ZMQ stream interface on or off.</summary>
    public Task EnableStreamAsync(bool enabled = true, CancellationToken token = default) =>
        SendAsync(HttpMethod.Put, $"stream/api/{_version}/config/mode", "stream config/mode", new { value = enabled ? "enabled" : "disabled" }, token);

    /// <summary>Model, serial number, pixel size (m), sensor size (pixels) and image bit depth.</summary>
    public async Task<SimplonDescription> DescribeAsync(CancellationToken token = default)
    {
        async Task<JsonNode> Get(string key) => await GetConfigAsync(key, token).ConfigureAwait(false)
                                                ?? throw new SimplonException($"config/{key}", HttpStatusCode.OK, $"{BaseUrl} config/{key}: no value");
        return new SimplonDescription(
            (await Get("description")).GetValue<string>(),
            (await Get("detector_number")).GetValue<string>(),
            (await Get("x_pixel_size")).GetValue<double>(),
            (await Get("y_pixel_size")).GetValue<double>(),
            (await Get("x_pixels_in_detector")).GetValue<int>(),
            (await Get("y_pixels_in_detector")).GetValue<int>(),
            (await Get("bit_depth_image")).GetValue<int>());
    }

    private Task<JsonNode?> CommandAsync(string command, CancellationToken token) =>
        SendAsync(HttpMethod.Put, $"detector/api/{_version}/command/{command}", $"command/{command}", null, token);

    private static JsonNode? Value(JsonNode? body, string what) =>
        body is JsonObject o && o.TryGetPropertyValue("value", out var value)
            ? value
            : throw new SimplonException(what, HttpStatusCode.OK, $"{what}: the answer has no value: {body?.ToJsonString()}");

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, string what, object? body, CancellationToken token,
        bool timeout = true)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = JsonContent.Create(body);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
        if (timeout)
            limit.CancelAfter(_timeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, limit.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !token.IsCancellationRequested)
        {
            var why = e is TaskCanceledException ? $"no answer within {_timeout.TotalSeconds:0.#} s" : e.Message;
            throw new SimplonException(what, null, $"detector {BaseUrl} did not answer {what}: {why}", e);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(limit.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new SimplonException(what, response.StatusCode,
                    $"detector {BaseUrl} refused {what}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}{(text.Length > 0 ? $": {text.Trim()}" : "")}");
            try
            {
                return text.Length == 0 ? null : JsonNode.Parse(text);
            }
            catch (JsonException e)
            {
                throw new SimplonException(what, response.StatusCode, $"detector {BaseUrl} {what}: the answer is not JSON: {e.Message}", e);
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
