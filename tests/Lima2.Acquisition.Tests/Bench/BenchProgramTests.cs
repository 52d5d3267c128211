using Lima2.Acquisition.Tests.EndToEnd;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Bench;

/// <summary>The benchmarks are <c>lima2-bench</c> (bench/Lima2.Bench), a program of their own beside the product's <c>lima2</c>.</summary>
public sealed class BenchProgramTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    internal static ChildProcess Start(params string[] arguments) =>
        ChildProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "lima2-bench.dll"), .. arguments]);

    [Fact]
    public void The_product_cli_has_no_bench_command()
    {
        using var lima2 = Lima2Cli.Start("bench", "--frames", "3");
        Assert.NotEqual(0, lima2.WaitForExit(Limit));
        Assert.Contains("Unrecognized command or argument 'bench'", lima2.Output);
    }

    [Fact]
    public void Lima2_bench_times_the_codec_beside_the_product()
    {
        using var bench = Start("codec", "--rounds", "2", "--width", "64", "--height", "64", "--ours-only");
        Assert.Equal(0, bench.WaitForExit(Limit));
        Assert.Contains("| bslz4 decode (LZ4 + bit-unshuffle) |", bench.Output);
    }

    [Fact]
    public void Lima2_bench_times_each_per_frame_step_with_the_page_cache_floor_beside_the_hdf5_writes()
    {
        var folder = Directory.CreateTempSubdirectory("lima2-costs-").FullName;
        try
        {
            using var bench = Start("costs", "--rounds", "3", "--width", "64", "--height", "64", "--folder", folder);
            Assert.True(bench.WaitForExit(Limit) == 0, bench.Output);
            foreach (var step in new[]
                     {
                         "bslz4 decode", "ROI statistics (2 ROIs, one pass)", "HDF5 direct chunk write of the bslz4 chunk",
                         "pwrite of the bslz4 chunk (page-cache floor)", "HDF5 write of a raw frame", "pwrite of a raw frame (page-cache floor)",
                     })
                Assert.Matches($@"\| {System.Text.RegularExpressions.Regex.Escape(step)} \| \d+\.\d{{3}} \| \d+\.\d{{3}} \|", bench.Output);
            Assert.Empty(Directory.GetFileSystemEntries(folder)); // its files are removed
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Lima2_bench_profile_splits_each_run_by_thread_and_counts_the_garbage_collections_without_its_own_sampler()
    {
        var folder = Directory.CreateTempSubdirectory("lima2-profile-").FullName;
        try
        {
            using var bench = Start("profile", "--frames", "6", "--runs", "2", "--width", "512", "--height", "512", "--threads", "2",
                "--folder", folder);
            Assert.True(bench.WaitForExit(Limit) == 0, bench.Output);
            var runs = bench.Output.Split('\n').Where(l => l.StartsWith("run ", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, runs.Count);
            foreach (var run in runs)
            {
                Assert.Matches(@"CPU [\d.]+ ms/frame \[.*workers [\d.]+", run);
                Assert.Matches(@"frames in the graph [\d.]+ on average, \d+ at most", run);
                Assert.Matches(@"GC per frame: [\d.]+ KiB allocated, [\d.]+ gen0 / [\d.]+ gen1 / [\d.]+ gen2 collections, [\d.]+ ms paused \(allocated most: ", run);
                // the sampler reads /proc on a thread of its own, left out of the split
                Assert.DoesNotContain("profile sampler", run);
            }
            Assert.Empty(Directory.GetFileSystemEntries(folder)); // each run's files are removed
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Lima2_bench_runs_every_case_with_its_limits_and_the_same_work_peer_at_the_same_thread_count()
    {
        var folder = Directory.CreateTempSubdirectory("lima2-bench-").FullName;
        var tmpfs = Path.Combine("/dev/shm", Path.GetFileName(folder));
        try
        {
            using var bench = Start("--frames", "4", "--width", "512", "--height", "512", "--receivers", "2", "--threads", "1",
                "--folder", folder, "--tmpfs", tmpfs);
            Assert.True(bench.WaitForExit(TimeSpan.FromMinutes(5)) == 0, bench.Output);
            var report = bench.Output;
            foreach (var encoding in new[] { "bslz4", "raw" })
            {
                // both sides save to tmpfs (the headline) and to the disk folder beside it
                foreach (var savedTo in new[] { "tmpfs", "disk" })
                {
                    Assert.Contains($"| lima2 receive, V1 {encoding} to {savedTo} | 2 × 1 | 4 |", report);
                    Assert.Contains($"| same-work peer (Python), V1 {encoding} to {savedTo} | 2 × 1 | 4 |", report);
                }
                Assert.Contains($"| loopback wire, V1 {encoding} into null receivers | 2 × 1 | 4 |", report);
                Assert.Matches($@"- V1 {encoding}, 2 worker threads each: frames/s lima2 / same-work peer = [\d.]+ on tmpfs, [\d.]+ on disk; " +
                               @"CPU per frame peer / lima2 = [\d.]+ on tmpfs, [\d.]+ on disk \(goal ≥ 5\)", report);
                Assert.Matches($@"\| lima2 receive, V1 {encoding} to tmpfs \| .* \d+ page faults/frame, pool peak \d+ MB; first acquisition \(frame buffers made\): \d+ frames/s, [\d.]+ CPU ms/frame \|", report);
            }
            Assert.Contains("| memory copy | 1 × 1 |", report);
            Assert.Contains("| memory copy | 1 × 2 |", report);
            Assert.Contains($"| dd to the saving folder {folder} (disk) |", report);
            Assert.Contains($"| dd to {tmpfs} (tmpfs) |", report);
            Assert.Empty(Directory.GetFileSystemEntries(folder)); // every case cleans up after itself
            Assert.Empty(Directory.GetFileSystemEntries(tmpfs));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            if (Directory.Exists(tmpfs))
                Directory.Delete(tmpfs, recursive: true);
        }
    }
}
