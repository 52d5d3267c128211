using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lima2.Acquisition.Tests.EndToEnd;
using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Publishing;

/// <summary>
/// A receiver re-publishing its frames (<c>receiver.publish</c>) to the documented worker
/// (examples/stream_worker/stream_worker.py, PyZMQ + h5py), as processes: <c>lima2 stream</c> → <c>lima2 receive</c> →
/// worker, P06's pattern of a broker that drops for slow workers and a worker that fills its gaps from the files.
/// </summary>
public sealed class PublishTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);
    private static readonly string Worker = Path.Combine(RepoPaths.Root, "examples", "stream_worker", "stream_worker.py");
    private static readonly Dictionary<string, string?> NoFileLocks = new() { ["HDF5_USE_FILE_LOCKING"] = "FALSE" };
    private readonly string _folder = Directory.CreateTempSubdirectory("publish-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed record Outcome(string Receiver, JsonElement Worker, byte[] Input, H5PyView Frames);

    private Outcome Run(FrameInfo info, int frames, string publish, string[] workerArgs)
    {
        var input = Lima2Cli.Frames(info, frames);
        Lima2Cli.WriteInput(Path.Combine(_folder, "input.h5"), info, input);
        var detector = $"tcp://127.0.0.1:{FreePort.Next()}";
        var published = $"tcp://127.0.0.1:{FreePort.Next()}";
        var settings = Path.Combine(_folder, "receive.yaml");
        File.WriteAllText(settings, $$"""
            receiver:
              channel: { kind: dectris_v1, endpoints: [ "{{detector}}" ] }
              memory_cap: 64MiB
              saving_root: {{_folder}}
              publish: { endpoint: "{{published}}", {{publish}} }
            acq_params:
              acq: { nb_frames: {{frames}} }
            proc_params:
              class_name: LimaProcessingLegacy
              saving: { enabled: true, base_path: out, filename_prefix: scan, nb_frames_per_file: 7, compression: bshuf_lz4 }
            """);
        var output = Path.Combine(_folder, "worker.h5");
        using var worker = ChildProcess.Start(Python.Interpreter, [Worker, published, "--out", output, "--timeout", "30", .. workerArgs], NoFileLocks);
        worker.WaitForOutput("ready", Limit);
        using var receiver = Lima2Cli.Start("receive", settings);
        using var stream = Lima2Cli.Start("stream", "--version", "v1", "--encoding", "bslz4", "--frames", $"{frames}",
            "--file", Path.Combine(_folder, "input.h5"), "--dataset", "/frames", "--endpoint", detector, "--no-progress");
        Assert.True(stream.WaitForExit(Limit) == 0, stream.Output);
        Assert.True(receiver.WaitForExit(Limit) == 0, receiver.Output);
        Assert.True(worker.WaitForExit(Limit) == 0, worker.Output + receiver.Output);
        var summary = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{'));
        return new Outcome(receiver.Output, JsonDocument.Parse(summary).RootElement.Clone(), input, H5PyView.Read(output, "/frames"));
    }

    private static (long Published, long Dropped) Published(string receiverOutput)
    {
        var match = Regex.Match(receiverOutput, @"publish: published (\d+) frames, dropped (\d+)");
        Assert.True(match.Success, receiverOutput);
        return (long.Parse(match.Groups[1].Value), long.Parse(match.Groups[2].Value));
    }

    [Theory]
    [InlineData("maxiv", "bslz4")]
    [InlineData("maxiv", "none")]
    [InlineData("dectris_v2", "lz4")]
    [InlineData("dectris_v2", "bslz4")]
    public void A_worker_that_keeps_up_receives_every_frame_pixel_exact(string format, string compression)
    {
        var info = new FrameInfo(48, 40, PixelType.Gray16);
        const int frames = 12;
        var outcome = Run(info, frames, $"socket: push, format: {format}, compression: {compression}, queue_frames: 16", []);

        Assert.Contains("received 12, processed 12, dropped 0", outcome.Receiver);
        Assert.Equal((12L, 0L), Published(outcome.Receiver));
        Assert.Equal((12, 0), (outcome.Worker.GetProperty("received").GetInt32(), outcome.Worker.GetProperty("filled").GetInt32()));
        Assert.Equal(new long[] { frames, 40, 48 }, outcome.Frames.Shape);
        Assert.Equal(outcome.Input, outcome.Frames.Data);
    }

    [Fact]
    public void A_slow_worker_makes_the_receiver_drop_and_count_and_fills_the_gaps_from_the_saved_files()
    {
        var info = new FrameInfo(256, 256, PixelType.Gray16);
        const int frames = 150;
        // raw frames of 128 KiB, a 2-frame queue, a worker that takes 50 ms a frame and holds one message ahead
        var outcome = Run(info, frames, "socket: push, format: maxiv, compression: none, queue_frames: 2, end_timeout_ms: 30000",
            ["--delay", "0.05", "--rcvhwm", "1"]);

        // acquisition unaffected: every frame received, processed and saved
        Assert.Contains("received 150, processed 150, dropped 0", outcome.Receiver);
        Assert.Contains("saved 150 frames", outcome.Receiver);
        var (published, dropped) = Published(outcome.Receiver);
        Assert.True(dropped > 0, outcome.Receiver);
        Assert.Equal(frames, published + dropped);
        Assert.Contains($"dropped {dropped} (send queue full {dropped})", outcome.Receiver);
        // the worker got what was published, read the rest from the files, and ends with every frame as saved
        Assert.Equal(published, outcome.Worker.GetProperty("received").GetInt64());
        Assert.Equal(dropped, outcome.Worker.GetProperty("filled").GetInt64());
        Assert.Equal(0, outcome.Worker.GetProperty("missing").GetArrayLength());
        Assert.Equal(new long[] { frames, 256, 256 }, outcome.Frames.Shape);
        Assert.Equal(outcome.Input, outcome.Frames.Data);
    }

    [Fact]
    public async Task A_worker_of_a_partial_frame_receiver_fills_the_frames_it_missed_at_their_global_index()
    {
        // receiver 1 of 2 under partial-frame dispatch (JUNGFRAU modules over receivers): it takes its modules of
        // every frame, so its frame k is global frame k (not 1 + 2k as dealt round robin). Nobody takes its stream
        // while the frames come: all but the queued ones are dropped; then a worker connects and fills them from the files.
        const int frames = 30;
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        var settings = new ReceiverSettings(
            new ReceiverConfig
            {
                Rank = 1, NbReceivers = 2, MemoryCap = "16MiB", SavingRoot = _folder,
                Publish = PublishConfig.Parse($"{{ endpoint: '{endpoint}', socket: push, format: maxiv, compression: none, queue_frames: 1, end_timeout_ms: 30000 }}"),
            },
            new AcqParams<SimulatorDet>(),
            new LegacyProcParams { Saving = new SavingParams { Enabled = true, BasePath = "out", FilenamePrefix = "scan", NbFramesPerFile = 7 } });
        using var timeout = new CancellationTokenSource(Limit);
        await using var run = await ReceiverRun.PrepareAsync(settings, new ScriptedChannel(SavingFolder.Info, frames) { Parts = NxmxModulesTests.TwoRows },
            timeout.Token);
        var running = run.RunAsync(timeout.Token);
        while (run.Progress().Processed < frames)
            await Task.Delay(20, timeout.Token);
        var output = Path.Combine(_folder, "worker.h5");
        using var worker = ChildProcess.Start(Python.Interpreter, [Worker, endpoint, "--out", output, "--timeout", "30"], NoFileLocks);
        var summary = await running;

        Assert.Null(summary.Error);
        Assert.True(summary.Publishing!.Dropped > 0, summary.Publishing.ToString());
        Assert.True(worker.WaitForExit(Limit) == 0, worker.Output);
        var line = JsonDocument.Parse(worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith('{'))).RootElement;
        Assert.Equal((summary.Publishing.Published, summary.Publishing.Dropped),
            (line.GetProperty("received").GetInt64(), line.GetProperty("filled").GetInt64()));
        // every frame at its global index, pixel-exact (each frame's pixels say which frame it is)
        Assert.Equal(Enumerable.Range(0, frames).Select(i => (long)i), MemoryMarshal.Cast<byte, long>(H5PyView.Read(output, "/frame_index").Data).ToArray());
        Assert.Equal(Enumerable.Range(0, frames).SelectMany(i => SavingFolder.Bytes(i)), H5PyView.Read(output, "/frames").Data);
    }

    [Fact]
    public void A_viewer_on_a_pub_socket_ends_with_every_frame()
    {
        var info = new FrameInfo(48, 40, PixelType.Gray16);
        // a subscriber joins late by nature (PUB sends to those already subscribed): what it missed it reads from the files
        var outcome = Run(info, 12, "socket: pub, format: maxiv, compression: bslz4", ["--sub"]);

        Assert.Equal((12L, 0L), Published(outcome.Receiver));
        Assert.Equal(12, outcome.Worker.GetProperty("frames").GetInt32());
        Assert.Equal(outcome.Input, outcome.Frames.Data);
    }

    [Fact]
    public void A_publish_section_without_an_endpoint_is_refused_naming_the_field()
    {
        var error = Assert.Throws<ParamsException>(() => ReceiverConfig.Parse("publish: { socket: pub, queue_frames: 0 }"));
        Assert.Contains(error.Errors, e => e.Path == "publish.endpoint");
        Assert.Contains(error.Errors, e => e.Path == "publish.queue_frames");
        Assert.Equal(PublishFormat.DectrisV2, PublishConfig.Parse("{ endpoint: 'tcp://*:5555', format: dectris_v2 }")!.Format);
        Assert.Null(PublishConfig.Parse(""));
    }
}
