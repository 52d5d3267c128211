namespace Lima2.Acquisition.Tests.EndToEnd;

/// <summary><c>lima2</c> given bad input: one line on stderr and a non-zero exit code, the trace only with --verbose.</summary>
public sealed class CliErrorTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static (int Code, string Output) Run(params string[] arguments)
    {
        using var lima2 = Lima2Cli.Start(arguments);
        var code = lima2.WaitForExit(Limit);
        return (code, lima2.Output);
    }

    private static readonly string[] Small = ["--width", "8", "--height", "8", "--no-progress"];

    [Fact]
    public void A_negative_frame_count_is_refused_at_once()
    {
        var (code, output) = Run(["stream", "--frames", "-5", .. Small]);
        Assert.NotEqual(0, code);
        Assert.Contains("--frames must be at least 1, got -5", output);
        Assert.DoesNotContain("streaming", output);
    }

    [Theory]
    [InlineData("bad endpoint", "lima2 stream: bind tcp://no-such-host.invalid:x: Invalid argument")]
    [InlineData("missing file", "lima2 stream: --file {0}/absent.h5: no such file")]
    [InlineData("simplon maxiv", "lima2 stream: --simplon serves a DECTRIS detector: it does not go with --format maxiv")]
    [InlineData("missing settings", "lima2 receive: Could not find file '{0}/absent.yaml'.")]
    [InlineData("bad yaml", "lima2 receive: bad.yaml line 1, column 22: Exception during deserialization")]
    public void A_bad_endpoint_file_or_settings_ends_in_one_line_and_exit_code_2(string fault, string expected)
    {
        var yaml = Path.Combine(_folder, "bad.yaml");
        File.WriteAllText(yaml, "receiver: { channel: { kind: dectris_v1, endpoints: [ \"tcp://127.0.0.1:1\" ] }\nacq_params: [ oops");
        string[] arguments = fault switch
        {
            "bad endpoint" => ["stream", "--endpoint", "tcp://no-such-host.invalid:x", "--frames", "1", .. Small],
            "missing file" => ["stream", "--file", Path.Combine(_folder, "absent.h5"), "--frames", "1", .. Small],
            "simplon maxiv" => ["stream", "--format", "maxiv", "--simplon", "1", "--frames", "1", .. Small],
            "missing settings" => ["receive", Path.Combine(_folder, "absent.yaml")],
            _ => ["receive", yaml],
        };

        var (code, output) = Run(arguments);
        Assert.Equal(2, code);
        var line = string.Format(expected, _folder);
        Assert.Equal(line, output.TrimEnd());
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("Unhandled exception", output);

        var (verboseCode, verbose) = Run([.. arguments, "--verbose"]);
        Assert.Equal(2, verboseCode);
        Assert.Contains(line, verbose);
        Assert.Contains("   at ", verbose);
    }

    [Fact]
    public void A_transposed_mask_of_the_right_size_is_refused_by_lima2_peaks()
    {
        var frames = Path.Combine(_folder, "frame.npy");
        var mask = Path.Combine(_folder, "mask.npy");
        var poni = Path.Combine(_folder, "g.poni");
        Core.IO.NpyFile.Write(frames, new byte[4 * 40 * 30], "<i4", 40, 30);
        Core.IO.NpyFile.Write(mask, new byte[40 * 30], "|u1", 30, 40);
        File.WriteAllText(poni, "poni_version: 2\nDetector_config: {\"pixel1\": 7.5e-05, \"pixel2\": 7.5e-05}\nDistance: 0.1\nPoni1: 0.0015\nPoni2: 0.001\n");

        var (code, output) = Run("peaks", frames, "--poni", poni, "--mask", mask, "--backend", "reference");
        Assert.Equal(2, code);
        Assert.Equal($"lima2 peaks: mask {mask} has shape (30, 40), the frames have shape (40, 30)", output.TrimEnd());
    }
}
