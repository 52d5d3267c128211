namespace Lima2.Server.Tests;

/// <summary>
/// The first acquisition on a fresh machine: the receivers' OpenCL kernel caches (LIMA2_OPENCL_CACHE, PoCL's
/// POCL_CACHE_DIR) are empty, so the SMX peak finder's kernels are built from source (seconds on PoCL) while the
/// client prepares every device at once and the control reads the receivers' states.
/// </summary>
public sealed class ColdKernelCacheTests
{
    private const int Frames = 40;

    [Fact]
    public void Concurrent_prepares_on_empty_kernel_caches_keep_every_device_answering_and_the_run_completes()
    {
        var lima2Cache = Directory.CreateTempSubdirectory("lima2-opencl-cache-").FullName;
        var poclCache = Directory.CreateTempSubdirectory("pocl-cache-").FullName;
        try
        {
            using var sys = new Lima2System(peakFinder: "opencl", serverEnvironment: new Dictionary<string, string?>
            {
                ["LIMA2_OPENCL_CACHE"] = lima2Cache,
                ["POCL_CACHE_DIR"] = poclCache,
            });
            // lima2-run.py: Prepare on the control and both receivers concurrently, as Lima2's clients do
            var s = sys.Run(Acq, Smx(sys.Root), "cold");
            Assert.False(s.GetProperty("failed").GetBoolean(), s.ToString());
            Assert.Equal(Frames, s.GetProperty("nb_frames_acquired").GetInt64());
            Assert.Equal([0, 0], s.GetProperty("nb_frames_dropped").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal("idle", s.GetProperty("control_state").GetString());
            Assert.Equal(Frames, s.GetProperty("peak_counters").EnumerateObject().Count());
            // the kernels were built here, from source (the caches were really cold), and each receiver says so
            Assert.NotEmpty(Directory.GetFiles(lima2Cache, "*.clbin"));
            foreach (var name in sys.Receivers)
            {
                using var receiver = new Tango.Client.DeviceProxy(name);
                Assert.Contains("OpenCL kernels: ready (", receiver.Status());
            }
        }
        finally
        {
            Directory.Delete(lima2Cache, recursive: true);
            Directory.Delete(poclCache, recursive: true);
        }
    }

    private const string Acq = """
        {"acq": {"nb_frames": 40, "expo_time": 1000, "latency_time": 0, "trigger_mode": "internal"},
         "det": {"image_source": "generator",
                 "generator": {"type": "diffraction", "pixel_type": "gray16", "width": 256, "height": 256,
                               "diffraction": {"nb_bragg_peaks": 4, "bragg_intensity_min": 3000, "bragg_intensity_max": 6000,
                                               "rings": [], "seed": 7}}}}
        """;

    private static string Smx(string root) => $$"""
        {"class_name": "LimaProcessingSmx",
         "gpu": {"platform_idx": 0, "device_idx": 0, "ocl_cpu_fallback_enabled": true},
         "fai": {"cutoff_pick": 5, "min_nb_peaks": 1, "error_model": "poisson"},
         "saving_sparse": {"enabled": true, "base_path": "{{root}}/data", "filename_prefix": "cold_sparse",
                           "nb_frames_per_file": 1000, "file_exists_policy": "abort"}
        }
        """;
}
