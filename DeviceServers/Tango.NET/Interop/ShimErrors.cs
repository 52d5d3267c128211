using System.Runtime.InteropServices;

namespace Tango.Interop;

/// <summary>The shim's error channel (native/common.cpp): the errors of the last failed call on this thread.</summary>
internal static unsafe partial class ShimErrors
{
    /// <summary>Name of the shim library, built from native/ next to the assemblies.</summary>
    internal const string Library = "tangoshim";

    [LibraryImport(Library, EntryPoint = "tns_error_count")]
    private static partial int ErrorCount();

    [LibraryImport(Library, EntryPoint = "tns_error_get")]
    private static partial int ErrorGet(int index, byte** reason, byte** desc, byte** origin, int* severity);

    /// <summary>Throws the thread's last shim error when <paramref name="rc"/> says a call failed.</summary>
    internal static void Check(int rc)
    {
        if (rc < 0)
            throw Last();
    }

    /// <summary>The thread's last shim error as a <see cref="DevFailedException"/>.</summary>
    internal static DevFailedException Last()
    {
        var count = ErrorCount();
        var errors = new List<DevError>(count);
        for (var i = 0; i < count; i++)
        {
            byte* reason, desc, origin;
            int severity;
            if (ErrorGet(i, &reason, &desc, &origin, &severity) == 0)
                errors.Add(new DevError(NativeText.Read(reason), NativeText.Read(desc), NativeText.Read(origin),
                    (ErrSeverity)severity));
        }
        if (errors.Count == 0)
            errors.Add(new DevError("TangoNet_UnknownError", "the native call failed without an error", "tangoshim"));
        return new DevFailedException(errors);
    }
}
