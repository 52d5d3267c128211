using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;
using Lima2.Zmq;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// The stand-in detector (<c>lima2 stream</c>) delivers a whole series, end message included, to receivers however
/// slow, and several sender threads feed several receivers every frame, payloads sent from where they were encoded.
/// </summary>
public sealed class StreamerDeliveryTests
{
    private sealed record Received(List<long> Frames, List<byte[]> Payloads, bool Ended);

    /// <summary>Reads a V1 series on a PULL socket, <paramref name="pause"/> after each image (a loaded receiver).</summary>
    private static Task<Received> Receive(string endpoint, TimeSpan pause, int receiveBuffer = 0) => Task.Run(() =>
    {
        using var context = new ZmqContext();
        using var socket = context.CreateSocket(ZmqSocketType.Pull);
        socket.SetOption(ZmqOption.ReceiveHighWaterMark, 1);
        if (receiveBuffer > 0)
            socket.SetOption(ZmqOption.ReceiveBuffer, receiveBuffer);
        socket.SetOption(ZmqOption.ReceiveTimeout, 10_000);
        socket.Connect(endpoint);
        using var message = new ZmqMultipartMessage();
        var received = new Received([], [], false);
        while (socket.Receive(message))
        {
            using var header = JsonDocument.Parse(message[0].Memory);
            var htype = header.RootElement.GetProperty("htype").GetString();
            if (htype == "dseries_end-1.0")
                return received with { Ended = true };
            if (htype != "dimage-1.0")
                continue;
            received.Frames.Add(header.RootElement.GetProperty("frame").GetInt64());
            received.Payloads.Add(message[2].Span.ToArray());
            Thread.Sleep(pause);
        }
        return received; // no end within the receive timeout
    });

    [Fact]
    public async Task The_end_of_a_series_reaches_a_receiver_slower_than_the_send_queue_drains()
    {
        // A queue of 64 images (SNDHWM 256 parts: libzmq counts the four parts of a V1 image) drained at 10 frames/s at
        // most takes 6.4 s: longer than the 5 s the sockets linger when closed (before the fix: 60 of 80 frames came).
        const int frames = 80;
        var generator = FrameGenerator.Create(new GeneratorParams { Width = 1024, Height = 1024, PixelType = PixelType.Gray16 });
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        var streamer = new DectrisStreamer(generator, new StreamerOptions([endpoint], DectrisStreamVersion.V1, DectrisEncoding.Raw, frames,
            Prefetch: 4, SendHighWaterMark: 256));
        var receiving = Receive(endpoint, TimeSpan.FromMilliseconds(100), receiveBuffer: 256 << 10);
        await streamer.RunAsync(CancellationToken.None);
        await Task.Run(streamer.Dispose); // what lima2 stream does once the run returns: close and exit
        var received = await receiving;
        Assert.Equal(Enumerable.Range(0, frames).Select(i => (long)i), received.Frames);
        Assert.True(received.Ended, "the end of series never came");
    }

    [Fact]
    public async Task A_series_whose_receiver_takes_nothing_ends_in_a_delivery_timeout()
    {
        // 20 frames of 2 MB fit in the send queue (64), not in the stalled receiver's queue (1) and the kernel's buffers
        var generator = FrameGenerator.Create(new GeneratorParams { Width = 1024, Height = 1024, PixelType = PixelType.Gray16 });
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var streamer = new DectrisStreamer(generator, new StreamerOptions([endpoint], DectrisStreamVersion.V1, DectrisEncoding.Raw, 20,
            DeliveryTimeout: TimeSpan.FromSeconds(1)));
        using var context = new ZmqContext();
        using var stalled = context.CreateSocket(ZmqSocketType.Pull);
        stalled.SetOption(ZmqOption.ReceiveHighWaterMark, 1);
        stalled.SetOption(ZmqOption.ReceiveBuffer, 256 << 10);
        stalled.SetOption(ZmqOption.Linger, 0);
        stalled.Connect(endpoint); // connected, never reads
        var error = await Assert.ThrowsAsync<TimeoutException>(() => streamer.RunAsync(CancellationToken.None));
        Assert.Equal("the end of series 1 did not reach 1 of 1 receivers: none took a message for 1 s", error.Message);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 4)]
    [InlineData(3, 4)]
    public async Task Several_sender_threads_give_each_of_several_receivers_every_frame_of_its_share(int senders, int prefetch)
    {
        const int frames = 31;
        const int receivers = 3;
        var generator = FrameGenerator.Create(new GeneratorParams { Width = 64, Height = 32, PixelType = PixelType.Gray16 });
        var endpoints = Enumerable.Range(0, receivers).Select(_ => $"tcp://127.0.0.1:{FreePort.Next()}").ToArray();
        using var streamer = new DectrisStreamer(generator, new StreamerOptions(endpoints, DectrisStreamVersion.V1, DectrisEncoding.Raw, frames,
            Prefetch: prefetch, Senders: senders));
        var receiving = endpoints.Select(e => Receive(e, TimeSpan.Zero)).ToArray();
        await streamer.RunAsync(CancellationToken.None);
        var received = await Task.WhenAll(receiving);
        Assert.Equal(frames, streamer.Sent);
        for (var r = 0; r < receivers; r++)
        {
            Assert.True(received[r].Ended, $"receiver {r}: no end of series");
            var share = Enumerable.Range(0, frames).Where(f => f % receivers == r).Select(f => (long)f).ToList();
            Assert.Equal(share, received[r].Frames);
            for (var i = 0; i < share.Count; i++)
            {
                var expected = new byte[generator.Info.ByteSize];
                generator.Render(prefetch > 0 ? share[i] % prefetch : share[i], expected);
                Assert.Equal(expected, received[r].Payloads[i]);
            }
        }
    }
}
