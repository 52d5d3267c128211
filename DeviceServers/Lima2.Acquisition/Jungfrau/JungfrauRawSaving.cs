using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Jungfrau;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Jungfrau;

/// <summary>
/// The raw words of a corrected JUNGFRAU run saved beside its corrected frames (acq_params <c>saving</c>): their own
/// file set under the saving root and, from receiver 0, their own master file (a virtual dataset over every
/// receiver's modules under partial-frame dispatch), as the dense channel's are.
/// </summary>
/// <remarks>
/// The channel's thread hands each frame's words to a graph of one branch, the <see cref="Hdf5FrameSink"/>, whose
/// pool of <c>queueFrames</c> frames bounds what waits for the disk: the run's overload policy then makes the channel
/// wait for room or drops the words and counts them (<see cref="Dropped"/>), and a failed write faults that graph,
/// which ends the run with the failure.
/// </remarks>
public sealed class JungfrauRawSaving : IJungfrauRawSaving
{
    private const string Branch = "saving_raw";

    private readonly SavingRoot _root;
    private readonly Hdf5FrameSink _sink;
    private readonly FrameGraph _queue;
    private readonly MasterFilePolicy _master;
    private readonly SavedFrames _saved;
    private readonly long? _totalFrames;

    /// <summary>Creates the first file now: a bad path or an existing file fails Prepare.</summary>
    /// <param name="frame">the run's frames' geometry, gray16</param>
    /// <param name="totalFrames">the run's frames over every receiver, null when endless</param>
    /// <param name="parts">partial-frame dispatch: where every receiver's frames go; null for whole frames</param>
    /// <param name="policy">the run's overload policy: wait for room in the queue, or drop and count</param>
    /// <param name="queueFrames">frames the queue to the disk holds</param>
    /// <param name="memory">where the queue's buffers come from (those kept from the last run); null: fresh ones</param>
    public JungfrauRawSaving(SavingParams saving, FrameInfo frame, string savingRoot, int rank, int receivers, long? totalFrames,
        FrameParts? parts, NxmxFacts facts, OverloadPolicy policy, int queueFrames, IBufferMemory? memory = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queueFrames, 2);
        _root = new SavingRoot(savingRoot);
        _totalFrames = totalFrames;
        // this receiver's frames: every one under partial-frame dispatch, else its round-robin share
        var expected = totalFrames is { } total && parts is null ? Saving.MasterFile.Shares(receivers, total)[rank] : totalFrames;
        var sinkOptions = new SinkOptions(Parallelism: 1, ExpectedFrames: expected, Facts: facts);
        Hdf5FrameSink? sink = null;
        try
        {
            _sink = sink = new Hdf5FrameSink(saving with { FilenameRank = rank }, frame, _root, sinkOptions, Branch);
            BufferedBytes = (long)queueFrames * frame.ByteSize + Hdf5FrameSink.BufferBytes(saving, frame, sinkOptions);
            _queue = new FrameGraph(frame, [], [_sink], new GraphOptions
            {
                Policy = policy,
                MemoryCapBytes = (long)queueFrames * frame.ByteSize,
                EntryCapacity = queueFrames,
                Parallelism = 1,
                FrameMemory = memory,
            });
        }
        catch
        {
            sink?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _root.Dispose();
            throw;
        }
        _master = new MasterFilePolicy(rank, receivers, saving);
        _saved = new SavedFrames(_root, frame, facts, parts);
    }

    public IFrameTarget Queue => _queue;

    public long Saved => _sink.FramesWritten;

    public long Dropped => _queue.Counters.DroppedOverload;

    public long BufferedBytes { get; }

    public IReadOnlyList<string> Files => [.. Enumerable.Range(0, _sink.FilesCreated).Select(i => _sink.FilePath(i))];

    public string? MasterFile => _master.Path;

    public string WriteMasterFile(IReadOnlyList<long> savedPerReceiver) =>
        _master.Path is { } written && _master.Counts.SequenceEqual(savedPerReceiver)
            ? written // over the same counts at the end of the run already
            : _master.WriteOver(_saved, savedPerReceiver, runEnded: true, _totalFrames, Saved);

    /// <summary>Waits for the queued words to be written, closes the files and writes the master file when this receiver is to.</summary>
    /// <exception cref="ChannelException">a write failed: the one-sentence reason</exception>
    public async Task CompleteAsync(bool stopped)
    {
        try
        {
            await _queue.CompleteAsync().ConfigureAwait(false);
        }
        catch (GraphFaultedException e)
        {
            throw new ChannelException($"the raw words were not saved: {e.Message}", e);
        }
        _master.WriteAtEnd(_saved, stopped, _totalFrames, Saved);
    }

    public async ValueTask DisposeAsync()
    {
        await _queue.DisposeAsync().ConfigureAwait(false); // and its sink
        _root.Dispose();
    }
}
