using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lima2.TestSupport;
using Tango.Client;

namespace Lima2.Server.Tests;

/// <summary>One control and one receiver with a live view on a free port, for the live view tests.</summary>
public sealed class LiveSystemFixture : IDisposable
{
    public Lima2System System { get; } = new(receivers: 1, receiverSettings: "live_port: 0");

    public void Dispose() => System.Dispose();
}

/// <summary>
/// The live view as its users meet it: a Lima1 client (BLISS' decoder) reading video_last_image and a Jive/Taurus
/// user opening live_image, both from PyTango; the web page in a real headless browser (Debian's chromium) during
/// an acquisition; /last_frame, /status and /metrics over HTTP; all compared with the frames saved in HDF5.
/// </summary>
public sealed class LiveViewTests(LiveSystemFixture fixture) : IClassFixture<LiveSystemFixture>
{
    internal static string AcqJson(int frames, int width, int height, int expoUs = 100) => $$$"""
        {"acq": {"nb_frames": {{{frames}}}, "expo_time": {{{expoUs}}}, "latency_time": 0, "trigger_mode": "internal"},
         "det": {"image_source": "generator",
                 "generator": {"type": "diffraction", "pixel_type": "gray16", "width": {{{width}}}, "height": {{{height}}},
                               "diffraction": {"nb_bragg_peaks": 6, "bragg_intensity_min": 3000, "bragg_intensity_max": 6000,
                                               "rings": [], "seed": 11} } } }
        """;

    private string LegacyJson(string prefix) => $$"""
        {"class_name": "LimaProcessingLegacy",
         "saving": {"enabled": true, "base_path": "{{fixture.System.Root}}/data", "filename_prefix": "{{prefix}}",
                    "nb_frames_per_file": 100, "file_exists_policy": "abort"} }
        """;

    [Fact]
    public void Video_last_image_decodes_as_Lima1s_header_and_holds_the_saved_frames_pixels()
    {
        var sys = fixture.System;
        var (acq, proc) = sys.WriteParams("video", AcqJson(10, 128, 96), LegacyJson("video"));
        var r = JsonDocument.Parse(sys.Python3("live_video.py", sys.Control, sys.Receivers[0], acq, proc)).RootElement;

        // prepared, before its first frame: Lima1's "no image yet", frame -1 and 0x0; an empty IMAGE
        var before = r.GetProperty("before");
        Assert.Equal("VIDEO_IMAGE", before.GetProperty("format").GetString());
        Assert.Equal([0x5644454F, 1, 0, -1, 0, 0, 0, 32, 0, 0], Longs(before.GetProperty("header")));
        Assert.Equal(0, before.GetProperty("live").GetArrayLength());

        // after: the newest frame (9), Y16, 128 x 96, equal pixel for pixel to the frame saved in HDF5
        var after = r.GetProperty("after");
        var header = Longs(after.GetProperty("header"));
        Assert.Equal([0x5644454F, 1, 1, 9, 128, 96, 0, 32, 0, 0], header);
        var saved = Longs(JsonDocument.Parse(Python.Eval($$"""
            import h5py, json
            with h5py.File("{{sys.Root}}/data/video_0_00000.h5", "r") as f:
                print(json.dumps(f["entry_0000/measurement/data"][9].ravel().tolist()))
            """)).RootElement);
        Assert.Equal(128 * 96, saved.Length);
        Assert.Contains(saved, v => v > 0);
        Assert.Equal(saved, Longs(after.GetProperty("pixels")));

        // live_image: a frame within 1024 x 1024 is shown as it is, as float32
        Assert.Equal([96, 128], Longs(after.GetProperty("live_shape")));
        Assert.Equal("float32", after.GetProperty("live_dtype").GetString());
        Assert.Equal(saved, after.GetProperty("live").EnumerateArray().Select(e => (long)e.GetDouble()).ToArray());
    }

