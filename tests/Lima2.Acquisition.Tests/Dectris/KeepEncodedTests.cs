using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Acquisition.Saving;
using Lima2.Acquisition.Tests.Saving;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// A DECTRIS receiver whose dense saving writes bitshuffle/LZ4 chunks as they came keeps each one in the message part
/// it arrived in, held by its frame until the frame is released: no pool buffer and no copy for it, the parts held
/// counted in the receiver's memory cap, and all of them released however the run ends.
/// </summary>
public sealed class KeepEncodedTests : IDisposable
{
    /// <summary>Its chunks (~22 KiB) are bigger than libzmq's input batch: the parts are held, not copied.</summary>
    private static readonly FrameInfo Large = new(256, 128, PixelType.Gray16);

    private readonly SavingFolder _folder = new();
    private readonly StandInDetector _detector = new();

    public void Dispose()
    {
        _detector.Dispose();
        _folder.Dispose();
    }

    /// <summary>
    /// The detector's chunk of frame <paramref name="frame"/>, with a block size bitshuffle would not choose by itself:
    /// a chunk the receiver encoded again could not look the same.
    /// </summary>
    private static byte[] Chunk(long frame, FrameInfo info)
    {
        var pixels = Pixels(frame, info);
        var chunk = new byte[BitshuffleLz4.MaxEncodedLength(pixels.Length, 2, 1024)];
        return chunk[..BitshuffleLz4.Encode(pixels, chunk, 2, 1024)];
    }

    private sealed class Stream(DectrisStreamVersion version, FrameInfo info, StandInDetector detector)
        : StandInSeries(version, info, detector)
    {
        public override void Image(long frame)
        {
            var chunk = Chunk(frame, Info);
            if (Version == DectrisStreamVersion.V1)
            {
                var parts = new StreamV1Writer().ImageParts(1, frame, Info, DectrisEncoding.BitshuffleLz4, chunk.Length);
                Detector.Send([parts.Image, parts.Descriptor, chunk, parts.Config]);
            }
            else if (Version == DectrisStreamVersion.V2)
                Detector.Send([V2.Image(1, frame, Info, DectrisEncoding.BitshuffleLz4, chunk).ToArray()]);
            else
                Detector.Send([MaxIv.Image(frame, Info, DectrisEncoding.BitshuffleLz4).ToArray(), chunk]);
        }
    }

