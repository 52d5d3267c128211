using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Lima2.Hdf5.Native;

/// <summary>
/// The part of Debian's libhdf5 1.10 C API we use. In 1.10 <c>hid_t</c> is a 64-bit integer, and the
/// predefined property-list classes and types (<c>H5P_DATASET_CREATE</c>, <c>H5T_STD_U16LE</c>, ...) are
/// global variables that only hold their value after <c>H5open</c>: they are read from the library's exports.
/// </summary>
internal static unsafe partial class H5
{
    public const string Library = "libhdf5_serial.so.103";

    public const long Default = 0; // H5P_DEFAULT, H5S_ALL, H5E_DEFAULT
    public const uint AccessReadOnly = 0x0000;
    public const uint AccessTruncate = 0x0002;
    public const uint AccessExclusive = 0x0004;
    public const ulong Unlimited = ulong.MaxValue; // H5S_UNLIMITED
    public const int SelectSet = 0;                // H5S_SELECT_SET
    public const uint FilterOptional = 1;          // H5Z_FLAG_OPTIONAL
    public const int FilterDeflate = 1;            // H5Z_FILTER_DEFLATE
    public const int ScalarSpace = 0;              // H5S_SCALAR
    public static readonly nuint VariableSize = nuint.MaxValue; // H5T_VARIABLE
    public const int CharsetUtf8 = 1;              // H5T_CSET_UTF8
    public const int LibverV110 = 2;

    private static readonly nint Handle = Open();

    public static readonly long DatasetCreate = Global("H5P_CLS_DATASET_CREATE_ID_g");
    public static readonly long LinkCreate = Global("H5P_CLS_LINK_CREATE_ID_g");
    public static readonly long FileAccess = Global("H5P_CLS_FILE_ACCESS_ID_g");
    public static readonly long StringType = Global("H5T_C_S1_g");

    private static nint Open()
    {
        var library = NativeLibrary.Load(Library);
        // No clean-up at process exit: libhdf5 would close again the files whose close failed (a full disk) and
        // crash in H5F__close_cb. Every file is closed explicitly by its owner anyway.
        H5dont_atexit();
        if (H5open() < 0)
            throw new Hdf5Exception("H5open failed");
        return library;
    }

    private static long Global(string name) => *(long*)NativeLibrary.GetExport(Handle, name);

