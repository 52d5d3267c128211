using System.CommandLine;
using System.Diagnostics;
using Lima2.Core.Frames;
using Lima2.Detectors.Dectris;
using Lima2.Cli.StandIns;
using Spectre.Console;

namespace Lima2.Cli.Commands;

/// <summary>
/// <c>lima2 stream</c>: the stand-in DECTRIS detector (stream V1 or V2 on ZMQ PUSH), or with <c>--format maxiv</c> a MAX IV
/// source (the unified stream's header, images and series_end; raw is <c>none</c>), one <see cref="DectrisStreamer"/>. With <c>--simplon PORT</c> it
/// waits to be driven over SIMPLON (a series per arm, see <see cref="SimplonStandIn"/>) until killed, instead of
/// streaming one series of <c>--frames</c> at once.
/// </summary>
internal static class StreamCommand
{
    public static Command Create()
    {
        var version = new Option<string>("--version") { Description = "stream version: v1 (multipart JSON + blobs) or v2 (CBOR)", DefaultValueFactory = _ => "v1" };
        version.AcceptOnlyFromAmong("v1", "v2");
        var encoding = new Option<string>("--encoding") { Description = "payload: raw, lz4 or bslz4", DefaultValueFactory = _ => "bslz4" };
        encoding.AcceptOnlyFromAmong("raw", "lz4", "bslz4");
        var endpoints = new Option<string[]>("--endpoint") { Description = "PUSH endpoint to bind, once per receiver (frame i goes to endpoint i % n)", DefaultValueFactory = _ => ["tcp://127.0.0.1:9999"], AllowMultipleArgumentsPerToken = true };
        var frames = new Option<long>("--frames") { Description = "images in the series", DefaultValueFactory = _ => 100 };
        var rate = new Option<double>("--rate") { Description = "frames per second; 0 = as fast as the receivers take them", DefaultValueFactory = _ => 0 };
        var detail = new Option<string>("--detail") { Description = "V1 header_detail", DefaultValueFactory = _ => "basic" };
        detail.AcceptOnlyFromAmong("none", "basic", "all");
        var width = new Option<int>("--width") { Description = "simulated frame width", DefaultValueFactory = _ => 1024 };
        var height = new Option<int>("--height") { Description = "simulated frame height", DefaultValueFactory = _ => 1024 };
        var pixel = new Option<string>("--pixel-type") { Description = "simulated pixel type (gray8, gray16, gray32, ...)", DefaultValueFactory = _ => "gray16" };
        var generator = new Option<string>("--generator") { Description = "simulated image: gauss or diffraction", DefaultValueFactory = _ => "diffraction" };
        generator.AcceptOnlyFromAmong("gauss", "diffraction");
        var file = new Option<string?>("--file") { Description = "serve the frames of this HDF5 file instead of the simulator" };
        var dataset = new Option<string>("--dataset") { Description = "frame dataset in --file", DefaultValueFactory = _ => "/entry_0000/instrument/detector/data" };
        var prefetch = new Option<int>("--prefetch") { Description = "distinct frames encoded once and sent in turn, without a copy (0 = every frame encoded)", DefaultValueFactory = _ => 0 };
        var threads = new Option<int>("--threads") { Description = "sender threads (and ZeroMQ I/O threads): endpoint i is served by thread i % threads", DefaultValueFactory = _ => 1 };
        var noProgress = new Option<bool>("--no-progress") { Description = "no progress bar (logs, tests)" };
        var simplon = new Option<int?>("--simplon") { Description = "serve the SIMPLON REST API on 127.0.0.1:PORT and stream a series per arm (until killed)" };
        var jungfrau = JungfrauStream.Options();
        var format = new Option<string>("--format") { Description = "wire format: dectris (--version v1/v2) or maxiv (MAX IV's unified stream)", DefaultValueFactory = _ => "dectris" };
        format.AcceptOnlyFromAmong("dectris", "maxiv");

        AtLeast(frames, 1);
        AtLeast(rate, 0);
        AtLeast(width, 1);
        AtLeast(height, 1);
        AtLeast(prefetch, 0);
        AtLeast(threads, 1);
        AtLeast(jungfrau.Modules, 1);
        AtLeast(jungfrau.Port, 1);
        AtLeast(jungfrau.Loss, 0);

        var command = new Command("stream", "serve a DECTRIS stream (V1 or V2) or a MAX IV stream, or with --jungfrau JUNGFRAU UDP packets, from the simulator or an HDF5 file");
        foreach (var option in new Option[] { version, encoding, endpoints, frames, rate, detail, width, height, pixel, generator, file, dataset, prefetch, threads, noProgress, simplon, format })
            command.Options.Add(option);
        foreach (var option in jungfrau.All)
            command.Options.Add(option);
        command.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(jungfrau.Enabled))
                return await JungfrauStream.RunAsync(result, jungfrau, frames, rate, file, dataset, generator, cancellationToken);
            var streamVersion = result.GetValue(format) == "maxiv" ? DectrisStreamVersion.MaxIv
                : result.GetValue(version) == "v2" ? DectrisStreamVersion.V2 : DectrisStreamVersion.V1;
            if (streamVersion == DectrisStreamVersion.MaxIv && result.GetValue(simplon) is not null)
                throw new ArgumentException("--simplon serves a DECTRIS detector: it does not go with --format maxiv");
            var payload = result.GetValue(encoding) switch
            {
                "raw" => DectrisEncoding.Raw,
                // V1 sends LZ4 blocks; V2 and MAX IV the HDF5 LZ4 filter's chunks
                "lz4" => streamVersion == DectrisStreamVersion.V1 ? DectrisEncoding.Lz4Block : DectrisEncoding.Lz4Chunk,
                _ => DectrisEncoding.BitshuffleLz4,
            };
            if (!PixelTypes.TryParseLimaName(result.GetValue(pixel)!, out var pixelType))
                throw new ArgumentException($"--pixel-type {result.GetValue(pixel)} is no pixel type");
            var source = StandInFrames.Open(result, file, dataset, generator, new FrameInfo(result.GetValue(width), result.GetValue(height), pixelType));
            var options = new StreamerOptions(result.GetValue(endpoints)!, streamVersion,
                payload, result.GetValue(frames), result.GetValue(detail)!,
                result.GetValue(rate) is > 0 and var fps ? fps : null, result.GetValue(prefetch), Senders: result.GetValue(threads));
            try
            {
                using var streamer = new DectrisStreamer(source, options);
                if (result.GetValue(simplon) is { } port)
                    return await ServeSimplon(streamer, source.Info, payload, port, options, cancellationToken);
                Console.WriteLine($"streaming {options.Frames} {source.Info} frames as {options.Version} {result.GetValue(encoding)} on {string.Join(", ", options.Endpoints)}");
                var clock = Stopwatch.StartNew();
                var run = streamer.RunAsync(cancellationToken);
                if (result.GetValue(noProgress) || Console.IsOutputRedirected)
                    await run;
                else
                {
                    await AnsiConsole.Progress().StartAsync(async context =>
                    {
                        var task = context.AddTask("frames", maxValue: options.Frames);
                        while (!run.IsCompleted)
                        {
                            task.Value = streamer.Sent;
                            await Task.WhenAny(run, Task.Delay(100, CancellationToken.None));
                        }
                        task.Value = streamer.Sent;
                    });
                    await run;
                }
                Console.WriteLine($"streamed {streamer.Sent} frames, {StandInFrames.Throughput(streamer.Sent, streamer.BytesSent, clock.Elapsed)} on the wire");
                return 0;
            }
            finally
            {
                (source as IDisposable)?.Dispose();
            }
        });
        return command;
    }

    /// <summary>Refuses a value below <paramref name="minimum"/> at parsing (a negative frame count streamed for ever).</summary>
    private static void AtLeast<T>(Option<T> option, T minimum) where T : System.Numerics.INumber<T> =>
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<T>() < minimum)
                result.AddError($"{option.Name} must be at least {minimum}, got {result.GetValueOrDefault<T>()}");
        });

    private static async Task<int> ServeSimplon(DectrisStreamer streamer, FrameInfo info, DectrisEncoding encoding, int port,
        StreamerOptions options, CancellationToken cancellationToken)
    {
        using var standIn = new SimplonStandIn(streamer, info, encoding, port, Console.Out);
        Console.WriteLine($"SIMPLON on {standIn.Url}: {info} frames as {options.Version} {encoding} on {string.Join(", ", options.Endpoints)}");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
        Console.WriteLine($"SIMPLON closed after {standIn.Sequence} series, {streamer.Sent} frames");
        return 0;
    }
}