    [Theory]
    [InlineData(DectrisStreamVersion.V1, false)]
    [InlineData(DectrisStreamVersion.V2, false)]
    [InlineData(DectrisStreamVersion.MaxIv, false)]
    [InlineData(DectrisStreamVersion.V1, true)]
    [InlineData(DectrisStreamVersion.V2, true)]
    [InlineData(DectrisStreamVersion.MaxIv, true)]
    public async Task Saved_chunks_are_the_streams_bytes_and_only_the_pixels_take_pool_buffers(DectrisStreamVersion version, bool small)
    {
        const int frames = 8;
        var info = small ? Info : Large; // a small chunk shares libzmq's receive buffer: copied out of it instead
        var stream = new Stream(version, info, _detector);
        var settings = new ReceiverSettings(
            new ReceiverConfig
            {
                Channel = new ChannelConfig { Kind = stream.Kind, Endpoints = [_detector.Endpoint] },
                MemoryCap = "64MiB",
                SavingRoot = _folder.Root,
            },
            new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            new LegacyProcParams { Saving = _folder.Params(SavingCompression.BshufLz4, perFile: 100) });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var starting = ReceiverRun.StartAsync(settings, timeout.Token);
        stream.Header(frames);
        for (var f = 0; f < frames; f++)
            stream.Image(f);
        stream.End();
        await using var run = await starting;
        var summary = await run.RunAsync(timeout.Token);

        Assert.Null(summary.Error);
        Assert.Equal(frames, summary.Saved);
        Assert.Equal(frames, run.Graph!.Pool.Rents); // one pixel buffer a frame, none for its chunk
        var file = Path.Combine(_folder.Root, "data", "scan_0_00000.h5");
        var stored = Python.Eval($"""
            import h5py
            with h5py.File("{file}") as f:
                d = f["/entry_0000/instrument/detector/data"]
                for i in range(d.shape[0]):
                    print(d.id.read_direct_chunk((i, 0, 0))[1].hex())
            """).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(0, frames).Select(f => Convert.ToHexStringLower(Chunk(f, info))), stored);
        Assert.Equal(Enumerable.Range(0, frames).SelectMany(f => Pixels(f, info)),
            H5PyView.Read(file, "/entry_0000/instrument/detector/data").Data);
    }

    [Fact]
    public async Task A_stream_saved_recompressed_to_a_graph_on_the_kernels_holds_no_part()
    {
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1, KeepEncoded: false,
            HoldRawFrames: false));
        Assert.Equal(0, channel.KeptPayloadCapacity);
        Assert.Equal(0, channel.HoldMoreChunks(Large, 64L << 20));
    }

    /// <summary>A saving stand-in slower than the stream that checks the chunks its frames carry.</summary>
    private sealed class SlowSink(FrameInfo info, int delayMs) : FrameConsumer<bool>("saving")
    {
        public int Written;
        public int WithChunk;

        public override bool Compute(Frame frame) => true;

        public override async ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
        {
            if (frame.Encoding == FrameEncoding.BitshuffleLz4)
            {
                Assert.Equal(Chunk(frame.Index, info), frame.EncodedData.ToArray());
                WithChunk++;
            }
            await Task.Delay(delayMs, CancellationToken.None);
            Written++;
        }
    }

    [Fact]
    public async Task A_slow_sink_with_the_drop_policy_keeps_the_held_chunks_in_the_channels_share_of_the_cap_and_accounts_for_every_frame()
    {
        const int frames = 200;
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1, Policy: OverloadPolicy.Drop));
        var stream = new Stream(DectrisStreamVersion.V1, Large, _detector);
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        stream.Header(frames);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var start = await starting.WaitAsync(timeout.Token);
        var memory = ReceiverMemory.Plan(new ReceiverConfig { MemoryCap = "16MiB", OverloadPolicy = OverloadPolicy.Drop }, channel,
            new LegacyProcParams(), start.Frame, new SinkOptions());
        var sink = new SlowSink(Large, delayMs: 15);
        await using var graph = new FrameGraph(start.Frame, [], [sink],
            new GraphOptions { Policy = OverloadPolicy.Drop, MemoryCapBytes = memory.PoolBytes, EntryCapacity = 2, Parallelism = 1 });
        var sending = Task.Run(() =>
        {
            for (var f = 0; f < frames; f++)
                stream.Image(f); // as fast as the socket takes them: far faster than 15 ms a frame
            stream.End();
        });
        var result = await ChannelRunner.RunAsync(channel, graph, timeout.Token);
        await sending;

        Assert.Null(result.Error);
        // the held chunks are the channel's: counted whole in its share, the pool has the rest
        Assert.Equal(memory.CapBytes, memory.ChannelBytes + memory.PoolBytes);
        Assert.Equal(channel.BufferedBytesBound(start.Frame), memory.ChannelBytes);
        Assert.True(channel.KeptPayloadCapacity > 6, $"{channel.KeptPayloadCapacity} held chunks: the decode stage's 6 and the receiver's share");
        Assert.InRange(channel.KeptPayloadsPeak, 1, channel.KeptPayloadCapacity);
        Assert.InRange(graph.Pool.AllocatedBytes, 1, memory.PoolBytes);
        Assert.Equal(0, channel.KeptPayloadsHeld);
        var counters = result.Graph.Counters;
        Assert.Equal(frames, counters.Received);
        Assert.True(counters.Balanced);
        Assert.True(counters.DroppedOverload > 0, "a stream faster than saving drops frames");
        Assert.Equal(frames, counters.Processed + counters.DroppedOverload);
        Assert.Equal(frames, result.Channel!.Delivered + result.Channel.Lost);
        Assert.Equal(counters.Processed, sink.Written);
        Assert.True(sink.WithChunk > 0);
        Assert.Equal(result.Channel.Delivered, graph.Pool.Rents);
    }

    [Theory]
    [InlineData(DectrisStreamVersion.V1)]
    [InlineData(DectrisStreamVersion.V2)]
    [InlineData(DectrisStreamVersion.MaxIv)]
    public async Task A_stop_in_the_middle_of_a_run_releases_every_held_chunk(DectrisStreamVersion version)
    {
        const int frames = 40;
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, version, RunFrames: frames));
        var stream = new Stream(version, Large, _detector);
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        stream.Header(frames);
        for (var f = 0; f < frames; f++)
            stream.Image(f); // all in the socket buffers: the receiver reads them as the slow sink lets it
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var start = await starting.WaitAsync(timeout.Token);
        var sink = new SlowSink(Large, delayMs: 20);
        await using var graph = new FrameGraph(start.Frame, [], [sink],
            new GraphOptions { MemoryCapBytes = 8L * start.Frame.ByteSize, EntryCapacity = 2, Parallelism = 1 });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var running = ChannelRunner.RunAsync(channel, graph, stop.Token);
        while (sink.Written < 5)
            await Task.Delay(5, timeout.Token);
        Assert.True(channel.KeptPayloadsHeld > 0, "frames in flight hold their chunks");
        await stop.CancelAsync();
        var result = await running;

        Assert.Equal(ChannelEnd.Stopped, result.Channel!.End);
        Assert.InRange(sink.Written, 5, frames - 1);
        Assert.Equal(sink.Written, sink.WithChunk);
        Assert.Equal(0, channel.KeptPayloadsHeld); // back to full: every message released
        Assert.Equal(0, graph.Pool.InUse);
        Assert.True(result.Graph.Counters.Balanced);
    }
}
