using Lima2.Core.Frames;
using Lima2.Core.Parameters;

namespace Lima2.Hdf5.Saving;

/// <summary>
/// The master file <c>{base_path}/{prefix}_master{suffix}</c> of a distributed acquisition: a virtual dataset at
/// the receivers' dataset path that shows every frame in global order. Frames are dealt round robin, so receiver
/// <c>r</c> of <c>n</c> holds frames <c>r, r+n, …</c>: its file <c>f</c> maps to <c>start = r + f·nbpf·n,
/// stride = n</c>.
/// </summary>
public static class MasterFile
{
    public static string FileName(SavingParams saving) => $"{saving.FilenamePrefix}_master{saving.FilenameSuffix}";

    /// <summary>The virtual sources for <paramref name="totalFrames"/> frames over <paramref name="receivers"/> receivers.</summary>
    public static IReadOnlyList<VirtualSource> Sources(SavingParams saving, int receivers, long totalFrames) =>
        Sources(saving, Shares(receivers, totalFrames));

    /// <summary>
    /// The virtual sources for the frames each receiver saved (<paramref name="savedPerReceiver"/>[r] frames for
    /// receiver r): receiver r's k-th frame is global frame <c>r + k·n</c>.
    /// </summary>
    public static IReadOnlyList<VirtualSource> Sources(SavingParams saving, IReadOnlyList<long> savedPerReceiver)
    {
        var receivers = savedPerReceiver.Count;
        ArgumentOutOfRangeException.ThrowIfZero(receivers);
        var sources = new List<VirtualSource>();
        var dataset = NexusLayout.DatasetPath(saving);
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
    /// <param name="metadata">the detector facts the receivers' files hold (NXdetector fields), if known</param>
    public static string Write(SavingParams saving, SavingRoot root, FrameInfo frame, int receivers, long totalFrames,
        DetectorMetadata? metadata = null) =>
        Write(saving, root, frame, totalFrames, Sources(saving, receivers, totalFrames), metadata);

    /// <summary>
    /// Writes the master file over the frames the receivers actually saved, e.g. at the end of an endless run
    /// (nb_frames 0) or one that was stopped; returns its path. The virtual dataset spans
    /// <see cref="TotalFrames"/> frames; a frame some receiver did not save reads as 0.
    /// </summary>
    /// <param name="savedPerReceiver">frames saved by each receiver, indexed by rank (one entry per receiver)</param>
    public static string Write(SavingParams saving, SavingRoot root, FrameInfo frame, IReadOnlyList<long> savedPerReceiver,
        DetectorMetadata? metadata = null) =>
        Write(saving, root, frame, TotalFrames(savedPerReceiver), Sources(saving, savedPerReceiver), metadata);

    private static string Write(SavingParams saving, SavingRoot root, FrameInfo frame, long totalFrames,
        IReadOnlyList<VirtualSource> sources, DetectorMetadata? metadata)
    {
        using var file = Hdf5File.Create(root, saving.BasePath, FileName(saving), saving.FileExistsPolicy == FileExistsPolicy.Overwrite);
        NexusLayout.CreateGroups(file, saving);
        if (metadata is not null)
            NexusLayout.WriteDetectorMetadata(file, saving, metadata);
        file.CreateVirtualFrameDataset(NexusLayout.DatasetPath(saving), frame, totalFrames, sources);
        NexusLayout.Link(file, saving);
        file.Close();
        return file.Path;
    }

    /// <summary>Each receiver's round-robin share of <paramref name="totalFrames"/>.</summary>
    private static long[] Shares(int receivers, long totalFrames)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(receivers);
        return Enumerable.Range(0, receivers)
            .Select(rank => totalFrames > rank ? (totalFrames - rank + receivers - 1) / receivers : 0).ToArray();
    }
}
