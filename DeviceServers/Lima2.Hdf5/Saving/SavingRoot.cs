using System.Runtime.InteropServices;

namespace Lima2.Hdf5.Saving;

/// <summary>
/// The folder saving may write into. Every <c>base_path</c> is resolved inside it: <c>..</c> segments, absolute
/// paths elsewhere and symbolic links leading out are refused before anything is created.
/// </summary>
public sealed partial class SavingRoot
{
    public SavingRoot(string root)
    {
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"the saving root {root} does not exist");
        Root = RealPath(root);
    }

    /// <summary>The root with every symbolic link resolved.</summary>
    public string Root { get; }

    /// <summary>Resolves <paramref name="basePath"/> (relative to the root, or absolute inside it) and creates it.</summary>
    /// <exception cref="UnauthorizedAccessException">the path leads outside the root.</exception>
    public string ResolveDirectory(string basePath)
    {
        if (basePath.Split('/', '\\').Contains(".."))
            throw new UnauthorizedAccessException($"base_path '{basePath}' contains '..'");
        var full = Path.GetFullPath(Path.IsPathRooted(basePath) ? basePath : Path.Combine(Root, basePath));
        if (!IsInside(full))
            throw new UnauthorizedAccessException($"base_path '{basePath}' is outside the saving root {Root}");
        // Check what exists before creating the rest: a link in the middle must not make us create folders elsewhere.
        var existing = full;
        while (!Directory.Exists(existing))
            existing = Path.GetDirectoryName(existing)!;
        if (!IsInside(RealPath(existing)))
            throw new UnauthorizedAccessException($"base_path '{basePath}' leads outside the saving root {Root} through a link");
        Directory.CreateDirectory(full);
        var real = RealPath(full);
        if (!IsInside(real))
            throw new UnauthorizedAccessException($"base_path '{basePath}' leads outside the saving root {Root} through a link");
        return real;
    }

    /// <summary>The path of file <paramref name="fileName"/> in a resolved folder; refuses names with separators and links.</summary>
    public string ResolveFile(string directory, string fileName)
    {
        if (fileName.Length == 0 || fileName is "." or ".." || fileName.IndexOfAny(['/', '\\', '\0']) >= 0)
            throw new UnauthorizedAccessException($"'{fileName}' is not a plain file name");
        var path = Path.Combine(directory, fileName);
        if (!IsInside(path))
            throw new UnauthorizedAccessException($"{path} is outside the saving root {Root}");
        if (new FileInfo(path).LinkTarget is not null)
            throw new UnauthorizedAccessException($"{path} is a symbolic link; saving does not write through links");
        return path;
    }

    private bool IsInside(string path) =>
        path == Root || path.StartsWith(Root.EndsWith('/') ? Root : Root + "/", StringComparison.Ordinal);

    private static unsafe string RealPath(string path)
    {
        var resolved = realpath(path, 0);
        if (resolved == 0)
            throw new IOException($"cannot resolve {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        try
        {
            return Marshal.PtrToStringUTF8(resolved)!;
        }
        finally
        {
            free(resolved);
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint realpath(string path, nint resolved);

    [LibraryImport("libc")]
    private static partial void free(nint pointer);
}