    [Fact]
    public void Live_image_of_a_frame_larger_than_1024_px_is_the_block_maximum_of_the_full_frame()
    {
        var sys = fixture.System;
        var (acq, proc) = sys.WriteParams("bigvideo", AcqJson(2, 1501, 1030), """{"class_name": "LimaProcessingLegacy"}""");
        var output = Path.Combine(sys.Root, "bigvideo.json");
        File.WriteAllText(output, sys.Python3("live_video.py", sys.Control, sys.Receivers[0], acq, proc));
        // the block maximum computed by numpy over the full frame video_last_image gave
        var check = JsonDocument.Parse(Python.Eval($$"""
            import json
            import numpy as np
            after = json.load(open("{{output}}"))["after"]
            full = np.array(after["pixels"], np.float32).reshape(1030, 1501)
            factor = 2  # the smallest that fits 1501 x 1030 (the last column of blocks is half a block) within 1024 x 1024
            padded = np.zeros((515 * factor, 751 * factor), np.float32)
            padded[:1030, :1501] = full
            expected = padded.reshape(515, factor, 751, factor).max(axis=(1, 3))
            live = np.array(after["live"], np.float32).reshape(after["live_shape"])
            print(json.dumps({"shape": list(live.shape), "equal": bool((live == expected).all()),
                              "peaks": int((full > 2000).sum()), "frame": after["header"][3]}))
            """)).RootElement;
        Assert.Equal([515, 751], Longs(check.GetProperty("shape")));
        Assert.True(check.GetProperty("equal").GetBoolean(), check.ToString());
        Assert.True(check.GetProperty("peaks").GetInt32() > 0, check.ToString());
        Assert.Equal(1, check.GetProperty("frame").GetInt64());
    }

    private string SmxJson(string prefix) => $$"""
        {"class_name": "LimaProcessingSmx",
         "fifo": {"nb_fifo_frames": 32, "nb_threads": 1},
         "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 20, "y": 30}, "dimensions": {"x": 60, "y": 40} } ],
                        "arc_rois": [{"center": {"x": 128, "y": 128}, "r1": 40, "r2": 70, "a1": 0, "a2": 120}]},
         "fai": {"cutoff_pick": 5, "min_nb_peaks": 1, "error_model": "poisson", "nb_bins": 8},
         "saving_dense": {"enabled": true, "base_path": "{{fixture.System.Root}}/data", "filename_prefix": "{{prefix}}",
                          "nb_frames_per_file": 1000, "file_exists_policy": "abort"} }
        """;

    [Fact]
    public async Task The_live_page_in_a_headless_browser_shows_the_running_acquisitions_frame_and_counters_that_move()
    {
        var sys = fixture.System;
        using var receiver = new DeviceProxy(sys.Receivers[0]);
        var url = receiver.Read<string>("live_url");
        Assert.StartsWith("http://127.0.0.1:", url); // the host of the server's ORBendPoint (loopback in tests)
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(20) };

        // an endless run of 256 x 256 frames at 40 frames/s, stopped once the page has been seen
        var (acq, proc) = sys.WriteParams("page", AcqJson(0, 256, 256, expoUs: 25000), SmxJson("page"));
        sys.Python3("start_only.py", sys.Control, sys.Receivers[0], acq, proc);
        WaitFor(() => Status(http).GetProperty("nb_frames_processed").GetInt64() >= 10, "frames to be processed");

        using (var browser = await HeadlessChromium.OpenAsync(url, 1100, 700))
        {
            // the page drew a frame and hears its pushed updates: its counters move without a reload
            var seen = TimeSpan.FromSeconds(60);
            await browser.WaitForAsync("+document.getElementById('frame').dataset.frame >= 0", seen, "a frame");
            await browser.WaitForAsync("+document.getElementById('updates').textContent >= 2", seen, "two pushed updates");
            Assert.Equal("running", await browser.TextAsync("state"));
            var before = long.Parse(await browser.TextAsync("processed"), CultureInfo.InvariantCulture);
            await browser.WaitForAsync($"+document.getElementById('processed').textContent > {before}", seen, "the processed counter move");
            await browser.WaitForAsync("+document.getElementById('frame-rate').textContent > 0", seen, "a frame rate");
            // the frame shown is a newer one some time later
            var firstFrame = (await browser.EvaluateAsync("+document.getElementById('frame').dataset.frame")).GetInt64();
            await browser.WaitForAsync($"+document.getElementById('frame').dataset.frame > {firstFrame}", seen, "a newer frame");
            await browser.WaitForAsync("+document.getElementById('peak-count').textContent > 0", seen, "peaks marked");

            // the frame's region of the screenshot shows the colour map, not a blank canvas: most of its 512 x 512 pixels
            var screenshot = Path.Combine(AppContext.BaseDirectory, "live-view.png");
            File.WriteAllBytes(screenshot, await browser.ScreenshotAsync());
            var pixels = JsonDocument.Parse(Python.Eval($$"""
                import json
                from PIL import Image
                image = Image.open("{{screenshot}}").convert("RGB")
                left = image.crop((0, 0, 560, image.height))
                colourful = sum(1 for r, g, b in left.getdata() if max(r, g, b) - min(r, g, b) > 40)
                print(json.dumps({"size": list(image.size), "colourful": colourful}))
                """)).RootElement;
            Assert.True(pixels.GetProperty("colourful").GetInt32() > 512 * 512 / 2, pixels.ToString());
        }

