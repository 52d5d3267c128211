using System.Globalization;
using Lima2.Acquisition.Saving;
using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// A raw (uncompressed) DECTRIS or MAX IV frame needs no decoding: its pixels are the message part it came in, held by
/// the frame until its last owner releases it, with no pool buffer and no copy; the parts held are counted in the
/// receiver's memory cap, all of them released however the run ends. A frame whose part is not usable, or a graph whose
/// consumer copies frames to an OpenCL device from the pool's memory, takes a pooled buffer and the copy.
/// </summary>
public sealed class RawFramesInMessageTests : IDisposable
{
    /// <summary>128 KiB a frame: bigger than libzmq's input batch, so each part is an allocation of its own.</summary>
    private static readonly FrameInfo Large = new(256, 256, PixelType.Gray16);

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private readonly SavingFolder _folder = new();
    private readonly StandInDetector _detector = new();

    public void Dispose()
    {
        _detector.Dispose();
        _folder.Dispose();
    }

    private sealed class Stream(DectrisStreamVersion version, FrameInfo info, StandInDetector detector)
        : StandInSeries(version, info, detector)
    {
        public override void Image(long frame)
        {
            var pixels = Pixels(frame, Info);
            if (Version == DectrisStreamVersion.V1)
                Detector.Send(V1Image(frame, DectrisEncoding.Raw, Info));
            else if (Version == DectrisStreamVersion.V2)
                Detector.Send([V2.Image(1, frame, Info, DectrisEncoding.Raw, pixels).ToArray()]);
            else
                Detector.Send([MaxIv.Image(frame, Info, DectrisEncoding.Raw).ToArray(), pixels]);
        }

        /// <summary>A V2 image with two thresholds: its part is twice a frame, more than a held part keeps.</summary>
        public void TwoThresholdImage(long frame) =>
            Detector.Send([V2.Image(1, frame, Info, DectrisEncoding.Raw, ["threshold_1", "threshold_2"], [Pixels(frame, Info), Pixels(frame + 1000, Info)]).ToArray()]);
    }

    /// <summary>
    /// The frames a receiver holds in their messages are the stream's: saved as they came (h5py reads them back), their
    /// ROI statistics numpy's on the same pixels, and not one of them took a pool buffer.
    /// </summary>
    [Theory]
    [InlineData(DectrisStreamVersion.V1)]
    [InlineData(DectrisStreamVersion.V2)]
    [InlineData(DectrisStreamVersion.MaxIv)]
    public async Task Frames_held_in_their_messages_are_saved_and_measured_as_the_stream_sent_them_without_a_pool_buffer(DectrisStreamVersion version)
    {
        const int frames = 8;
        var stream = new Stream(version, Large, _detector);
        var settings = new ReceiverSettings(
            new ReceiverConfig
            {
                Channel = new ChannelConfig { Kind = stream.Kind, Endpoints = [_detector.Endpoint] },
                MemoryCap = "64MiB",
                SavingRoot = _folder.Root,
            },
            new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            new LegacyProcParams
            {
                Saving = _folder.Params(SavingCompression.None, perFile: 100),
                Statistics = new Statistics
                {
                    Enabled = true,
                    RectRois = [new RectRoi { Topleft = new Point { X = 13, Y = 7 }, Dimensions = new Dimensions { X = 201, Y = 97 } }],
                },
            });
        using var timeout = new CancellationTokenSource(Limit);
        var starting = ReceiverRun.StartAsync(settings, timeout.Token);
        stream.Header(frames);
        for (var f = 0; f < frames; f++)
            stream.Image(f);
        stream.End();
        await using var run = await starting;
        var summary = await run.RunAsync(timeout.Token);

        Assert.Null(summary.Error);
        Assert.Equal(frames, summary.Saved);
        Assert.Equal(frames, ((DectrisChannel)run.Channel).RawFramesHeld);
        Assert.Equal(0, run.Graph!.Pool.Rents);
        Assert.Equal(0, ((DectrisChannel)run.Channel).KeptPayloadsHeld);
        var file = Path.Combine(_folder.Root, "data", "scan_0_00000.h5");
        Assert.Equal(Enumerable.Range(0, frames).SelectMany(f => Pixels(f, Large)),
            H5PyView.Read(file, "/entry_0000/instrument/detector/data").Data);
        var numpy = Python.Eval($"""
            import h5py
            with h5py.File("{file}") as f:
                d = f["/entry_0000/instrument/detector/data"]
                for i in range(d.shape[0]):
                    r = d[i, 7:7 + 97, 13:13 + 201].astype("float64")
                    print(i, repr(r.min()), repr(r.max()), repr(r.mean()), repr(r.std()), repr(r.sum()))
            """).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ')).ToArray();
        var rows = run.Find<RoiStatisticsNode>()!.Rows.Pop().OrderBy(r => r.FrameIdx).ToArray();
        Assert.Equal(frames, rows.Length);
        for (var f = 0; f < frames; f++)
        {
            double Numpy(int column) => double.Parse(numpy[f][column], CultureInfo.InvariantCulture);
            Assert.Equal(f, int.Parse(numpy[f][0], CultureInfo.InvariantCulture));
            Assert.Equal(f, rows[f].FrameIdx);
            Assert.Equal((float)Numpy(1), rows[f].Min);
            Assert.Equal((float)Numpy(2), rows[f].Max);
            Assert.Equal((float)Numpy(3), rows[f].Avg, 1e-6f * (float)Numpy(3));
            Assert.Equal((float)Numpy(4), rows[f].Std, 1e-6f * (float)Numpy(4));
            Assert.Equal(Numpy(5), rows[f].Sum);
        }
    }

