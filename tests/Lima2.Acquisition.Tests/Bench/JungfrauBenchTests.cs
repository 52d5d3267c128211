using System.Text.RegularExpressions;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Bench;

/// <summary>bench/JungfrauBench's end-to-end case with tiny frame counts: every run and limit of its report, over real loopback UDP.</summary>
public sealed class JungfrauBenchTests
{
    [Fact]
    public void The_e2e_case_reports_its_null_receiver_limit_and_a_run_per_folder_with_opencl_correction_and_saving()
    {
        var disk = Directory.CreateTempSubdirectory("jungfrau-bench-disk-").FullName;
        var tmpfs = Path.Combine("/dev/shm", Path.GetFileName(disk).Replace("disk", "tmpfs"));
        try
        {
            using var bench = ChildProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "JungfrauBench.dll"), "e2e", "--modules", "2",
                "--frames", "4", "--rate", "5", "--output", "energy", "--correction", "opencl", "--folders", $"{disk},{tmpfs},none"]);
            Assert.True(bench.WaitForExit(TimeSpan.FromMinutes(5)) == 0, bench.Output);
            var report = bench.Output;
            Assert.Contains("e2e: 4 frames of 2 modules on 2 ports, sender process with 1 threads at 5 frames/s, energy on opencl, stacked raw modules", report);
            // per run: sent and received frames/s, GB/s, 0 packets lost at 5 frames/s, receiver CPU ms per frame, frames counted
            const string measures = @"\|\s+\d+ \|\s+\d+ \|\s+\d+\.\d\d \|\s+0 \|\s+\d+\.\d\d \|";
            Assert.Matches($@"limit: null receivers\s+{measures} 4/0/0, -", report);
            Assert.Matches($@"e2e, saving to {disk}\s+{measures} 4/0/0, 4\n", report);
            Assert.Matches($@"e2e, saving to {tmpfs}\s+{measures} 4/0/0, 4\n", report);
            Assert.Matches($@"e2e, no saving\s+{measures} 4/0/0, 0\n", report);
            // the channel thread's profile under each run (times only: how small they are depends on the machine's load)
            Assert.Equal(3, Regex.Matches(report, @"channel thread\s+\| gather \d+\.\d{3}, copy \d+\.\d{3}, correct \d+\.\d{3}, place \d+\.\d{3}, hand-off \d+\.\d{3} ms per frame").Count);
            Assert.Matches($@"limit: writing to {disk}\s+\| \d+\.\d\d GB/s", report);
            Assert.Matches($@"limit: writing to {tmpfs}\s+\| \d+\.\d\d GB/s", report);
            Assert.Empty(Directory.GetFileSystemEntries(disk)); // the saved frames and the write-rate file are removed
            Assert.Empty(Directory.GetFileSystemEntries(tmpfs));
        }
        finally
        {
            Directory.Delete(disk, recursive: true);
            if (Directory.Exists(tmpfs))
                Directory.Delete(tmpfs, recursive: true);
        }
    }
}
