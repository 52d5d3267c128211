using System.CommandLine;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;

namespace Lima2.Cli.Commands;

/// <summary>What the stand-in detectors of <c>lima2 stream</c> (DECTRIS, MAX IV, JUNGFRAU) share: their frames and their closing line.</summary>
internal static class StandInFrames
{
    /// <summary>The frames of <c>--file</c>'s <c>--dataset</c> when a file is given, else the <c>--generator</c>'s of <paramref name="simulated"/>.</summary>
    /// <exception cref="FileNotFoundException">--file names no file</exception>
    public static IFrameSource Open(ParseResult result, Option<string?> file, Option<string> dataset, Option<string> generator, FrameInfo simulated)
    {
        if (result.GetValue(file) is { } path)
            return Hdf5FrameSource.Open(File.Exists(path) ? path : throw new FileNotFoundException($"--file {path}: no such file"),
                result.GetValue(dataset)!);
        return FrameGenerator.Create(new GeneratorParams
        {
            Type = result.GetValue(generator) == "gauss" ? GeneratorType.Gauss : GeneratorType.Diffraction,
            Width = simulated.Width,
            Height = simulated.Height,
            PixelType = simulated.PixelType,
        });
    }

    /// <summary>"<c>B MB in S s: F frames/s, R GB/s</c>": how much a stand-in sent and how fast.</summary>
    public static string Throughput(long frames, long bytes, TimeSpan elapsed)
    {
        var seconds = elapsed.TotalSeconds;
        return $"{bytes / 1e6:F1} MB in {seconds:F2} s: {frames / seconds:F0} frames/s, {bytes / seconds / 1e9:F3} GB/s";
    }
}
