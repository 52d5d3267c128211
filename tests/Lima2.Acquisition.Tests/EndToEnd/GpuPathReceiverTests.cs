using System.Text.Json;
using Lima2.PeakFinding;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.EndToEnd;

/// <summary>
/// An SMX receiver on the GPU path, run on PoCL: frames kept in the device's driver-pinned memory from the channel on,
/// copied to the device with several frames in flight, the commit waiting for each frame's results in order.
/// </summary>
public sealed class GpuPathReceiverTests : IDisposable
{
    private const int Frames = 16;
    private readonly string _folder = Directory.CreateTempSubdirectory("gpu-path-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Settings(string prefix, bool copies) => $$"""
        {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "64MiB", "saving_root": "{{_folder}}",
                      "peak_finder": "opencl", "peak_finder_copies_frames": {{(copies ? "true" : "false")}} },
         "acq_params": {"acq": {"nb_frames": {{Frames}}, "expo_time": 1000},
                        "det": {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 128, "height": 96,
                                "diffraction": {"nb_bragg_peaks": 8, "bragg_intensity_min": 100, "bragg_intensity_max": 400, "rings": [], "seed": 11} } } },
         "proc_params": {"class_name": "LimaProcessingSmx", "fifo": {"nb_threads": 2},
                         "gpu": {"platform_idx": 99, "device_idx": 0, "ocl_cpu_fallback_enabled": true},
                         "fai": {"cutoff_pick": 5, "min_nb_peaks": 3, "error_model": "poisson", "nb_bins": 16},
                         "saving_sparse": {"enabled": true, "base_path": "out", "filename_prefix": "{{prefix}}", "nb_frames_per_file": 100} } }
        """;

    private async Task<(ReceiverSummary Summary, string Memory, string Finder)> Run(string prefix, bool copies)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var run = await ReceiverRun.PrepareAsync(ReceiverSettings.Parse(Settings(prefix, copies)), timeout.Token);
        var summary = await run.RunAsync(timeout.Token);
        Assert.Null(summary.Error);
        return (summary, run.Graph!.Pool.Memory.ToString()!, run.Peaks!.Description);
    }

    /// <summary>Every frame's peaks in the sparse file, as h5py reads them.</summary>
    private string SavedPeaks(string prefix) => Python.Eval($$"""
        import h5py, json
        with h5py.File("{{_folder}}/out/{{prefix}}_0_00000.h5", "r") as f:
            s, p = f["entry_0000/sparse_frames"], f["entry_0000/peaks"]
            n = p["nPeaks"][()].tolist()
            print(json.dumps({"frame_idx": s["frame_idx"][()].tolist(), "n": n,
                              "x": [row[:k].tolist() for row, k in zip(p["peakXPosRaw"][()], n)],
                              "y": [row[:k].tolist() for row, k in zip(p["peakYPosRaw"][()], n)],
                              "i": [row[:k].tolist() for row, k in zip(p["peakTotalIntensity"][()], n)],
                              "sparse": s["index"][()].tolist()}))
        """);

    [Fact]
    public async Task Frames_from_driver_pinned_memory_with_frames_in_flight_give_the_peaks_of_frames_read_in_place()
    {
        var (before, heap, inPlace) = await Run("in_place", copies: false);
        var (after, pinned, copying) = await Run("copied", copies: true);

        Assert.Contains("pinned managed heap", heap, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("driver-pinned memory", pinned);
        Assert.Contains("reads frames in place", inPlace);
        Assert.Contains("copies frames to the device", copying);
        Assert.Equal(Frames, after.Peaks!.Frames);
        Assert.Equal(before.Peaks, after.Peaks);
        Assert.True(after.Peaks.Peaks >= 3 * Frames, $"{after.Peaks.Peaks} peaks in {Frames} frames of 8");
        var expected = JsonDocument.Parse(SavedPeaks("in_place")).RootElement;
        Assert.Equal(Enumerable.Range(0, Frames), expected.GetProperty("frame_idx").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(expected.ToString(), JsonDocument.Parse(SavedPeaks("copied")).RootElement.ToString());
    }
}
