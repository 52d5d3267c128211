using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Hdf5;
using Lima2.Hdf5.Native;

namespace Lima2.Acquisition.Saving;

/// <summary>
/// The master file <c>{base_path}/{prefix}_master{suffix}</c> of a distributed acquisition: a virtual dataset at
/// the receivers' dataset path that shows every frame in global order. Frames are dealt round robin, so receiver
/// <c>r</c> of <c>n</c> holds frames <c>r, r+n, …</c>: its file <c>f</c> maps to <c>start = r + f·nbpf·n,
/// stride = n</c>.
/// </summary>
public static class MasterFile
{
    public static string FileName(SavingParams saving) => $"{saving.FilenamePrefix}_master{saving.FilenameSuffix}";

    /// <summary>
    /// The virtual sources for the frames each receiver saved (<paramref name="savedPerReceiver"/>[r] frames for
    /// receiver r): receiver r's k-th frame is global frame <c>r + k·n</c>.
    /// </summary>
    public static IReadOnlyList<VirtualSource> Sources(SavingParams saving, IReadOnlyList<long> savedPerReceiver)
    {
        var receivers = savedPerReceiver.Count;
        ArgumentOutOfRangeException.ThrowIfZero(receivers);
        var sources = new List<VirtualSource>();
        var dataset = NexusLayout.FramesPath;
        long perFile = saving.NbFramesPerFile;
        for (var rank = 0; rank < receivers; rank++)
        {
            var frames = savedPerReceiver[rank];
            ArgumentOutOfRangeException.ThrowIfNegative(frames, nameof(savedPerReceiver));
            for (var file = 0; file * perFile < frames; file++)
            {
                var name = FilenameFormat.Render(saving with { FilenameRank = rank }, saving.StartNumber + file);
                sources.Add(new VirtualSource(name, dataset, Math.Min(perFile, frames - file * perFile),
                    rank + file * perFile * receivers, receivers));
            }
        }
        return sources;
    }

    /// <summary>The global frames the saved frames span: one past the last of them (0 when none was saved).</summary>
    public static long TotalFrames(IReadOnlyList<long> savedPerReceiver) =>
        Enumerable.Range(0, savedPerReceiver.Count).Where(r => savedPerReceiver[r] > 0)
            .Select(r => r + (savedPerReceiver[r] - 1) * savedPerReceiver.Count + 1).DefaultIfEmpty(0).Max();

    /// <summary>Writes the master file of an acquisition of <paramref name="totalFrames"/> frames; returns its path.</summary>
    /// <param name="facts">the NXmx facts the receivers' files hold, if known</param>
    public static string Write(SavingParams saving, SavingRoot root, FrameInfo frame, int receivers, long totalFrames,
        NxmxFacts? facts = null)
    {
        var shares = Shares(receivers, totalFrames);
        return Write(saving, root, frame, totalFrames, shares, shares, facts, replace: false);
    }

    /// <summary>
    /// Writes the master file over the frames the receivers received, e.g. at the end of an endless run (nb_frames 0),
    /// one that was stopped, or one where a receiver died; returns its path. Receiver r's frame k is at row k of its
    /// files, saved or not (a no hit left out reads as 0); only rows found in the receivers' files are mapped
    /// (<see cref="FramesInFiles"/>), the virtual dataset spans <see cref="TotalFrames"/> of them, and a frame some
    /// receiver's files lack is stated in the file (<see cref="MissingAttribute"/>).
    /// </summary>
    /// <param name="receivedPerReceiver">frames received by each receiver, indexed by rank (one entry per receiver)</param>
    /// <param name="replace">the master file of this run is there already (written over other counts): replace it,
    /// whatever the file_exists_policy</param>
    public static string Write(SavingParams saving, SavingRoot root, FrameInfo frame, IReadOnlyList<long> receivedPerReceiver,
        NxmxFacts? facts = null, bool replace = false)
    {
        var mapped = FramesInFiles(saving, root, receivedPerReceiver);
        return Write(saving, root, frame, TotalFrames(mapped), receivedPerReceiver, mapped, facts, replace);
    }

    /// <summary>
    /// The frames each receiver's files hold, at most what it reported: a receiver that died before closing its files,
    /// or a count that claims more, maps no frame that is not on disk. A receiver's files are read in order up to the
    /// first missing, unreadable or short one, so the work is bounded by the files there are.
    /// </summary>
    public static long[] FramesInFiles(SavingParams saving, SavingRoot root, IReadOnlyList<long> reported)
    {
        var dataset = NexusLayout.DatasetPath(saving);
        long perFile = saving.NbFramesPerFile;
        return reported.Select((claimed, rank) =>
        {
            long found = 0;
            for (var file = 0; found < claimed; file++)
            {
                var name = FilenameFormat.Render(saving with { FilenameRank = rank }, saving.StartNumber + file);
                var rows = Rows(root.PathOf(saving.BasePath, name), dataset);
                found += Math.Min(rows, claimed - found);
                if (rows < perFile)
                    break;
            }
            return found;
        }).ToArray();
    }

    /// <summary>The attribute of the master's dataset that says which receivers' frames are missing (absent when none).</summary>
    public const string MissingAttribute = "missing_frames";

    /// <summary>The dataset of the master's detector group with the frames mapped from each receiver, by rank.</summary>
    public const string SavedPerReceiverField = "frames_saved_per_receiver";

    private static long Rows(string path, string dataset)
    {
        if (!File.Exists(path))
            return 0;
        try
        {
            using var file = Hdf5File.OpenReadOnly(path);
            using var data = file.OpenFrameDataset(dataset);
            return data.Frames;
        }
        catch (Hdf5Exception)
        {
            return 0; // a file its receiver never closed (killed) is not readable: none of its frames are there
        }
    }

    private static string Write(SavingParams saving, SavingRoot root, FrameInfo frame, long totalFrames,
        IReadOnlyList<long> expected, long[] mapped, NxmxFacts? facts, bool replace)
    {
        using var file = Hdf5File.Create(root, saving.BasePath, FileName(saving), replace || saving.FileExistsPolicy == FileExistsPolicy.Overwrite);
        NexusLayout.CreateGroups(file, saving, frame, facts ?? new NxmxFacts(null, DateTimeOffset.UtcNow));
        var data = NexusLayout.FramesPath;
        file.CreateVirtualFrameDataset(data, frame, totalFrames, Sources(saving, mapped));
        var lima2Data = NexusLayout.DatasetPath(saving);
        file.WriteArray<long>($"{lima2Data[..lima2Data.LastIndexOf('/')]}/{SavedPerReceiverField}", mapped, mapped.Length);
        var missing = Enumerable.Range(0, mapped.Length).Where(r => mapped[r] < expected[r])
            .Select(r => $"receiver {r}: {expected[r] - mapped[r]} of {expected[r]} frames not in its files").ToArray();
        if (missing.Length > 0)
            file.SetAttribute(data, MissingAttribute, $"{string.Join("; ", missing)} (they read as 0)");
        NexusLayout.Link(file, saving);
        // written once the run has ended (or the receivers' counts are in): its frames are all there
        NexusLayout.WriteEndTime(file, DateTimeOffset.UtcNow);
        file.Close();
        return file.Path;
    }

    /// <summary>Each receiver's round-robin share of <paramref name="totalFrames"/>.</summary>
    public static long[] Shares(int receivers, long totalFrames)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(receivers);
        return Enumerable.Range(0, receivers)
            .Select(rank => totalFrames > rank ? (totalFrames - rank + receivers - 1) / receivers : 0).ToArray();
    }
}
