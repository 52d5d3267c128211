using System.Runtime.CompilerServices;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests;

internal static class TestHost
{
    /// <summary>
    /// This test process writes HDF5 files while other tests start child processes: a child forked in the instant a
    /// file is open (before libhdf5's descriptor is made close-on-exec) keeps its lock, and the next create or read
    /// of that file fails. Files in tests are never shared between writers, so the host takes no HDF5 file locks.
    /// </summary>
    [ModuleInitializer]
    internal static void DisableHdf5FileLocking() => NativeEnvironment.Set("HDF5_USE_FILE_LOCKING", "FALSE");
}
