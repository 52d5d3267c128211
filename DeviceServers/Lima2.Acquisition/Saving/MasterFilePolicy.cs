using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Saving;

/// <summary>Where a run's dense frames went, for its master file: the saving root, their geometry and NXmx facts.</summary>
/// <param name="Parts">under partial-frame dispatch, the part of the detector's image each receiver's frames are; null: whole frames dealt round robin</param>
public sealed record SavedFrames(SavingRoot Root, FrameInfo Frame, NxmxFacts? Facts, FrameParts? Parts = null);

/// <summary>
/// Which master file a receiver writes over its run's dense frames, and when. Receiver 0 writes the master file of a
/// distributed acquisition once the total is known; a single receiver also writes it over what it received when the run
/// was stopped or endless (nb_frames 0). Several receivers of such a run leave it to the one who knows every
/// receiver's count (<see cref="WriteOver"/>).
/// </summary>
/// <remarks>
/// The counts are the frames each receiver received: receiver r's frame k has its row k in r's files whether it was
/// saved or not (a frame left out as no hit under SMX <c>fai.dense_skip_nohits</c>, one lost on the way), so the
/// master's frame i is the acquisition's frame i, the left-out ones reading as 0. What the files hold bounds them:
/// the last file of a stopped run may have rows past the last frame, which are not the acquisition's.
/// </remarks>
/// <param name="denseSaving">the enabled saving channel of the dense frames, or null when the run saves none</param>
public sealed class MasterFilePolicy(int rank, int receivers, SavingParams? denseSaving)
{
    /// <summary>The master file written, or null.</summary>
    public string? Path { get; private set; }

    /// <summary>The frames per receiver <see cref="Path"/> was written over (each receiver's share after a complete run).</summary>
    public IReadOnlyList<long> Counts { get; private set; } = [];

    /// <summary>At the end of the run: writes the master file when this receiver is to, and returns its path.</summary>
    /// <param name="frames">null when the run never built its graph</param>
    /// <param name="totalFrames">the frames the run was to take (the channel's count), null when endless or unknown</param>
    /// <param name="received">the frames this receiver received</param>
    public string? WriteAtEnd(SavedFrames? frames, bool stopped, long? totalFrames, long received)
    {
        if (rank != 0 || denseSaving is null || frames is null)
            return null;
        if (!stopped && totalFrames is { } total)
        {
            Path = frames.Parts is { } parts
                ? PartialFrameMaster.Write(denseSaving, frames.Root, frames.Frame, parts, PartialFrameMaster.Shares(parts, total), checkFiles: false,
                    frames.Facts, replace: false)
                : MasterFile.Write(denseSaving, frames.Root, frames.Frame, receivers, total, frames.Facts);
            Counts = Shares(frames.Parts, total);
            return Path;
        }
        return receivers == 1 && received > 0 ? Write(denseSaving, frames, [received]) : null;
    }

    /// <summary>Writes the master file over the frames every receiver received, once the run has ended.</summary>
    /// <exception cref="InvalidOperationException">not receiver 0, the run has not ended, or no dense saving.</exception>
    /// <exception cref="ArgumentException">a count the run cannot have.</exception>
    /// <param name="receivedPerReceiver">nb_frames_received of each receiver, by rank</param>
    /// <param name="received">the frames this receiver received</param>
    public string WriteOver(SavedFrames? frames, IReadOnlyList<long> receivedPerReceiver, bool runEnded, long? totalFrames, long received)
    {
        if (rank != 0 || !runEnded)
            throw new InvalidOperationException($"the master file is written by receiver 0 once its run has ended (this is receiver {rank}, " +
                                                $"{(runEnded ? "ended" : "not ended")})");
        if (receivedPerReceiver.Count != receivers)
            throw new ArgumentException($"{receivedPerReceiver.Count} counts for {receivers} receivers", nameof(receivedPerReceiver));
        CheckCounts(receivedPerReceiver, frames?.Parts, totalFrames, received);
        if (frames is null || denseSaving is null)
            throw new InvalidOperationException("this run saves no dense frames: there is no master file");
        return Write(denseSaving, frames, receivedPerReceiver);
    }

    /// <summary>
    /// The counts come from a client: each must be one the run can have, so that a forged one cannot make the master
    /// file map frames that were never taken (the files are checked too, see <see cref="MasterFile.FramesInFiles"/>).
    /// </summary>
    private void CheckCounts(IReadOnlyList<long> receivedPerReceiver, FrameParts? parts, long? totalFrames, long received)
    {
        var shares = totalFrames is { } planned ? Shares(parts, planned) : null;
        for (var r = 0; r < receivedPerReceiver.Count; r++)
        {
            var count = receivedPerReceiver[r];
            if (count < 0)
                throw new ArgumentException($"receiver {r} cannot have received {count} frames");
            if (shares is not null && count > shares[r])
                throw new ArgumentException($"receiver {r} cannot have received {count} frames: its share of the run's {totalFrames} frames is {shares[r]}");
        }
        if (receivedPerReceiver[rank] != received)
            throw new ArgumentException($"receiver {rank} received {received} frames, not {receivedPerReceiver[rank]}");
    }

    /// <summary>Writes the master file over <paramref name="receivedPerReceiver"/>, replacing the one written before.</summary>
    private string Write(SavingParams saving, SavedFrames frames, IReadOnlyList<long> receivedPerReceiver)
    {
        Path = frames.Parts is { } parts
            ? PartialFrameMaster.Write(saving, frames.Root, frames.Frame, parts, receivedPerReceiver, checkFiles: true, frames.Facts, replace: Path is not null)
            : MasterFile.Write(saving, frames.Root, frames.Frame, receivedPerReceiver, frames.Facts, replace: Path is not null);
        Counts = [.. receivedPerReceiver];
        return Path;
    }

    /// <summary>Each receiver's share of <paramref name="totalFrames"/>: every frame under partial-frame dispatch, else its round-robin share.</summary>
    private long[] Shares(FrameParts? parts, long totalFrames) =>
        parts is not null ? PartialFrameMaster.Shares(parts, totalFrames) : MasterFile.Shares(receivers, totalFrames);
}
