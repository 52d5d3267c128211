using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.TestSupport;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>A multi-threshold detector (Eiger2 dual threshold) sends a payload per threshold; a receiver takes one.</summary>
public sealed class DectrisThresholdTests : IDisposable
{
    private const int Frames = 4;
    private static readonly string[] Dual = ["threshold_1", "threshold_2"];

    private readonly StandInDetector _detector = new(lingerMilliseconds: 1000);

    public void Dispose() => _detector.Dispose();

    /// <summary>Channel <paramref name="channel"/> of frame <paramref name="frame"/>: different pixels for each.</summary>
    private static byte[] ChannelPixels(long frame, int channel) => Pixels(100 * channel + frame);

    private static byte[][] Payloads(long frame, int channels) =>
        [.. Enumerable.Range(0, channels).Select(c => Encode(ChannelPixels(frame, c), DectrisEncoding.BitshuffleLz4, 2))];

    private void SendV2(IReadOnlyList<string> channels)
    {
        var writer = new StreamV2Writer();
        _detector.Send([writer.Start(1, Info, Frames, channels: channels)]);
        for (var f = 0; f < Frames; f++)
            _detector.Send([writer.Image(1, f, Info, DectrisEncoding.BitshuffleLz4, channels, Payloads(f, channels.Count)).ToArray()]);
        _detector.Send([writer.End(1)]);
    }

    private void SendV1(IReadOnlyList<string>? names, int channels, string detail = "basic")
    {
        _detector.Send(StreamV1Writer.Header(1, detail, Info, Frames, channels: names));
        var writer = new StreamV1Writer();
        for (var f = 0; f < Frames; f++)
        {
            var payloads = Payloads(f, channels);
            var parts = writer.ImageParts(1, f, Info, DectrisEncoding.BitshuffleLz4, payloads.Sum(p => (long)p.Length), channels);
            _detector.Send([parts.Image, parts.Descriptor, .. payloads, parts.Config]);
        }
        _detector.Send([StreamV1Writer.End(1)]);
    }

    private async Task<(RecordingTarget Target, ChannelSummary Summary, IReadOnlyDictionary<string, long> Rejections)> Receive(
        DectrisStreamVersion version, string? threshold, Action send)
    {
        var run = await StandInDetector.Receive(new DectrisChannelOptions(_detector.Endpoint, version, Threshold: threshold), send);
        return (run.Target, run.Summary, run.Channel.Rejections);
    }

    private static void AssertTaken(RecordingTarget target, ChannelSummary summary, int channel)
    {
        Assert.Equal(Frames, summary.Delivered);
        Assert.Equal(0, summary.Lost);
        Assert.Equal(Enumerable.Range(0, Frames).Select(f => (long)f), target.Frames.Select(f => f.Index));
        foreach (var frame in target.Frames)
        {
            Assert.Equal(ChannelPixels(frame.Index, channel), frame.Pixels);
            // saving writes the kept bitshuffle chunk as it came: it must be the taken threshold's
            Assert.Equal(Encode(ChannelPixels(frame.Index, channel), DectrisEncoding.BitshuffleLz4, 2), frame.Encoded);
        }
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("threshold_1", 0)]
    [InlineData("threshold_2", 1)]
    public async Task A_V2_dual_threshold_receiver_takes_the_chosen_threshold_pixel_exact_and_counts_the_other(string? threshold, int taken)
    {
        var (target, summary, rejections) = await Receive(DectrisStreamVersion.V2, threshold, () => SendV2(Dual));
        AssertTaken(target, summary, taken);
        var (name, count) = Assert.Single(rejections);
        Assert.Equal(Frames, count);
        Assert.Equal($"images of {Dual[1 - taken]} not taken (receiver.channel.threshold: {Dual[taken]})", name);
    }

    [Fact]
    public async Task A_V2_difference_channel_is_chosen_by_its_name_in_the_start_message()
    {
        string[] triple = ["threshold_1", "threshold_2", "difference"];
        var (target, summary, rejections) = await Receive(DectrisStreamVersion.V2, "difference", () => SendV2(triple));
        AssertTaken(target, summary, 2);
        Assert.Equal(2 * Frames, rejections["images of threshold_1, threshold_2 not taken (receiver.channel.threshold: difference)"]);
    }

