using System.Collections.Concurrent;

namespace Lima2.Core.Pipeline;

/// <summary>
/// Frame accounting of one graph run. Every frame the channel saw is <see cref="Received"/>, and ends either
/// <see cref="Processed"/> (every branch of the graph handled it) or dropped for one of the counted reasons:
/// received = processed + dropped once the graph has completed.
/// </summary>
public sealed class GraphCounters
{
    private long _received;
    private long _processed;
    private long _droppedOverload;
    private long _droppedLost;
    private long _droppedFault;
    private long _lastInputIndex = -1;
    private long _lastProcessedIndex = -1;
    private string? _lastLoss;
    private readonly ConcurrentDictionary<string, Counter> _perNode = new();

    public long Received => Interlocked.Read(ref _received);
    public long Processed => Interlocked.Read(ref _processed);

    /// <summary>Frames refused because the graph was full or no buffer was free (drop policy).</summary>
    public long DroppedOverload => Interlocked.Read(ref _droppedOverload);

    /// <summary>Frames the channel received but could not deliver (malformed, incomplete, ...).</summary>
    public long DroppedLost => Interlocked.Read(ref _droppedLost);

    /// <summary>Frames not fully processed because the graph faulted or was aborted.</summary>
    public long DroppedFault => Interlocked.Read(ref _droppedFault);

    public long Dropped => DroppedOverload + DroppedLost + DroppedFault;

    /// <summary>Why the channel could not deliver its last lost frame (e.g. "frame 5 never arrived"), or null.</summary>
    public string? LastLoss => Volatile.Read(ref _lastLoss);

    /// <summary>Frames received and not yet processed or dropped.</summary>
    public long InFlight => Received - Processed - Dropped;

    /// <summary>Global index of the last frame that entered the graph (-1 if none).</summary>
    public long LastInputIndex => Interlocked.Read(ref _lastInputIndex);

    /// <summary>Global index of the last frame every branch finished (-1 if none).</summary>
    public long LastProcessedIndex => Interlocked.Read(ref _lastProcessedIndex);

    /// <summary>Frames each node or sink completed, by name (e.g. <c>saving</c> = frames saved).</summary>
    public IReadOnlyDictionary<string, long> PerNode => _perNode.ToDictionary(p => p.Key, p => Interlocked.Read(ref p.Value.Value));

    public long NodeCount(string name) => _perNode.TryGetValue(name, out var box) ? Interlocked.Read(ref box.Value) : 0;

    public GraphCountersSnapshot Snapshot() => new(Received, Processed, DroppedOverload, DroppedLost, DroppedFault,
        LastInputIndex, LastProcessedIndex, PerNode) { LastLoss = LastLoss };

    internal void OnReceived(long index)
    {
        Interlocked.Increment(ref _received);
        Max(ref _lastInputIndex, index);
    }

    internal void OnProcessed(long index)
    {
        Interlocked.Increment(ref _processed);
        Max(ref _lastProcessedIndex, index);
    }

    internal void OnDropped(DropReason reason, string? lostReason)
    {
        switch (reason)
        {
            case DropReason.Overload: Interlocked.Increment(ref _droppedOverload); break;
            case DropReason.Lost:
                Interlocked.Increment(ref _droppedLost);
                Volatile.Write(ref _lastLoss, lostReason);
                break;
            default: Interlocked.Increment(ref _droppedFault); break;
        }
    }

    internal void Register(string node) => _perNode.TryAdd(node, new Counter());

    internal void OnNode(string node) => Interlocked.Increment(ref _perNode.GetOrAdd(node, _ => new Counter()).Value);

    private static void Max(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
                return;
            current = seen;
        }
    }

    private sealed class Counter
    {
        public long Value;
    }
}

/// <summary>The counters at one moment (the progress_counters a device shows).</summary>
public sealed record GraphCountersSnapshot(
    long Received,
    long Processed,
    long DroppedOverload,
    long DroppedLost,
    long DroppedFault,
    long LastInputIndex,
    long LastProcessedIndex,
    IReadOnlyDictionary<string, long> PerNode)
{
    public long Dropped => DroppedOverload + DroppedLost + DroppedFault;

    /// <summary>Why the channel could not deliver its last lost frame, or null.</summary>
    public string? LastLoss { get; init; }

    /// <summary>True when every received frame is accounted for (holds once the graph has completed).</summary>
    public bool Balanced => Received == Processed + Dropped;
}

/// <summary>Why a received frame was dropped (<see cref="GraphCounters"/>).</summary>
public enum DropReason
{
    /// <summary>Refused for lack of room: no free buffer or a full entry (drop policy).</summary>
    Overload,

    /// <summary>The channel saw the frame but could not deliver it (malformed, never arrived, ...).</summary>
    Lost,

    /// <summary>Not fully processed: a node failed or the graph was aborted.</summary>
    Fault,
}
