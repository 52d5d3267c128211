using System.Runtime.InteropServices;
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
public sealed class JungfrauRawSaving : IJungfrauRawSaving
{
    private readonly SavingRoot _root;
    private readonly FrameInfo _frame;
    private readonly Hdf5FrameSink _sink;
    private readonly FramePool _pool;
    private readonly MasterFilePolicy _master;
    private readonly SavedFrames _saved;
    private readonly long? _totalFrames;

    /// <summary>Creates the first file now: a bad path or an existing file fails Prepare.</summary>
    /// <param name="frame">the run's frames' geometry, gray16</param>
    /// <param name="totalFrames">the frames this receiver takes, null when endless</param>
    /// <param name="parts">partial-frame dispatch: where every receiver's frames go; null for whole frames</param>
    public JungfrauRawSaving(SavingParams saving, FrameInfo frame, string savingRoot, int rank, int receivers, long? totalFrames,
        FrameParts? parts, NxmxFacts facts)
    {
        _root = new SavingRoot(savingRoot);
        _frame = frame;
        _totalFrames = totalFrames;
        try
        {
            _sink = new Hdf5FrameSink(saving with { FilenameRank = rank }, frame, _root,
                new SinkOptions(Parallelism: 1, ExpectedFrames: totalFrames, Facts: facts), "saving");
        }
        catch
        {
            _root.Dispose();
            throw;
        }
        _pool = new FramePool(frame.ByteSize, frame.ByteSize);
        _master = new MasterFilePolicy(rank, receivers, saving);
        _saved = new SavedFrames(_root, frame, facts, parts);
    }

    /// <summary>Raw frames written.</summary>
    public long Saved => _sink.FramesWritten;

    /// <summary>The raw frames' master file once written, or null.</summary>
    public string? MasterFile => _master.Path;

    /// <summary>Copies the words into a frame and writes it (on the channel's thread: the next frame waits for the disk).</summary>
    public void Write(long index, ReadOnlySpan<ushort> words)
    {
        using var frame = new Frame(_pool.Rent(), _frame, index, index);
        MemoryMarshal.AsBytes(words).CopyTo(frame.Data.Span);
        _sink.WriteAsync(frame, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    public void Complete(bool stopped)
    {
        _sink.CompleteAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        _master.WriteAtEnd(_saved, stopped, _totalFrames, Saved);
    }

    public void Dispose()
    {
        _sink.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _pool.Dispose();
        _root.Dispose();
    }
}
