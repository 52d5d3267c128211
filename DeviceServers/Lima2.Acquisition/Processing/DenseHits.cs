using System.Collections.Concurrent;
using Lima2.Core.Frames;

namespace Lima2.Acquisition.Processing;

/// <summary>
/// Which frames an SMX run with <c>fai.dense_skip_nohits</c> saves densely: the hits, as the peak finder commits each
/// frame (<see cref="PeakFinding.PeakFrameResult.KeepDense"/>). The dense sink's commit asks for its frame and waits
/// for the finder's: both branches take every frame in receiver order, so a sink waits at most the graph's frames in
/// flight, and as many decisions are kept at most. One dense sink asks (each decision is taken once).
/// </summary>
public sealed class DenseHits
{
    private readonly ConcurrentDictionary<long, TaskCompletionSource<bool>> _decisions = new();

    public DenseHits(PeakFindingNode peaks) =>
        peaks.Committed += (frame, result) => Decision(frame.Index).TrySetResult(result.KeepDense);

    /// <summary>Whether <paramref name="frame"/> is saved densely, once the finder has committed it.</summary>
    /// <exception cref="OperationCanceledException">the graph stopped before the finder committed the frame.</exception>
    public async Task<bool> KeepAsync(Frame frame, CancellationToken cancellationToken)
    {
        var keep = await Decision(frame.Index).Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        _decisions.TryRemove(frame.Index, out _);
        return keep;
    }

    private TaskCompletionSource<bool> Decision(long index) =>
        _decisions.GetOrAdd(index, static _ => new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
}
