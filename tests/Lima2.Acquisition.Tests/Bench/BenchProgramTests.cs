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
                Assert.Matches(@"GC per frame: [\d.]+ KiB allocated \(most: .*\), [\d.]+ gen0 / [\d.]+ gen1 / [\d.]+ gen2 collections \((none|gen\d \w+ × \d+.*)\), [\d.]+ ms paused, ", run);
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
    public void Perf_split_puts_each_sample_in_its_innermost_step_per_thread_role_and_frame()
    {
        // `perf script -F comm,tid,ip,sym` of four samples: a page fault taken while bit-unshuffling counts as a page
        // fault, a write as the chunk write, a pool wait as waiting; libzmq's socket read on its own role
        var script = Path.GetTempFileName();
        try
        {
            File.WriteAllText(script, """
                .NET TP Worker 101 
                	ffffffff82242009 pvm_irq_enable
                	ffffffff82400b26 asm_exc_page_fault
                	7f00 int32 [Lima2.Compression] Lima2.Compression.Bitshuffle::BitUntransposePairsGfni(uint8&,uint8&,int32,int32)[Optimized]
                	7f01 bool [System.Private.CoreLib] System.Threading.ThreadPoolWorkQueue::Dispatch()[OptimizedTier1]

                .NET TP Worker 102 
                	ffffffff81001 copy_folio_from_iter_atomic
                	10a974 __libc_pwrite
                	7f02 instance void [Lima2.Core] Lima2.Core.Pipeline.OrderedStage`2+<CommitInOrderAsync>d__20::MoveNext()

                .NET TP Worker 101 
                	84a10 __sched_yield
                	7f03 instance bool [System.Private.CoreLib] System.Threading.LowLevelLifoSemaphore::Wait(int32,bool)[OptimizedTier1]

                ZMQbg/IO/0 103 
                	ffffffff81ba3db0 _copy_to_iter
                	10a910 __libc_recv

                """);
            var python = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/python3",
                [Path.Combine(AppContext.BaseDirectory, "py", "perf_split.py"), script, "--frames", "1", "--hz", "1000"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = python.StandardOutput.ReadToEnd() + python.StandardError.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, output);
            Assert.Equal(
            [
                "workers: 3.00 ms/frame",
                "  page faults: 1.00 ms/frame (33 %)",
                "  chunk write (pwrite, HDF5): 1.00 ms/frame (33 %)",
                "  thread pool: waiting, spinning: 1.00 ms/frame (33 %)",
                "zmq I/O: 1.00 ms/frame",
                "  socket reads (libzmq): 1.00 ms/frame (100 %)",
            ], output.TrimEnd().Split('\n'));
        }
        finally
        {
            File.Delete(script);
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
