using Microsoft.Win32.SafeHandles;

namespace Lima2.Core.IO;

/// <summary>Reads a reference image (mask, flat field, background) as doubles, row-major.</summary>
public interface IReferenceImageReader
{
    /// <summary>True when this reader understands the path (by extension or form).</summary>
    bool CanRead(string path);

    /// <summary>The file that holds the image: the path itself, or its file part when the path also says where in the
    /// file the image is (an HDF5 dataset).</summary>
    string FileOf(string path) => path;

    /// <param name="path">the image as the parameters name it (for messages, and where in the file it is)</param>
    /// <param name="file">the name to open the file by: <see cref="FileOf"/>, or a descriptor's <c>/proc/self/fd/N</c></param>
    /// <returns>width, height and the values, row-major</returns>
    /// <exception cref="IOException">the file cannot be read, or holds no such image.</exception>
    /// <exception cref="InvalidDataException">the image has a shape or type that is no image.</exception>
    (int Width, int Height, double[] Values) Read(string path, string file);
}

/// <summary>The .npy reader; an HDF5 reader (Lima2.Hdf5) can be put in front with <see cref="ReferenceImages"/>.</summary>
public sealed class NpyReferenceImageReader : IReferenceImageReader
{
    public static NpyReferenceImageReader Instance { get; } = new();

    public bool CanRead(string path) => path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);

    public (int Width, int Height, double[] Values) Read(string path, string file)
    {
        var array = NpyFile.Read(file);
        if (array.Shape.Length != 2)
            throw new InvalidDataException($"{path}: a reference image must be 2-D, this one has shape ({string.Join(", ", array.Shape)})");
        return (array.Shape[1], array.Shape[0], array.ToDoubles());
    }
}

/// <summary>A reference image that cannot be used (missing file or dataset, wrong shape or type), and the field that names it.</summary>
public sealed class ReferenceImageException(string field, string reason, Exception? inner = null)
    : IOException($"{field}: {reason}", inner)
{
    /// <summary>The parameter that names the image, e.g. <c>fai.mask_path</c> or <c>mask</c>.</summary>
    public string Field { get; } = field;

    /// <summary>What is wrong, without the field.</summary>
    public string Reason { get; } = reason;
}

/// <summary>Picks the first reader that understands a path; reads only files under a folder once <see cref="Under"/> it.</summary>
public sealed class ReferenceImages(params IReferenceImageReader[] readers)
{
    public static ReferenceImages Default { get; } = new(NpyReferenceImageReader.Instance);

    private string? _root;
    private Func<string, SafeFileHandle>? _open;

    /// <summary>
    /// The same readers, reading only files under <paramref name="root"/>: <paramref name="open"/> opens a path
    /// (relative to the root, or absolute inside it) beneath the root without following links, or throws. A file
    /// that is missing and one that is outside say the same, so errors tell nothing of what exists elsewhere.
    /// </summary>
    public ReferenceImages Under(string root, Func<string, SafeFileHandle> open) => new(readers) { _root = root, _open = open };

    /// <param name="path">the image's path as the parameters name it</param>
    /// <param name="field">the parameter that names it, for the error message</param>
    /// <exception cref="ReferenceImageException">no reader understands the path, the file does not exist or cannot be read.</exception>
    public (int Width, int Height, double[] Values) Read(string path, string field)
    {
        var reader = readers.FirstOrDefault(r => r.CanRead(path))
                     ?? throw new ReferenceImageException(field, $"no reader for {path} (known: .npy and what is registered)");
        return ReadFile(reader.FileOf(path), field, opened => reader.Read(path, opened));
    }

    /// <summary>
    /// Reads <paramref name="file"/> with <paramref name="read"/>, given the name to open it by: under a root
    /// (<see cref="Under"/>), the descriptor of the file opened beneath it.
    /// </summary>
    /// <exception cref="ReferenceImageException">the file does not exist, is not under the root, or cannot be read.</exception>
    public T ReadFile<T>(string file, string field, Func<string, T> read)
    {
        if (_open is null)
        {
            if (!File.Exists(file))
                throw new ReferenceImageException(field, $"{file} does not exist");
            return Reading(field, () => read(file), file, file);
        }
        SafeFileHandle opened;
        try
        {
            opened = _open(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReferenceImageException(field, $"{file} is not a file under the reference root {_root}");
        }
        using (opened)
        {
            var name = $"/proc/self/fd/{opened.DangerousGetHandle()}";
            return Reading(field, () => read(name), name, file);
        }
    }

    private static T Reading<T>(string field, Func<T> read, string openedAs, string file)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException)
        {
            throw new ReferenceImageException(field, e.Message.Replace(openedAs, file), e);
        }
    }

    /// <summary>Reads an image that must have the frames' size.</summary>
    /// <exception cref="ReferenceImageException">as <see cref="Read(string, string)"/>, or the image is not <paramref name="width"/>x<paramref name="height"/>.</exception>
    public double[] Read(string path, string field, int width, int height)
    {
        var (w, h, values) = Read(path, field);
        return w == width && h == height
            ? values
            : throw new ReferenceImageException(field, $"{path} has shape ({h}, {w}), the frames have shape ({height}, {width})");
    }
}
