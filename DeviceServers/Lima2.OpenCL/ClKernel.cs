using System.Text;

namespace Lima2.OpenCL;

/// <summary>A kernel and its arguments. Setting arguments is not thread-safe: one kernel object per queue owner.</summary>
public sealed unsafe class ClKernel : IDisposable
{
    internal ClKernel(ClProgram program, string name)
    {
        Name = name;
        var bytes = Encoding.ASCII.GetBytes(name + "\0");
        nint k;
        int rc;
        fixed (byte* p = bytes)
            k = Native.clCreateKernel(program.Handle.Raw, p, out rc);
        OpenClException.Check(rc, $"clCreateKernel({name})");
        Handle = new ClKernelHandle(k);
        Device = program.Context.Device;
    }

    public string Name { get; }

    private ClDevice Device { get; }

    internal ClKernelHandle Handle { get; }

    internal nint Raw => Handle.Raw;

    public ClKernel Arg(int index, ClBuffer buffer)
    {
        var mem = buffer.Raw;
        OpenClException.Check(Native.clSetKernelArg(Raw, (uint)index, (nuint)sizeof(nint), &mem), $"clSetKernelArg({Name}, {index})");
        return this;
    }

    public ClKernel Arg<T>(int index, T value) where T : unmanaged
    {
        OpenClException.Check(Native.clSetKernelArg(Raw, (uint)index, (nuint)sizeof(T), &value), $"clSetKernelArg({Name}, {index})");
        return this;
    }

    /// <summary>A <c>local</c> memory argument of <paramref name="bytes"/> bytes.</summary>
    public ClKernel LocalArg(int index, long bytes)
    {
        OpenClException.Check(Native.clSetKernelArg(Raw, (uint)index, (nuint)bytes, null), $"clSetKernelArg({Name}, {index})");
        return this;
    }

    /// <summary>Sets the arguments from the first on, in the order of the kernel's signature.</summary>
    public ClKernelArgs Args() => new(this, 0);

    /// <summary>How many arguments the kernel's signature has.</summary>
    public int ArgCount
    {
        get
        {
            uint count;
            OpenClException.Check(Native.clGetKernelInfo(Raw, 0x1191 /* CL_KERNEL_NUM_ARGS */, sizeof(uint), &count, out _), "clGetKernelInfo");
            return (int)count;
        }
    }

    /// <summary>The largest work-group this kernel can run with on its device.</summary>
    public long MaxWorkGroupSize
    {
        get
        {
            nuint size;
            OpenClException.Check(Native.clGetKernelWorkGroupInfo(Raw, Device.Id, 0x11B0, (nuint)sizeof(nuint), &size, out _), "clGetKernelWorkGroupInfo");
            return (long)size;
        }
    }

    public void Dispose() => Handle.Dispose();
}
