using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.MaxIv;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// One series of a DECTRIS V1, V2 or MAX IV stream from a <see cref="StandInDetector"/>: its header and end messages
/// in each version; a test's subclass sends the images it needs.
/// </summary>
internal abstract class StandInSeries(DectrisStreamVersion version, FrameInfo info, StandInDetector detector)
{
    protected DectrisStreamVersion Version => version;

    protected FrameInfo Info => info;

    protected StandInDetector Detector => detector;

    protected StreamV2Writer V2 { get; } = new();

    protected MaxIvStreamWriter MaxIv { get; } = new();

    /// <summary>The receiver channel that reads this stream.</summary>
    public ChannelKind Kind => version switch
    {
        DectrisStreamVersion.V1 => ChannelKind.DectrisV1,
        DectrisStreamVersion.V2 => ChannelKind.DectrisV2,
        _ => ChannelKind.MaxIv,
    };

    public void Header(long frames) => detector.Send(version switch
    {
        DectrisStreamVersion.V1 => StreamV1Writer.Header(1, "basic", info, frames),
        DectrisStreamVersion.V2 => [V2.Start(1, info, frames)],
        _ => [MaxIv.Header().ToArray()], // the geometry comes with the first image
    });

    public abstract void Image(long frame);

    public void End() => detector.Send([version switch
    {
        DectrisStreamVersion.V1 => StreamV1Writer.End(1),
        DectrisStreamVersion.V2 => V2.End(1),
        _ => MaxIv.End().ToArray(),
    }]);
}
