using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Tango.Interop;

namespace Tango.Server;

/// <summary>
/// The entry points cppTango's threads call. None may let an exception escape (that would abort the process):
/// failures go back as the thread's error stack and return -1, and the shim raises them as DevFailed.
/// </summary>
internal static unsafe class ServerCallbacks
{
    public static TnsCallbacks Table() => new()
    {
        Create = &Create,
        Destroy = &Destroy,
        Init = &Init,
        Uninit = &Uninit,
        State = &State,
        Status = &Status,
        ReadAttr = &ReadAttr,
        ReadScalar = &ReadScalar,
        WriteAttr = &WriteAttr,
        IsAllowed = &IsAllowed,
        Command = &Command,
    };

    private static Device Dev(nint handle) => (Device)GCHandle.FromIntPtr(handle).Target!;

    [UnmanagedCallersOnly]
    private static nint Create(int cls, nint native, byte* name)
    {
        var deviceName = new string((sbyte*)name);
        try
        {
            var server = TangoServer.Current!;
            var binding = server.ClassAt(cls);
            var device = binding.Factory();
            device.Attach(native, deviceName.ToLowerInvariant(), binding);
            server.Added(device);
            return GCHandle.ToIntPtr(GCHandle.Alloc(device));
        }
        catch (Exception e)
        {
            Report(e, deviceName);
            return 0;
        }
    }

