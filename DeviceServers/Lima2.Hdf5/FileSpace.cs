using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Lima2.Hdf5;

/// <summary>Disk blocks reserved ahead of a file that grows chunk by chunk, and given back when it is closed.</summary>
internal static partial class FileSpace
{
    private const int KeepSize = 1; // FALLOC_FL_KEEP_SIZE: blocks past the end, the file's size unchanged
    private const long TmpfsMagic = 0x01021994;

    /// <summary>Whether the file lives in RAM (tmpfs), where reserving space allocates and zeroes pages ahead of the writes.</summary>
    public static unsafe bool InMemory(SafeFileHandle file)
    {
        var statfs = stackalloc long[16]; // struct statfs; f_type first
        return fstatfs((int)file.DangerousGetHandle(), statfs) == 0 && statfs[0] == TmpfsMagic;
    }

    /// <summary>Reserves <paramref name="bytes"/> from <paramref name="offset"/> past the file's end; false where refused (full, unsupported).</summary>
    public static bool Reserve(SafeFileHandle file, long offset, long bytes) =>
        fallocate((int)file.DangerousGetHandle(), KeepSize, offset, bytes) == 0;

    /// <summary>Gives back the blocks reserved past the file's end: a truncate to its own size (ext4 and XFS trim them).</summary>
    public static bool TrimToSize(SafeFileHandle file) =>
        ftruncate((int)file.DangerousGetHandle(), RandomAccess.GetLength(file)) == 0;

    [LibraryImport("libc")] private static unsafe partial int fstatfs(int descriptor, long* statfs);
    [LibraryImport("libc")] private static partial int fallocate(int descriptor, int mode, long offset, long length);
    [LibraryImport("libc")] private static partial int ftruncate(int descriptor, long length);
}
