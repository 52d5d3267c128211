using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>The channel's decode workers and its behaviour when the receiver cannot keep up.</summary>
public sealed class DectrisParallelDecodeTests : IDisposable
{
    private readonly StandInDetector _detector = new();

    public void Dispose()
    {
        _detector.Dispose();
    }

    private static readonly DectrisEncoding[] Encodings = [DectrisEncoding.BitshuffleLz4, DectrisEncoding.Raw, DectrisEncoding.Lz4Block];

    private static bool Corrupt(int frame) => frame % 7 == 3 && Encodings[frame % Encodings.Length] == DectrisEncoding.BitshuffleLz4;

    [Fact]
    public async Task Four_decode_workers_hand_frames_over_in_order_with_corrupt_ones_lost_in_their_turn()
    {
        const int frames = 60;
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1, DecodeWorkers: 4));
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        _detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var start = await starting.WaitAsync(timeout.Token);
        var target = new RecordingTarget(start.Frame, buffers: 6);
        var running = channel.RunAsync(target, timeout.Token);
        for (var f = 0; f < frames; f++)
        {
            var message = V1Image(f, Encodings[f % Encodings.Length]);
            if (Corrupt(f))
                message[2][12] ^= 0xFF; // the first block's length no longer fits: found by the decoder, not the receive thread
            _detector.Send(message);
        }
        _detector.Send([StreamV1Writer.End(1)]);
        var summary = await running;

        var corrupt = Enumerable.Range(0, frames).Where(Corrupt).Select(f => (long)f).ToList();
        var good = Enumerable.Range(0, frames).Select(f => (long)f).Except(corrupt).ToList();
        Assert.Equal(good, target.Frames.Select(f => f.Index));
        Assert.All(target.Frames, f => Assert.Equal(Pixels(f.Index), f.Pixels));
        Assert.Equal(corrupt, target.LostFrames.Select(l => l.Index));
        Assert.Equal(good.Count, summary.Delivered);
        Assert.Equal(corrupt.Count, summary.Lost);
        Assert.Equal(0, target.Pool.InUse);
    }

    /// <summary>A saving stand-in slower than the stream.</summary>
    private sealed class SlowSink() : FrameConsumer<bool>("saving")
    {
        public int Written;

        public override bool Compute(Frame frame) => true;

        public override async ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
        {
            await Task.Delay(15, cancellationToken);
            Written++;
        }
    }

    [Theory]
    [InlineData(OverloadPolicy.Drop)]
    [InlineData(OverloadPolicy.BackPressure)]
    public async Task An_overloaded_receiver_never_allocates_more_frame_memory_than_its_cap_and_accounts_for_every_frame(OverloadPolicy policy)
    {
        const int frames = 80;
        const int capFrames = 5;
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1, DecodeWorkers: 3));
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        _detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var start = await starting.WaitAsync(timeout.Token);
        var sink = new SlowSink();
        var cap = (long)capFrames * start.Frame.ByteSize;
        await using var graph = new FrameGraph(start.Frame, [], [sink],
            new GraphOptions { Policy = policy, MemoryCapBytes = cap, EntryCapacity = 2, Parallelism = 1 });
        var sending = Task.Run(() =>
        {
            // As fast as the socket takes them: far faster than 15 ms a frame.
            for (var f = 0; f < frames; f++)
                _detector.Send(V1Image(f, DectrisEncoding.BitshuffleLz4));
            _detector.Send([StreamV1Writer.End(1)]);
        });
        var result = await ChannelRunner.RunAsync(channel, graph, timeout.Token);
        await sending;

        Assert.Null(result.Error);
        var counters = result.Graph.Counters;
        Assert.Equal(frames, counters.Received);
        Assert.True(counters.Balanced);
        Assert.Equal(frames, result.Channel!.Delivered + result.Channel.Lost);
        Assert.True(graph.Pool.AllocatedBytes <= cap, $"the pool allocated {graph.Pool.AllocatedBytes} bytes, the cap is {cap}");
        Assert.True(graph.Pool.AllocatedBytes > 0);
        Assert.Equal(counters.Processed, sink.Written);
        if (policy == OverloadPolicy.Drop)
        {
            Assert.True(counters.DroppedOverload > 0, "a stream faster than saving drops frames");
            Assert.Equal(frames, counters.Processed + counters.DroppedOverload);
        }
        else
        {
            Assert.Equal(0, counters.Dropped);
            Assert.Equal(frames, sink.Written);
        }
    }
}
