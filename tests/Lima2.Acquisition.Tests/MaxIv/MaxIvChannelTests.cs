using System.Text;
using Lima2.Acquisition.Tests.Dectris;
using Lima2.Core.Frames;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.MaxIv;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.MaxIv;

/// <summary>The <c>maxiv</c> channel kind: MAX IV's unified stream read by the receiver's stream channel.</summary>
public sealed class MaxIvChannelTests : IDisposable
{
    private readonly StandInDetector _source = new(lingerMilliseconds: 1000);
    private readonly MaxIvStreamWriter _writer = new();

    public void Dispose() => _source.Dispose();

    private Task<ChannelRun> Receive(Action send, long runFrames = 0) =>
        StandInDetector.Receive(new DectrisChannelOptions(_source.Endpoint, DectrisStreamVersion.MaxIv, RunFrames: runFrames), send);

    private List<byte[]> Image(long frame, DectrisEncoding encoding, FrameInfo? info = null)
    {
        var i = info ?? Info;
        return [_writer.Image(frame, i, encoding).ToArray(), Encode(Pixels(frame, i), encoding, i.PixelType.SizeOf())];
    }

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);

    [Theory]
    [InlineData(DectrisEncoding.Raw)]
    [InlineData(DectrisEncoding.Lz4Chunk)]
    [InlineData(DectrisEncoding.BitshuffleLz4)]
    public async Task Every_frame_arrives_decoded_with_the_geometry_of_the_first_image(DectrisEncoding encoding)
    {
        const int frames = 5;
        var (target, summary, channel) = await Receive(() =>
        {
            _source.Send([_writer.Header("/data/scan.h5").ToArray()]);
            for (var f = 0; f < frames; f++)
                _source.Send(Image(f, encoding));
            _source.Send([_writer.End().ToArray()]);
        });

        Assert.Equal(Info, target.InputInfo);
        Assert.Equal((frames, 0L, ChannelEnd.Completed, "end of series"), (summary.Delivered, summary.Lost, summary.End, summary.Detail));
        Assert.Equal(Enumerable.Range(0, frames).Select(i => (long)i), target.Frames.Select(f => f.Index));
        Assert.All(target.Frames, f => Assert.Equal(Pixels(f.Index), f.Pixels));
        // a bslz4 payload is an HDF5 chunk: kept as it came for saving
        Assert.All(target.Frames, f => Assert.Equal(encoding == DectrisEncoding.BitshuffleLz4 ? FrameEncoding.BitshuffleLz4 : FrameEncoding.Raw, f.Encoding));
        Assert.Empty(channel.Rejections);
        Assert.StartsWith("maxiv tcp://", channel.Name);
    }

    [Fact]
    public async Task Bad_messages_are_counted_with_their_reasons_and_every_frame_is_accounted_for()
    {
        var (target, summary, channel) = await Receive(() =>
        {
            _source.Send([Json("not json at all")]);
            _source.Send([_writer.Header().ToArray()]);
            _source.Send(Image(0, DectrisEncoding.BitshuffleLz4));
            _source.Send([Json("""{"htype":"image","frame":1,"shape":[21,37],"type":"uint16","compression":"none"}"""),
                Pixels(1)]);                                                           // no msg_number: frame 1 lost
            _source.Send([Json("""{"htype":"dimage-1.0","msg_number":3}""")]);        // unknown htype
            var zstd = Image(2, DectrisEncoding.Raw);
            zstd[0] = Json("""{"htype":"image","msg_number":4,"frame":2,"shape":[21,37],"type":"uint16","compression":"zstd"}""");
            _source.Send(zstd);                                                        // unknown compression: frame 2 lost
            var corrupt = Image(3, DectrisEncoding.BitshuffleLz4);
            corrupt[1][12] ^= 0xFF;                                                    // first block length corrupt: frame 3 lost
            _source.Send(corrupt);
            var wrongSize = Image(4, DectrisEncoding.Raw);
            wrongSize[1] = wrongSize[1][..100];                                        // raw blob too short: frame 4 lost
            _source.Send(wrongSize);
            _source.Send(Image(5, DectrisEncoding.Raw, new FrameInfo(5, 5, PixelType.Gray16))); // another geometry: frame 5 lost
            _source.Send(Image(6, DectrisEncoding.Lz4Chunk));
            _source.Send(Image(6, DectrisEncoding.Lz4Chunk));                          // duplicate
            _source.Send([Image(7, DectrisEncoding.Raw)[0]]);                          // no blob: frame 7 lost
            _source.Send(Image(8, DectrisEncoding.Raw));
            _source.Send([_writer.End().ToArray()]);
        }, runFrames: 10);                                                            // frame 9 never arrives

        Assert.Equal([0L, 6, 8], target.Frames.Select(f => f.Index));
        Assert.All(target.Frames, f => Assert.Equal(Pixels(f.Index), f.Pixels));
        Assert.Equal([1L, 2, 3, 4, 5, 7, 9], target.LostFrames.Select(l => l.Index).Order());
        Assert.Equal((3L, 7L, ChannelEnd.Completed), (summary.Delivered, summary.Lost, summary.End));
        Assert.Equal(2, channel.Rejections["malformed"]); // the garbage and the unknown htype
        Assert.Equal(1, channel.Rejections["duplicate frame"]);
        Assert.Contains(target.LostFrames, l => l.Index == 1 && l.Reason.Contains("without msg_number"));
        Assert.Contains(target.LostFrames, l => l.Index == 2 && l.Reason.Contains("unsupported compression 'zstd'"));
        Assert.Contains(target.LostFrames, l => l.Index == 5 && l.Reason.Contains("5x5"));
        Assert.Contains(target.LostFrames, l => l.Index == 7 && l.Reason.Contains("0 blob(s)"));
        Assert.Contains(target.LostFrames, l => l.Index == 9 && l.Reason.Contains("never arrived"));
    }

    [Fact]
    public async Task A_header_with_the_detector_configuration_gives_geometry_count_and_metadata()
    {
        var (target, summary, _) = await Receive(() =>
        {
            var config = StreamV1Writer.Header(1, "basic", Info, 2)[1]; // the DECTRIS keys a MAX IV Eiger source forwards
            _source.Send([_writer.Header().ToArray(), config]);
            _source.Send(Image(0, DectrisEncoding.BitshuffleLz4));
            _source.Send(Image(1, DectrisEncoding.BitshuffleLz4));
        });
        // the header's nimages says when the series is complete, without a series_end
        Assert.Equal((2L, ChannelEnd.Completed, "all frames received"), (summary.Delivered, summary.End, summary.Detail));
        Assert.Equal(Pixels(1), target.Frames[1].Pixels);
    }

    [Fact]
    public void A_multi_threshold_image_reads_the_chosen_channel_and_counts_the_others()
    {
        var header = Encoding.UTF8.GetBytes("""{"htype":"image","msg_number":1,"frame":0,"shape":[2,21,37],"type":"uint16","compression":"none"}""");
        var message = MaxIvStream.Decode(new ArrayParts([header, Pixels(10), Pixels(11)]), channel: 1);
        Assert.Equal(Info, message.Image.Info);
        Assert.Equal(1, message.Image.OtherChannels);
        Assert.Equal(Pixels(11), message.Image.Payload.ToArray());
    }
}
