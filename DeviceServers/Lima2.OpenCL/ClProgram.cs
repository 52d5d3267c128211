using System.Security.Cryptography;
using System.Text;

namespace Lima2.OpenCL;

/// <summary>
/// A built program. <see cref="Build"/> looks in an on-disk binary cache first (keyed by the hash of source,
/// options and device identity), because compiling from source is slow on some drivers (PoCL: seconds).
/// </summary>
public sealed unsafe class ClProgram : IDisposable
{
    private const uint BuildLog = 0x1183, BinarySizes = 0x1165, Binaries = 0x1166;

    private ClProgram(ClContext context, ClProgramHandle handle, bool fromCache)
    {
        Context = context;
        Handle = handle;
        FromCache = fromCache;
    }

    public ClContext Context { get; }

    /// <summary>True when the program came from the binary cache rather than from source.</summary>
    public bool FromCache { get; }

    internal ClProgramHandle Handle { get; }

    /// <summary>The default cache folder: $LIMA2_OPENCL_CACHE, else ~/.cache/lima2/opencl.</summary>
    public static string DefaultCacheDirectory =>
        Environment.GetEnvironmentVariable("LIMA2_OPENCL_CACHE") is { Length: > 0 } dir ? dir
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "lima2", "opencl");

    /// <summary>Builds <paramref name="source"/> for the context's device.</summary>
    /// <param name="cacheDirectory">where binaries are kept; null disables the cache.</param>
    /// <exception cref="OpenClException">CL_BUILD_PROGRAM_FAILURE with the compiler's build log.</exception>
    public static ClProgram Build(ClContext context, string source, string options = "", string? cacheDirectory = null)
    {
        var device = context.Device;
        string? cacheFile = null;
        if (cacheDirectory is not null)
        {
            var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{device.CacheIdentity}\n{options}\n{source}")));
            cacheFile = Path.Combine(cacheDirectory, key[..32] + ".clbin");
            if (File.Exists(cacheFile) && TryFromBinary(context, File.ReadAllBytes(cacheFile), options) is { } cached)
                return cached;
        }

        var bytes = Encoding.UTF8.GetBytes(source);
        nint program;
        fixed (byte* p = bytes)
        {
            var ptr = p;
            var len = (nuint)bytes.Length;
            program = Native.clCreateProgramWithSource(context.Handle.Raw, 1, &ptr, &len, out var rc);
            OpenClException.Check(rc, "clCreateProgramWithSource");
        }
        var handle = new ClProgramHandle(program);
        var buildRc = BuildFor(handle, device, options);
        if (buildRc != 0)
        {
            var log = Log(handle, device);
            handle.Dispose();
            throw new OpenClException("clBuildProgram", buildRc, $"options '{options}' on {device.Name}:\n{log}");
        }
        var built = new ClProgram(context, handle, fromCache: false);
        if (cacheFile is not null)
            built.Save(cacheFile);
        return built;
    }

    private static ClProgram? TryFromBinary(ClContext context, byte[] binary, string options)
    {
        var device = context.Device;
        nint program;
        int rc, status;
        fixed (byte* p = binary)
        {
            var id = device.Id;
            var ptr = p;
            var len = (nuint)binary.Length;
            program = Native.clCreateProgramWithBinary(context.Handle.Raw, 1, &id, &len, &ptr, &status, out rc);
        }
        if (rc != 0 || status != 0)
            return null; // stale or foreign binary: rebuild from source
        var handle = new ClProgramHandle(program);
        if (BuildFor(handle, device, options) != 0)
        {
            handle.Dispose();
            return null;
        }
        return new ClProgram(context, handle, fromCache: true);
    }

    private static int BuildFor(ClProgramHandle program, ClDevice device, string options)
    {
        var opts = Encoding.UTF8.GetBytes(options + "\0");
        var id = device.Id;
        fixed (byte* o = opts)
            return Native.clBuildProgram(program.Raw, 1, &id, o, 0, 0);
    }

    private static string Log(ClProgramHandle program, ClDevice device)
    {
        if (Native.clGetProgramBuildInfo(program.Raw, device.Id, BuildLog, 0, null, out var size) != 0)
            return "(no build log)";
        var bytes = new byte[size];
        fixed (byte* p = bytes)
            Native.clGetProgramBuildInfo(program.Raw, device.Id, BuildLog, size, p, out _);
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0');
    }

    private void Save(string file)
    {
        nuint size;
        OpenClException.Check(Native.clGetProgramInfo(Handle.Raw, BinarySizes, (nuint)sizeof(nuint), &size, out _), "clGetProgramInfo");
        if (size == 0)
            return;
        var binary = new byte[size];
        fixed (byte* p = binary)
        {
            var ptr = p;
            OpenClException.Check(Native.clGetProgramInfo(Handle.Raw, Binaries, (nuint)sizeof(nint), &ptr, out _), "clGetProgramInfo");
        }
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            // write then rename: concurrent builders never see a half-written binary
            var tmp = $"{file}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
            File.WriteAllBytes(tmp, binary);
            File.Move(tmp, file, overwrite: true);
        }
        catch (IOException)
        {
            // the cache only saves time; a read-only or full disk must not fail the build
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public ClKernel CreateKernel(string name) => new(this, name);

    public void Dispose() => Handle.Dispose();

}
