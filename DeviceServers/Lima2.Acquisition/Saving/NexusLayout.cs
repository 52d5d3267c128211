using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Saving;

/// <summary>
/// The NeXus layout shared by the receivers' files and the master file: <c>/{entry}/{instrument}/{detector}/data</c>
/// (NXentry, NXinstrument, NXdetector) with <c>@interpretation=image</c>, the links <c>{entry}/measurement/data</c>
/// and <c>{entry}/{instrument}/{detector}/plot/data</c> (an NXdata), and the <c>@default</c> chain for viewers.
/// </summary>
public static class NexusLayout
{
    public static string DatasetPath(SavingParams saving) =>
        $"/{saving.NxEntryName}/{saving.NxInstrumentName}/{saving.NxDetectorName}/data";

    /// <summary>
    /// The root, entry, instrument and detector groups every file of ours starts with; <paramref name="entryDefault"/>
    /// is the entry's <c>@default</c> (the NXdata a viewer opens), relative to the entry.
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

    public static void CreateGroups(Hdf5File file, SavingParams saving)
    {
        var entry = $"/{saving.NxEntryName}";
        var detector = $"{entry}/{saving.NxInstrumentName}/{saving.NxDetectorName}";
        CreateEntry(file, saving, $"{saving.NxInstrumentName}/{saving.NxDetectorName}/plot");
        file.CreateGroup($"{entry}/measurement", "NXcollection");
        file.CreateGroup($"{detector}/plot", "NXdata");
        file.SetAttribute($"{detector}/plot", "signal", "data");
    }

    /// <summary>Called once the dataset exists.</summary>
    public static void Link(Hdf5File file, SavingParams saving)
    {
        var data = DatasetPath(saving);
        file.SetAttribute(data, "interpretation", "image");
        file.CreateSoftLink(data, $"/{saving.NxEntryName}/measurement/data");
        file.CreateSoftLink(data, $"/{saving.NxEntryName}/{saving.NxInstrumentName}/{saving.NxDetectorName}/plot/data");
    }

    /// <summary>
    /// The NXdetector fields (NXmx) that are known: <c>x_pixel_size</c>, <c>y_pixel_size</c>, <c>distance</c> (m),
    /// <c>beam_center_x</c>, <c>beam_center_y</c> (pixel), <c>count_time</c>, <c>frame_time</c> (s),
    /// <c>saturation_value</c>, <c>sensor_material</c>, <c>sensor_thickness</c> (m), each with its <c>@units</c>.
    /// </summary>
    public static void WriteDetectorMetadata(Hdf5File file, SavingParams saving, DetectorMetadata metadata)
    {
        var detector = $"/{saving.NxEntryName}/{saving.NxInstrumentName}/{saving.NxDetectorName}";
        void Number(string name, double? value, string units)
        {
            if (value is not { } v)
                return;
            file.WriteArray<double>($"{detector}/{name}", [v]);
            file.SetAttribute($"{detector}/{name}", "units", units);
        }
        Number("x_pixel_size", metadata.XPixelSize, "m");
        Number("y_pixel_size", metadata.YPixelSize, "m");
        Number("distance", metadata.Distance, "m");
        Number("beam_center_x", metadata.BeamCenterX, "pixel");
        Number("beam_center_y", metadata.BeamCenterY, "pixel");
        Number("count_time", metadata.CountTime, "s");
        Number("frame_time", metadata.FrameTime, "s");
        Number("sensor_thickness", metadata.SensorThickness, "m");
        if (metadata.SaturationValue is { } saturation)
            file.WriteArray<long>($"{detector}/saturation_value", [saturation]);
        if (metadata.SensorMaterial is { } material)
            file.WriteString($"{detector}/sensor_material", material);
    }
}
