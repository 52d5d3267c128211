using System.Runtime.InteropServices;

namespace Lima2.OpenCL;

/// <summary>Base of the OpenCL object handles: released with the matching clRelease* call.</summary>
public abstract class ClHandle : SafeHandle
{
    protected ClHandle(nint handle) : base(0, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == 0;

    internal nint Raw
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return handle;
        }
    }
}

public sealed class ClContextHandle(nint handle) : ClHandle(handle)
{
    protected override bool ReleaseHandle() => Native.clReleaseContext(handle) == 0;
}

public sealed class ClQueueHandle(nint handle) : ClHandle(handle)
{
    protected override bool ReleaseHandle() => Native.clReleaseCommandQueue(handle) == 0;
}

public sealed class ClMemHandle(nint handle) : ClHandle(handle)
{
    protected override bool ReleaseHandle() => Native.clReleaseMemObject(handle) == 0;
}

public sealed class ClProgramHandle(nint handle) : ClHandle(handle)
{
    protected override bool ReleaseHandle() => Native.clReleaseProgram(handle) == 0;
}

public sealed class ClKernelHandle(nint handle) : ClHandle(handle)
{
    protected override bool ReleaseHandle() => Native.clReleaseKernel(handle) == 0;
}

public sealed class ClEventHandle(nint handle) : ClHandle(handle)
{
    protected override bool ReleaseHandle() => Native.clReleaseEvent(handle) == 0;
}
