using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>One control and one receiver for the live view tests.</summary>
public sealed class LiveSystemFixture : IDisposable
{
    public Lima2System System { get; } = new(receivers: 1);

    public void Dispose() => System.Dispose();
}

/// <summary>
/// The live view as its users meet it: a Lima1 client (BLISS' decoder) reading video_last_image and a Jive/Taurus
/// user opening live_image, both from PyTango, compared with the frames saved in HDF5.
/// </summary>
public sealed class LiveViewTests(LiveSystemFixture fixture) : IClassFixture<LiveSystemFixture>
{
    private static string AcqJson(int frames, int width, int height) => $$$"""
        {"acq": {"nb_frames": {{{frames}}}, "expo_time": 100, "latency_time": 0, "trigger_mode": "internal"},
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
        Assert.Empty(before.GetProperty("live").EnumerateArray());

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

    private static long[] Longs(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt64()).ToArray();
}
