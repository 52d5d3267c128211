using Lima2.OpenCL;

namespace Lima2.PeakFinding.Tests;

/// <summary>The thin OpenCL layer on PoCL.</summary>
public sealed class OpenClBindingTests
{
    [Fact]
    public void Enumeration_lists_the_PoCL_CPU_device()
    {
        var devices = ClPlatform.All().SelectMany(p => p.Devices()).ToList();
        Assert.Contains(devices, d => d.IsCpu && d.Platform.Name.Contains("Portable Computing Language"));
        Assert.All(devices, d => Assert.True(d.ComputeUnits > 0 && d.MaxWorkGroupSize > 0 && d.GlobalMemory > 0));
    }

    [Fact]
    public void Selection_falls_back_to_a_CPU_device_or_says_which_devices_exist()
    {
        Assert.True(ClDevice.Select(42, 7, cpuFallback: true).IsCpu);
        var e = Assert.Throws<OpenClException>(() => ClDevice.Select(42, 7, cpuFallback: false));
        Assert.Contains("no device 42:7", e.Message);
        Assert.Contains("CL_DEVICE_NOT_FOUND", e.Message);
    }

    [Fact]
    public void A_build_error_carries_the_compiler_log()
    {
        var ctx = ClRuntime.Context(Ocl.Cpu);
        var e = Assert.Throws<OpenClException>(() => ClProgram.Build(ctx, "kernel void k(global int *a) { a[0] = undeclared_name; }"));
        Assert.Equal(-11, e.Code);
        Assert.Contains("CL_BUILD_PROGRAM_FAILURE", e.Message);
        Assert.Contains("undeclared_name", e.Message);
    }

    [Fact]
    public void Programs_come_from_the_binary_cache_the_second_time_and_kernels_run_with_profiling()
    {
        var ctx = ClRuntime.Context(Ocl.Cpu);
        var cache = Directory.CreateTempSubdirectory("lima2-clcache-");
        try
        {
            var source = $"kernel void add(global float *a, float b) {{ a[get_global_id(0)] += b; }} /* {Guid.NewGuid()} */";
            using var first = ClProgram.Build(ctx, source, "", cache.FullName);
            Assert.False(first.FromCache);
            Assert.Single(cache.GetFiles("*.clbin"));
            using var second = ClProgram.Build(ctx, source, "", cache.FullName);
            Assert.True(second.FromCache);

            using var kernel = second.CreateKernel("add");
            using var queue = ctx.CreateQueue(profiling: true);
            using var buffer = ctx.CreateBuffer<float>(1000);
            queue.Write<float>(buffer, Enumerable.Range(0, 1000).Select(i => (float)i).ToArray());
            kernel.Arg(0, buffer).Arg(1, 0.5f);
            using var evt = queue.Run(kernel, [1000], wantEvent: true)!;
            Assert.True(evt.Duration > TimeSpan.Zero);
            var back = new float[1000];
            queue.Read<float>(buffer, back);
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => i + 0.5f), back);
        }
        finally
        {
            cache.Delete(true);
        }
    }

    [Fact]
    public void Arguments_set_in_order_are_checked_against_the_kernel_signature()
    {
        var ctx = ClRuntime.Context(Ocl.Cpu);
        using var program = ClProgram.Build(ctx, "kernel void scale(global float *a, float b) { a[get_global_id(0)] *= b; }");
        using var kernel = program.CreateKernel("scale");
        using var queue = ctx.CreateQueue();
        using var buffer = ctx.CreateBuffer<float>(4);
        queue.Write<float>(buffer, [1, 2, 3, 4]);

        var missing = Assert.Throws<InvalidOperationException>(() => kernel.Args().Add(buffer).Done());
        Assert.Equal("kernel scale takes 2 arguments, 1 were set", missing.Message);
        kernel.Args().Add(buffer).Add(2f).Done();
        queue.Run(kernel, [4]);
        var back = new float[4];
        queue.Read<float>(buffer, back);
        Assert.Equal([2f, 4f, 6f, 8f], back);
    }

    [Fact]
    public unsafe void Mapped_host_memory_buffers_are_readable_and_writable_from_the_host()
    {
        var ctx = ClRuntime.Context(Ocl.Cpu);
        using var queue = ctx.CreateQueue();
        using var buffer = ctx.CreateBuffer(4096, ClMemFlags.ReadWrite | ClMemFlags.AllocHostPtr);
        var p = (int*)queue.Map(buffer, write: true);
        for (var i = 0; i < 1024; i++) p[i] = i * 3;
        queue.Unmap(buffer, p);
        queue.Fill(buffer, 7, offset: 10, count: 5);
        var back = new int[1024];
        queue.Read<int>(buffer, back);
        Assert.Equal(27, back[9]);
        Assert.Equal(7, back[12]);
        Assert.Equal(15 * 3, back[15]);
    }
}
