using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>A receiver run (<c>lima2 receive</c>, the receiver device) of a dual-threshold detector saves the threshold
/// its <c>receiver.channel.threshold</c> names.</summary>
public sealed class ReceiverThresholdTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(SavingCompression.BshufLz4)]
    [InlineData(SavingCompression.None)]
    public async Task A_receive_of_a_dual_threshold_V1_stream_saves_threshold_2_pixel_exact_when_asked(SavingCompression compression)
    {
        const int frames = 4;
        byte[] Threshold(long frame, int channel) => Pixels(100 * channel + frame);
        using var detector = new StandInDetector();
        var settings = new ReceiverSettings(
            new ReceiverConfig
            {
                Channel = new ChannelConfig { Kind = ChannelKind.DectrisV1, Endpoints = [detector.Endpoint], Threshold = "threshold_2" },
                MemoryCap = "64MiB",
                SavingRoot = _folder.Root,
            },
            new DectrisAcqParams { Acq = new Core.Parameters.Acquisition { NbFrames = frames } },
            new LegacyProcParams { Saving = _folder.Params(compression, perFile: 100) });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var starting = ReceiverRun.StartAsync(settings, timeout.Token);
        detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
        await using var run = await starting;
        var running = run.RunAsync(timeout.Token);
        var writer = new StreamV1Writer();
        for (var f = 0; f < frames; f++)
        {
            byte[][] payloads = [.. Enumerable.Range(0, 2).Select(c => Encode(Threshold(f, c), DectrisEncoding.BitshuffleLz4, 2))];
            var parts = writer.ImageParts(1, f, Info, DectrisEncoding.BitshuffleLz4, payloads.Sum(p => (long)p.Length), 2);
            detector.Send([parts.Image, parts.Descriptor, .. payloads, parts.Config]);
        }
        detector.Send([StreamV1Writer.End(1)]);
        var summary = await running;

        Assert.Null(summary.Error);
        Assert.Equal(frames, summary.Saved);
        var saved = H5PyView.Read(Path.Combine(_folder.Root, "data", "scan_0_00000.h5"), "/entry_0000/instrument/detector/data");
        Assert.Equal(Enumerable.Range(0, frames).SelectMany(f => Threshold(f, 1)), saved.Data);
    }
}
