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
    public static IReadOnlyList<VirtualSource> Sources(SavingParams saving, int receivers, long totalFrames)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(receivers);
        var sources = new List<VirtualSource>();
        var dataset = NexusLayout.DatasetPath(saving);
        long perFile = saving.NbFramesPerFile;
        for (var rank = 0; rank < receivers; rank++)
        {
            var frames = totalFrames > rank ? (totalFrames - rank + receivers - 1) / receivers : 0;
            for (var file = 0; file * perFile < frames; file++)
            {
                var name = FilenameFormat.Render(saving with { FilenameRank = rank }, saving.StartNumber + file);
                sources.Add(new VirtualSource(name, dataset, Math.Min(perFile, frames - file * perFile),
                    rank + file * perFile * receivers, receivers));
            }
        }
        return sources;
    }

    /// <summary>Writes the master file; returns its path.</summary>
    /// <param name="metadata">the detector facts the receivers' files hold (NXdetector fields), if known</param>
    public static string Write(SavingParams saving, SavingRoot root, FrameInfo frame, int receivers, long totalFrames,
        DetectorMetadata? metadata = null)
    {
        var folder = root.ResolveDirectory(saving.BasePath);
        var path = root.ResolveFile(folder, FileName(saving));
        using var file = Hdf5File.Create(path, saving.FileExistsPolicy == FileExistsPolicy.Overwrite);
        NexusLayout.CreateGroups(file, saving);
        if (metadata is not null)
            NexusLayout.WriteDetectorMetadata(file, saving, metadata);
        file.CreateVirtualFrameDataset(NexusLayout.DatasetPath(saving), frame, totalFrames, Sources(saving, receivers, totalFrames));
        NexusLayout.Link(file, saving);
        file.Close();
        return path;
    }
}
