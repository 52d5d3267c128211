using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Lima2.Hdf5;

/// <summary>
/// The folder saving may write into (also the folder reference images are read from, and the log folder). Every
/// <c>base_path</c> is resolved inside it: <c>..</c> segments, absolute paths elsewhere and symbolic links are refused
/// before anything is created.
/// </summary>
/// <remarks>
/// Checking a path and then creating a file by that path would let a folder swapped for a link in between redirect
/// the file (a TOCTOU race). So the root is held open as a descriptor from construction, and every folder and file
/// is created by walking <c>base_path</c> one component at a time from it with <c>openat(O_NOFOLLOW)</c>: a link
/// met anywhere, at any time, is refused rather than followed. The caller gets the created file's descriptor
/// (see <see cref="Hdf5File.Create(SavingRoot, string, string, bool)"/> for how HDF5 writes through it).
/// </remarks>
public sealed partial class SavingRoot : IDisposable
{
    private readonly SafeFileHandle _root;
    private readonly string _configured;

    public SavingRoot(string root)
    {
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"the saving root {root} does not exist");
        Root = RealPath(root);
        _configured = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        // the configured root itself may be a link (an administrator's choice): it is resolved once, here
        _root = OpenAt(AtCwd, Root, OPath | ODirectory | OCloexec)
                ?? throw new IOException($"cannot open the saving root {Root}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>The root with every symbolic link resolved.</summary>
    public string Root { get; }

    /// <summary>Resolves <paramref name="basePath"/> (relative to the root, or absolute inside it) and creates it.</summary>
    /// <returns>the folder's path (for messages and listings; files are created with <see cref="CreateFile"/>)</returns>
    /// <exception cref="UnauthorizedAccessException">the path leads outside the root or through a link.</exception>
    public string ResolveDirectory(string basePath)
    {
        var components = Components(basePath);
        using var folder = OpenFolder(basePath, components, create: true);
        return Display(components);
    }

    /// <summary>The path file <paramref name="fileName"/> of <paramref name="basePath"/> has (nothing is created).</summary>
    public string PathOf(string basePath, string fileName) => Path.Combine(Display(Components(basePath)), CheckedName(fileName));

    /// <summary>
    /// Creates file <paramref name="fileName"/> in <paramref name="basePath"/> (creating the folders as needed),
    /// never through a link; an existing file is replaced when <paramref name="overwrite"/> (unlinked, not truncated:
    /// a hard link to a file elsewhere is not written through), an error otherwise.
    /// </summary>
    /// <param name="path">the created file's path, for messages and listings</param>
    /// <returns>the new file, open for reading and writing</returns>
    /// <exception cref="UnauthorizedAccessException">the path leads outside the root or through a link.</exception>
    /// <exception cref="IOException">the file exists (and not <paramref name="overwrite"/>), or cannot be created.</exception>
    public SafeFileHandle CreateFile(string basePath, string fileName, bool overwrite, out string path)
    {
        var components = Components(basePath);
        path = Path.Combine(Display(components), CheckedName(fileName));
        using var folder = OpenFolder(basePath, components, create: true);
        if (overwrite && unlinkat(folder, fileName, 0) < 0 && Marshal.GetLastPInvokeError() != Enoent)
            throw new IOException($"cannot replace {path}: {Marshal.GetLastPInvokeErrorMessage()}");
        var file = OpenAt(folder, fileName, ORdwr | OCreat | OExcl | ONofollow | OCloexec, 0b110_110_110);
        if (file is not null)
            return file;
        throw Marshal.GetLastPInvokeError() switch
        {
            Eexist => new IOException($"{path} already exists (file_exists_policy abort)"),
            Eloop => new UnauthorizedAccessException($"{path} is a symbolic link; saving does not write through links"),
            _ => new IOException($"cannot create {path}: {Marshal.GetLastPInvokeErrorMessage()}"),
        };
    }

    /// <summary>
    /// Opens file <paramref name="path"/> (relative to the root, or absolute inside it) for reading, following no link
    /// (a reference image or a file to load frames from).
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">the path leads outside the root or through a link.</exception>
    /// <exception cref="IOException">there is no such file, or it cannot be opened.</exception>
    public SafeFileHandle OpenRead(string path)
    {
        var folder = Path.GetDirectoryName(path) ?? "";
        var components = Components(folder);
        using var opened = OpenFolder(folder, components, create: false);
        return OpenAt(opened, CheckedName(Path.GetFileName(path)), ORdonly | ONofollow | OCloexec)
               ?? throw new IOException($"cannot open {path}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    /// <summary>
    /// Opens file <paramref name="fileName"/> of the root itself for appending, creating it if needed, never through
    /// a link (a log file in a folder others could write to).
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">the file is a symbolic link.</exception>
    public SafeFileHandle AppendFile(string fileName, out string path)
    {
        path = Path.Combine(Root, CheckedName(fileName));
        var file = OpenAt(_root, fileName, OWronly | OAppend | OCreat | ONofollow | OCloexec, 0b110_100_000);
        if (file is not null)
            return file;
        throw Marshal.GetLastPInvokeError() == Eloop
            ? new UnauthorizedAccessException($"{path} is a symbolic link; it is not written through")
            : new IOException($"cannot open {path}: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    public void Dispose() => _root.Dispose();

    /// <summary>The folders of <paramref name="basePath"/> below the root, checked for <c>..</c> and escapes.</summary>
    private string[] Components(string basePath)
    {
        if (basePath.Split('/', '\\').Contains(".."))
            throw new UnauthorizedAccessException($"base_path '{basePath}' contains '..'");
        if (basePath.Contains('\0'))
            throw new UnauthorizedAccessException($"base_path '{basePath}' contains a NUL character");
        var relative = basePath;
        if (Path.IsPathRooted(basePath))
        {
            var full = Path.GetFullPath(basePath);
            relative = Below(Root, full) ?? Below(_configured, full)
                       ?? throw new UnauthorizedAccessException($"base_path '{basePath}' is outside the saving root {Root}");
        }
        return relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".").ToArray();
    }

    private static string? Below(string root, string full) =>
        full == root ? "" : full.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal) ? full[root.Length..] : null;

    private string Display(string[] components) => components.Length == 0 ? Root : Path.Combine([Root, .. components]);

    private static string CheckedName(string fileName) =>
        fileName.Length == 0 || fileName is "." or ".." || fileName.IndexOfAny(['/', '\\', '\0']) >= 0
            ? throw new UnauthorizedAccessException($"'{fileName}' is not a plain file name")
            : fileName;

    /// <summary>Opens (creating, if asked) each folder of the path in turn from the root's descriptor, following no link.</summary>
    private SafeFileHandle OpenFolder(string basePath, string[] components, bool create)
    {
        var folder = OpenAt(_root, ".", OPath | ODirectory | OCloexec)
                     ?? throw new IOException($"cannot open the saving root {Root}: {Marshal.GetLastPInvokeErrorMessage()}");
        for (var i = 0; i < components.Length; i++)
        {
            using var parent = folder;
            if (create && mkdirat(parent, components[i], 0b111_111_111) < 0 && Marshal.GetLastPInvokeError() != Eexist)
                throw new IOException($"cannot create {Display(components[..(i + 1)])}: {Marshal.GetLastPInvokeErrorMessage()}");
            folder = OpenAt(parent, components[i], OPath | ODirectory | ONofollow | OCloexec) ?? throw Marshal.GetLastPInvokeError() switch
            {
                Eloop or Enotdir => new UnauthorizedAccessException(
                    $"base_path '{basePath}' leads through a link or a file ({Display(components[..(i + 1)])}); saving writes only into folders under the saving root {Root}"),
                _ => new IOException($"cannot open {Display(components[..(i + 1)])}: {Marshal.GetLastPInvokeErrorMessage()}"),
            };
        }
        return folder;
    }

    private static SafeFileHandle? OpenAt(SafeFileHandle folder, string name, int flags, int mode = 0)
    {
        var descriptor = openat(folder, name, flags, mode);
        return descriptor < 0 ? null : new SafeFileHandle(descriptor, ownsHandle: true);
    }

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

    private static readonly SafeFileHandle AtCwd = new(-100, ownsHandle: false);
    private const int ORdonly = 0x0, OWronly = 0x1, ORdwr = 0x2, OAppend = 0x400, OCreat = 0x40, OExcl = 0x80, ODirectory = 0x10000, ONofollow = 0x20000,
        OCloexec = 0x80000, OPath = 0x200000;
    private const int Enoent = 2, Eexist = 17, Enotdir = 20, Eloop = 40;

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint realpath(string path, nint resolved);

    [LibraryImport("libc")]
    private static partial void free(nint pointer);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int openat(SafeFileHandle folder, string name, int flags, int mode);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mkdirat(SafeFileHandle folder, string name, int mode);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int unlinkat(SafeFileHandle folder, string name, int flags);
}
