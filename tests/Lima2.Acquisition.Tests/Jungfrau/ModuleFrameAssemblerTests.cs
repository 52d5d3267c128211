using FsCheck;
using FsCheck.Fluent;
using Lima2.Detectors.Jungfrau;

namespace Lima2.Acquisition.Tests.Jungfrau;

public class ModuleFrameAssemblerTests
{
    /// <summary>A module-frame whose every pixel says which frame, module and pixel it is (wrapping in 16 bits).</summary>
    internal static ushort[] ModulePixels(ulong frame, int module) =>
        Enumerable.Range(0, JungfrauModule.Pixels).Select(i => (ushort)((int)frame * 7919 + module * 104729 + i)).ToArray();

    private static List<byte[]> Packets(ulong frame, IReadOnlyList<int> moduleIds) =>
        moduleIds.SelectMany(id =>
        {
            var pixels = ModulePixels(frame, id);
            return Enumerable.Range(0, JungfrauModule.PacketsPerFrame).Select(p => JungfrauPackets.Create(frame, id, p, pixels));
        }).ToList();

    private static (ModuleFrameAssembler Assembler, List<(ulong Frame, ushort[] Pixels, bool Complete, int Missing)> Out) NewAssembler(
        IReadOnlyList<int> moduleIds, int window = 4, ulong? first = 1)
    {
        var output = new List<(ulong, ushort[], bool, int)>();
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = moduleIds, Window = window, FirstFrameNumber = first },
            f =>
            {
                using (f)
                    output.Add((f.FrameNumber, f.Pixels.ToArray(), f.IsComplete, f.PacketsMissing));
            });
        return (assembler, output);
    }

    private static ushort[] Expected(ulong frame, IReadOnlyList<int> moduleIds, ISet<(int Module, int Packet)>? dropped = null)
    {
        var expected = moduleIds.SelectMany(id => ModulePixels(frame, id)).ToArray();
        foreach (var (module, packet) in dropped ?? new HashSet<(int, int)>())
            expected.AsSpan((moduleIds.ToList().IndexOf(module) * JungfrauModule.PacketsPerFrame + packet) * JungfrauModule.PixelsPerPacket,
                JungfrauModule.PixelsPerPacket).Fill(ModuleFrameAssembler.PaddingValue);
        return expected;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void Shuffled_duplicated_and_lost_packets_assemble_pixel_exact_frames_in_order(int modules)
    {
        var ids = Enumerable.Range(0, modules).Select(m => m * 3 + 1).ToArray(); // sparse ids, as a receiver owning some modules sees them
        var (assembler, output) = NewAssembler(ids);
        var random = new Random(modules);
        var dropped = new HashSet<(int, int)> { (ids[^1], 0), (ids[0], 77), (ids[^1], 127) };
        // frame 2 loses three packets; frames 1 and 3 are whole; every packet of every frame is shuffled and some come twice
        var stream = new List<byte[]>();
        foreach (var frame in new ulong[] { 1, 2, 3 })
        {
            var packets = Packets(frame, ids);
            if (frame == 2)
                packets = packets.Where(p => !dropped.Contains((SlsDetectorHeader.Read(p).ModuleId, (int)SlsDetectorHeader.Read(p).PacketNumber))).ToList();
            packets.AddRange(packets.Take(5));
            stream.AddRange(packets.OrderBy(_ => random.Next()));
        }
        foreach (var datagram in stream)
            assembler.Accept(datagram, 0);
        assembler.Finish();

        Assert.Equal([1UL, 2UL, 3UL], output.Select(o => o.Frame));
        Assert.Equal(Expected(1, ids), output[0].Pixels);
        Assert.Equal(Expected(2, ids, dropped), output[1].Pixels);
        Assert.Equal(Expected(3, ids), output[2].Pixels);
        Assert.Equal([true, false, true], output.Select(o => o.Complete));
        Assert.Equal(3, output[1].Missing);
        Assert.Equal(3, assembler.PacketsPadded);
        Assert.Equal(15, assembler.Count(PacketVerdict.Duplicate));
        Assert.Equal(3 * modules * 128 - 3, assembler.Count(PacketVerdict.Placed));
        Assert.Equal(stream.Count, assembler.PacketsReceived);
        Assert.Equal((2, 1, 0), (assembler.FramesComplete, assembler.FramesIncomplete, assembler.FramesMissed));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public void Over_two_ports_per_module_each_port_assembles_its_halves_and_together_they_make_pixel_exact_modules(int modules)
    {
        var ids = Enumerable.Range(0, modules).Select(m => m * 3 + 1).ToArray();
        var halves = Enumerable.Range(0, 2).Select(link =>
        {
            var output = new List<(ulong Frame, ushort[] Pixels, int Missing)>();
            var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions
            {
                ModuleIds = ids, Window = 4, FirstFrameNumber = 1, Interfaces = 2, Interface = link,
            }, f => { using (f) output.Add((f.FrameNumber, f.Pixels.ToArray(), f.PacketsMissing)); });
            return (Assembler: assembler, Out: output);
        }).ToArray();
        // module packet p (0-127) travels on interface p / 64 as packet p % 64: lose some on each link in frame 2
        var dropped = new HashSet<(int, int)> { (ids[^1], 0), (ids[0], 63), (ids[0], 64), (ids[^1], 127) };
        var random = new Random(modules);
        var streams = new[] { new List<byte[]>(), new List<byte[]>() };
        foreach (var frame in new ulong[] { 1, 2, 3 })
            for (var link = 0; link < 2; link++)
            {
                var packets = ids.SelectMany(id => Enumerable.Range(64 * link, 64)
                    .Where(p => frame != 2 || !dropped.Contains((id, p)))
                    .Select(p => JungfrauPackets.Create(frame, id, p, ModulePixels(frame, id), interfaces: 2))).ToList();
                packets.AddRange(packets.Take(5));
                streams[link].AddRange(packets.OrderBy(_ => random.Next()));
            }
        for (var link = 0; link < 2; link++)
        {
            foreach (var datagram in streams[link])
                halves[link].Assembler.Accept(datagram, 0);
            halves[link].Assembler.Finish();
        }

        foreach (var (assembler, output) in halves)
        {
            Assert.Equal([1UL, 2UL, 3UL], output.Select(o => o.Frame));
            Assert.Equal(modules * JungfrauModule.Pixels / 2, assembler.FramePixels);
            Assert.Equal(15, assembler.Count(PacketVerdict.Duplicate) + assembler.Count(PacketVerdict.Late)); // late: after its frame completed
            Assert.Equal(2, output[1].Missing); // each link lost two packets of frame 2
            Assert.Equal((2, 1, 0, 2L), (assembler.FramesComplete, assembler.FramesIncomplete, assembler.FramesMissed, assembler.PacketsPadded));
            Assert.Equal(3 * modules * 64 - 2, assembler.Count(PacketVerdict.Placed));
        }
        for (var i = 0; i < 3; i++)
        {
            var frame = (ulong)i + 1;
            var joined = ids.SelectMany((_, m) => halves.SelectMany(h => h.Out[i].Pixels.Skip(m * JungfrauModule.Pixels / 2).Take(JungfrauModule.Pixels / 2)))
                .ToArray();
            Assert.Equal(Expected(frame, ids, frame == 2 ? dropped : null), joined);
        }
    }

    [Fact]
    public void With_two_ports_per_module_a_packet_number_past_63_is_rejected()
    {
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [0], Interfaces = 2, Interface = 1 }, f => f.Dispose());
        // packet 64 numbered as a one-link module numbers it, then as the second link does (63)
        Assert.Equal(PacketVerdict.PacketNumberOutOfRange, assembler.Accept(JungfrauPackets.Create(1, 0, 64, ModulePixels(1, 0)), 0));
        Assert.Equal(PacketVerdict.Placed, assembler.Accept(JungfrauPackets.Create(1, 0, 64, ModulePixels(1, 0), interfaces: 2), 0));
        Assert.Equal(1, assembler.PacketsRejected);
    }

    [Fact]
    public void A_frame_pushed_out_of_the_window_goes_on_padded_and_its_stragglers_count_as_late()
    {
        int[] ids = [0];
        var (assembler, output) = NewAssembler(ids, window: 2);
        var frame1 = Packets(1, ids);
        foreach (var p in frame1.Skip(1))
            assembler.Accept(p, 0);
        foreach (var p in Packets(2, ids).Concat(Packets(3, ids)))
            assembler.Accept(p, 0);
        Assert.Equal(PacketVerdict.Late, assembler.Accept(frame1[0], 0));

        Assert.Equal([1UL, 2UL, 3UL], output.Select(o => o.Frame)); // frame 3 completes once frame 1 is out of the way
        Assert.Equal(Expected(1, ids, new HashSet<(int, int)> { (0, 0) }), output[0].Pixels);
        Assert.Equal(1, assembler.Count(PacketVerdict.Late));
    }

    [Fact]
    public void An_incomplete_frame_times_out_in_order_and_frames_with_no_packet_count_as_missed()
    {
        int[] ids = [5];
        var (assembler, output) = NewAssembler(ids, window: 8);
        foreach (var p in Packets(1, ids).Take(100))
            assembler.Accept(p, nowTicks: 10);
        foreach (var p in Packets(4, ids)) // frames 2 and 3 never come
            assembler.Accept(p, nowTicks: 20);
        Assert.Empty(output);

        assembler.Expire(deadlineTicks: 15);
        Assert.Equal([1UL], output.Select(o => o.Frame));
        assembler.Expire(deadlineTicks: 20);
        Assert.Equal([1UL, 4UL], output.Select(o => o.Frame));
        Assert.Equal((1, 1, 2), (assembler.FramesComplete, assembler.FramesIncomplete, assembler.FramesMissed));
        Assert.Equal(28, assembler.PacketsPadded);
    }

    [Fact]
    public void Under_round_robin_a_receiver_assembles_every_nth_frame_counts_its_own_missed_frames_only_and_rejects_the_others()
    {
        // receiver 1 of 3, acquisition frames numbered from 1: its frames are 2, 5, 8, 11, 14 (window of 2)
        int[] ids = [0, 1];
        var output = new List<(ulong Frame, ushort[] Pixels, bool Complete)>();
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = ids, Window = 2, FirstFrameNumber = 2, FrameStep = 3 },
            f =>
            {
                using (f)
                    output.Add((f.FrameNumber, f.Pixels.ToArray(), f.IsComplete));
            });
        var dropped = new HashSet<(int, int)> { (1, 40) };
        foreach (var frame in new ulong[] { 2, 5, 11, 14 }) // frame 8 never comes
            foreach (var packet in Packets(frame, ids))
            {
                var header = SlsDetectorHeader.Read(packet);
                if (frame != 5 || !dropped.Contains((header.ModuleId, (int)header.PacketNumber)))
                    Assert.Equal(PacketVerdict.Placed, assembler.Accept(packet, 0));
            }
        // other receivers' frames, in and beyond the window, move nothing
        var pixels = ModulePixels(3, 0);
        Assert.Equal(PacketVerdict.OtherReceiversFrame, assembler.Accept(JungfrauPackets.Create(3, 0, 0, pixels), 0));
        Assert.Equal(PacketVerdict.OtherReceiversFrame, assembler.Accept(JungfrauPackets.Create(16, 1, 0, pixels), 0));
        Assert.Equal(PacketVerdict.Late, assembler.Accept(JungfrauPackets.Create(1, 0, 0, pixels), 0));
        assembler.Finish();

        Assert.Equal([2UL, 5, 11, 14], output.Select(o => o.Frame));
        Assert.Equal([true, false, true, true], output.Select(o => o.Complete));
        Assert.Equal(Expected(5, ids, dropped), output[1].Pixels);
        Assert.Equal(Expected(14, ids), output[3].Pixels);
        // frame 8 is this receiver's and missed; 3, 4, 6, 7, ... are other receivers' and not counted here
        Assert.Equal((3L, 1L, 1L, 1L), (assembler.FramesComplete, assembler.FramesIncomplete, assembler.FramesMissed, assembler.PacketsPadded));
        Assert.Equal(2, assembler.Count(PacketVerdict.OtherReceiversFrame));
        Assert.Throws<ArgumentException>(() => new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = ids, FrameStep = 2 }, _ => { }));
    }

    [Fact]
    public void Bad_datagrams_are_counted_by_kind_and_change_nothing()
    {
        int[] ids = [0, 1];
        var (assembler, output) = NewAssembler(ids);
        var good = Packets(1, ids);
        var pixels = ModulePixels(1, 0);

        Assert.Equal(PacketVerdict.WrongSize, assembler.Accept(good[0].AsSpan(0, 8000), 0));
        Assert.Equal(PacketVerdict.WrongSize, assembler.Accept(good[0].AsSpan(0, 10), 0));
        Assert.Equal(PacketVerdict.WrongSize, assembler.Accept([.. good[0], 0], 0));
        var eiger = JungfrauPackets.Create(1, 0, 0, pixels);
        eiger[46] = 1;
        Assert.Equal(PacketVerdict.WrongDetectorType, assembler.Accept(eiger, 0));
        Assert.Equal(PacketVerdict.ModuleOutOfRange, assembler.Accept(JungfrauPackets.Create(1, 2, 0, pixels), 0));
        Assert.Equal(PacketVerdict.ModuleOutOfRange, assembler.Accept(JungfrauPackets.Create(1, 65535, 0, pixels), 0));
        var packet200 = JungfrauPackets.Create(1, 0, 0, pixels);
        BitConverter.TryWriteBytes(packet200.AsSpan(12), 200u);
        Assert.Equal(PacketVerdict.PacketNumberOutOfRange, assembler.Accept(packet200, 0));
        // a frame number jump of 10^12 (and the largest there is) is rejected at once: no work proportional to the jump
        Assert.Equal(PacketVerdict.FrameNumberJump, assembler.Accept(JungfrauPackets.Create(1_000_000_000_001, 0, 0, pixels), 0));
        Assert.Equal(PacketVerdict.FrameNumberJump, assembler.Accept(JungfrauPackets.Create(ulong.MaxValue, 1, 5, pixels), 0));

        foreach (var p in good)
            Assert.Equal(PacketVerdict.Placed, assembler.Accept(p, 0));
        assembler.Finish();

        Assert.Equal(9, assembler.PacketsRejected);
        Assert.Equal(3, assembler.Count(PacketVerdict.WrongSize));
        Assert.Equal(2, assembler.Count(PacketVerdict.ModuleOutOfRange));
        Assert.Equal(2, assembler.Count(PacketVerdict.FrameNumberJump));
        Assert.Equal([1UL], output.Select(o => o.Frame));
        Assert.Equal(Expected(1, ids), output[0].Pixels);
        Assert.Equal(0, assembler.FramesMissed);
    }

    [Fact]
    public void Without_a_first_frame_number_the_first_packet_sets_the_origin_and_older_frames_are_late()
    {
        int[] ids = [0];
        var (assembler, output) = NewAssembler(ids, first: null);
        foreach (var p in Packets(500, ids))
            assembler.Accept(p, 0);
        Assert.Equal(PacketVerdict.Late, assembler.Accept(Packets(499, ids)[0], 0));
        Assert.Equal([500UL], output.Select(o => o.Frame));
        Assert.Equal((1, 0), (assembler.FramesComplete, assembler.FramesMissed));
    }

    [Fact]
    public void Every_packet_is_accounted_for_and_frames_leave_in_order_whatever_the_arrival_order()
    {
        // Small frames keep this fast: one module, and packets named only by (frame, packet number, duplicated?).
        var events = Gen.Choose(0, 600).SelectMany(n => Gen.ArrayOf(Gen.Zip(Gen.Choose(1, 12), Gen.Choose(0, 127)), n));
        Prop.ForAll(events.ToArbitrary(), Gen.Choose(1, 6).ToArbitrary(), (arrivals, window) =>
        {
            var handedOn = new List<(ulong Frame, int Caught, int Missing)>();
            var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [0], Window = window, FirstFrameNumber = 1 },
                f => { using (f) handedOn.Add((f.FrameNumber, f.PacketsCaught, f.PacketsMissing)); });
            var pixels = new ushort[JungfrauModule.Pixels];
            var datagram = new byte[JungfrauModule.DatagramBytes];
            foreach (var (frame, packet) in arrivals)
            {
                JungfrauPackets.Write(datagram, (ulong)frame, 0, packet, pixels);
                assembler.Accept(datagram, 0);
            }
            assembler.Finish();
            var ordered = handedOn.Zip(handedOn.Skip(1)).All(p => p.First.Frame < p.Second.Frame);
            var accounted = assembler.Count(PacketVerdict.Placed) + assembler.Count(PacketVerdict.Duplicate)
                            + assembler.Count(PacketVerdict.Late) == arrivals.Length && assembler.PacketsRejected == 0;
            var placedEqualsCaught = handedOn.Sum(h => h.Caught) == assembler.Count(PacketVerdict.Placed);
            var framesAccounted = handedOn.Count == 0
                || assembler.FramesComplete + assembler.FramesIncomplete + assembler.FramesMissed == (long)handedOn[^1].Frame;
            var noDuplicateFrames = handedOn.Select(h => h.Frame).Distinct().Count() == handedOn.Count;
            return ordered && accounted && placedEqualsCaught && framesAccounted && noDuplicateFrames
                   && handedOn.All(h => h.Caught + h.Missing == 128);
        }).QuickCheckThrowOnFailure();
    }
}