        using (var control = new DeviceProxy(sys.Control))
            control.Command("Stop");
        receiver.Command("Stop");
        WaitFor(() => Status(http).GetProperty("state").GetString() == "idle", "the run to end");
        var status = Status(http);
        var frames = status.GetProperty("nb_frames_processed").GetInt64();
        Assert.Equal(frames, status.GetProperty("nb_frames_saved").GetInt64());
        Assert.True(status.GetProperty("history").GetArrayLength() > 10, status.ToString());

        // /last_frame: every pixel of the newest frame, equal to the one saved, and the ROIs and peaks to draw over it
        var (header, served) = Split(await http.GetByteArrayAsync("last_frame"));
        var frame = header.GetProperty("frame").GetInt64();
        Assert.Equal(status.GetProperty("last_frame").GetInt64(), frame);
        Assert.Equal("uint16", header.GetProperty("type").GetString());
        Assert.Equal([256, 256], Longs(header.GetProperty("shape")));
        Assert.Equal(1, header.GetProperty("downsample").GetInt32());
        Assert.Equal("""[{"x":20,"y":30,"width":60,"height":40}]""", header.GetProperty("rects").GetRawText());
        Assert.Equal("""[{"x":128,"y":128,"r1":40,"r2":70,"a1":0,"a2":120}]""", header.GetProperty("arcs").GetRawText());
        Assert.NotEqual(0, header.GetProperty("peaks").GetArrayLength());
        var saved = Longs(JsonDocument.Parse(Python.Eval($$"""
            import h5py, json
            file, row = divmod({{frame}}, 1000)  # nb_frames_per_file
            with h5py.File("{{sys.Root}}/data/page_0_%05d.h5" % file, "r") as f:
                print(json.dumps(f["entry_0000/measurement/data"][row].ravel().tolist()))
            """)).RootElement);
        Assert.Equal(saved, served.Select(v => (long)v).ToArray());

