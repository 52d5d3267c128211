using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>How a DECTRIS receiver run shares its memory cap, and holds to it when it cannot keep up.</summary>
public sealed class ReceiverMemoryTests : IDisposable
{
    private readonly StandInDetector _detector = new();
    private readonly SavingFolder _folder = new();

    public void Dispose()
    {
        _detector.Dispose();
        _folder.Dispose();
    }

    private ReceiverSettings Settings(string memoryCap, int frames) => new(
        new ReceiverConfig
        {
            Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = [_detector.Endpoint] },
            MemoryCap = memoryCap,
            OverloadPolicy = OverloadPolicy.Drop,
            SavingRoot = _folder.Root,
        },
        new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
        new LegacyProcParams { Saving = _folder.Params(SavingCompression.Zip, perFile: 100) with { FileExistsPolicy = FileExistsPolicy.Overwrite } });

    [Fact]
    public async Task The_cap_is_shared_by_stream_buffers_saving_buffers_and_the_frame_pool_which_stays_in_its_share()
    {
        const int frames = 40;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var starting = ReceiverRun.StartAsync(Settings("10MiB", frames), timeout.Token);
        _detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
        await using var run = await starting;
        var running = run.RunAsync(timeout.Token);
        for (var f = 0; f < frames; f++)
            _detector.Send(V1Image(f, DectrisEncoding.BitshuffleLz4));
        _detector.Send([StreamV1Writer.End(1)]);
        var summary = await running;

        Assert.Null(summary.Error);
        var memory = run.Memory!;
        Assert.Equal(10L << 20, memory.CapBytes);
        Assert.Equal(memory.CapBytes, memory.ChannelBytes + memory.SinkBytes + memory.PoolBytes);
        Assert.True(memory.ChannelBytes >= 2L * (4 << 20), "the kernel's socket buffer is counted");
        Assert.True(memory.SinkBytes > 0, "zip saving holds compressed chunks");
        Assert.InRange(run.PoolAllocatedBytes, Info.ByteSize, memory.PoolBytes);
        Assert.Equal(frames, summary.Counters.Received);
        Assert.True(summary.Counters.Balanced);
        Assert.Equal(summary.Counters.Processed, summary.Saved);
    }

    [Fact]
    public async Task A_cap_smaller_than_the_stream_buffers_is_refused_with_its_shares()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var starting = ReceiverRun.StartAsync(Settings("4MiB", 4), timeout.Token);
        _detector.Send(StreamV1Writer.Header(1, "basic", Info, 4));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => starting);
        Assert.Contains("memory_cap 4MiB", error.Message);
        Assert.Contains("stream buffers", error.Message);
    }
}
