using Lima2.Core.Frames;
using Lima2.Core.Pipeline;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>A frame target that keeps a copy of what it gets: pixels, indexes, kept encoded bytes, losses.</summary>
internal sealed class RecordingTarget(FrameInfo info, int buffers = 16) : IFrameTarget
{
    public record Delivered(long Index, long ReceiverIndex, byte[] Pixels, FrameEncoding Encoding, byte[] Encoded);

    public List<Delivered> Frames { get; } = [];

    public List<(long Index, string Reason)> LostFrames { get; } = [];

    public FrameInfo InputInfo => info;

    public FramePool Pool { get; } = new(info.ByteSize, (long)info.ByteSize * buffers);

    public CancellationToken Aborted => CancellationToken.None;

    public async ValueTask<PooledBuffer?> RentAsync(long frameIndex, CancellationToken cancellationToken) =>
        await Pool.RentAsync(cancellationToken);

    public ValueTask SubmitAsync(Frame frame, CancellationToken cancellationToken)
    {
        using (frame)
        {
            lock (Frames)
                Frames.Add(new Delivered(frame.Index, frame.ReceiverIndex, frame.Data.ToArray(), frame.Encoding, frame.EncodedData.ToArray()));
        }
        return ValueTask.CompletedTask;
    }

    public void ReportLost(long frameIndex, string reason)
    {
        lock (LostFrames)
            LostFrames.Add((frameIndex, reason));
    }
}
