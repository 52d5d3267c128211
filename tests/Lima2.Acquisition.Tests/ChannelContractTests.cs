using System.Text;
using Lima2.Acquisition.Tests.Dectris;
using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Simulator;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests;

/// <summary>
/// What a receiver asks of its channel, answered by each channel kind through <see cref="IDetectorChannel"/> alone,
/// and a <see cref="ReceiverRun"/> over a channel it has never heard of.
/// </summary>
public sealed class ChannelContractTests : IDisposable
{
    private readonly StandInDetector _detector = new(lingerMilliseconds: 1000);
    private readonly SavingFolder _folder = new();

    public void Dispose()
    {
        _detector.Dispose();
        _folder.Dispose();
    }

    [Fact]
    public async Task The_simulator_starts_at_prepare_knows_its_total_and_releases_frames_on_triggers()
    {
        var acq = new Core.Parameters.Acquisition { NbFrames = 4, TriggerMode = TriggerMode.Software, NbFramesPerTrigger = 2 };
        await using IDetectorChannel channel = new SimulatorChannel(acq,
            new SimulatorDet { Generator = new GeneratorParams { Width = 16, Height = 8 } });
        Assert.True(channel.StartsAtPrepare);
        Assert.Equal(4, channel.TotalFrames);
        Assert.Empty(channel.Rejections);
        var start = await channel.StartAsync(CancellationToken.None);
        Assert.Equal(0, channel.BufferedBytesBound(start.Frame)); // it fills pool buffers directly

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var target = new RecordingTarget(start.Frame);
        var running = channel.RunAsync(target, timeout.Token);
        channel.Trigger();
        await WaitUntil(() => Count(target) == 2, timeout.Token);
        Assert.False(running.IsCompleted); // the last two wait for the next trigger
        channel.Trigger();
        var summary = await running;

        Assert.Equal((4L, 0L, ChannelEnd.Completed), (summary.Delivered, summary.Lost, summary.End));
    }

    [Fact]
    public async Task An_endless_simulator_has_no_total_and_a_stop_ends_it_as_stopped()
    {
        await using IDetectorChannel channel = new SimulatorChannel(new Core.Parameters.Acquisition { NbFrames = 0 },
            new SimulatorDet { Generator = new GeneratorParams { Width = 16, Height = 8 } });
        Assert.Null(channel.TotalFrames);
        var start = await channel.StartAsync(CancellationToken.None);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var summary = await channel.RunAsync(new RecordingTarget(start.Frame), stop.Token).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(ChannelEnd.Stopped, summary.End);
    }

    [Fact]
    public async Task A_DECTRIS_channel_waits_for_its_header_bounds_its_buffers_counts_rejections_and_ignores_triggers()
    {
        const int frames = 3;
        var dectris = new DectrisChannel(new DectrisChannelOptions(_detector.Endpoint, DectrisStreamVersion.V1));
        await using IDetectorChannel channel = dectris;
        Assert.False(channel.StartsAtPrepare);
        Assert.Null(channel.TotalFrames); // no header yet
        Assert.Equal(dectris.BufferedBytesBound(Info), channel.BufferedBytesBound(Info));
        Assert.True(channel.BufferedBytesBound(Info) >= 2L * (4 << 20), "the kernel's socket buffer is counted");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var starting = channel.StartAsync(timeout.Token).AsTask();
        _detector.Send([Encoding.UTF8.GetBytes("garbage before the header")]);
        _detector.Send(StreamV1Writer.Header(1, "basic", Info, frames));
        var start = await starting;
        Assert.Equal(frames, channel.TotalFrames);
        channel.Trigger(); // the control device triggers the detector: nothing to do here

        var target = new RecordingTarget(start.Frame);
        var running = channel.RunAsync(target, timeout.Token);
        for (var f = 0; f < frames; f++)
            _detector.Send(V1Image(f, DectrisEncoding.Raw));
        _detector.Send([StreamV1Writer.End(1)]);
        var summary = await running;

        Assert.Equal(((long)frames, 0L, ChannelEnd.Completed), (summary.Delivered, summary.Lost, summary.End));
        Assert.Equal(1, channel.Rejections["malformed"]);
    }

    [Fact]
    public async Task A_run_over_a_channel_of_a_kind_it_does_not_know_takes_everything_from_the_contract()
    {
        const int frames = 4;
        var channel = new ScriptedChannel(SavingFolder.Info, frames);
        var settings = new ReceiverSettings(
            new ReceiverConfig { MemoryCap = "1MiB", SavingRoot = _folder.Root },
            // the run's acq_params say 99 frames; the channel knows better (like a DECTRIS header's count)
            new AcqParams<SimulatorDet> { Acq = new Core.Parameters.Acquisition { NbFrames = 99 } },
            new LegacyProcParams { Saving = _folder.Params(perFile: 10) });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        await using var run = await ReceiverRun.PrepareAsync(settings, channel, timeout.Token);
        Assert.NotNull(run.Graph); // started at Prepare, as the channel asked
        Assert.Equal(3L * SavingFolder.Info.ByteSize, run.Memory!.ChannelBytes);
        run.Trigger();
        Assert.Equal(1, channel.Triggers);
        var summary = await run.RunAsync(timeout.Token);

        Assert.Null(summary.Error);
        Assert.Equal(ChannelEnd.Completed, summary.Channel.End);
        Assert.Equal(2, summary.Rejections["not a frame"]);
        Assert.Equal("message 7 is not a frame", summary.LastRejection);
        Assert.Equal(frames, summary.Saved);
        Assert.NotNull(summary.MasterFile);
        Assert.Equal([frames], run.MasterCounts);
    }

    private static int Count(RecordingTarget target)
    {
        lock (target.Frames)
            return target.Frames.Count;
    }

    private static async Task WaitUntil(Func<bool> done, CancellationToken cancellationToken)
    {
        while (!done())
            await Task.Delay(10, cancellationToken);
    }
}
