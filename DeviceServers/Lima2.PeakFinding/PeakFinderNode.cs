using Lima2.Core.Frames;
using Lima2.Core.Pipeline;
using Lima2.Protocol;

namespace Lima2.PeakFinding;

/// <summary>
/// The SMX pipeline's peak-finding branch of a receiver's processing graph: finds the peaks of every frame
/// (in parallel), then in receiver order pushes the peak counter (<c>popPeakCounters</c>), keeps the latest
/// sparse frames (<c>getSparseFrame</c>) and accumulated frames (<c>getAccCorrected</c>, <c>getAccPeaks</c>), and
/// hands each result to the sparse saver.
/// </summary>
/// <remarks>The node owns the finder and the writer; the graph that owns the node disposes it.</remarks>
public sealed class PeakFinderNode : FrameConsumer<PeakFrameResult>, IDisposable
{
    private readonly PeakFinder _finder;
    private readonly IPeakResultWriter? _writer;
    private readonly int _parallelism;
    private readonly Queue<SparseFrame> _sparse = new();
    private readonly int _historyFrames;
    private readonly Lock _lock = new();
    private long _committed, _hits, _lastIndex = -1;
    private int _disposed;
    private (long Index, float[] Corrected, float[] Peaks)? _accumulated;

    /// <param name="finder">the acquisition's finder</param>
    /// <param name="counterBufferFrames">peak counter rows kept until popped (proc_params buffers.nb_peak_counters_buffer)</param>
    /// <param name="sparseHistoryFrames">sparse frames kept for getSparseFrame (buffers.nb_sparse_frames_buffer)</param>
    /// <param name="writer">sparse/peak saving (saving_sparse), or null</param>
    /// <param name="parallelism">frames processed at once (fifo.nb_threads; the OpenCL queues limit it further)</param>
    public PeakFinderNode(PeakFinder finder, int counterBufferFrames, int sparseHistoryFrames, IPeakResultWriter? writer = null, int parallelism = 2)
        : base("peak_finder")
    {
        _finder = finder;
        _writer = writer;
        _parallelism = Math.Max(1, parallelism);
        _historyFrames = Math.Max(1, sparseHistoryFrames);
        PeakCounters = new ReducedDataBuffer<PeakCounterRecord>(Math.Max(1, counterBufferFrames));
        writer?.Begin(SparseLayout.Of(finder.Model));
    }

    public PeakFinder Finder => _finder;

    /// <summary>Rows for <c>popPeakCounters</c>: frame_idx, recv_idx, nb_peaks.</summary>
    public ReducedDataBuffer<PeakCounterRecord> PeakCounters { get; }

    /// <summary>Frames through the node (progress counter <c>nb_frames_sparse</c>).</summary>
    public long NbFramesSparse => Interlocked.Read(ref _committed);

    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Global index of the newest sparse frame, or -1 (<c>last_frames["sparse_idx"]</c>).</summary>
    public long LastIndex => Interlocked.Read(ref _lastIndex);

    public override int MaxDegreeOfParallelism => _parallelism;

    public override PeakFrameResult Compute(Frame frame) => _finder.Process(frame);

    public override ValueTask CommitAsync(Frame frame, PeakFrameResult result, CancellationToken cancellationToken)
    {
        PeakCounters.Push([new PeakCounterRecord((int)result.FrameIndex, (int)result.ReceiverIndex, result.NbPeaks)]);
        lock (_lock)
        {
            _sparse.Enqueue(result.Sparse);
            while (_sparse.Count > _historyFrames)
                _sparse.Dequeue();
            if (result.AccumulatedCorrected is not null)
                _accumulated = (result.FrameIndex, result.AccumulatedCorrected, result.AccumulatedPeaks!);
        }
        _writer?.Write(result);
        if (result.IsHit) Interlocked.Increment(ref _hits);
        Interlocked.Exchange(ref _lastIndex, result.FrameIndex);
        Interlocked.Increment(ref _committed);
        return default;
    }

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _writer?.Complete();
        return default;
    }

    /// <summary>The sparse frame of global index <paramref name="index"/> (−1: the newest) if still kept.</summary>
    public SparseFrame? SparseFrame(long index)
    {
        lock (_lock)
            return index < 0 ? _sparse.LastOrDefault() : _sparse.FirstOrDefault(s => s.FrameIndex == index);
    }

    /// <summary>The last published accumulated frames (every acc_nb_frames_xfer frames) and the frame that published them.</summary>
    public (long Index, float[] Corrected, float[] Peaks)? Accumulated
    {
        get
        {
            lock (_lock)
                return _accumulated;
        }
    }

    /// <summary>Disposes the writer and the finder (the graph calls this when it is disposed); idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _writer?.Dispose();
        _finder.Dispose();
    }
}
