using System.Runtime.InteropServices;
using Lima2.Core.Frames;

namespace Lima2.PeakFinding.Tests;

/// <summary>Several frames in flight per queue (copy, kernels and read-back overlapping), on PoCL with frames copied
/// from driver-pinned memory as on a GPU.</summary>
public sealed class FramesInFlightTests
{
    private static readonly PeakFinderOptions InFlight = Ocl.Options with { CopyToDevice = true, Queues = 1, FramesInFlight = 3 };

    private static int[][] Frames(int n) => Enumerable.Range(0, n).Select(s => Synthetic.Counts(300 + s)).ToArray();

    [Fact]
    public async Task Frames_kept_in_flight_from_one_thread_give_the_results_of_one_frame_at_a_time()
    {
        var model = Synthetic.Model(new FaiParams { CutoffPick = 4 });
        var counts = Frames(8);
        using var serialFinder = PeakFinder.Create(model, PixelType.Gray32s, Ocl.Options with { Queues = 1, FramesInFlight = 1 });
        var serial = counts.Select((c, i) => { using var f = Frame.FromArray(c, Synthetic.Width, Synthetic.Height, i); return serialFinder.Process(f); }).ToArray();

        using var finder = PeakFinder.Create(model, PixelType.Gray32s, InFlight);
        var bytes = Synthetic.Width * Synthetic.Height * sizeof(int);
        // two buffers for three frames in flight: the caller lets each frame go at once, so a buffer comes back only
        // when the finder has let go of it too (a frame still being copied is never overwritten)
        using var pool = new FramePool(bytes, 2L * bytes, PeakFinder.FrameMemory(InFlight));
        var info = new FrameInfo(Synthetic.Width, Synthetic.Height, PixelType.Gray32s);
        var pending = new List<Task<PeakFrameResult>>();
        for (var i = 0; i < counts.Length; i++)
        {
            var pixels = pool.Rent();
            MemoryMarshal.AsBytes(counts[i].AsSpan()).CopyTo(pixels.Span);
            using var frame = new Frame(pixels, info, i, i);
            pending.Add(finder.ProcessAsync(frame));
            Assert.True(pending.Count(t => !t.IsCompleted) <= 3, "more frames in flight than the queue's stages");
        }
        var results = await Task.WhenAll(pending);

        Assert.Equal(Enumerable.Range(0, counts.Length).Select(i => (long)i), results.Select(r => r.FrameIndex));
        for (var i = 0; i < counts.Length; i++)
        {
            Assert.Equal(serial[i].Peaks, results[i].Peaks);
            Assert.Equal(serial[i].Sparse.Index, results[i].Sparse.Index);
            Assert.Equal(serial[i].Sparse.Intensity, results[i].Sparse.Intensity);
            Assert.Equal(serial[i].Sparse.BackgroundStd, results[i].Sparse.BackgroundStd);
        }
        Assert.True(results.Sum(r => r.NbPeaks) >= 5 * counts.Length);
        Assert.Equal(0, pool.InUse);
        Assert.Equal(counts.Length, finder.FramesProcessed);
    }

    [Fact]
    public async Task Disposing_the_finder_waits_for_the_frames_in_flight()
    {
        var model = Synthetic.Model(new FaiParams());
        var finder = PeakFinder.Create(model, PixelType.Gray32s, InFlight);
        var pending = Frames(3).Select((c, i) => { using var f = Frame.FromArray(c, Synthetic.Width, Synthetic.Height, i); return finder.ProcessAsync(f); }).ToArray();
        finder.Dispose();
        Assert.All(pending, t => Assert.True(t.IsCompleted));
        Assert.All(await Task.WhenAll(pending), r => Assert.Equal(5, r.NbPeaks));
        using var late = Frame.FromArray(Synthetic.Counts(1), Synthetic.Width, Synthetic.Height);
        Assert.Throws<ObjectDisposedException>(() => { _ = finder.ProcessAsync(late); });
    }

    [Fact]
    public void More_peaks_than_the_lists_hold_grow_them_without_losing_the_frames_in_flight()
    {
        // a noisy flat frame with a low cutoff: tens of thousands of sparse pixels and thousands of peaks, more than
        // the first lists (4096 / 8192): the read-back thread grows them and runs the last two passes again
        const int width = 512, height = 512;
        var model = PeakFinderModel.Create(width, height, Synthetic.Geometry, null, new FaiParams { CutoffClip = 3, CutoffPick = 0.5, Noise = 0 });
        var rng = new Random(5);
        var frames = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, width * height).Select(_ => 100 + rng.Next(0, 40)).ToArray()).ToArray();
        using var one = PeakFinder.Create(model, PixelType.Gray32s, Ocl.Options with { Queues = 1, FramesInFlight = 1 });
        using var three = PeakFinder.Create(model, PixelType.Gray32s, InFlight);
        var expected = frames.Select(c => { using var f = Frame.FromArray(c, width, height); return one.Process(f); }).ToArray();
        var actual = frames.Select(c => { using var f = Frame.FromArray(c, width, height); return three.ProcessAsync(f); }).Select(t => t.Result).ToArray();
        Assert.True(expected[0].Sparse.Index.Length > 8192, $"{expected[0].NbPeaks} peaks, {expected[0].Sparse.Index.Length} sparse pixels");
        for (var i = 0; i < frames.Length; i++)
        {
            Assert.Equal(expected[i].Peaks, actual[i].Peaks);
            Assert.Equal(expected[i].Sparse.Index, actual[i].Sparse.Index);
        }
    }

    [Fact]
    public void Profiling_times_the_copy_every_kernel_and_the_read_back()
    {
        var model = Synthetic.Model(new FaiParams());
        using var finder = PeakFinder.Create(model, PixelType.Gray32s, InFlight with { Profiling = true });
        using var frame = Synthetic.Frame(Synthetic.Counts(3));
        for (var i = 0; i < 4; i++)
            finder.Process(frame);
        Assert.Equal(["background", "pick", "preprocess_sorted", "read back", "sigma_clip", "write image"], finder.Profile.Keys.Order());
        Assert.All(finder.Profile.Values, v => Assert.Equal(4, v.Count));
    }
}
