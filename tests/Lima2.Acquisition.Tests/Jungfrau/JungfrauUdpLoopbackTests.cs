using System.Net;
using System.Net.Sockets;
using Lima2.Detectors.Jungfrau;

namespace Lima2.Acquisition.Tests.Jungfrau;

public class JungfrauUdpLoopbackTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Datagrams_waiting_before_the_loop_starts_are_taken_in_batches_and_every_one_is_counted_and_placed(bool recvmmsg)
    {
        var received = new List<(ulong Frame, ushort[] Pixels, bool Complete)>();
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [0], FirstFrameNumber = 1 },
            f => { using (f) received.Add((f.FrameNumber, f.Pixels.ToArray(), f.IsComplete)); });
        // 4 MiB asked = 8 MiB granted at this machine's rmem_max: room for the 256 datagrams (~17 KiB each in the kernel)
        using var listener = new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), assembler, TimeSpan.FromSeconds(30),
            receiveBufferBytes: 4 << 20, useRecvmmsg: recvmmsg);
        using (var sender = new JungfrauPacketSender([new ModuleDestination(0, new IPEndPoint(IPAddress.Loopback, listener.Port))]))
            foreach (var frame in new ulong[] { 1, 2 })
                sender.SendFrame(frame, [ModuleFrameAssemblerTests.ModulePixels(frame, 0)]); // all queued in the socket before the loop runs
        listener.Start();
        Assert.True(SpinWait.SpinUntil(() => listener.DatagramsReceived == 256, TimeSpan.FromSeconds(30)),
            $"{listener.DatagramsReceived} of 256 datagrams received");
        listener.Stop();

        Assert.Equal(recvmmsg && OperatingSystem.IsLinux(), listener.ReceivesInBatches);
        // 256 waiting datagrams take at least 4 calls of 64 and, batched, fewer than one call each
        Assert.InRange(listener.Batches, 256 / JungfrauUdpListener.BatchSize, 255);
        Assert.Equal(256, listener.DatagramsReceived);
        Assert.Equal(256, assembler.Count(PacketVerdict.Placed));
        Assert.Equal(256, assembler.PacketsReceived);
        Assert.Equal((2, 0, 0, 0L), (assembler.FramesComplete, assembler.FramesIncomplete, assembler.FramesMissed, assembler.PacketsPadded));
        Assert.Equal([1UL, 2UL], received.Select(r => r.Frame));
        Assert.All(received, r => Assert.True(r.Complete && ModuleFrameAssemblerTests.ModulePixels(r.Frame, 0).AsSpan().SequenceEqual(r.Pixels),
            $"frame {r.Frame} differs"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_frame_whose_packets_wait_in_the_socket_while_the_loop_is_held_past_the_timeout_is_read_whole_not_timed_out(bool recvmmsg)
    {
        var timeout = TimeSpan.FromMilliseconds(300);
        var handedOn = new List<(ulong Frame, bool Complete)>();
        using var inFrame1 = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // frame 1's consumer holds the loop's thread, as a loaded machine or a slow consumer does
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [0], FirstFrameNumber = 1 }, f =>
        {
            using (f)
                lock (handedOn)
                    handedOn.Add((f.FrameNumber, f.IsComplete));
            if (f.FrameNumber == 1)
            {
                inFrame1.Set();
                release.Wait();
            }
        });
        using var listener = new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), assembler, timeout,
            receiveBufferBytes: 4 << 20, useRecvmmsg: recvmmsg);
        var firstHalf = Enumerable.Range(0, 64).Select(p => (0, p)).ToHashSet();
        var secondHalf = Enumerable.Range(64, 64).Select(p => (0, p)).ToHashSet();
        using var sender = new JungfrauPacketSender([new ModuleDestination(0, new IPEndPoint(IPAddress.Loopback, listener.Port))]);
        // waiting before the loop runs, read in full batches: frame 2's first half, then frame 1 whole
        sender.SendFrame(2, [ModuleFrameAssemblerTests.ModulePixels(2, 0)], drop: secondHalf);
        sender.SendFrame(1, [ModuleFrameAssemblerTests.ModulePixels(1, 0)]);
        listener.Start();
        Assert.True(inFrame1.Wait(TimeSpan.FromSeconds(30)), "frame 1 never came");
        sender.SendFrame(2, [ModuleFrameAssemblerTests.ModulePixels(2, 0)], drop: firstHalf); // frame 2's second half comes
        Thread.Sleep(2 * timeout); // the loop is held past the timeout of frame 2, which started before frame 1 ended
        release.Set();
        Assert.True(SpinWait.SpinUntil(() => { lock (handedOn) return handedOn.Count == 2; }, TimeSpan.FromSeconds(30)),
            $"{handedOn.Count} frames handed on");
        listener.Stop();

        Assert.Equal([(1UL, true), (2UL, true)], handedOn);
        Assert.Equal((2, 0, 0L), (assembler.FramesComplete, assembler.FramesIncomplete, assembler.PacketsPadded));
        Assert.Equal(256, assembler.Count(PacketVerdict.Placed));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_module_sent_over_two_interfaces_in_sendmmsg_batches_or_one_by_one_arrives_whole_at_its_two_ports(bool sendmmsg)
    {
        var halves = new List<(ulong Frame, ushort[] Pixels)>[] { [], [] };
        var listeners = Enumerable.Range(0, 2).Select(link => new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0),
            new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [3], FirstFrameNumber = 1, Interfaces = 2, Interface = link },
                f => { using (f) halves[link].Add((f.FrameNumber, f.Pixels.ToArray())); }),
            TimeSpan.FromSeconds(30), receiveBufferBytes: 4 << 20)).ToArray();
        try
        {
            using (var sender = new JungfrauPacketSender([new ModuleDestination(3, [.. listeners.Select(l => new IPEndPoint(IPAddress.Loopback, l.Port))])],
                       useSendmmsg: sendmmsg))
            {
                foreach (var frame in new ulong[] { 1, 2 })
                    sender.SendFrame(frame, [ModuleFrameAssemblerTests.ModulePixels(frame, 3)]); // queued in the sockets before the loops run
                Assert.Equal(sendmmsg && OperatingSystem.IsLinux(), sender.SendsInBatches);
                Assert.Equal(256, sender.PacketsSent);
            }
            foreach (var listener in listeners)
                listener.Start();
            Assert.True(SpinWait.SpinUntil(() => listeners.All(l => l.DatagramsReceived == 128), TimeSpan.FromSeconds(30)),
                $"datagrams received {string.Join(",", listeners.Select(l => l.DatagramsReceived))}, 128 each expected");
        }
        finally
        {
            foreach (var listener in listeners)
                listener.Dispose();
        }
        Assert.All(listeners, l => Assert.Equal((2, 0L), (l.Assembler.FramesComplete, l.Assembler.PacketsRejected)));
        foreach (var frame in new ulong[] { 1, 2 })
            Assert.Equal(ModuleFrameAssemblerTests.ModulePixels(frame, 3),
                halves[0].Single(h => h.Frame == frame).Pixels.Concat(halves[1].Single(h => h.Frame == frame).Pixels));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Bad_datagrams_on_the_wire_are_counted_by_kind_and_the_loop_goes_on_placing_good_ones(bool recvmmsg)
    {
        var received = new List<(ulong Frame, ushort[] Pixels, bool Complete)>();
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [0], FirstFrameNumber = 1 },
            f => { using (f) received.Add((f.FrameNumber, f.Pixels.ToArray(), f.IsComplete)); });
        using var listener = new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), assembler, TimeSpan.FromSeconds(30),
            receiveBufferBytes: 4 << 20, useRecvmmsg: recvmmsg);
        var port = new IPEndPoint(IPAddress.Loopback, listener.Port);
        var pixels = ModuleFrameAssemblerTests.ModulePixels(1, 0);
        var good = JungfrauPackets.Create(1, 0, 0, pixels);
        byte[] With(ulong frame = 1, int module = 0, byte detType = SlsDetectorHeader.JungfrauDetType)
        {
            var datagram = JungfrauPackets.Create(frame, module, 0, pixels);
            datagram[46] = detType;
            return datagram;
        }
        byte[][] bad =
        [
            [], // zero length
            good[..100], // truncated
            [.. good, .. new byte[760]], // 9000 B, a jumbo frame of something else
            With(detType: 1), // EIGER
            With(module: 3), // a module this port does not own
            With(frame: 1_000_000_000_001), // a frame number jump of 10^12
            With(frame: ulong.MaxValue),
        ];
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            foreach (var datagram in bad)
                socket.SendTo(datagram, port);
        }
        using (var sender = new JungfrauPacketSender([new ModuleDestination(0, port)]))
            sender.SendFrame(1, [pixels]);
        listener.Start();
        Assert.True(SpinWait.SpinUntil(() => listener.DatagramsReceived == bad.Length + 128, TimeSpan.FromSeconds(30)),
            $"{listener.DatagramsReceived} of {bad.Length + 128} datagrams received");
        listener.Stop(); // rethrows what ended the loop, had anything

        Assert.Equal(3, assembler.Count(PacketVerdict.WrongSize));
        Assert.Equal(1, assembler.Count(PacketVerdict.WrongDetectorType));
        Assert.Equal(1, assembler.Count(PacketVerdict.ModuleOutOfRange));
        Assert.Equal(2, assembler.Count(PacketVerdict.FrameNumberJump));
        Assert.Equal((128L, 7L), (assembler.Count(PacketVerdict.Placed), assembler.PacketsRejected));
        Assert.Equal((1, 0, 0), (assembler.FramesComplete, assembler.FramesIncomplete, assembler.FramesMissed));
        Assert.Equal(1UL, Assert.Single(received).Frame);
        Assert.True(pixels.AsSpan().SequenceEqual(received[0].Pixels));
    }

    [Fact]
    public void Two_modules_sent_over_loopback_UDP_arrive_assembled_with_the_dropped_packets_padded()
    {
        int[] moduleIds = [0, 1];
        var frames = new ulong[] { 1, 2, 3 };
        var dropped = new HashSet<(int, int)> { (1, 5), (1, 127) }; // left out of frame 2 only
        var received = moduleIds.ToDictionary(id => id, _ => new List<(ulong Frame, ushort[] Pixels, int Missing)>());
        var assemblers = moduleIds.Select(id => new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [id], FirstFrameNumber = 1 },
            f => { using (f) received[id].Add((f.FrameNumber, f.Pixels.ToArray(), f.PacketsMissing)); })).ToArray();
        // one port and one receive loop per module, as the detector's modules each have their own 10 GbE link
        var listeners = assemblers.Select(a => new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), a, TimeSpan.FromSeconds(30),
            receiveBufferBytes: 4 << 20)).ToArray();
        foreach (var listener in listeners)
            listener.Start();
        try
        {
            using var sender = new JungfrauPacketSender(moduleIds.Select((id, i) => new ModuleDestination(id, new IPEndPoint(IPAddress.Loopback, listeners[i].Port))).ToArray());
            long expectedPerPort = 0;
            foreach (var frame in frames)
            {
                sender.SendFrame(frame, moduleIds.Select(id => ModuleFrameAssemblerTests.ModulePixels(frame, id)).ToArray(), frame == 2 ? dropped : null);
                // one frame at a time, so that the socket buffers never overflow however slowly the loops run on a busy machine
                expectedPerPort += 128;
                var portExpected = moduleIds.Select(id => expectedPerPort - (frame >= 2 ? dropped.Count(d => d.Item1 == id) : 0)).ToArray();
                Assert.True(SpinWait.SpinUntil(() => listeners.Select((l, i) => l.DatagramsReceived == portExpected[i]).All(x => x), TimeSpan.FromSeconds(30)),
                    $"datagrams received {string.Join(",", listeners.Select(l => l.DatagramsReceived))}, expected {string.Join(",", portExpected)}");
            }
            Assert.Equal(3 * 2 * 128 - 2, sender.PacketsSent);
        }
        finally
        {
            foreach (var listener in listeners)
                listener.Dispose(); // stops the loop and hands on what is still in flight
        }

        foreach (var id in moduleIds)
        {
            Assert.Equal(frames, received[id].Select(r => r.Frame));
            foreach (var (frame, pixels, missing) in received[id])
            {
                var expected = ModuleFrameAssemblerTests.ModulePixels(frame, id);
                if (frame == 2)
                    foreach (var (_, packet) in dropped.Where(d => d.Item1 == id))
                        expected.AsSpan(packet * JungfrauModule.PixelsPerPacket, JungfrauModule.PixelsPerPacket).Fill(ModuleFrameAssembler.PaddingValue);
                Assert.True(expected.AsSpan().SequenceEqual(pixels), $"module {id} frame {frame} differs");
                Assert.Equal(frame == 2 && id == 1 ? 2 : 0, missing);
            }
        }
        Assert.Equal([3 * 128, 3 * 128 - 2], assemblers.Select(a => a.Count(PacketVerdict.Placed)));
        Assert.All(assemblers, a => Assert.Equal(a.Count(PacketVerdict.Placed), a.PacketsReceived));
        Assert.Equal([0L, 2L], assemblers.Select(a => a.PacketsPadded));

        // and the two ports' modules make one detector frame
        var geometry = JungfrauGeometry.Grid(rows: 2, columns: 1, gapX: 0, gapY: 4, doublePixelGaps: false);
        var image = new ushort[geometry.Width * geometry.Height];
        geometry.Place<ushort>(received[0][0].Pixels.Concat(received[1][0].Pixels).ToArray(), image);
        Assert.Equal(ModuleFrameAssemblerTests.ModulePixels(1, 1)[0], image[(512 + 4) * 1024]);
    }
}
