using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.MaxIv;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;
using Lima2.Zmq;

namespace Lima2.Acquisition.Tests.Dectris;

/// <summary>
/// The stand-in detector (<c>lima2 stream</c>) delivers a whole series, end message included, in each of its formats
/// (DECTRIS V1, V2, MAX IV) to receivers however slow, and several sender threads feed several receivers every frame,
/// payloads sent from where they were encoded; the receiver's own decoders read what it sends.
/// </summary>
public sealed class StreamerDeliveryTests
{
    private sealed record Received(List<long> Frames, List<byte[]> Payloads, bool Ended);

    /// <summary>
    /// Reads a series on a PULL socket with the receiver's own decoder, <paramref name="pause"/> after each image (a
    /// loaded receiver), connecting <paramref name="connectAfter"/> after the call (a receiver started late).
    /// </summary>
    private static Task<Received> Receive(DectrisStreamVersion version, string endpoint, TimeSpan pause, int receiveBuffer = 0,
        TimeSpan connectAfter = default) => Task.Run(() =>
    {
        Thread.Sleep(connectAfter);
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
            var decoded = version switch
            {
                DectrisStreamVersion.V1 => StreamV1.Decode(new ZmqParts(message)),
                DectrisStreamVersion.V2 => StreamV2.Decode(message[0].Memory),
                _ => MaxIvStream.Decode(new ZmqParts(message)),
            };
            if (decoded.Kind == DectrisMessageKind.End)
                return received with { Ended = true };
            if (decoded.Kind != DectrisMessageKind.Image)
                continue;
            received.Frames.Add(decoded.Image.Frame);
            received.Payloads.Add(decoded.Image.Payload.ToArray());
            Thread.Sleep(pause);
        }
        return received; // no end within the receive timeout
    });

    [Theory]
    [InlineData(DectrisStreamVersion.V1)]
    [InlineData(DectrisStreamVersion.V2)]
    [InlineData(DectrisStreamVersion.MaxIv)]
    public async Task The_end_of_a_series_reaches_a_receiver_that_connects_late_and_reads_slower_than_the_send_queue_drains(
        DectrisStreamVersion version)
    {
        // A queue of 64 images (SNDHWM 256 parts: libzmq counts every part of a message) drained at 10 frames/s at most
        // takes 6.4 s: longer than the 5 s the sockets lingered when closed (before the fix: 60 of 80 frames came).
        const int frames = 80;
        var generator = FrameGenerator.Create(new GeneratorParams { Width = 1024, Height = 1024, PixelType = PixelType.Gray16 });
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        var streamer = new DectrisStreamer(generator, new StreamerOptions([endpoint], version, DectrisEncoding.Raw, frames,
            Prefetch: 4, SendHighWaterMark: 256));
        var receiving = Receive(version, endpoint, TimeSpan.FromMilliseconds(100), receiveBuffer: 256 << 10,
            connectAfter: TimeSpan.FromMilliseconds(500));
        await streamer.RunAsync(CancellationToken.None);
        await Task.Run(streamer.Dispose); // what lima2 stream does once the run returns: close and exit
        var received = await receiving;
        Assert.Equal(Enumerable.Range(0, frames).Select(i => (long)i), received.Frames);
        Assert.True(received.Ended, "the end of series never came");
        for (var i = 0; i < frames; i++)
        {
            var expected = new byte[generator.Info.ByteSize];
            generator.Render(i % 4, expected);
            Assert.True(expected.AsSpan().SequenceEqual(received.Payloads[i]), $"frame {i}'s pixels differ");
        }
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
    [InlineData(DectrisStreamVersion.V1, 1, 0)]
    [InlineData(DectrisStreamVersion.V1, 2, 4)]
    [InlineData(DectrisStreamVersion.V1, 3, 4)]
    [InlineData(DectrisStreamVersion.V2, 3, 0)]
    [InlineData(DectrisStreamVersion.MaxIv, 1, 0)]
    [InlineData(DectrisStreamVersion.MaxIv, 3, 4)]
    public async Task Several_sender_threads_give_each_of_several_receivers_every_frame_of_its_share(DectrisStreamVersion version,
        int senders, int prefetch)
    {
        const int frames = 31;
        const int receivers = 3;
        var generator = FrameGenerator.Create(new GeneratorParams { Width = 64, Height = 32, PixelType = PixelType.Gray16 });
        var endpoints = Enumerable.Range(0, receivers).Select(_ => $"tcp://127.0.0.1:{FreePort.Next()}").ToArray();
        using var streamer = new DectrisStreamer(generator, new StreamerOptions(endpoints, version, DectrisEncoding.Raw, frames,
            Prefetch: prefetch, Senders: senders));
        var receiving = endpoints.Select(e => Receive(version, e, TimeSpan.Zero)).ToArray();
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
