using Lima2.Detectors.Jungfrau;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Jungfrau;

/// <summary>
/// Pedestal and gain maps in HDF5: dataset <c>/pedestal</c> (ADU) or <c>/gain</c> (ADU/keV), float32 of shape
/// (3, 512 × modules, 1024): gain stages G0, G1, G2, the modules one under the other (module-major, as assembled),
/// the layout jungfrau_utils' per-module files have for one module. A pedestal file also holds <c>/pedestal_frames</c>
/// (3, 512 × modules, 1024) int32: how many dark frames saw each pixel in each stage.
/// </summary>
public static class JungfrauCalibrationFile
{
    public const string Pedestal = "pedestal";
    public const string Gain = "gain";

    /// <summary>Writes the maps of a pedestal run into a new file under the saving root (an existing one is replaced).</summary>
    /// <returns>the file's path</returns>
    public static string WritePedestal(SavingRoot root, string path, PedestalAccumulator dark)
    {
        using var file = Hdf5File.Create(root, Path.GetDirectoryName(path) ?? "", Path.GetFileName(path), overwrite: true);
        var rows = dark.Pixels / JungfrauModule.Width;
        file.WriteArray<float>($"/{Pedestal}", Enumerable.Range(0, JungfrauGain.Stages).SelectMany(dark.Pedestal).ToArray(),
            JungfrauGain.Stages, rows, JungfrauModule.Width);
        file.WriteArray<int>($"/{Pedestal}_frames", Enumerable.Range(0, JungfrauGain.Stages).SelectMany(g => dark.Counts(g).ToArray()).ToArray(),
            JungfrauGain.Stages, rows, JungfrauModule.Width);
        return file.Path;
    }

    /// <summary>Writes tracked pedestal maps (G0, G1, G2) as <c>/pedestal</c> of a new file under the saving root (an existing one is replaced).</summary>
    /// <returns>the file's path</returns>
    public static string WritePedestal(SavingRoot root, string path, IReadOnlyList<float[]> maps)
    {
        using var file = Hdf5File.Create(root, Path.GetDirectoryName(path) ?? "", Path.GetFileName(path), overwrite: true);
        file.WriteArray<float>($"/{Pedestal}", maps.SelectMany(m => m).ToArray(), maps.Count, maps[0].Length / JungfrauModule.Width, JungfrauModule.Width);
        return file.Path;
    }

    /// <summary>Writes three maps (G0, G1, G2) as dataset <paramref name="name"/> of a new file at <paramref name="path"/>.</summary>
    public static void Write(string path, string name, IReadOnlyList<float[]> maps)
    {
        using var file = Hdf5File.Create(path, overwrite: true);
        file.WriteArray<float>($"/{name}", maps.SelectMany(m => m).ToArray(), maps.Count, maps[0].Length / JungfrauModule.Width, JungfrauModule.Width);
    }

    /// <summary>The three maps (G0, G1, G2) of <paramref name="modules"/> modules in dataset <paramref name="name"/>, read beneath the reference root.</summary>
    /// <exception cref="ArgumentException">the dataset does not have the shape (3, 512 × modules, 1024).</exception>
    public static float[][] Read(SavingRoot root, string path, string name, int modules) =>
        ReadModules(root, path, name, [.. Enumerable.Range(0, modules)], modules);

    /// <summary>
    /// The three maps (G0, G1, G2) of the detector's modules <paramref name="modules"/> (a partial-frame receiver's),
    /// in that order, from a file of either just these modules in that order (the receiver's own pedestal run) or of
    /// all <paramref name="detectorModules"/> modules (a gain file of the whole detector).
    /// </summary>
    /// <exception cref="ArgumentException">the dataset has neither shape (3, 512 × modules, 1024).</exception>
    public static float[][] ReadModules(SavingRoot root, string path, string name, IReadOnlyList<int> modules, int detectorModules)
    {
        using var opened = root.OpenRead(path);
        using var file = Hdf5File.OpenReadOnly(opened, path);
        var (shape, values) = file.ReadNumbers($"/{name}");
        var rows = modules.Count * JungfrauModule.Height;
        if (shape is not [JungfrauGain.Stages, var height, JungfrauModule.Width]
            || (height != rows && height != detectorModules * JungfrauModule.Height))
            throw new ArgumentException($"{path}:/{name} has shape ({string.Join(", ", shape)}), {modules.Count} modules need " +
                                        $"({JungfrauGain.Stages}, {rows}, {JungfrauModule.Width})" +
                                        (detectorModules != modules.Count ? $" (or {detectorModules * JungfrauModule.Height} rows: the whole detector)" : ""));
        var filePixels = (int)height * JungfrauModule.Width;
        int[] inFile = height == rows ? [.. Enumerable.Range(0, modules.Count)] : [.. modules];
        return [.. Enumerable.Range(0, JungfrauGain.Stages).Select(g => inFile
            .SelectMany(m => values.AsSpan(g * filePixels + m * JungfrauModule.Pixels, JungfrauModule.Pixels).ToArray())
            .Select(v => (float)v).ToArray())];
    }
}
