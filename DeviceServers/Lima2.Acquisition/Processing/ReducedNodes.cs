using Lima2.Core.Frames;
using Lima2.Core.Pipeline;
using Lima2.Protocol;

namespace Lima2.Acquisition.Processing;

/// <summary>Receiver-local and global index of every processed frame, for <c>popFrameIdx</c> (dynamic dispatch).</summary>
public sealed class FrameIdxNode(int bufferFrames) : FrameConsumer<bool>("frame_idx")
{
    public ReducedDataBuffer<FrameIdxRecord> Rows { get; } = new(Math.Max(1, bufferFrames));

    public override bool Compute(Frame frame) => true;

    public override ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
    {
        Rows.Push([new FrameIdxRecord((int)frame.ReceiverIndex, (int)frame.Index)]);
        return default;
    }
}

/// <summary>XPCS fill factor: the number of pixels that saw a photon (non-zero), per frame, for <c>popFillFactors</c>.</summary>
public sealed class FillFactorNode(int bufferFrames, int parallelism) : FrameConsumer<int>("fill_factor")
{
    public ReducedDataBuffer<FillFactorRecord> Rows { get; } = new(Math.Max(1, bufferFrames));

    public override int MaxDegreeOfParallelism => Math.Max(1, parallelism);

    public override int Compute(Frame frame)
    {
        var bytes = frame.Data.Span;
        var size = frame.Info.PixelType.SizeOf();
        var count = 0;
        for (var at = 0; at < bytes.Length; at += size)
            if (bytes.Slice(at, size).ContainsAnyExcept((byte)0))
                count++;
        return count;
    }

    public override ValueTask CommitAsync(Frame frame, int result, CancellationToken cancellationToken)
    {
        Rows.Push([new FillFactorRecord((int)frame.Index, (int)frame.ReceiverIndex, result)]);
        return default;
    }
}