    [Fact]
    public async Task A_threshold_the_detector_does_not_send_is_refused_with_the_available_ones()
    {
        await using var channel = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V2, Threshold: "difference"));
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        _detector.Send([new StreamV2Writer().Start(1, Info, Frames, channels: Dual)]);
        var error = await Assert.ThrowsAsync<ChannelException>(() => starting.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("receiver.channel.threshold 'difference' is not one of the detector's channels: threshold_1, threshold_2", error.Message);
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("threshold_2", 1)]
    public async Task A_V1_dual_threshold_image_gives_the_blob_of_the_chosen_threshold(string? threshold, int taken)
    {
        var (target, summary, rejections) = await Receive(DectrisStreamVersion.V1, threshold, () => SendV1(null, 2));
        AssertTaken(target, summary, taken);
        Assert.Equal(Frames, rejections[$"images of {Dual[1 - taken]} not taken (receiver.channel.threshold: {Dual[taken]})"]);
    }

    [Fact]
    public async Task With_V1_header_detail_none_the_first_dual_threshold_image_gives_the_geometry_and_the_chosen_blob_is_taken()
    {
        var (target, _, _) = await Receive(DectrisStreamVersion.V1, "threshold_2", () => SendV1(null, 2, "none"));
        // no image count in the header: the end message ends the series
        Assert.Equal(Frames, target.Frames.Count);
        Assert.All(target.Frames, f => Assert.Equal(ChannelPixels(f.Index, 1), f.Pixels));
    }

    [Fact]
    public async Task A_V1_header_that_names_its_channels_lets_a_receiver_take_the_difference()
    {
        var (target, summary, _) = await Receive(DectrisStreamVersion.V1, "difference", () => SendV1(["threshold_1", "threshold_2", "difference"], 3));
        AssertTaken(target, summary, 2);
    }

    [Fact]
    public async Task A_V1_receiver_asking_for_a_threshold_the_images_lack_reports_every_frame_lost_with_why()
    {
        var (target, summary, _) = await Receive(DectrisStreamVersion.V1, "threshold_2", () => SendV1(null, 1));
        Assert.Equal(0, summary.Delivered);
        Assert.Equal(Frames, summary.Lost);
        Assert.All(target.LostFrames, l => Assert.Contains("has 1 threshold channel(s), channel 2 is the one to read", l.Reason));
    }

    [Fact]
    public async Task A_dual_threshold_series_sent_by_python_gives_its_metadata_and_the_second_threshold_pixel_exact()
    {
        const int frames = 3;
        // python binds first (a port of its own choice): a PULL connecting to a port nobody listens on yet may
        // connect to itself
        using var sender = ChildProcess.Start(Python.Interpreter,
            [PythonScripts.Path("v2_dual_threshold.py"), "tcp://127.0.0.1:*", $"{frames}", $"{Info.Height}", $"{Info.Width}"]);
        sender.WaitForOutput("bound ", TimeSpan.FromSeconds(60));
        var endpoint = sender.Output.Split("bound ")[1].Split('\n')[0].Trim();
        await using var channel = new DectrisChannel(new DectrisChannelOptions(endpoint, DectrisStreamVersion.V2, Threshold: "threshold_2"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var start = await channel.StartAsync(timeout.Token).AsTask().WaitAsync(timeout.Token);
        var target = new RecordingTarget(start.Frame);
        var summary = await channel.RunAsync(target, timeout.Token);
        Assert.Equal(0, sender.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("sent", sender.Output);

        Assert.Equal(new DetectorMetadata
        {
            XPixelSize = 7.5e-05, YPixelSize = 7.5e-05, Distance = 0.1875, BeamCenterX = 20.5, BeamCenterY = 11.25,
            CountTime = 0.0049, FrameTime = 0.005, SaturationValue = 65534, SensorMaterial = "CdTe", SensorThickness = 0.00075,
        }, start.Metadata);
        Assert.Equal(frames, summary.Delivered);
        foreach (var frame in target.Frames)
        {
            var expected = Enumerable.Range(0, Info.PixelCount).Select(k => (ushort)((frame.Index * 1000 + 7 + k) % 65536));
            Assert.Equal(expected, MemoryMarshal.Cast<byte, ushort>(frame.Pixels).ToArray());
        }
        Assert.Equal(frames, channel.Rejections["images of threshold_1 not taken (receiver.channel.threshold: threshold_2)"]);
    }

    [Fact]
    public void The_settings_file_names_the_threshold_in_the_receiver_channel_section()
    {
        var config = ReceiverConfig.Parse("""
            channel: { kind: dectris_v2, endpoints: [ "tcp://127.0.0.1:31001" ], threshold: threshold_2 }
            """);
        Assert.Equal("threshold_2", config.Channel.Threshold);
        Assert.Null(ReceiverConfig.Parse("channel: { kind: dectris_v1, endpoints: [ \"tcp://127.0.0.1:9999\" ] }").Channel.Threshold);
        var error = Assert.Throws<ParamsException>(() => ReceiverConfig.Parse("channel: { kind: simulator, threshold: threshold_2 }"));
        Assert.Contains("channel.threshold", error.Message);
    }

    [Fact]
    public void A_V1_image_with_a_blob_missing_for_its_channels_is_refused()
    {
        var payloads = Payloads(0, 2);
        var parts = new StreamV1Writer().ImageParts(1, 0, Info, DectrisEncoding.BitshuffleLz4, payloads[0].Length, 2);
        var error = Assert.Throws<DectrisFormatException>(() =>
            StreamV1.Decode(new ArrayParts([parts.Image, parts.Descriptor, payloads[0], parts.Config]), 1));
        Assert.Contains("has 5 parts (+1 appendix) for 2 channel(s)", error.Message);
    }
}