    [UnmanagedCallersOnly]
    private static void Destroy(nint handle)
    {
        try
        {
            var gc = GCHandle.FromIntPtr(handle);
            var device = (Device)gc.Target!;
            device.Detach();
            TangoServer.Current?.Removed(device);
            gc.Free();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"Tango.NET: destroying a device failed: {e}");
        }
    }

    [UnmanagedCallersOnly]
    private static int Init(nint handle)
    {
        try
        {
            var device = Dev(handle);
            device.ReadProperties();
            device.EndDelete();
            device.Init();
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, "Init");
        }
    }

    [UnmanagedCallersOnly]
    private static int Uninit(nint handle)
    {
        try
        {
            var device = Dev(handle);
            device.BeginDelete();
            device.Delete();
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, "Delete");
        }
    }

    [UnmanagedCallersOnly]
    private static int State(nint handle, int* state)
    {
        try
        {
            *state = (int)Dev(handle).ReadState();
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, "State");
        }
    }

    [UnmanagedCallersOnly]
    private static int Status(nint handle)
    {
        try
        {
            var device = Dev(handle);
            device.Status = device.ReadStatus();
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, "Status");
        }
    }

    [UnmanagedCallersOnly]
    private static int ReadAttr(nint handle, int id, nint attr)
    {
        try
        {
            var binding = Registry.Attribute(id);
            var value = binding.Read!(Dev(handle));
            var qualified = value as IAttrValue;
            if (qualified is not null)
                value = qualified.Boxed;
            if (value is ISharedImage shared)
                SetShared(attr, binding, shared);
            else if (value is string text && binding.Shape == ValueShape.Scalar)
                SetString(attr, text);
            else
            {
                using var pinned = PinnedValue.Create(value, binding.Spec.Type, binding.Shape);
                ServerProxy.AttrSetValue(attr, pinned.Data, pinned.DimX, pinned.DimY);
            }
            if (qualified is { Quality: not AttrQuality.Valid })
                ServerProxy.AttrSetQuality(attr, qualified.Quality);
            if (qualified?.Time is { } time)
                ServerProxy.AttrSetDate(attr, AttrTime.UnixMicroseconds(time));
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, AttributeName(id));
        }
    }

    // The hot path of numeric scalars (see ScalarReader): nothing here allocates.
    [UnmanagedCallersOnly]
    private static int ReadScalar(nint handle, int id, void* slot, TnsReadMeta* meta)
    {
        try
        {
            Registry.Attribute(id).Scalar!.Read(Dev(handle), slot, meta);
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, AttributeName(id));
        }
    }

    // A scalar string goes through a stack buffer (cppTango copies it): nothing allocated per read.
    private static void SetString(nint attr, string text)
    {
        var size = checked((int)NativeText.Size(text));
        Span<byte> buffer = size <= 1024 ? stackalloc byte[size] : new byte[size];
        fixed (byte* p = buffer)
        {
            NativeText.Write(text, p);
            var one = p;
            ServerProxy.AttrSetValue(attr, new TnsData { Type = (int)TangoType.DevString, Str = &one, StrLen = 1 }, 1, 0);
        }
    }

    // The buffer is on the pinned object heap, so its address stays valid after this callback returns.
    private static void SetShared(nint attr, AttrBinding binding, ISharedImage image)
    {
        var data = new TnsData
        {
            Type = (int)binding.Spec.Type,
            Num = Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(image.Buffer)),
            NumLen = image.Buffer.Length,
        };
        ServerProxy.AttrSetValueShared(attr, data, image.Width, image.Height, image.Mutex);
    }

    [UnmanagedCallersOnly]
    private static int WriteAttr(nint handle, int id, nint wattr)
    {
        try
        {
            var binding = Registry.Attribute(id);
            var data = ServerProxy.WAttrGetValue(wattr, out var dimX, out var dimY);
            var value = ValueDecoder.Decode(data, binding.Spec.Type, binding.Shape, binding.Spec.ClrType, dimX, dimY);
            binding.Write!(Dev(handle), value);
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, AttributeName(id));
        }
    }

    [UnmanagedCallersOnly]
    private static int IsAllowed(nint handle, TnsMemberKind kind, int id, int* allowed)
    {
        try
        {
            var check = kind == TnsMemberKind.Attribute ? Registry.Attribute(id).Allowed : Registry.Command(id).Allowed;
            *allowed = check is null || check(Dev(handle)) ? 1 : 0;
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, kind == TnsMemberKind.Attribute ? AttributeName(id) : CommandName(id));
        }
    }

    [UnmanagedCallersOnly]
    private static int Command(nint handle, int id, TnsData* input, nint output)
    {
        try
        {
            var binding = Registry.Command(id);
            var (inElement, inShape) = binding.In;
            var arg = ValueDecoder.Decode(*input, inElement, inShape, binding.Spec.InClr, 0, 0);
            var result = binding.Invoke(Dev(handle), arg);
            var (outElement, outShape) = binding.Out;
            if (outShape == ValueShape.Void)
                return 0;
            using var pinned = PinnedValue.Create(result, outElement, outShape);
            ServerProxy.CmdSetResult(output, binding.Spec.OutType, pinned.Data);
            return 0;
        }
        catch (Exception e)
        {
            return Fail(handle, e, CommandName(id));
        }
    }

    /// <summary>A device callback failed: the device maps the error (<see cref="Device.OnError"/>), then it is
    /// reported. A failing mapper is logged and the original error reported.</summary>
    private static int Fail(nint handle, Exception e, string member)
    {
        if (e is TargetInvocationException { InnerException: { } inner })
            e = inner;
        Device? device = null;
        try
        {
            device = Dev(handle);
            e = device.OnError(e, member) ?? e;
        }
        catch (Exception mapping)
        {
            Console.Error.WriteLine($"Tango.NET: {device?.Name ?? "a device"}.OnError({member}) failed: {mapping}");
        }
        return Report(e, member);
    }

    private static string AttributeName(int id) => Registry.TryAttribute(id)?.Spec.Name ?? $"attribute #{id}";

    private static string CommandName(int id) => Registry.TryCommand(id)?.Spec.Name ?? $"command #{id}";

    /// <summary>Leaves <paramref name="e"/> as the thread's error stack: a DevFailedException keeps its errors,
    /// any other exception becomes one error whose reason is its type name.</summary>
    private static int Report(Exception e, string origin)
    {
        try
        {
            if (e is TargetInvocationException { InnerException: { } inner })
                e = inner;
            ServerProxy.SetCallbackErrors(e is DevFailedException df ? df.Errors : [new DevError(e.GetType().Name, e.Message, origin)]);
        }
        catch
        {
            // reporting must not throw across the boundary; the shim then raises a generic error
        }
        return -1;
    }

    internal static void Install() => ServerProxy.SetCallbacks(Table());
}
