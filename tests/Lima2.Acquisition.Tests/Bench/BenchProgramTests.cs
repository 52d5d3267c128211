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
}
