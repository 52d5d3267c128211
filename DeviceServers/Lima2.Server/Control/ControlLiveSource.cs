using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.LiveView;
using Tango.Client;

namespace Lima2.Server.Control;

/// <summary>
/// The whole detector as the control's live view shows it, gathered from the receivers' own live views: their
/// counters summed (and listed, with their states), and the newest frame of any receiver, relayed with its ROIs and
/// peaks. A receiver without a live view (live_port -1) or that does not answer is listed with state "unknown".
/// </summary>
public sealed class ControlLiveSource(string name, ControlLogic logic, IReadOnlyList<string> receivers) : ILiveSource, IDisposable
{
    private static readonly TimeSpan UrlRetry = TimeSpan.FromSeconds(5);

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly (string Url, DateTime Asked)[] _urls = [.. receivers.Select(_ => ("", DateTime.MinValue))];
    private LivePart[] _parts = [];
    private FrameOverlay _overlay = new(-1, LiveOverlay.None);

    public string Name { get; } = name;

    public LiveCounters ReadCounters()
    {
        var statuses = receivers.Select(Status).ToArray();
        var parts = statuses.Select((s, rank) => s is { } j
            ? new LivePart(receivers[rank], j.GetProperty("state").GetString()!, Long(j, "nb_frames_received"), Long(j, "nb_frames_processed"),
                Long(j, "nb_frames_saved"), Long(j, "nb_frames_dropped"), Long(j, "last_frame"), _urls[rank].Url)
            : new LivePart(receivers[rank], "unknown", 0, 0, 0, 0, -1, _urls[rank].Url)).ToArray();
        Volatile.Write(ref _parts, parts);
        var answered = statuses.OfType<JsonElement>().ToArray();
        var rois = new double[answered.Length == 0 ? 0 : answered.Max(j => j.GetProperty("roi_sums").GetArrayLength())];
        foreach (var j in answered)
        {
            var i = 0;
            foreach (var sum in j.GetProperty("roi_sums").EnumerateArray())
                rois[i++] += sum.GetDouble();
        }
        var processed = parts.Sum(p => p.Processed);
        var hits = answered.Sum(j => Long(j, "nb_hits"));
        return new LiveCounters(logic.State.ToString().ToLowerInvariant(), logic.Uuid ?? "",
            parts.Sum(p => p.Received), processed, parts.Sum(p => p.Saved), parts.Sum(p => p.Dropped),
            answered.Sum(j => Long(j, "saved_bytes")), hits, processed > 0 ? (double)hits / processed : 0, rois,
            parts.Max(p => (long?)p.LastFrame) ?? -1, parts);
    }

    /// <summary>The newest frame among the receivers' (as their last samples said), fetched from its receiver.</summary>
    public bool TryGetLatestFrame([MaybeNullWhen(false)] out Frame frame)
    {
        frame = null;
        var newest = Volatile.Read(ref _parts).Where(p => p.Url.Length > 0 && p.LastFrame >= 0).MaxBy(p => p.LastFrame);
        if (newest is null)
            return false;
        using var response = _http.GetAsync($"{newest.Url}last_frame").GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode)
            return false;
        var body = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        var length = BinaryPrimitives.ReadInt32LittleEndian(body);
        var header = JsonDocument.Parse(body.AsMemory(4, length)).RootElement;
        var shape = header.GetProperty("shape");
        if (!PixelTypes.TryParseDtypeName(header.GetProperty("type").GetString()!, out var type))
            throw new InvalidDataException($"{newest.Url}last_frame: unknown pixel type {header.GetProperty("type")}");
        var info = new FrameInfo(shape[1].GetInt32(), shape[0].GetInt32(), type);
        var index = Long(header, "frame");
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        Volatile.Write(ref _overlay, new FrameOverlay(index, new LiveOverlay(
            header.GetProperty("rects").Deserialize<RectShape[]>(options)!,
            header.GetProperty("arcs").Deserialize<ArcShape[]>(options)!,
            header.GetProperty("peaks").Deserialize<PeakMark[]>(options)!)));
        frame = new Frame(PooledBuffer.Unpooled(body[(4 + length)..]), info, index, 0);
        return true;
    }

    public LiveOverlay Overlay(long frameIndex) => Volatile.Read(ref _overlay) is var (frame, overlay) && frame == frameIndex ? overlay : LiveOverlay.None;

    /// <summary>What to draw over the frame last relayed.</summary>
    private sealed record FrameOverlay(long Frame, LiveOverlay Overlay);

    /// <summary>A receiver's /status, or null when it has no live view or does not answer.</summary>
    private JsonElement? Status(string receiver, int rank)
    {
        var url = Url(receiver, rank);
        if (url.Length == 0)
            return null;
        try
        {
            return JsonDocument.Parse(_http.GetStringAsync($"{url}status").GetAwaiter().GetResult()).RootElement;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // listed as unknown until it answers again; its live_url asked again (restarted, it may have a new port)
            _urls[rank] = ("", DateTime.UtcNow);
            return null;
        }
    }

    /// <summary>The receiver's live_url, asked again every few seconds while it has none (not started yet).</summary>
    private string Url(string receiver, int rank)
    {
        var (url, asked) = _urls[rank];
        if (url.Length > 0 || DateTime.UtcNow - asked < UrlRetry)
            return url;
        try
        {
            using var proxy = new DeviceProxy(receiver);
            url = proxy.Read<string>("live_url");
        }
        catch (Tango.DevFailedException)
        {
            url = "";
        }
        _urls[rank] = (url, DateTime.UtcNow);
        return url;
    }

    private static long Long(JsonElement json, string name) => json.GetProperty(name).GetInt64();

    public void Dispose() => _http.Dispose();
}
