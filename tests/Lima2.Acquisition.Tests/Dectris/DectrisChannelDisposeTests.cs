using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using static Lima2.Acquisition.Tests.Dectris.DectrisSamples;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// Stop or erasePipeline during a stalled stream: the channel is disposed (or cancelled) from another thread while
/// its receive thread waits inside libzmq. libzmq asserts and aborts the whole process if a socket or message is
/// closed under a call in flight, so a failure here is the test host dying.
/// </summary>
public sealed class DectrisChannelDisposeTests
{
    private const int Rounds = 30;

    /// <summary>
    /// A channel that has seen the header and whose run is waiting for an image that never comes. A detector per
    /// round: a PUSH socket could deal the header to the previous round's channel while it disconnects.
    /// </summary>
    private static async Task<(DectrisChannel Channel, Task<Core.Pipeline.ChannelSummary> Run)> Stalled(
        StandInDetector detector, CancellationToken runToken)
    {
        var channel = new DectrisChannel(new DectrisChannelOptions(detector.Endpoint, DectrisStreamVersion.V1));
        var starting = channel.StartAsync(CancellationToken.None).AsTask();
        detector.Send(StreamV1Writer.Header(1, "basic", Info, 10));
        var start = await starting.WaitAsync(TimeSpan.FromSeconds(10));
        var run = channel.RunAsync(new RecordingTarget(start.Frame), runToken);
        await Task.Delay(Random.Shared.Next(1, 30)); // lands anywhere in the 100 ms receive wait
        return (channel, run);
    }

    [Fact]
    public async Task Disposing_the_channel_from_another_thread_while_it_waits_for_an_image_stops_the_run()
    {
        for (var round = 0; round < Rounds; round++)
        {
            using var detector = new StandInDetector(lingerMilliseconds: 0);
            var (channel, run) = await Stalled(detector, CancellationToken.None);
            await Task.Run(async () => await channel.DisposeAsync());
            var summary = await run.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(ChannelEnd.Stopped, summary.End);
            Assert.Equal(0, summary.Delivered);
        }
    }

    [Fact]
    public async Task Cancelling_the_run_while_it_waits_for_an_image_then_disposing_ends_cleanly()
    {
        for (var round = 0; round < Rounds; round++)
        {
            using var stop = new CancellationTokenSource();
            using var detector = new StandInDetector(lingerMilliseconds: 0);
            var (channel, run) = await Stalled(detector, stop.Token);
            var disposing = Task.Run(async () =>
            {
                await stop.CancelAsync();
                await channel.DisposeAsync();
            });
            var summary = await run.WaitAsync(TimeSpan.FromSeconds(10));
            await disposing.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(ChannelEnd.Stopped, summary.End);
        }
    }

    [Fact]
    public async Task Disposing_the_channel_while_it_waits_for_the_series_header_cancels_the_start()
    {
        for (var round = 0; round < Rounds; round++)
        {
            using var detector = new StandInDetector(lingerMilliseconds: 0);
            var channel = new DectrisChannel(new DectrisChannelOptions(detector.Endpoint, DectrisStreamVersion.V1));
            var starting = channel.StartAsync(CancellationToken.None).AsTask();
            await Task.Delay(Random.Shared.Next(1, 30));
            await Task.Run(async () => await channel.DisposeAsync());
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starting.WaitAsync(TimeSpan.FromSeconds(10)));
        }
    }
}
