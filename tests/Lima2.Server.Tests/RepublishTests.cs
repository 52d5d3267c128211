using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>
/// A receiver device with the <c>publish</c> property (from the beamline YAML, through <c>--register</c>) feeds the
/// documented worker (examples/stream_worker) during an acquisition driven as the conductor does; PyTango reads the
/// publish counters, and the ROI statistics each frame carried equal those the conductor pops (popRoiStatistics).
/// </summary>
public sealed class RepublishTests
{
    private const int Frames = 40;

    [Fact]
    public void A_receiver_device_republishes_its_frames_to_a_worker_and_counts_them_in_attributes()
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var system = new Lima2System(receivers: 1,
            receiverSettings: $"publish: {{endpoint: \"{endpoint}\", socket: push, format: maxiv, compression: bslz4, queue_frames: 64}}");
        var output = Path.Combine(system.Root, "worker.h5");
        var results = Path.Combine(system.Root, "results.json");
        using var worker = ChildProcess.Start(Python.Interpreter,
            [Path.Combine(RepoPaths.Root, "examples", "stream_worker", "stream_worker.py"), endpoint, "--out", output, "--results", results, "--timeout", "60"],
            new Dictionary<string, string?> { ["HDF5_USE_FILE_LOCKING"] = "FALSE" });
        worker.WaitForOutput("ready", TimeSpan.FromSeconds(30));

        var s = system.Run($$$"""
            {"acq": {"nb_frames": {{{Frames}}}, "expo_time": 1000, "latency_time": 0, "trigger_mode": "internal"},
             "det": {"image_source": "generator", "generator": {"type": "gauss", "pixel_type": "gray16", "width": 64, "height": 48} } }
            """, $$$"""
            {"class_name": "LimaProcessingLegacy",
             "saving": {"enabled": true, "base_path": "{{{system.Root}}}/data", "filename_prefix": "pub", "nb_frames_per_file": 16,
                        "compression": "bshuf_lz4", "file_exists_policy": "abort"},
             "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 8, "y": 4}, "dimensions": {"x": 40, "y": 30}}]}}
            """, "publish");
        Assert.False(s.GetProperty("failed").GetBoolean(), s.ToString());
        Assert.True(worker.WaitForExit(TimeSpan.FromSeconds(60)) == 0, worker.Output);
        var result = JsonDocument.Parse(worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{'))).RootElement;
        Assert.Equal(Frames, result.GetProperty("frames").GetInt32());
        Assert.Equal(0, result.GetProperty("missing").GetArrayLength());

        var counters = JsonDocument.Parse(Python.Eval($$"""
            import json, tango
            r = tango.DeviceProxy("{{system.Receivers[0]}}")
            print(json.dumps({"published": r.nb_frames_published, "dropped": r.nb_frames_publish_dropped,
                              "drops": list(r.publish_drops or []), "property": r.get_property("publish")["publish"][0]}))
            """, EmbeddedTangoDb.Environment).Trim()).RootElement;
        Assert.Equal(Frames, counters.GetProperty("published").GetInt64() + counters.GetProperty("dropped").GetInt64());
        Assert.Equal(result.GetProperty("received").GetInt64(), counters.GetProperty("published").GetInt64());
        Assert.Equal(result.GetProperty("filled").GetInt64(), counters.GetProperty("dropped").GetInt64());
        Assert.Contains("\"maxiv\"", counters.GetProperty("property").GetString());

        // every frame's ROI sum, with the frame or made from the files, is the row popRoiStatistics served
        var popped = s.GetProperty("roi_sums").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        var carried = JsonDocument.Parse(File.ReadAllText(results)).RootElement.EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetProperty("roi_statistics")[0].GetProperty("sum").GetDouble());
        Assert.Equal(Frames, popped.Count);
        Assert.Equal(popped.OrderBy(p => p.Key), carried.OrderBy(p => p.Key));
    }
}
