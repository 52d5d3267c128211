using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Saving;

/// <summary>
/// The layout of the dense files and the master file: an NXmx entry as DECTRIS' FileWriter writes it, with the frames
/// at <see cref="FramesPath"/> (the dataset itself), and the Lima2 layout a Lima2 client reads
/// (<c>/{entry}/{instrument}/{detector}/data</c>, <c>{entry}/measurement/data</c>,
/// <c>{entry}/{instrument}/{detector}/plot/data</c>) as soft links to it.
/// </summary>
/// <remarks>
/// The frames' dataset is the NXmx one because NXmx readers (dxtbx, XDS' Neggia plugin) look for
/// <c>/entry/data/data</c>, whereas every Lima2 path is configurable (<c>nx_entry_name</c>, ...); HDF5 resolves
/// soft links for readers and for virtual dataset sources alike, so the conductor's master file still maps the
/// Lima2 path. The NXmx tree is written by <see cref="Nxmx"/>.
/// </remarks>
public static class NexusLayout
{
    /// <summary>Where the frames are: the NXmx entry's NXdata signal (the hard path).</summary>
    public const string FramesPath = Nxmx.Entry + "/data/data";

    /// <summary>The Lima2 path of the frames, a soft link to <see cref="FramesPath"/>.</summary>
    public static string DatasetPath(SavingParams saving) =>
        $"/{saving.NxEntryName}/{saving.NxInstrumentName}/{saving.NxDetectorName}/data";

    /// <summary>
    /// The root, entry, instrument and detector groups of a file that is not NXmx (the sparse frames' files);
    /// <paramref name="entryDefault"/> is the entry's <c>@default</c> (the NXdata a viewer opens), relative to the entry.
    /// </summary>
    public static void CreateEntry(Hdf5File file, SavingParams saving, string entryDefault)
    {
        var entry = $"/{saving.NxEntryName}";
        file.SetAttribute("/", "NX_class", "NXroot");
        file.SetAttribute("/", "creator", "Lima2.Tango");
        file.SetAttribute("/", "default", saving.NxEntryName);
        file.CreateGroup(entry, "NXentry");
        file.SetAttribute(entry, "default", entryDefault);
        file.CreateGroup($"{entry}/{saving.NxInstrumentName}", "NXinstrument");
        file.CreateGroup($"{entry}/{saving.NxInstrumentName}/{saving.NxDetectorName}", "NXdetector");
    }

    /// <summary>
    /// Everything of a dense or master file but the frames: the NXmx tree (<paramref name="facts"/>) and the Lima2
    /// groups. The frames' dataset is then created at <see cref="FramesPath"/>, and <see cref="Link"/> called.
    /// </summary>
    public static void CreateGroups(Hdf5File file, SavingParams saving, FrameInfo frame, NxmxFacts facts)
    {
        file.SetAttribute("/", "NX_class", "NXroot");
        file.SetAttribute("/", "creator", "Lima2.Tango");
        file.SetAttribute("/", "default", Nxmx.Entry.TrimStart('/'));
        Nxmx.Write(file, frame, facts);
        var entry = $"/{saving.NxEntryName}";
        var detector = $"{entry}/{saving.NxInstrumentName}/{saving.NxDetectorName}";
        // When nx_entry_name is "entry" the Lima2 groups are those of the NXmx entry: a second NXdetector there
        // would be a second detector to NXmx readers, so a Lima2-only group inside the NXmx entry is a collection.
        var insideNxmx = entry == Nxmx.Entry;
        EnsureGroup(file, entry, "NXentry");
        if (!insideNxmx)
            file.SetAttribute(entry, "default", $"{saving.NxInstrumentName}/{saving.NxDetectorName}/plot");
        EnsureGroup(file, $"{entry}/{saving.NxInstrumentName}", insideNxmx ? "NXcollection" : "NXinstrument");
        EnsureGroup(file, detector, insideNxmx && detector != Nxmx.Detector ? "NXcollection" : "NXdetector");
        EnsureGroup(file, $"{entry}/measurement", "NXcollection");
        EnsureGroup(file, $"{detector}/plot", "NXdata");
        file.SetAttribute($"{detector}/plot", "signal", "data");
    }

    /// <summary>Called once the frames' dataset exists: the Lima2 paths become links to it.</summary>
    public static void Link(Hdf5File file, SavingParams saving)
    {
        file.SetAttribute(FramesPath, "interpretation", "image");
        var detector = $"/{saving.NxEntryName}/{saving.NxInstrumentName}/{saving.NxDetectorName}";
        foreach (var link in new[] { DatasetPath(saving), $"/{saving.NxEntryName}/measurement/data", $"{detector}/plot/data" })
            file.CreateSoftLink(FramesPath, link);
        if (detector != Nxmx.Detector)
            file.CreateSoftLink(FramesPath, $"{Nxmx.Detector}/data");
    }

    /// <summary>The entry's <c>end_time</c>, written when the file's last frame is in.</summary>
    public static void WriteEndTime(Hdf5File file, DateTimeOffset end) => Nxmx.WriteEndTime(file, end);

    private static void EnsureGroup(Hdf5File file, string path, string nxClass)
    {
        if (!file.Exists(path))
            file.CreateGroup(path, nxClass);
    }
}
