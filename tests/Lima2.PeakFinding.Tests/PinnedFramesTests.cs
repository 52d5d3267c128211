using Lima2.Core.Frames;
using Lima2.OpenCL;

namespace Lima2.PeakFinding.Tests;

/// <summary>Frames kept in the device's driver-pinned memory and copied to the device from there (the GPU path), on PoCL.</summary>
public sealed class PinnedFramesTests
{
    private static PeakFinderOptions Copying => Ocl.Options with { CopyToDevice = true };

    [Fact]
    public unsafe void A_pool_over_driver_pinned_memory_hands_out_mapped_buffers_the_device_copies_from()
    {
        var memory = PeakFinder.FrameMemory(Copying);
        Assert.NotNull(memory);
        Assert.Null(PeakFinder.FrameMemory(Ocl.Options)); // a CPU device reads the managed frames in place
        Assert.Null(PeakFinder.FrameMemory(Ocl.Reference));

        const int bytes = 1 << 20;
        using var pool = new FramePool(bytes, 2L * bytes, memory);
        using var buffer = pool.Rent();
        Assert.NotNull(Block(buffer));
        var pattern = Enumerable.Range(0, bytes).Select(i => (byte)(i * 7 + 3)).ToArray();
        pattern.CopyTo(buffer.Span); // the producer writes straight into the mapped memory

        var context = ClRuntime.Context(memory.Device);
        using var queue = context.CreateQueue();
        using var device = context.CreateBuffer(bytes);
        using (var pin = buffer.Memory.Pin())
            queue.Write(device, pin.Pointer, bytes, blocking: true);
        var back = new byte[bytes];
        queue.Read(device, back.AsSpan(), 0, blocking: true);
        Assert.Equal(pattern, back);
    }

    [Fact]
    public void Buffers_returned_after_the_pool_is_disposed_are_freed_not_reused()
    {
        const int bytes = 4096;
        var pool = new FramePool(bytes, 2L * bytes, PeakFinder.FrameMemory(Copying));
        var late = pool.Rent();
        var block = Block(late)!;
        pool.Dispose();
        late.Dispose(); // a frame released after its run ended
        Assert.Throws<ObjectDisposedException>(() => block.GetSpan());
    }

    [Theory]
    [InlineData("f1k", "pf8_poisson_c4_p3_n3")]
    [InlineData("jf4m", "pf8_azimuthal_c4_p3_n3")]
    public void Frames_copied_from_driver_pinned_memory_give_pyFAIs_peaks_and_the_same_results_as_frames_read_in_place(string name, string config)
    {
        var f = TestFrame.Get(name);
        var model = f.Model(f.OracleParams(config));
        using var inPlace = PeakFinder.Create(model, PixelType.Gray32s, Ocl.Options);
        using var copying = PeakFinder.Create(model, PixelType.Gray32s, Copying);
        using var heapFrame = f.ToFrame();
        var expected = inPlace.Process(heapFrame);

        using var pool = new FramePool(heapFrame.Info.ByteSize, heapFrame.Info.ByteSize, PeakFinder.FrameMemory(Copying));
        var pixels = pool.Rent();
        heapFrame.Data.Span.CopyTo(pixels.Span);
        using var pinnedFrame = new Frame(pixels, heapFrame.Info, 0, 0);
        var actual = copying.Process(pinnedFrame);

        var oracle = PeaksCsv.Read(TestFrame.Oracle($"{name}_{config}_peaks.csv")).Select(p => p.Index).Order();
        Assert.Equal(oracle, actual.Peaks.Select(p => p.Index));
        Assert.Equal(expected.Peaks, actual.Peaks);
        Assert.Equal(expected.Sparse.Index, actual.Sparse.Index);
        Assert.Equal(expected.Sparse.Intensity, actual.Sparse.Intensity);
        Assert.Equal(expected.Sparse.BackgroundAvg, actual.Sparse.BackgroundAvg);
        Assert.Contains("copies frames", copying.Description);
    }

    /// <summary>The driver-pinned block behind a rented buffer; null when the buffer is elsewhere.</summary>
    private static ClHostMemory? Block(PooledBuffer buffer) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetMemoryManager<byte, ClHostMemory>(buffer.Memory, out var block) ? block : null;
}
