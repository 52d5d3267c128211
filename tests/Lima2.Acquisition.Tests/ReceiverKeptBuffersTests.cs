using Lima2.Core.Frames;

namespace Lima2.Acquisition.Tests;

/// <summary>
/// A receiver's frame buffers kept from one run to the next (as the receiver device keeps them): the second run of
/// the same geometry makes no fresh buffer, so faults no fresh page; a new geometry stays within the memory cap.
/// </summary>
public sealed class ReceiverKeptBuffersTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kept-buffers-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private ReceiverSettings Settings(int width, int frames, FrameBufferReserve reserve) => ReceiverSettings.Parse($$"""
        {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "1MiB", "saving_root": "{{_folder}}"},
         "acq_params": {"acq": {"nb_frames": {{frames}}, "expo_time": 1},
                        "det": {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": {{width}}, "height": 256} } },
         "proc_params": {"class_name": "LimaProcessingLegacy", "buffers": {"nb_frames_buffer": 1},
                         "statistics": {"enabled": true, "rect_rois": [{"topleft": {"x": 0, "y": 0}, "dimensions": {"x": 64, "y": 64} }]} } }
        """) with { KeepFrames = true, KeptBuffers = reserve };

    private static async Task<(ReceiverSummary Summary, ReceiverMemory Memory)> RunAsync(ReceiverSettings settings)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var run = await ReceiverRun.PrepareAsync(settings, timeout.Token);
        var summary = await run.RunAsync(timeout.Token);
        Assert.Null(summary.Error);
        Assert.Equal(settings.AcqParams.Acq.NbFrames, summary.Counters.Processed);
        return (summary, run.Memory!);
    }

    [Fact]
    public async Task A_second_run_of_the_same_geometry_writes_into_the_first_runs_buffers_and_makes_none_fresh()
    {
        using var reserve = new FrameBufferReserve();
        await RunAsync(Settings(256, 30, reserve));
        var fresh = reserve.FreshBuffers;
        Assert.InRange(fresh, 1, 8); // 128 KiB frames in 1 MiB
        Assert.Equal(0, reserve.LentBytes);
        Assert.Equal(fresh * 256 * 256 * 2, reserve.KeptBytes);

        await RunAsync(Settings(256, 30, reserve));

        Assert.Equal(fresh, reserve.FreshBuffers);
        Assert.True(reserve.ReusedBuffers >= 1);
    }

    [Fact]
    public async Task A_new_geometry_takes_the_room_of_the_old_ones_buffers_and_stays_within_the_memory_cap()
    {
        using var reserve = new FrameBufferReserve();
        var (_, small) = await RunAsync(Settings(256, 40, reserve));
        var (_, large) = await RunAsync(Settings(768, 40, reserve)); // 384 KiB frames: two fit beside nothing else

        Assert.InRange(reserve.PeakBytes, 1, large.PoolBytes);
        Assert.InRange(reserve.PeakBytes, 1, small.CapBytes);
        Assert.InRange(reserve.KeptBytes, 1, large.PoolBytes);
        Assert.Equal(0, reserve.LentBytes);
    }
}
