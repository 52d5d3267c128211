using System.CommandLine;
using System.Diagnostics;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.MaxIv;

namespace Lima2.Cli.Commands;

/// <summary>
/// <c>lima2 stream --format maxiv</c>: the stand-in MAX IV source (<see cref="MaxIvStreamer"/>), the unified stream's
/// header, images and series_end on the PUSH <c>--endpoint</c>s, payloads as <c>--encoding</c> says (raw is
/// <c>none</c>).
/// </summary>
internal static class MaxIvStandIn
{
    public static Option<string> FormatOption()
    {
        var format = new Option<string>("--format") { Description = "wire format: dectris (--version v1/v2) or maxiv (MAX IV's unified stream)", DefaultValueFactory = _ => "dectris" };
        format.AcceptOnlyFromAmong("dectris", "maxiv");
        return format;
    }

    public static bool Selected(ParseResult result, Option<string> format) => result.GetValue(format) == "maxiv";

    public static async Task<int> RunAsync(IFrameSource source, IReadOnlyList<string> endpoints, string encoding, long frames, double rate,
        CancellationToken cancellationToken)
    {
        var payload = encoding switch
        {
            "raw" => DectrisEncoding.Raw,
            "lz4" => DectrisEncoding.Lz4Chunk,
            _ => DectrisEncoding.BitshuffleLz4,
        };
        var options = new MaxIvStreamerOptions(endpoints, payload, frames, rate > 0 ? rate : null);
        using var streamer = new MaxIvStreamer(source, options);
        Console.WriteLine($"streaming {frames} {source.Info} frames as maxiv {MaxIvStream.CompressionName(payload)} on {string.Join(", ", endpoints)}");
        var clock = Stopwatch.StartNew();
        await streamer.RunAsync(cancellationToken);
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"streamed {streamer.Sent} frames, {streamer.BytesSent / 1e6:F1} MB in {seconds:F2} s: " +
                          $"{streamer.Sent / seconds:F0} frames/s, {streamer.BytesSent / seconds / 1e9:F3} GB/s on the wire");
        return 0;
    }
}
