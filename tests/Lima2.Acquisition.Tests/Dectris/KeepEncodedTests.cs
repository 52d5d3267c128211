using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// A DECTRIS receiver keeps a bitshuffle/LZ4 frame as it came (a second pool buffer and a copy per frame) only when
/// its dense saving writes it as-is.
/// </summary>
public sealed class KeepEncodedTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(SavingCompression.Zip)]
    [InlineData(SavingCompression.None)]
    public async Task A_bslz4_stream_saved_recompressed_or_raw_is_pixel_exact_and_takes_fewer_pool_buffers_than_saved_as_is(
        SavingCompression compression)
    {
        var asIs = await Receive(SavingCompression.BshufLz4, "as-is");
        var other = await Receive(compression, "other");
        Assert.True(other < asIs, $"{compression}: {other} bytes of pool, bshuf_lz4 as-is: {asIs}");
    }

    /// <summary>A bslz4 V1 stream saved with <paramref name="compression"/>; checks the frames with h5py and returns
    /// the bytes the frame pool allocated.</summary>
    private async Task<long> Receive(SavingCompression compression, string basePath)
    {
        const int frames = 6;
        using var detector = new StandInDetector();
        var settings = new ReceiverSettings(
            new ReceiverConfig
            {
                Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = [detector.Endpoint] },
                MemoryCap = "64MiB",
                SavingRoot = _folder.Root,
            },
            new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            new LegacyProcParams { Saving = _folder.Params(compression, perFile: 100, basePath: basePath) });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var starting = ReceiverRun.StartAsync(settings, timeout.Token);
        detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
        await using var run = await starting;
        var running = run.RunAsync(timeout.Token);
        for (var f = 0; f < frames; f++)
        {
            // one frame at a time, so that both runs hold the same frames at once (the pool grows only when it must)
            detector.Send(V1Image(f, DectrisEncoding.BitshuffleLz4));
            while (run.Counters!.Processed <= f)
                await Task.Delay(5, timeout.Token);
        }
        detector.Send([StreamV1Writer.End(1)]);
        var summary = await running;

        Assert.Null(summary.Error);
        Assert.Equal(frames, summary.Saved);
        var saved = H5PyView.Read(Path.Combine(_folder.Root, basePath, "scan_0_00000.h5"), "/entry_0000/instrument/detector/data");
        Assert.Equal(Enumerable.Range(0, frames).SelectMany(f => Pixels(f)), saved.Data);
        return run.PoolAllocatedBytes;
    }
}