    /// <summary>The file type of a pixel type (little-endian, as on the wire).</summary>
    public static long TypeOf(Core.Frames.PixelType type) => type switch
    {
        Core.Frames.PixelType.Gray8 => Global("H5T_STD_U8LE_g"),
        Core.Frames.PixelType.Gray8s => Global("H5T_STD_I8LE_g"),
        Core.Frames.PixelType.Gray16 => Global("H5T_STD_U16LE_g"),
        Core.Frames.PixelType.Gray16s => Global("H5T_STD_I16LE_g"),
        Core.Frames.PixelType.Gray32 => Global("H5T_STD_U32LE_g"),
        Core.Frames.PixelType.Gray32s => Global("H5T_STD_I32LE_g"),
        Core.Frames.PixelType.Gray32f => Global("H5T_IEEE_F32LE_g"),
        Core.Frames.PixelType.Gray64f => Global("H5T_IEEE_F64LE_g"),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>The little-endian file (and memory) type of an element type.</summary>
    public static long TypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(byte) ? Global("H5T_STD_U8LE_g")
        : typeof(T) == typeof(ushort) ? Global("H5T_STD_U16LE_g")
        : typeof(T) == typeof(uint) ? Global("H5T_STD_U32LE_g")
        : typeof(T) == typeof(ulong) ? Global("H5T_STD_U64LE_g")
        : typeof(T) == typeof(short) ? Global("H5T_STD_I16LE_g")
        : typeof(T) == typeof(int) ? Global("H5T_STD_I32LE_g")
        : typeof(T) == typeof(long) ? Global("H5T_STD_I64LE_g")
        : typeof(T) == typeof(float) ? Global("H5T_IEEE_F32LE_g")
        : typeof(T) == typeof(double) ? Global("H5T_IEEE_F64LE_g")
        : throw new NotSupportedException($"no HDF5 type for {typeof(T).Name}");

    [ThreadStatic] private static bool _silenced;

    /// <summary>
    /// Turns off libhdf5's automatic printing of errors for this thread (in the thread-safe build each thread
    /// has its own error stack and setting): errors reach callers as <see cref="Hdf5Exception"/> instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Enter()
    {
        if (!_silenced)
        {
            _ = Handle;
            H5Eset_auto2(Default, 0, 0);
            _silenced = true;
        }
    }

    /// <summary>Throws the error stack when <paramref name="result"/> is negative; returns it otherwise.</summary>
    public static long Check(long result, string what) => result < 0 ? throw Error(what) : result;

    public static Hdf5Exception Error(string what)
    {
        var messages = new List<string>();
        var gc = GCHandle.Alloc(messages);
        try
        {
            H5Ewalk2(Default, 0 /* H5E_WALK_UPWARD: innermost first */, &Collect, GCHandle.ToIntPtr(gc));
        }
        finally
        {
            gc.Free();
            H5Eclear2(Default);
        }
        var text = new StringBuilder(what);
        if (messages.Count > 0)
            text.Append(": ").AppendJoin("; ", messages.Distinct());
        return new Hdf5Exception(text.ToString());
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ErrorRecord
    {
        public long Class;
        public long Major;
        public long Minor;
        public uint Line;
        public nint Function;
        public nint File;
        public nint Description;
    }

    [UnmanagedCallersOnly]
    private static int Collect(uint n, ErrorRecord* error, nint data)
    {
        var messages = (List<string>)GCHandle.FromIntPtr(data).Target!;
        var function = Marshal.PtrToStringUTF8(error->Function);
        var description = Marshal.PtrToStringUTF8(error->Description);
        messages.Add($"{description?.ReplaceLineEndings(" ")} ({function})");
        return 0;
    }

    [LibraryImport(Library)] private static partial int H5open();
    [LibraryImport(Library)] private static partial int H5dont_atexit();
    [LibraryImport(Library)] private static partial int H5Eset_auto2(long stack, nint function, nint data);
    [LibraryImport(Library)] private static partial int H5Ewalk2(long stack, int direction, delegate* unmanaged<uint, ErrorRecord*, nint, int> function, nint data);
    [LibraryImport(Library)] private static partial int H5Eclear2(long stack);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial long H5Fcreate(string name, uint flags, long fcpl, long fapl);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial long H5Fopen(string name, uint flags, long fapl);
    [LibraryImport(Library)] public static partial int H5Fclose(long file);
    [LibraryImport(Library)] public static partial int H5Fget_vfd_handle(long file, long fapl, int** handle);
    [LibraryImport(Library)] public static partial int H5Fget_filesize(long file, ulong* size);

    /// <summary>
    /// Marks a file's descriptor close-on-exec: libhdf5 opens without it, so every child process started while the
    /// file is open (h5py checks, dd, ...) would inherit the descriptor and keep the file's lock after we close it.
    /// </summary>
    public static void CloseOnExec(long file, string what)
    {
        int* descriptor;
        Check(H5Fget_vfd_handle(file, Default, &descriptor), what);
        if (fcntl(*descriptor, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */) < 0)
            throw new Hdf5Exception($"{what}: fcntl(FD_CLOEXEC) failed: {Marshal.GetLastPInvokeErrorMessage()}");
    }

    [LibraryImport("libc", SetLastError = true)] private static partial int fcntl(int descriptor, int command, int argument);

    /// <summary>The POSIX file descriptor under an HDF5 file of the default (sec2) driver; false when there is none.</summary>
    public static bool TryGetDescriptor(long file, out int descriptor)
    {
        int* handle;
        var found = H5Fget_vfd_handle(file, Default, &handle) >= 0;
        descriptor = found ? *handle : -1;
        return found;
    }

    [LibraryImport(Library)] public static partial int H5Fflush(long file, int scope);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial long H5Gcreate2(long location, string name, long lcpl, long gcpl, long gapl);
    [LibraryImport(Library)] public static partial int H5Gclose(long group);

    [LibraryImport(Library)] public static partial long H5Screate(int type);
    [LibraryImport(Library)] public static partial long H5Screate_simple(int rank, ulong* dims, ulong* maxDims);
    [LibraryImport(Library)] public static partial int H5Sclose(long space);
    [LibraryImport(Library)] public static partial int H5Sselect_hyperslab(long space, int op, ulong* start, ulong* stride, ulong* count, ulong* block);
    [LibraryImport(Library)] public static partial int H5Sget_simple_extent_dims(long space, ulong* dims, ulong* maxDims);
    [LibraryImport(Library)] public static partial int H5Sget_simple_extent_ndims(long space);

    [LibraryImport(Library)] public static partial long H5Pcreate(long cls);
    [LibraryImport(Library)] public static partial int H5Pclose(long plist);
    [LibraryImport(Library)] public static partial int H5Pset_chunk(long plist, int rank, ulong* dims);
    [LibraryImport(Library)] public static partial int H5Pset_filter(long plist, int filter, uint flags, nuint count, uint* values);
    [LibraryImport(Library)] public static partial int H5Pset_deflate(long plist, uint level);
    [LibraryImport(Library)] public static partial int H5Pset_fill_value(long plist, long type, void* value);
    [LibraryImport(Library)] public static partial int H5Pset_create_intermediate_group(long plist, uint create);
    [LibraryImport(Library)] public static partial int H5Pset_libver_bounds(long plist, int low, int high);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial int H5Pset_virtual(long dcpl, long virtualSpace, string sourceFile, string sourceDataset, long sourceSpace);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial long H5Dcreate2(long location, string name, long type, long space, long lcpl, long dcpl, long dapl);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial long H5Dopen2(long location, string name, long dapl);
    [LibraryImport(Library)] public static partial int H5Dclose(long dataset);
    [LibraryImport(Library)] public static partial int H5Dset_extent(long dataset, ulong* size);
    [LibraryImport(Library)] public static partial long H5Dget_space(long dataset);
    [LibraryImport(Library)] public static partial long H5Dget_type(long dataset);
    [LibraryImport(Library)] public static partial int H5Dwrite(long dataset, long memType, long memSpace, long fileSpace, long dxpl, void* buffer);
    [LibraryImport(Library)] public static partial int H5Dread(long dataset, long memType, long memSpace, long fileSpace, long dxpl, void* buffer);
    [LibraryImport(Library)] public static partial int H5Dwrite_chunk(long dataset, long dxpl, uint filters, ulong* offset, nuint size, void* buffer);

    [LibraryImport(Library)] public static partial long H5Tcopy(long type);
    [LibraryImport(Library)] public static partial int H5Tclose(long type);
    [LibraryImport(Library)] public static partial int H5Tset_size(long type, nuint size);
    [LibraryImport(Library)] public static partial int H5Tset_cset(long type, int charset);
    [LibraryImport(Library)] public static partial nuint H5Tget_size(long type);
    [LibraryImport(Library)] public static partial int H5Tget_class(long type);
    [LibraryImport(Library)] public static partial int H5Tget_sign(long type);
    [LibraryImport(Library)] public static partial long H5Tget_super(long type);
    [LibraryImport(Library)] public static partial long H5Tget_native_type(long type, int direction);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial long H5Acreate_by_name(long location, string objectName, string attributeName, long type, long space, long acpl, long aapl, long lapl);
    [LibraryImport(Library)] public static partial int H5Awrite(long attribute, long type, void* buffer);
    [LibraryImport(Library)] public static partial int H5Aclose(long attribute);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial int H5Lcreate_soft(string target, long location, string name, long lcpl, long lapl);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial int H5Lexists(long location, string name, long lapl);
}