        // /metrics: Prometheus' text format, every sample under its HELP and TYPE, the run's counts
        var metrics = ParsePrometheus(await http.GetStringAsync("metrics"));
        var device = $"device=\"{sys.Receivers[0]}\"";
        // (a Stop counts the frame it cut short as dropped: every frame accounted for)
        foreach (var counter in new[] { "received", "processed", "saved", "dropped" })
            Assert.Equal(status.GetProperty($"nb_frames_{counter}").GetInt64(), metrics[$"lima2_frames_{counter}_total{{{device}}}"]);
        Assert.Equal(status.GetProperty("nb_frames_received").GetInt64(), frames + status.GetProperty("nb_frames_dropped").GetInt64());
        Assert.True(metrics[$"lima2_saved_bytes_total{{{device}}}"] > 0);
        Assert.Equal(1, metrics[$"lima2_acq_state{{{device},state=\"idle\"}}"]);
        Assert.Equal(0, metrics[$"lima2_acq_state{{{device},state=\"running\"}}"]);
    }

    [Fact]
    public async Task Last_frame_shrinks_to_max_size_by_block_maximum_and_refuses_bad_parameters()
    {
        var sys = fixture.System;
        using var receiver = new DeviceProxy(sys.Receivers[0]);
        using var http = new HttpClient { BaseAddress = new Uri(receiver.Read<string>("live_url")), Timeout = TimeSpan.FromSeconds(20) };
        var (acq, proc) = sys.WriteParams("shrink", AcqJson(3, 300, 200), """{"class_name": "LimaProcessingLegacy"}""");
        var run = sys.Python3("start_only.py", sys.Control, sys.Receivers[0], acq, proc).Trim();
        WaitFor(() => Status(http) is var s && s.GetProperty("run").GetString() == run && s.GetProperty("state").GetString() == "idle", "the run to end");

        var (fullHeader, full) = Split(await http.GetByteArrayAsync("last_frame"));
        var (smallHeader, small) = Split(await http.GetByteArrayAsync("last_frame?max_size=64"));
        Assert.Equal(2, fullHeader.GetProperty("frame").GetInt64());
        Assert.Equal([200, 300], Longs(fullHeader.GetProperty("shape")));
        // 300 x 200 within 64 x 64: factor 5, 60 x 40
        Assert.Equal(5, smallHeader.GetProperty("downsample").GetInt32());
        Assert.Equal([40, 60], Longs(smallHeader.GetProperty("shape")));
        for (var y = 0; y < 40; y++)
            for (var x = 0; x < 60; x++)
            {
                ushort max = 0;
                for (var dy = 0; dy < 5; dy++)
                    for (var dx = 0; dx < 5; dx++)
                        max = Math.Max(max, full[(5 * y + dy) * 300 + 5 * x + dx]);
                Assert.Equal(max, small[y * 60 + x]);
            }

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await http.GetAsync("last_frame?downsample=0")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await http.GetAsync("last_frame?max_size=big")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("nothing_here")).StatusCode);
    }

    /// <summary>A /last_frame body of uint16 pixels: its JSON header and its pixels.</summary>
    internal static (JsonElement Header, ushort[] Pixels) Split(byte[] body)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(body);
        var header = JsonDocument.Parse(body.AsMemory(4, length)).RootElement.Clone();
        var shape = Longs(header.GetProperty("shape"));
        var pixels = new ushort[shape[0] * shape[1]];
        Assert.Equal(4 + length + pixels.Length * 2, body.Length);
        Buffer.BlockCopy(body, 4 + length, pixels, 0, pixels.Length * 2);
        return (header, pixels);
    }

    internal static JsonElement Status(HttpClient http) =>
        JsonDocument.Parse(http.GetStringAsync("status").GetAwaiter().GetResult()).RootElement.Clone();

    /// <summary>Samples by name and labels (<c>name{labels}</c>); fails on a line that is neither a sample nor a HELP or
    /// TYPE comment, and on a sample whose metric has no HELP and TYPE before it.</summary>
    internal static Dictionary<string, double> ParsePrometheus(string text)
    {
        var described = new HashSet<string>();
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Regex.Match(line, @"^# (HELP|TYPE) (\w+) (.+)$") is { Success: true } comment)
            {
                if (comment.Groups[1].Value == "TYPE")
                    Assert.Contains(comment.Groups[3].Value, new[] { "counter", "gauge" });
                described.Add($"{comment.Groups[1].Value} {comment.Groups[2].Value}");
                continue;
            }
            var sample = Regex.Match(line, @"^(\w+)(\{[^}]*\}) (\S+)$");
            Assert.True(sample.Success, $"not a sample: {line}");
            var name = sample.Groups[1].Value;
            Assert.Contains($"HELP {name}", described);
            Assert.Contains($"TYPE {name}", described);
            samples[name + sample.Groups[2].Value] = double.Parse(sample.Groups[3].Value, CultureInfo.InvariantCulture);
        }
        return samples;
    }

    internal static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"waited 60 s for {what}");
            Thread.Sleep(100);
        }
    }

    internal static long[] Longs(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();
}

/// <summary>One control and two receivers, each with a live view on a free port.</summary>
public sealed class ControlLiveSystemFixture : IDisposable
{
    public Lima2System System { get; } = new(receivers: 2, beamlineSettings: "live_port: 0", receiverSettings: "live_port: 0");

    public void Dispose() => System.Dispose();
}

