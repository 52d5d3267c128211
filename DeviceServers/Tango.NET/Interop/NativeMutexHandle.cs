using System.Runtime.InteropServices;

namespace Tango.Interop;

/// <summary>An omni_mutex owned by C#; freed when no SharedImage refers to it any more.</summary>
internal sealed class NativeMutexHandle : SafeHandle
{
    private NativeMutexHandle() : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    public static NativeMutexHandle Create()
    {
        var h = new NativeMutexHandle();
        h.SetHandle(ServerNative.MutexNew());
        return h;
    }

    public void Lock() => ServerNative.MutexLock(this);

    public void Unlock() => ServerNative.MutexUnlock(this);

    protected override bool ReleaseHandle()
    {
        ServerNative.MutexFree(handle);
        return true;
    }
}