    /// <summary>
    /// Parts that are no frame's own allocation take the copy: frames small enough to share libzmq's receive buffer, and
    /// a V2 image of two thresholds (a part twice a frame, more than a held part may keep); the pixels are the same.
    /// </summary>
    [Theory]
    [InlineData(DectrisStreamVersion.V1, false)]
    [InlineData(DectrisStreamVersion.V2, false)]
    [InlineData(DectrisStreamVersion.MaxIv, false)]
    [InlineData(DectrisStreamVersion.V2, true)]
    public async Task A_frame_whose_part_is_not_its_own_is_copied_into_a_pool_buffer(DectrisStreamVersion version, bool twoThresholds)
    {
        const int frames = 6;
        var info = twoThresholds ? Large : Info; // Info: 1.5 KiB frames
        var stream = new Stream(version, info, _detector);
        var target = new RecordingTarget(info);
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, version, Threshold: twoThresholds ? "threshold_1" : null));
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        if (twoThresholds)
            _detector.Send([new StreamV2Writer().Start(1, info, frames, channels: ["threshold_1", "threshold_2"])]);
        else
            stream.Header(frames);
        for (var f = 0; f < frames; f++)
        {
            if (twoThresholds)
                stream.TwoThresholdImage(f);
            else
                stream.Image(f); // MAX IV: the first image says the geometry
        }
        stream.End();
        using var timeout = new CancellationTokenSource(Limit);
        await starting.WaitAsync(timeout.Token);
        var summary = await channel.RunAsync(target, timeout.Token);

        Assert.Equal(frames, summary.Delivered);
        Assert.Equal(0, channel.RawFramesHeld);
        Assert.Equal(frames, target.Pool.Rents);
        Assert.Equal(Enumerable.Range(0, frames).Select(f => Pixels(f, info)), target.Frames.Select(f => f.Pixels));
    }

    /// <summary>
    /// A V2 image's pixels lie inside its CBOR message, after fields whose lengths change with the frame number (an
    /// image_id from 24 on takes one byte more): those at an odd offset are not aligned for 16-bit pixels (libzmq's
    /// allocation itself is) and are copied, the others held; every frame's pixels are the stream's.
    /// </summary>
    [Fact]
    public async Task V2_frames_whose_pixels_are_not_aligned_in_their_message_are_copied_and_the_others_held()
    {
        const int frames = 30;
        var writer = new StreamV2Writer();
        var images = Enumerable.Range(0, frames).Select(f => writer.Image(1, f, Large, DectrisEncoding.Raw, Pixels(f, Large)).ToArray()).ToList();
        var aligned = images.Count(image => PayloadOffset(image) % 2 == 0);
        Assert.InRange(aligned, 1, frames - 1); // both kinds in the run
        var target = new RecordingTarget(Large, buffers: 40);
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V2, DecodeWorkers: 1));
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        _detector.Send([writer.Start(1, Large, frames)]);
        foreach (var image in images)
            _detector.Send([image]);
        _detector.Send([writer.End(1)]);
        using var timeout = new CancellationTokenSource(Limit);
        await starting.WaitAsync(timeout.Token);
        channel.HoldMoreChunks(Large, 64L << 20); // a hold free for every frame: only the alignment decides
        var summary = await channel.RunAsync(target, timeout.Token);

        Assert.Equal(frames, summary.Delivered);
        Assert.Equal(aligned, channel.RawFramesHeld);
        Assert.Equal(frames - aligned, target.Pool.Rents);
        Assert.Equal(Enumerable.Range(0, frames).Select(f => Pixels(f, Large)), target.Frames.Select(f => f.Pixels));
    }

    private static int PayloadOffset(byte[] message)
    {
        var payload = StreamV2.Decode(message).Image.Payload;
        Assert.True(message.AsSpan().Overlaps(payload, out var offset));
        return offset;
    }

    /// <summary>A saving stand-in that checks every frame's pixels and writes nothing until the test opens its gate.</summary>
    private sealed class GatedSink(FrameInfo info, int passing = 0) : FrameConsumer<bool>("saving")
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _written;

        public int Written => Volatile.Read(ref _written);

        public void Open() => _open.TrySetResult();

        public override bool Compute(Frame frame)
        {
            Assert.Equal(Pixels(frame.Index, info), frame.Data.ToArray());
            return true;
        }

        public override async ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
        {
            if (Written >= passing)
                await _open.Task;
            Interlocked.Increment(ref _written);
        }
    }

    private static async Task WaitFor(Func<bool> condition, string what, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            if (cancellationToken.IsCancellationRequested)
                Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(5, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_stalled_sink_with_the_drop_policy_keeps_the_held_frames_in_the_channels_share_of_the_cap_and_accounts_for_every_frame()
    {
        const int frames = 200;
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1, KeepEncoded: false,
            Policy: OverloadPolicy.Drop));
        var stream = new Stream(DectrisStreamVersion.V1, Large, _detector);
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        stream.Header(frames);
        using var timeout = new CancellationTokenSource(Limit);
        var start = await starting.WaitAsync(timeout.Token);
        var memory = ReceiverMemory.Plan(new ReceiverConfig { MemoryCap = "24MiB", OverloadPolicy = OverloadPolicy.Drop }, channel,
            new LegacyProcParams(), start.Frame, new SinkOptions());
        var sink = new GatedSink(Large);
        await using var graph = new FrameGraph(start.Frame, [], [sink],
            new GraphOptions { Policy = OverloadPolicy.Drop, MemoryCapBytes = memory.PoolBytes, EntryCapacity = 2, Parallelism = 1 });
        var running = ChannelRunner.RunAsync(channel, graph, timeout.Token);
        for (var f = 0; f < frames; f++)
            stream.Image(f);
        stream.End();
        // every frame is held, in the pool, or dropped while nothing leaves the graph
        await WaitFor(() => channel.Delivered + channel.Lost == frames, "the channel to take every frame", timeout.Token);
        Assert.InRange(channel.KeptPayloadsHeld, 1, channel.KeptPayloadCapacity);
        Assert.InRange(graph.Pool.InUse, 0, graph.Pool.Capacity);
        sink.Open();
        var result = await running;

        Assert.Null(result.Error);
        // the held frames are the channel's: counted whole in its share, the pool has the rest
        Assert.Equal(memory.CapBytes, memory.ChannelBytes + memory.PoolBytes);
        Assert.Equal(channel.BufferedBytesBound(start.Frame), memory.ChannelBytes);
        Assert.True(channel.KeptPayloadCapacity > 6, $"{channel.KeptPayloadCapacity} held parts: the decode stage's 6 and the receiver's share");
        Assert.InRange(channel.KeptPayloadsPeak, 1, channel.KeptPayloadCapacity);
        Assert.InRange(graph.Pool.AllocatedBytes, 0, memory.PoolBytes);
        Assert.Equal(0, channel.KeptPayloadsHeld);
        var counters = result.Graph.Counters;
        Assert.Equal(frames, counters.Received);
        Assert.True(counters.Balanced);
        Assert.True(counters.DroppedOverload > 0, "a stalled sink drops frames");
        Assert.Equal(frames, counters.Processed + counters.DroppedOverload);
        Assert.Equal(frames, result.Channel!.Delivered + result.Channel.Lost);
        Assert.Equal(counters.Processed, sink.Written);
        Assert.True(channel.RawFramesHeld > 0);
        Assert.Equal(result.Channel.Delivered, channel.RawFramesHeld + graph.Pool.Rents); // held, or copied when no hold was free
    }

    [Theory]
    [InlineData(DectrisStreamVersion.V1)]
    [InlineData(DectrisStreamVersion.V2)]
    [InlineData(DectrisStreamVersion.MaxIv)]
    public async Task A_stop_in_the_middle_of_a_run_releases_every_held_frame(DectrisStreamVersion version)
    {
        const int frames = 40;
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, version, RunFrames: frames));
        var stream = new Stream(version, Large, _detector);
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        stream.Header(frames);
        for (var f = 0; f < frames; f++)
            stream.Image(f); // all in the socket buffers: the receiver reads them as the sink lets it
        using var timeout = new CancellationTokenSource(Limit);
        var start = await starting.WaitAsync(timeout.Token);
        var sink = new GatedSink(Large, passing: 5);
        await using var graph = new FrameGraph(start.Frame, [], [sink],
            new GraphOptions { MemoryCapBytes = 8L * start.Frame.ByteSize, EntryCapacity = 2, Parallelism = 1 });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var running = ChannelRunner.RunAsync(channel, graph, stop.Token);
        await WaitFor(() => sink.Written == 5 && channel.KeptPayloadsHeld > 0, "frames in flight holding their parts", timeout.Token);
        await stop.CancelAsync();
        sink.Open();
        var result = await running;

        Assert.Equal(ChannelEnd.Stopped, result.Channel!.End);
        Assert.InRange(sink.Written, 5, frames - 1);
        Assert.True(channel.RawFramesHeld >= 6, $"{channel.RawFramesHeld} frames held in their messages");
        Assert.Equal(0, channel.KeptPayloadsHeld); // every message released
        Assert.Equal(0, graph.Pool.InUse);
        Assert.True(result.Graph.Counters.Balanced);
    }

    /// <summary>
    /// A graph whose consumer runs on the OpenCL kernels (SMX's peak finder, frames copied to the device from the pool's
    /// memory) gets a channel that copies every raw frame into a pool buffer; a graph without one, a channel that holds them.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_receiver_whose_graph_runs_on_the_kernels_copies_raw_frames_into_pool_buffers(bool kernels)
    {
        const int frames = 6;
        var settings = new ReceiverSettings(
            new ReceiverConfig { Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = [_detector.Endpoint] } },
            new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            kernels ? new SmxProcParams() : new LegacyProcParams());
        await using var channel = (DectrisChannel)ChannelFactory.Create(settings);
        var stream = new Stream(DectrisStreamVersion.V1, Large, _detector);
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        stream.Header(frames);
        using var timeout = new CancellationTokenSource(Limit);
        var start = await starting.WaitAsync(timeout.Token);
        var sink = new GatedSink(Large);
        sink.Open();
        await using var graph = new FrameGraph(start.Frame, [], [sink], new GraphOptions { MemoryCapBytes = 16L * start.Frame.ByteSize });
        var running = ChannelRunner.RunAsync(channel, graph, timeout.Token);
        for (var f = 0; f < frames; f++)
            stream.Image(f);
        stream.End();
        var result = await running;

        Assert.Null(result.Error);
        Assert.Equal(frames, sink.Written);
        Assert.Equal(kernels ? 0 : frames, channel.RawFramesHeld);
        Assert.Equal(kernels ? frames : 0, graph.Pool.Rents);
    }
}
