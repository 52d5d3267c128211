using System.Runtime.InteropServices;

namespace Lima2.OpenCL;

/// <summary>OpenCL 1.2 entry points of the ICD loader. Nothing but declarations: errors are turned into
/// <see cref="OpenClException"/> by the wrappers.</summary>
internal static unsafe partial class Native
{
    private const string Lib = "libOpenCL.so.1";

    [LibraryImport(Lib)] internal static partial int clGetPlatformIDs(uint numEntries, nint* platforms, out uint numPlatforms);
    [LibraryImport(Lib)] internal static partial int clGetPlatformInfo(nint platform, uint name, nuint size, void* value, out nuint sizeRet);
    [LibraryImport(Lib)] internal static partial int clGetDeviceIDs(nint platform, ulong type, uint numEntries, nint* devices, out uint numDevices);
    [LibraryImport(Lib)] internal static partial int clGetDeviceInfo(nint device, uint name, nuint size, void* value, out nuint sizeRet);

    [LibraryImport(Lib)] internal static partial nint clCreateContext(nint* properties, uint numDevices, nint* devices, nint notify, nint userData, out int error);
    [LibraryImport(Lib)] internal static partial int clReleaseContext(nint context);

    [LibraryImport(Lib)] internal static partial nint clCreateCommandQueue(nint context, nint device, ulong properties, out int error);
    [LibraryImport(Lib)] internal static partial int clReleaseCommandQueue(nint queue);
    [LibraryImport(Lib)] internal static partial int clFinish(nint queue);
    [LibraryImport(Lib)] internal static partial int clFlush(nint queue);

    [LibraryImport(Lib)] internal static partial nint clCreateBuffer(nint context, ulong flags, nuint size, void* hostPtr, out int error);
    [LibraryImport(Lib)] internal static partial int clReleaseMemObject(nint mem);
    [LibraryImport(Lib)] internal static partial int clEnqueueWriteBuffer(nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* ptr, uint numWait, nint* waitList, nint* evt);
    [LibraryImport(Lib)] internal static partial int clEnqueueReadBuffer(nint queue, nint buffer, uint blocking, nuint offset, nuint size, void* ptr, uint numWait, nint* waitList, nint* evt);
    [LibraryImport(Lib)] internal static partial int clEnqueueFillBuffer(nint queue, nint buffer, void* pattern, nuint patternSize, nuint offset, nuint size, uint numWait, nint* waitList, nint* evt);
    [LibraryImport(Lib)] internal static partial void* clEnqueueMapBuffer(nint queue, nint buffer, uint blocking, ulong flags, nuint offset, nuint size, uint numWait, nint* waitList, nint* evt, out int error);
    [LibraryImport(Lib)] internal static partial int clEnqueueUnmapMemObject(nint queue, nint mem, void* mapped, uint numWait, nint* waitList, nint* evt);

    [LibraryImport(Lib)] internal static partial nint clCreateProgramWithSource(nint context, uint count, byte** strings, nuint* lengths, out int error);
    [LibraryImport(Lib)] internal static partial nint clCreateProgramWithBinary(nint context, uint numDevices, nint* devices, nuint* lengths, byte** binaries, int* binaryStatus, out int error);
    [LibraryImport(Lib)] internal static partial int clBuildProgram(nint program, uint numDevices, nint* devices, byte* options, nint notify, nint userData);
    [LibraryImport(Lib)] internal static partial int clGetProgramBuildInfo(nint program, nint device, uint name, nuint size, void* value, out nuint sizeRet);
    [LibraryImport(Lib)] internal static partial int clGetProgramInfo(nint program, uint name, nuint size, void* value, out nuint sizeRet);
    [LibraryImport(Lib)] internal static partial int clReleaseProgram(nint program);

    [LibraryImport(Lib)] internal static partial nint clCreateKernel(nint program, byte* name, out int error);
    [LibraryImport(Lib)] internal static partial int clSetKernelArg(nint kernel, uint index, nuint size, void* value);
    [LibraryImport(Lib)] internal static partial int clGetKernelInfo(nint kernel, uint name, nuint size, void* value, out nuint sizeRet);
    [LibraryImport(Lib)] internal static partial int clGetKernelWorkGroupInfo(nint kernel, nint device, uint name, nuint size, void* value, out nuint sizeRet);
    [LibraryImport(Lib)] internal static partial int clReleaseKernel(nint kernel);
    [LibraryImport(Lib)] internal static partial int clEnqueueNDRangeKernel(nint queue, nint kernel, uint workDim, nuint* globalOffset, nuint* globalSize, nuint* localSize, uint numWait, nint* waitList, nint* evt);

    [LibraryImport(Lib)] internal static partial int clWaitForEvents(uint numEvents, nint* events);
    [LibraryImport(Lib)] internal static partial int clGetEventProfilingInfo(nint evt, uint name, nuint size, void* value, out nuint sizeRet);
    [LibraryImport(Lib)] internal static partial int clReleaseEvent(nint evt);
}
