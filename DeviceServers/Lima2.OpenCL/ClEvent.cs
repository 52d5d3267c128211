namespace Lima2.OpenCL;

/// <summary>An enqueued command; with a profiling queue, its device-side timings.</summary>
public sealed unsafe class ClEvent : IDisposable
{
    private ClEvent(nint handle) => Handle = new ClEventHandle(handle);

    internal ClEventHandle Handle { get; }

    internal static ClEvent? Wrap(nint handle) => handle == 0 ? null : new ClEvent(handle);

    public void Wait()
    {
        var h = Handle.Raw;
        OpenClException.Check(Native.clWaitForEvents(1, &h), "clWaitForEvents");
    }

    /// <summary>Time from start to end of execution on the device (needs a profiling queue; waits first).</summary>
    public TimeSpan Duration
    {
        get
        {
            Wait();
            return TimeSpan.FromTicks((long)((Info(0x1283) - Info(0x1282)) / 100)); // CL_PROFILING_COMMAND_END - START, ns
        }
    }

    private ulong Info(uint name)
    {
        ulong value;
        OpenClException.Check(Native.clGetEventProfilingInfo(Handle.Raw, name, sizeof(ulong), &value, out _), "clGetEventProfilingInfo");
        return value;
    }

    public void Dispose() => Handle.Dispose();
}
