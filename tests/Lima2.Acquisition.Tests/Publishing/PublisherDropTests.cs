using Lima2.Acquisition.Publishing;
using Lima2.Acquisition.Tests.Dectris;
using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Publishing;

/// <summary>A re-publishing receiver with no consumer at all: acquisition goes on, every frame is counted.</summary>
public sealed class PublisherDropTests : IDisposable
{
    private readonly StandInDetector _detector = new();
    private readonly SavingFolder _folder = new();

    public void Dispose()
    {
        _detector.Dispose();
        _folder.Dispose();
    }

    private async Task<(ReceiverSummary Summary, ReceiverMemory Memory)> Run(PublishSocket socket, int frames)
    {
        var settings = new ReceiverSettings(
            new ReceiverConfig
            {
                Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = [_detector.Endpoint] },
                MemoryCap = "16MiB",
                SavingRoot = _folder.Root,
                Publish = new PublishConfig { Endpoint = $"tcp://127.0.0.1:{FreePort.Next()}", Socket = socket, QueueFrames = 4, EndTimeoutMs = 200 },
            },
            new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            new LegacyProcParams { Saving = _folder.Params(SavingCompression.BshufLz4, perFile: 100) });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var starting = ReceiverRun.StartAsync(settings, timeout.Token);
        _detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
        await using var run = await starting;
        var running = run.RunAsync(timeout.Token);
        for (var f = 0; f < frames; f++)
            _detector.Send(V1Image(f, DectrisEncoding.BitshuffleLz4));
        _detector.Send([StreamV1Writer.End(1)]);
        return (await running, run.Memory!);
    }

    [Fact]
    public async Task Without_a_worker_a_push_publisher_drops_every_frame_by_reason_and_saves_them_all()
    {
        const int frames = 40;
        var (summary, memory) = await Run(PublishSocket.Push, frames);

        Assert.Null(summary.Error);
        Assert.Equal((frames, frames, 0L), (summary.Counters.Processed, summary.Saved, summary.Counters.Dropped));
        var publishing = summary.Publishing!;
        Assert.Equal(0, publishing.Published);
        Assert.Equal(frames, publishing.Dropped);
        // the queue (4) and the frames being encoded (2) waited for a worker until the end timeout; the others found it full
        Assert.InRange(publishing.Drops[FramePublisher.NotSentByTheEnd], 1, 6);
        Assert.Equal(frames, publishing.Drops[FramePublisher.QueueFull] + publishing.Drops[FramePublisher.NotSentByTheEnd]);
        Assert.False(publishing.EndSent);
        // its buffers come off the memory cap
        Assert.Equal(FramePublisher.BufferBytes(new PublishConfig { QueueFrames = 4 }, Info), memory.PublishBytes);
        Assert.Equal(memory.CapBytes, memory.ChannelBytes + memory.SinkBytes + memory.PublishBytes + memory.PoolBytes);
    }

    [Fact]
    public async Task A_pub_publisher_never_waits_for_viewers()
    {
        var (summary, _) = await Run(PublishSocket.Pub, 20);

        Assert.Null(summary.Error);
        Assert.Equal(20, summary.Saved);
        var publishing = summary.Publishing!;
        // libzmq takes every message at once (and lets it go without a subscriber): nothing waits for the end; a burst
        // faster than the sender thread may still find the 4-frame queue full
        Assert.Equal(20, publishing.Published + publishing.Dropped);
        Assert.False(publishing.Drops.ContainsKey(FramePublisher.NotSentByTheEnd));
        Assert.True(publishing.EndSent);
    }
}
