using System.Numerics;
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

/// <summary>An XPCS photon-sparse frame: the pixels above 0 (row-major index) and their counts, saturated to 16 bits.</summary>
public sealed record PhotonSparseFrame(int Width, int Height, long FrameIndex, int[] Index, ushort[] Intensity)
{
    public long Bytes => Index.Length * (sizeof(int) + sizeof(ushort));
}

/// <summary>
/// XPCS sparsification: each frame's pixels above 0 as a <see cref="PhotonSparseFrame"/>, the last ones kept for
/// <c>getSparseFrame</c>, and the fill factor (how many pixels saw a photon) of each for <c>popFillFactors</c>.
/// </summary>
/// <remarks>
/// The frames kept are the last <c>buffers.nb_sparse_frames_buffer</c>, within the bytes of 4 dense input frames: a
/// frame far from sparse would otherwise hold more memory than the frame pool; the newest one is always kept.
/// </remarks>
public sealed class XpcsSparseNode(FrameInfo frame, int sparseFrames, int fillFactorFrames, int parallelism)
    : FrameConsumer<PhotonSparseFrame>("xpcs_sparse")
{
    private readonly Queue<PhotonSparseFrame> _kept = new();
    private readonly int _capacity = Math.Max(1, sparseFrames);
    private readonly long _budgetBytes = 4L * frame.ByteSize;
    private readonly Lock _lock = new();
    private long _keptBytes;
    private long _frames;

    public ReducedDataBuffer<FillFactorRecord> FillFactors { get; } = new(Math.Max(1, fillFactorFrames));

    /// <summary>Frames sparsified so far.</summary>
    public long Frames => Interlocked.Read(ref _frames);

    public override int MaxDegreeOfParallelism => Math.Max(1, parallelism);

    public override PhotonSparseFrame Compute(Frame frame) => frame.Info.PixelType switch
    {
        PixelType.Gray8 => Sparsify<byte>(frame),
        PixelType.Gray8s => Sparsify<sbyte>(frame),
        PixelType.Gray16 => Sparsify<ushort>(frame),
        PixelType.Gray16s => Sparsify<short>(frame),
        PixelType.Gray32 => Sparsify<uint>(frame),
        PixelType.Gray32s => Sparsify<int>(frame),
        PixelType.Gray32f => Sparsify<float>(frame),
        PixelType.Gray64f => Sparsify<double>(frame),
        var type => throw new NotSupportedException($"XPCS sparsification of {type} frames"),
    };

    private static PhotonSparseFrame Sparsify<T>(Frame frame) where T : unmanaged, INumber<T>
    {
        ReadOnlySpan<T> pixels = frame.Pixels<T>();
        var count = 0;
        if (typeof(T) == typeof(byte) || typeof(T) == typeof(ushort) || typeof(T) == typeof(uint))
            count = pixels.Length - pixels.Count(T.Zero); // unsigned: above 0 is not 0, counted vectorised
        else
            for (var i = Next(pixels, 0); i >= 0; i = Next(pixels, i + 1))
                count++;
        var index = new int[count];
        var intensity = new ushort[count];
        var k = 0;
        for (var i = Next(pixels, 0); i >= 0; i = Next(pixels, i + 1))
        {
            index[k] = i;
            intensity[k++] = ushort.CreateSaturating(pixels[i]);
        }
        return new PhotonSparseFrame(frame.Info.Width, frame.Info.Height, frame.Index, index, intensity);
    }

    /// <summary>The first pixel above 0 from <paramref name="start"/> on, or -1; runs of zeros are skipped vectorised.</summary>
    private static int Next<T>(ReadOnlySpan<T> pixels, int start) where T : unmanaged, INumber<T>
    {
        while (start < pixels.Length)
        {
            if (pixels[start] == T.Zero)
            {
                var found = pixels[start..].IndexOfAnyExcept(T.Zero);
                if (found < 0)
                    return -1;
                start += found;
            }
            if (pixels[start] > T.Zero)
                return start;
            start++; // a negative pixel
        }
        return -1;
    }

    public override ValueTask CommitAsync(Frame frame, PhotonSparseFrame result, CancellationToken cancellationToken)
    {
        FillFactors.Push([new FillFactorRecord((int)frame.Index, (int)frame.ReceiverIndex, result.Index.Length)]);
        lock (_lock)
        {
            _kept.Enqueue(result);
            _keptBytes += result.Bytes;
            while (_kept.Count > 1 && (_kept.Count > _capacity || _keptBytes > _budgetBytes))
                _keptBytes -= _kept.Dequeue().Bytes;
        }
        Interlocked.Increment(ref _frames);
        return default;
    }

    /// <summary>The sparse frame of global index <paramref name="index"/> (-1: the newest), if still kept.</summary>
    public PhotonSparseFrame? Sparse(long index)
    {
        lock (_lock)
            return index < 0 ? _kept.LastOrDefault() : _kept.FirstOrDefault(s => s.FrameIndex == index);
    }
}
