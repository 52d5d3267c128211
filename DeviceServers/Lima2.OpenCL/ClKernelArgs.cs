namespace Lima2.OpenCL;

/// <summary>
/// Sets a kernel's arguments one after the other, in the order of its signature, so that no caller counts
/// positions; <see cref="Done"/> checks that the signature has no argument more or less.
/// </summary>
public readonly struct ClKernelArgs
{
    private readonly ClKernel _kernel;
    private readonly int _next;

    internal ClKernelArgs(ClKernel kernel, int next)
    {
        _kernel = kernel;
        _next = next;
    }

    public ClKernelArgs Add(ClBuffer buffer)
    {
        _kernel.Arg(_next, buffer);
        return new(_kernel, _next + 1);
    }

    public ClKernelArgs Add<T>(T value) where T : unmanaged
    {
        _kernel.Arg(_next, value);
        return new(_kernel, _next + 1);
    }

    /// <summary>A <c>local</c> memory argument of <paramref name="bytes"/> bytes.</summary>
    public ClKernelArgs Local(long bytes)
    {
        _kernel.LocalArg(_next, bytes);
        return new(_kernel, _next + 1);
    }

    /// <summary>Throws when the arguments set are not all the kernel takes.</summary>
    public void Done()
    {
        var count = _kernel.ArgCount;
        if (_next != count)
            throw new InvalidOperationException($"kernel {_kernel.Name} takes {count} arguments, {_next} were set");
    }
}
