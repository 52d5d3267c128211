using System.Text.RegularExpressions;
using Lima2.Core.IO;

namespace Lima2.Hdf5;

/// <summary>
/// Reads a reference image (mask, flat field, background, calibration array) from an HDF5 dataset named
/// <c>file.h5:/path/to/dataset</c>, or as silx and fabio write it, <c>file.h5::/path/to/dataset</c>. The file ends
/// in .h5, .hdf5, .hdf, .nxs or .cxi; the dataset holds numbers of any type (h5py's bool too) with shape (H, W) or
/// (1, H, W), a one-frame stack as the saving channels write it.
/// </summary>
public sealed partial class Hdf5ReferenceImageReader : IReferenceImageReader
{
    public static Hdf5ReferenceImageReader Instance { get; } = new();

    /// <summary>The readers a receiver uses: HDF5 datasets and .npy files.</summary>
    public static ReferenceImages Images { get; } = new(Instance, NpyReferenceImageReader.Instance);

    public bool CanRead(string path) => PathPattern().IsMatch(path);

    public string FileOf(string path) => PathPattern().Match(path).Groups["file"].Value;

    public (int Width, int Height, double[] Values) Read(string path, string opened)
    {
        var match = PathPattern().Match(path);
        var file = match.Groups["file"].Value;
        var dataset = match.Groups["dataset"].Value;
        if (dataset.Length == 0)
            throw new InvalidDataException($"{path} names no dataset: write {file}:/path/to/dataset");
        using var h5 = Hdf5File.OpenReadOnly(opened);
        var (shape, values) = h5.ReadNumbers(dataset);
        return shape switch
        {
            [var height, var width] => ((int)width, (int)height, values),
            [1, var height, var width] => ((int)width, (int)height, values),
            _ => throw new InvalidDataException(
                $"{file}:{dataset} has shape ({string.Join(", ", shape)}), a reference image is (H, W) or (1, H, W)"),
        };
    }

    // lazy: the file part ends at the first HDF5 extension followed by the dataset or the end (a dataset may be "/a.h5")
    [GeneratedRegex(@"^(?<file>.+?\.(?:h5|hdf5|hdf|nxs|cxi))(?:::?(?<dataset>/.*))?$", RegexOptions.IgnoreCase)]
    private static partial Regex PathPattern();
}