/// <summary>The control's live view of the whole detector, gathered from its receivers' live views.</summary>
public sealed class ControlLiveViewTests(ControlLiveSystemFixture fixture) : IClassFixture<ControlLiveSystemFixture>
{
    [Fact]
    public async Task The_controls_live_page_shows_the_whole_detector_each_receiver_and_the_newest_frame_of_either()
    {
        var sys = fixture.System;
        using var control = new DeviceProxy(sys.Control);
        var url = control.Read<string>("live_url");
        Assert.StartsWith("http://127.0.0.1:", url);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(20) };
        var receiverHttp = sys.Receivers.Select(r =>
        {
            using var receiver = new DeviceProxy(r);
            return new HttpClient { BaseAddress = new Uri(receiver.Read<string>("live_url")), Timeout = TimeSpan.FromSeconds(20) };
        }).ToArray();
        try
        {
            var (acq, proc) = sys.WriteParams("whole", LiveViewTests.AcqJson(40, 128, 96), """
                {"class_name": "LimaProcessingLegacy",
                 "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 8, "y": 4}, "dimensions": {"x": 40, "y": 30}}]}}
                """);
            var run = sys.Python3("start_only.py", sys.Control, string.Join(",", sys.Receivers), acq, proc).Trim();
            LiveViewTests.WaitFor(() => LiveViewTests.Status(http) is var s && s.GetProperty("run").GetString() == run
                && s.GetProperty("nb_frames_processed").GetInt64() == 40 && s.GetProperty("receivers").EnumerateArray().All(r => r.GetProperty("state").GetString() == "idle"),
                "the control's view to count the run's 40 frames");

            // the whole detector: the receivers' counters summed, each receiver listed with its state and its page
            var status = LiveViewTests.Status(http);
            var parts = receiverHttp.Select(LiveViewTests.Status).ToArray();
            Assert.Equal([20, 20], parts.Select(p => p.GetProperty("nb_frames_processed").GetInt64()));
            var listed = status.GetProperty("receivers").EnumerateArray().ToArray();
            Assert.Equal(sys.Receivers, listed.Select(r => r.GetProperty("device").GetString()));
            Assert.Equal(receiverHttp.Select(h => h.BaseAddress!.ToString()), listed.Select(r => r.GetProperty("url").GetString()));
            foreach (var counter in new[] { "nb_frames_received", "nb_frames_processed", "nb_frames_saved", "nb_frames_dropped" })
                Assert.Equal(parts.Sum(p => p.GetProperty(counter).GetInt64()), status.GetProperty(counter).GetInt64());
            Assert.Equal(parts[0].GetProperty("roi_sums")[0].GetDouble() + parts[1].GetProperty("roi_sums")[0].GetDouble(),
                status.GetProperty("roi_sums")[0].GetDouble());

            // the newest frame of either receiver: 39, receiver 1's, every pixel, with the ROI to draw
            var (header, pixels) = LiveViewTests.Split(await http.GetByteArrayAsync("last_frame"));
            var (ownHeader, ownPixels) = LiveViewTests.Split(await receiverHttp[1].GetByteArrayAsync("last_frame"));
            Assert.Equal(39, header.GetProperty("frame").GetInt64());
            Assert.Equal(39, ownHeader.GetProperty("frame").GetInt64());
            Assert.Equal(ownPixels, pixels);
            Assert.Equal("""[{"x":8,"y":4,"width":40,"height":30}]""", header.GetProperty("rects").GetRawText());

            var metrics = LiveViewTests.ParsePrometheus(await http.GetStringAsync("metrics"));
            Assert.Equal(40, metrics[$"lima2_frames_processed_total{{device=\"{sys.Control}\"}}"]);

            // the page: the frame drawn and a row per receiver with its state
            using var browser = await HeadlessChromium.OpenAsync(url, 1400, 800);
            var seen = TimeSpan.FromSeconds(60);
            await browser.WaitForAsync("+document.getElementById('frame').dataset.frame === 39", seen, "frame 39");
            await browser.WaitForAsync("document.querySelectorAll('#receivers tbody tr').length === 2", seen, "two receivers");
            var rows = await browser.EvaluateAsync("[...document.querySelectorAll('#receivers tbody tr')].map(r => [r.cells[0].textContent, r.cells[1].textContent, r.cells[3].textContent])");
            Assert.Equal($"[[\"{sys.Receivers[0]}\",\"idle\",\"20\"],[\"{sys.Receivers[1]}\",\"idle\",\"20\"]]", rows.GetRawText());
            Assert.Equal("40", await browser.TextAsync("processed"));
            File.WriteAllBytes(Path.Combine(AppContext.BaseDirectory, "live-view-control.png"), await browser.ScreenshotAsync());
        }
        finally
        {
            foreach (var h in receiverHttp)
                h.Dispose();
        }
    }
}
