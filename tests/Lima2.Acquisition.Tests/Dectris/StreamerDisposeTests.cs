using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>`lima2 stream` stopped while no receiver takes its frames: its send waits on the PUSH socket.</summary>
public class StreamerDisposeTests
{
    [Fact]
    public async Task Disposing_the_streamer_while_its_send_waits_for_a_receiver_stops_the_run_as_cancelled()
    {
        var generator = FrameGenerator.Create(new GeneratorParams { Width = 16, Height = 8 });
        for (var round = 0; round < 10; round++)
        {
            var streamer = new DectrisStreamer(generator, new StreamerOptions(
                [$"tcp://127.0.0.1:{FreePort.Next()}"], DectrisStreamVersion.V1, DectrisEncoding.BitshuffleLz4, 5));
            var run = streamer.RunAsync(CancellationToken.None);
            await Task.Delay(Random.Shared.Next(1, 30));
            await Task.Run(streamer.Dispose);
            Assert.True(run.IsCompleted, "Dispose returned before the run ended");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
            Assert.Equal(0, streamer.Sent);
        }
    }
}
