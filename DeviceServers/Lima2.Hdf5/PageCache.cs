using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Lima2.Hdf5;

/// <summary>The page cache of files written once and not read again.</summary>
public static partial class PageCache
{
    /// <summary>
    /// Starts writeback of a file's dirty pages and drops the pages already written back, so that a file written once
    /// and not read again recycles a few MB of page cache instead of taking fresh pages for all of its bytes (fresh
    /// pages are the expensive ones: in a VM whose freed memory goes back to the host, every first touch of a page
    /// faults in the hypervisor, ~20 ms of kernel CPU per 8 MB written). Advisory: false when the kernel refused.
    /// </summary>
    public static bool ReleaseWritten(int descriptor) =>
        sync_file_range(descriptor, 0, 0, 2 /* SYNC_FILE_RANGE_WRITE: start, do not wait */) == 0
        & posix_fadvise(descriptor, 0, 0, 4 /* POSIX_FADV_DONTNEED: clean pages only */) == 0;

    /// <inheritdoc cref="ReleaseWritten(int)"/>
    public static bool ReleaseWritten(SafeFileHandle file) => ReleaseWritten((int)file.DangerousGetHandle());

    [LibraryImport("libc")] private static partial int sync_file_range(int descriptor, long offset, long bytes, uint flags);
    [LibraryImport("libc")] private static partial int posix_fadvise(int descriptor, long offset, long length, int advice);
}
