using System.Diagnostics;
using System.Globalization;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;

namespace Lima2.Bench;

/// <summary>
/// <c>lima2 stream</c> in a process of its own, the benchmark's stand-in detector: its encoding, sending and
/// garbage collection use neither the receiver's CPU time nor its thread pool, as with a real detector.
/// </summary>
internal sealed class StreamProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _output;
    private readonly Task<string> _errors;

    private StreamProcess(Process process)
    {
        _process = process;
        _output = process.StandardOutput.ReadToEndAsync();
        _errors = process.StandardError.ReadToEndAsync();
    }

    /// <summary>The command line that serves the bench's frames: <paramref name="prefetch"/> diffraction frames encoded once, sent in turn.</summary>
    public static IReadOnlyList<string> Arguments(FrameInfo info, int frames, DectrisEncoding encoding, string endpoint, int prefetch) =>
    [
        "stream", "--version", "v1", "--encoding", encoding == DectrisEncoding.BitshuffleLz4 ? "bslz4" : "raw",
        "--endpoint", endpoint, "--frames", frames.ToString(CultureInfo.InvariantCulture),
        "--width", info.Width.ToString(CultureInfo.InvariantCulture), "--height", info.Height.ToString(CultureInfo.InvariantCulture),
        "--pixel-type", info.PixelType.ToString().ToLowerInvariant(), "--generator", "diffraction",
        "--prefetch", prefetch.ToString(CultureInfo.InvariantCulture), "--no-progress",
    ];

    /// <summary>Starts the lima2 built beside this bench (<c>dotnet lima2.dll</c>) with <paramref name="arguments"/>.</summary>
    public static StreamProcess Start(IReadOnlyList<string> arguments)
    {
        var lima2 = Path.Combine(AppContext.BaseDirectory, "lima2.dll");
        if (!File.Exists(lima2))
            throw new FileNotFoundException($"{lima2}: no lima2 beside lima2-bench to stream from", lima2);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(lima2);
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        return new StreamProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start lima2"));
    }

    /// <summary>Waits for the whole series to be sent; throws with the streamer's own words if it failed.</summary>
    public async Task WaitAsync(CancellationToken token)
    {
        await _process.WaitForExitAsync(token).ConfigureAwait(false);
        var errors = await _errors.ConfigureAwait(false);
        await _output.ConfigureAwait(false);
        if (_process.ExitCode != 0)
            throw new InvalidOperationException($"lima2 stream exited with {_process.ExitCode}: {errors.Trim()}");
    }

    public void Dispose()
    {
        // A bench that failed leaves no streamer behind.
        if (!_process.HasExited)
            _process.Kill();
        _process.Dispose();
    }
}
