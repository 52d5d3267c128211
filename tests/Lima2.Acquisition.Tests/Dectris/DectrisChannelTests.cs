using System.Text;
using Lima2.Core.Frames;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

public sealed class DectrisChannelTests : IDisposable
{
    private readonly StandInDetector _detector = new(lingerMilliseconds: 1000);

    public void Dispose()
    {
        _detector.Dispose();
    }

    private static Task<ChannelRun> Receive(DectrisChannelOptions options, Action send) => StandInDetector.Receive(options, send);

    [Theory]
    [InlineData(DectrisStreamVersion.V1, DectrisEncoding.BitshuffleLz4)]
    [InlineData(DectrisStreamVersion.V1, DectrisEncoding.Lz4Block)]
    [InlineData(DectrisStreamVersion.V1, DectrisEncoding.Raw)]
    [InlineData(DectrisStreamVersion.V2, DectrisEncoding.BitshuffleLz4)]
    [InlineData(DectrisStreamVersion.V2, DectrisEncoding.Lz4Chunk)]
    [InlineData(DectrisStreamVersion.V2, DectrisEncoding.Raw)]
    public async Task Every_frame_of_a_series_arrives_decoded_with_bitshuffle_chunks_kept(DectrisStreamVersion version, DectrisEncoding encoding)
    {
        const int frames = 6;
        var (target, summary, _) = await Receive(new DectrisChannelOptions(_detector.Endpoint, version), () =>
        {
            var v2 = new StreamV2Writer();
            if (version == DectrisStreamVersion.V1)
                _detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
            else
                _detector.Send([v2.Start(1, Info, frames)]);
            for (var f = 0; f < frames; f++)
                _detector.Send(version == DectrisStreamVersion.V1 ? V1Image(f, encoding) : [V2Image(f, encoding)]);
            _detector.Send([version == DectrisStreamVersion.V1 ? StreamV1Writer.End(1) : v2.End(1)]);
        });

        Assert.Equal(frames, summary.Delivered);
        Assert.Equal(0, summary.Lost);
        Assert.Equal(Enumerable.Range(0, frames).Select(i => (long)i), target.Frames.Select(f => f.Index));
        Assert.Equal(Enumerable.Range(0, frames).Select(i => (long)i), target.Frames.Select(f => f.ReceiverIndex));
        foreach (var frame in target.Frames)
        {
            Assert.Equal(Pixels(frame.Index), frame.Pixels);
            if (encoding == DectrisEncoding.BitshuffleLz4)
            {
                Assert.Equal(FrameEncoding.BitshuffleLz4, frame.Encoding);
                Assert.Equal(Encode(Pixels(frame.Index), encoding, 2), frame.Encoded);
            }
            else
                Assert.Empty(frame.Encoded);
        }
    }

    [Fact]
    public async Task Bad_messages_are_counted_with_their_reasons_and_every_frame_is_accounted_for()
    {
        const int frames = 10;
        var (target, summary, channel) = await Receive(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1), () =>
        {
            _detector.Send([Encoding.UTF8.GetBytes("garbage before the header")]);
            _detector.Send(StreamV1Writer.Header(1, "all", Info, frames, "appendix"));
            _detector.Send(V1Image(0, DectrisEncoding.BitshuffleLz4));
            _detector.Send([Encoding.UTF8.GetBytes("{\"htype\":\"dunknown-1.0\"}")]);
            _detector.Send(V1Image(1, DectrisEncoding.Lz4Block));
            _detector.Send(V1Image(1, DectrisEncoding.Lz4Block));                  // duplicate
            var truncated = V1Image(2, DectrisEncoding.BitshuffleLz4);
            truncated[2] = truncated[2][..(truncated[2].Length / 2)];   // blob shorter than its size: frame 2 lost
            _detector.Send(truncated);
            var corrupt = V1Image(3, DectrisEncoding.BitshuffleLz4);
            corrupt[2][12] ^= 0xFF;                                    // first block length corrupt: frame 3 lost
            _detector.Send(corrupt);
            _detector.Send(V1Image(4, DectrisEncoding.Raw, new FrameInfo(5, 5, PixelType.Gray16))); // wrong size: frame 4 lost
            _detector.Send(V1Image(6, DectrisEncoding.Raw));                      // frame 5 never arrives
            _detector.Send(V1Image(5, DectrisEncoding.Raw));                      // ... and comes too late
            _detector.Send(V1Image(7, DectrisEncoding.Raw).Take(3).ToList());     // missing dconfig part: frame 7 lost
            _detector.Send(V1Image(8, DectrisEncoding.Raw));
            _detector.Send([StreamV1Writer.End(1)]);                              // frame 9 never arrives
        });

