using System.CommandLine;
using System.Globalization;
using Lima2.Acquisition;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;

namespace Lima2.Cli.Commands;

/// <summary><c>lima2 receive</c>: one receiver's channel, processing graph and saving, without Tango.</summary>
internal static class ReceiveCommand
{
    public static Command Create()
    {
        var settingsFile = new Argument<string>("settings") { Description = "JSON or YAML file with receiver, acq_params and proc_params" };
        var rank = new Option<int?>("--rank") { Description = "this receiver's rank (overrides receiver.rank)" };
        var receivers = new Option<int?>("--receivers") { Description = "number of receivers (overrides receiver.nb_receivers)" };
        var endpoint = new Option<string?>("--endpoint") { Description = "stream endpoint to connect to (overrides receiver.channel.endpoints)" };

        var command = new Command("receive", "run one receiver: channel + processing + saving, with live progress and a summary");
        command.Arguments.Add(settingsFile);
        command.Options.Add(rank);
        command.Options.Add(receivers);
        command.Options.Add(endpoint);
        command.SetAction(async (result, cancellationToken) =>
        {
            var settings = ReceiverSettings.Load(result.GetValue(settingsFile)!);
            var receiver = settings.Receiver with
            {
                Rank = result.GetValue(rank) ?? settings.Receiver.Rank,
                NbReceivers = result.GetValue(receivers) ?? settings.Receiver.NbReceivers,
                Channel = result.GetValue(endpoint) is { } e ? settings.Receiver.Channel with { Endpoints = [e] } : settings.Receiver.Channel,
            };
            settings = settings with { Receiver = receiver };
            Console.WriteLine($"receiver {receiver.Rank}/{receiver.NbReceivers}: waiting for the {ParamsJson.EnumName(receiver.Channel.Kind)} stream");
            await using var run = await ReceiverRun.StartAsync(settings, cancellationToken);
            Console.WriteLine($"receiving {run.Stream!.Frame} frames" + (run.Stream.ExpectedFrames is { } n ? $", {n} expected" : ""));
            foreach (var warning in (run.Channel as JungfrauChannel)?.Warnings ?? [])
                Console.WriteLine($"warning: {warning}");
            var running = run.RunAsync(cancellationToken);
            var last = run.Progress();
            while (await Task.WhenAny(running, Task.Delay(1000, CancellationToken.None)) != running)
            {
                var now = run.Progress();
                var seconds = (now.Elapsed - last.Elapsed).TotalSeconds;
                var peaks = now.Peaks is { } p ? string.Create(CultureInfo.InvariantCulture, $"  peaks {p.Peaks}  hits {p.Hits} ({p.HitRate:P1})") : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {now.Received} frames  {(now.Received - last.Received) / seconds:F0} frames/s  " +
                    $"{(now.InputBytes - last.InputBytes) / seconds / 1e9:F2} GB/s  saved {now.Saved}  dropped {now.Dropped}{peaks}"));
                last = now;
            }
            var summary = await running;
            Print(summary);
            if (run.Channel is JungfrauChannel jungfrau)
                PrintJungfrau(jungfrau);
            return summary.Error is not null ? 1 : summary.Counters.Dropped > 0 ? 3 : 0;
        });
        return command;
    }

    private static void PrintJungfrau(JungfrauChannel channel)
    {
        Console.WriteLine($"jungfrau: {channel.FramesComplete} frames complete, {channel.FramesIncomplete} incomplete (padded), {channel.FramesMissed} missed");
        foreach (var port in channel.PortCounters)
            Console.WriteLine($"jungfrau {port}");
    }

    private static void Print(ReceiverSummary s)
    {
        var seconds = Math.Max(s.Elapsed.TotalSeconds, 1e-9);
        var c = s.Counters;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"summary: {s.Channel.Detail}; received {c.Received}, processed {c.Processed}, dropped {c.Dropped} " +
            $"(overload {c.DroppedOverload}, lost {c.DroppedLost}, fault {c.DroppedFault}); saved {s.Saved} frames" +
            $"{(s.NotSavedNoHit > 0 ? $" ({s.NotSavedNoHit} not saved: no hit)" : "")}, " +
            $"{s.SavedBytes / 1e6:F1} MB in {s.Files.Count} files; {c.Processed / seconds:F0} frames/s over {seconds:F2} s"));
        if (s.Peaks is { } p)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"peaks: {p.Peaks} in {p.Frames} frames; hits {p.Hits} (frames with at least fai.min_nb_peaks peaks), hit rate {p.HitRate:P1}"));
        if (c.LastLoss is { } loss)
            Console.WriteLine($"last lost frame: {loss}");
        foreach (var (reason, count) in s.Rejections)
            Console.WriteLine($"rejected: {count} × {reason}");
        if (s.LastRejection is not null)
            Console.WriteLine($"last rejected: {s.LastRejection}");
        if (s.Publishing is { } publishing)
            Console.WriteLine($"publish: {publishing}");
        foreach (var file in s.Files)
            Console.WriteLine($"file: {file}");
        if (s.MasterFile is not null)
            Console.WriteLine($"master: {s.MasterFile}");
        if (s.Error is not null)
            Console.WriteLine($"error: {s.Error.Message}");
    }
}
