using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Saving;

/// <summary>
/// The master file of a partial-frame dispatch (<see cref="FrameParts"/>): every receiver saved a part of every frame,
/// frame k at row k of its files; the master's virtual dataset, at the receivers' dataset path, shows the whole
/// detector image of each frame, each receiver's parts at their place, gaps 0. Same name, groups, metadata and
/// <see cref="MasterFile.SavedPerReceiverField"/> as <see cref="MasterFile"/>'s round-robin master (NXmx, with the
/// Lima2 layout's links), and each part an NXdetector_module of its own, placed where the image shows it.
/// </summary>
public static class PartialFrameMaster
{
    /// <summary>Each receiver's share of an acquisition of <paramref name="totalFrames"/> frames: all of them.</summary>
    public static long[] Shares(FrameParts parts, long totalFrames) => [.. parts.PerReceiver.Select(_ => totalFrames)];

    /// <summary>
    /// Writes the master over <paramref name="receivedPerReceiver"/> frames of each receiver (the frames it received,
    /// frame k at row k whether saved or not); with <paramref name="checkFiles"/> only the rows found in the
    /// receivers' files are mapped (a frame some receiver's files lack shows 0 in its parts, and the gap is stated as
    /// <see cref="MasterFile.MissingAttribute"/>).
    /// </summary>
    /// <param name="frame">a receiver's frames: the pixel type of the master</param>
    public static string Write(SavingParams saving, SavingRoot root, FrameInfo frame, FrameParts parts, IReadOnlyList<long> receivedPerReceiver,
        bool checkFiles, NxmxFacts? facts, bool replace)
    {
        if (receivedPerReceiver.Count != parts.PerReceiver.Count)
            throw new ArgumentException($"{receivedPerReceiver.Count} counts for {parts.PerReceiver.Count} receivers", nameof(receivedPerReceiver));
        var mapped = checkFiles ? MasterFile.FramesInFiles(saving, root, receivedPerReceiver) : [.. receivedPerReceiver];
        var detector = new FrameInfo(parts.Width, parts.Height, frame.PixelType);
        using var file = Hdf5File.Create(root, saving.BasePath, MasterFile.FileName(saving), replace || saving.FileExistsPolicy == FileExistsPolicy.Overwrite);
        NexusLayout.CreateGroups(file, saving, detector, DetectorFacts(facts ?? new NxmxFacts(null, DateTimeOffset.UtcNow), parts));
        var data = NexusLayout.FramesPath;
        file.CreateVirtualBlockDataset(data, detector, mapped.DefaultIfEmpty(0).Max(), Blocks(saving, parts, mapped));
        var lima2Data = NexusLayout.DatasetPath(saving);
        file.WriteArray<long>($"{lima2Data[..lima2Data.LastIndexOf('/')]}/{MasterFile.SavedPerReceiverField}", mapped, mapped.Length);
        var missing = Enumerable.Range(0, mapped.Length).Where(r => mapped[r] < mapped.Max())
            .Select(r => $"receiver {r}: frames {mapped[r]} to {mapped.Max() - 1} not in its files").ToArray();
        if (missing.Length > 0)
            file.SetAttribute(data, MasterFile.MissingAttribute, $"{string.Join("; ", missing)} (their parts read as 0)");
        NexusLayout.Link(file, saving);
        NexusLayout.WriteEndTime(file, DateTimeOffset.UtcNow);
        file.Close();
        return file.Path;
    }

    /// <summary>
    /// The facts of the receivers' frames (receiver 0's) made the detector image's: every part of every receiver is a
    /// module of the detector (a JUNGFRAU's), at its place in the image; the pixel mask, over receiver 0's frames, is
    /// copied to every receiver's parts (the receivers' stacks of modules share its layout and the processing's mask
    /// file), and what no part covers is a gap. The mask is left out when a part lies beyond receiver 0's frames.
    /// </summary>
    private static NxmxFacts DetectorFacts(NxmxFacts facts, FrameParts parts)
    {
        facts = facts with
        {
            Modules = [.. parts.PerReceiver.SelectMany(r => r.Parts).Select(p => NxmxModule.InImage(p.DetectorX, p.DetectorY, p.Width, p.Height))],
        };
        if (facts.Detector?.PixelMask is not { } mask)
            return facts;
        var (width, height) = (parts.PerReceiver[0].Width, parts.PerReceiver[0].Height);
        var all = parts.PerReceiver.SelectMany(r => r.Parts).ToArray();
        if (mask.Length != width * height || all.Any(p => p.SourceX + p.Width > width || p.SourceY + p.Height > height))
            return facts with { Detector = facts.Detector with { PixelMask = null } };
        var image = new uint[parts.Width * parts.Height];
        image.AsSpan().Fill((uint)PixelMaskBits.Gap);
        foreach (var p in all)
            for (var row = 0; row < p.Height; row++)
                mask.AsSpan((p.SourceY + row) * width + p.SourceX, p.Width)
                    .CopyTo(image.AsSpan((p.DetectorY + row) * parts.Width + p.DetectorX, p.Width));
        return facts with { Detector = facts.Detector with { PixelMask = image } };
    }

    /// <summary>The blocks of every part of every file of every receiver: receiver r's file f holds frames f·nbpf, ….</summary>
    public static IEnumerable<VirtualBlock> Blocks(SavingParams saving, FrameParts parts, IReadOnlyList<long> framesPerReceiver)
    {
        var dataset = NexusLayout.FramesPath; // the dataset itself: HDF5 follows no soft link to a virtual source
        long perFile = saving.NbFramesPerFile;
        for (var rank = 0; rank < parts.PerReceiver.Count; rank++)
        {
            var receiver = parts.PerReceiver[rank];
            for (var file = 0; file * perFile < framesPerReceiver[rank]; file++)
            {
                var name = FilenameFormat.Render(saving with { FilenameRank = rank }, saving.StartNumber + file);
                var frames = Math.Min(perFile, framesPerReceiver[rank] - file * perFile);
                foreach (var p in receiver.Parts)
                    yield return new VirtualBlock(name, dataset, frames, receiver.Height, receiver.Width, p.SourceX, p.SourceY, p.Width, p.Height,
                        file * perFile, p.DetectorX, p.DetectorY);
            }
        }
    }
}