        Assert.Equal([0L, 1, 6, 8], target.Frames.Select(f => f.Index));
        Assert.All(target.Frames, f => Assert.Equal(Pixels(f.Index), f.Pixels));
        Assert.Equal([2L, 3, 4, 5, 7, 9], target.LostFrames.Select(l => l.Index).Order());
        Assert.Equal(4, summary.Delivered);
        Assert.Equal(6, summary.Lost);
        Assert.Equal((ChannelEnd.Completed, "end of series"), (summary.End, summary.Detail));
        Assert.Equal(2, channel.Rejections["malformed"]); // the garbage and the unknown htype
        Assert.Equal(1, channel.Rejections["duplicate frame"]);
        Assert.Equal(1, channel.Rejections["out of order"]);
        Assert.Contains(target.LostFrames, l => l.Index == 4 && l.Reason.Contains("5x5"));
        Assert.Contains(target.LostFrames, l => l.Index == 5 && l.Reason.Contains("never arrived"));
    }

    [Fact]
    public async Task A_receiver_takes_only_its_round_robin_share_and_numbers_it_from_zero()
    {
        var (target, summary, channel) = await Receive(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V2, Rank: 1, Receivers: 3), () =>
        {
            var v2 = new StreamV2Writer();
            _detector.Send([v2.Start(1, Info, 8)]);
            foreach (var f in new[] { 1, 4, 5, 7 })
                _detector.Send([V2Image(f, DectrisEncoding.BitshuffleLz4)]);
        });
        // Frames 1, 4, 7 are receiver 1's share of 8; frame 5 belongs to receiver 2. All three came: no end needed.
        Assert.Equal([1L, 4, 7], target.Frames.Select(f => f.Index));
        Assert.Equal([0L, 1, 2], target.Frames.Select(f => f.ReceiverIndex));
        Assert.Equal((ChannelEnd.Completed, "all frames received"), (summary.End, summary.Detail));
        Assert.Equal(1, channel.Rejections["other receiver's frame"]);
    }

    [Fact]
    public async Task With_header_detail_none_the_first_image_gives_the_geometry()
    {
        var (target, summary, _) = await Receive(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1), () =>
        {
            _detector.Send(StreamV1Writer.Header(1, "none", Info, 0));
            _detector.Send(V1Image(0, DectrisEncoding.BitshuffleLz4));
            _detector.Send(V1Image(1, DectrisEncoding.BitshuffleLz4));
            _detector.Send([StreamV1Writer.End(1)]);
        });
        Assert.Equal(2, summary.Delivered);
        Assert.Equal(Info, target.InputInfo);
        Assert.Equal(Pixels(1), target.Frames[1].Pixels);
    }

    [Fact]
    public async Task A_malformed_message_with_a_later_frame_number_is_one_rejection_and_the_good_frames_all_arrive()
    {
        const int frames = 10;
        var (target, summary, channel) = await Receive(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1), () =>
        {
            _detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
            var truncated = V1Image(8, DectrisEncoding.Raw);
            truncated[2] = truncated[2][..10]; // a broken message that says frame 8, right after the header
            _detector.Send(truncated);
            for (var f = 0; f < frames; f++)
                _detector.Send(V1Image(f, DectrisEncoding.Raw));
            _detector.Send([StreamV1Writer.End(1)]);
        });

        Assert.Equal(Enumerable.Range(0, frames).Select(i => (long)i), target.Frames.Select(f => f.Index));
        Assert.Empty(target.LostFrames);
        Assert.Equal((frames, 0L), (summary.Delivered, summary.Lost));
        Assert.Equal(1, Assert.Single(channel.Rejections).Value);
        Assert.Equal("malformed", channel.Rejections.Keys.Single());
    }

    [Theory]
    [InlineData(0L, "implausible frame number", "end of series")]
    [InlineData(3L, "beyond the series", "all frames received")]
    public async Task A_frame_number_far_ahead_is_one_rejection_not_a_count_of_skipped_frames(long runFrames, string rejection, string end)
    {
        // header detail none: the header gives no count, only the run's nb_frames (0 = endless) bounds the numbers
        var (target, summary, channel) = await Receive(
            new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1, RunFrames: runFrames), () =>
            {
                _detector.Send(StreamV1Writer.Header(1, "none", Info, 0));
                _detector.Send(V1Image(0, DectrisEncoding.Raw));
                _detector.Send(V1Image(1_000_000_000_000, DectrisEncoding.Raw));
                _detector.Send(V1Image(1, DectrisEncoding.Raw));
                _detector.Send(V1Image(2, DectrisEncoding.Raw));
                _detector.Send([StreamV1Writer.End(1)]);
            });

        Assert.Equal([0L, 1, 2], target.Frames.Select(f => f.Index));
        Assert.Equal((3L, 0L, ChannelEnd.Completed, end), (summary.Delivered, summary.Lost, summary.End, summary.Detail));
        Assert.Equal(1, channel.Rejections[rejection]);
        Assert.Contains("1000000000000", channel.LastRejection);
    }

    [Fact]
    public async Task A_stream_silent_for_the_timeout_fails_the_run_and_the_frames_that_never_came_are_lost()
    {
        var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1, TimeoutMs: 500));
        await using var _ = channel;
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        _detector.Send(StreamV1Writer.Header(1, "basic", Info, 10));
        for (var f = 0; f < 4; f++)
            _detector.Send(V1Image(f, DectrisEncoding.Raw));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var target = new RecordingTarget((await starting.WaitAsync(timeout.Token)).Frame);

        var error = await Assert.ThrowsAsync<Core.Pipeline.ChannelException>(() => channel.RunAsync(target, timeout.Token));

        Assert.False(timeout.IsCancellationRequested);
        Assert.Equal("the stream stopped: no message for 500 ms (receiver channel.timeout_ms), 6 frames that never came counted lost", error.Message);
        Assert.Equal([0L, 1, 2, 3], target.Frames.Select(f => f.Index));
        Assert.Equal([4L, 5, 6, 7, 8, 9], target.LostFrames.Select(l => l.Index));
        Assert.All(target.LostFrames, l => Assert.EndsWith("never arrived (no message for 500 ms)", l.Reason));
        Assert.Equal((4L, 6L), (channel.Delivered, channel.Lost));
    }

    [Fact]
    public async Task An_oversize_message_is_dropped_unread_and_the_run_ends_at_the_timeout_with_its_frames_lost()
    {
        const long oversize = 4 << 20; // small enough to arrive well within the timeout when nothing drops it
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        var channel = new DectrisChannel(new DectrisChannelOptions(endpoint, DectrisStreamVersion.V1, TimeoutMs: 1000, MaxMessageBytes: 1 << 20));
        await using var _ = channel;
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        using var detector = ChildProcess.Start(Python.Interpreter, [PythonScripts.Path("oversize_v1_stream.py"), endpoint, $"{oversize}"]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var target = new RecordingTarget((await starting.WaitAsync(timeout.Token)).Frame);

        // libzmq reads no further than the oversize part's length: it drops it with the connection (for good, a
        // protocol error), so nothing after it comes and the timeout ends the run
        var error = await Assert.ThrowsAsync<Core.Pipeline.ChannelException>(() => channel.RunAsync(target, timeout.Token));
        Assert.True(detector.WaitForExit(TimeSpan.FromSeconds(30)) == 0, detector.Output);

        Assert.Contains("no message for 1000 ms", error.Message);
        Assert.Equal([0L, 1, 2, 3, 4], target.Frames.Select(f => f.Index));
        Assert.All(target.Frames, f => Assert.All(AsUInt16(f.Pixels), v => Assert.Equal(f.Index, v)));
        Assert.Equal([5L, 6, 7, 8, 9], target.LostFrames.Select(l => l.Index));
        Assert.All(target.LostFrames, l => Assert.EndsWith("never arrived (no message for 1000 ms)", l.Reason));
        Assert.Empty(channel.Rejections);
    }
}
