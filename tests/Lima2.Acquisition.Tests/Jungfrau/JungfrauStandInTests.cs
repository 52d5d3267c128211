using System.Net;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;
using Lima2.Detectors.Simulator;

namespace Lima2.Acquisition.Tests.Jungfrau;

/// <summary><c>lima2 stream --jungfrau</c>'s sending side: what the stand-in JUNGFRAU puts in its packets.</summary>
public class JungfrauStandInTests
{
    internal static IFrameSource Diffraction(int modules) => FrameGenerator.Create(new GeneratorParams
    {
        Type = GeneratorType.Diffraction,
        Width = JungfrauModule.Width,
        Height = JungfrauModule.Height * modules,
        PixelType = PixelType.Gray32,
    });

    [Fact]
    public void Its_raw_words_corrected_with_its_own_maps_give_back_the_simulated_photon_counts_in_every_gain_stage()
    {
        var frames = Diffraction(1);
        var model = new JungfrauModel(modules: 1, photonEnergyKeV: 12.4f, seed: 3);
        using var standIn = new JungfrauStandIn(frames, model,
            new JungfrauStandInOptions { Ports = [new IPEndPoint(IPAddress.Loopback, 50001)], Frames = 2 });
        var correction = new JungfrauCorrection(model.Pedestal, model.Gain);
        for (var i = 0; i < 2; i++)
        {
            var raw = standIn.ModuleWords(i)[0];
            var photons = new int[raw.Length];
            correction.ToPhotons(raw, photons, model.PhotonEnergyKeV, thresholdKeV: model.PhotonEnergyKeV / 2);
            var counts = new byte[frames.Info.ByteSize];
            frames.Render(i, counts);
            Assert.Equal(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(counts).ToArray().Select(c => (int)c), photons);
            // the Bragg peaks reach G1 and G2, the background stays in G0
            Assert.All(Enumerable.Range(0, JungfrauGain.Stages), stage => Assert.Contains(raw, w => JungfrauGain.Stage(w) == stage));
        }
    }

    [Fact]
    public void Dark_frames_hold_every_pixel_in_the_stage_of_the_frame_near_its_pedestal()
    {
        var model = new JungfrauModel(modules: 2, seed: 5);
        using var standIn = new JungfrauStandIn(null, model, new JungfrauStandInOptions
        {
            Ports = [new IPEndPoint(IPAddress.Loopback, 50001), new IPEndPoint(IPAddress.Loopback, 50002)],
            Content = JungfrauStandInContent.Dark,
        });
        for (var i = 0; i < 3; i++)
        {
            var words = standIn.ModuleWords(i);
            for (var m = 0; m < 2; m++)
                for (var p = 0; p < JungfrauModule.Pixels; p += 997)
                {
                    Assert.Equal(i, JungfrauGain.Stage(words[m][p]));
                    Assert.InRange(JungfrauGain.Adc(words[m][p]) - model.Pedestal[i][m * JungfrauModule.Pixels + p], -2.5f, 2.5f);
                }
        }
    }

    [Fact]
    public void Remote_addresses_and_frames_of_the_wrong_size_are_refused()
    {
        var model = new JungfrauModel(1);
        var remote = Assert.Throws<ArgumentException>(() => new JungfrauStandIn(Diffraction(1), model,
            new JungfrauStandInOptions { Ports = [new IPEndPoint(IPAddress.Parse("10.0.0.1"), 50001)] }));
        Assert.Contains("loopback only", remote.Message);
        var size = Assert.Throws<ArgumentException>(() => new JungfrauStandIn(Diffraction(2), model,
            new JungfrauStandInOptions { Ports = [new IPEndPoint(IPAddress.Loopback, 50001)] }));
        Assert.Contains("1024x512", size.Message);
    }

    [Fact]
    public async Task Packets_left_out_over_loopback_are_the_ones_the_receiving_side_pads()
    {
        const int frames = 6;
        var model = new JungfrauModel(modules: 2, seed: 7);
        var received = new List<(int Module, ulong Frame, ushort[] Pixels, int Missing)>();
        var assemblers = Enumerable.Range(0, 2).Select(id => new ModuleFrameAssembler(
            new JungfrauAssemblerOptions { ModuleIds = [id], FirstFrameNumber = 1 },
            f =>
            {
                using (f)
                    lock (received)
                        received.Add((id, f.FrameNumber, f.Pixels.ToArray(), f.PacketsMissing));
            })).ToArray();
        var listeners = assemblers.Select(a => new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), a, TimeSpan.FromMilliseconds(500),
            receiveBufferBytes: 4 << 20)).ToArray();
        JungfrauStandIn standIn;
        try
        {
            foreach (var listener in listeners)
                listener.Start();
            standIn = new JungfrauStandIn(Diffraction(2), model, new JungfrauStandInOptions
            {
                Ports = [.. listeners.Select(l => new IPEndPoint(IPAddress.Loopback, l.Port))],
                Frames = frames,
                Rate = 10, // slow enough for the socket buffers of a busy machine
                LossFraction = 0.02,
                Seed = 11,
            });
            await standIn.RunAsync(CancellationToken.None);
            Assert.True(SpinWait.SpinUntil(() => listeners.Sum(l => l.DatagramsReceived) == standIn.PacketsSent, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            foreach (var listener in listeners)
                listener.Dispose();
        }

        Assert.InRange(standIn.PacketsDropped, 1, frames * 2 * 128 / 10);
        Assert.Equal(frames * 2 * 128, standIn.PacketsSent + standIn.PacketsDropped);
        Assert.Equal(standIn.PacketsDropped, assemblers.Sum(a => a.PacketsPadded));
        Assert.Equal(standIn.PacketsDropped, received.Sum(r => r.Missing));
        foreach (var (module, frame, pixels, _) in received)
        {
            var sent = standIn.ModuleWords((long)frame - 1)[module];
            for (var packet = 0; packet < JungfrauModule.PacketsPerFrame; packet++)
            {
                var got = pixels.AsSpan(packet * JungfrauModule.PixelsPerPacket, JungfrauModule.PixelsPerPacket);
                var padded = got.IndexOfAnyExcept(ModuleFrameAssembler.PaddingValue) < 0;
                Assert.True(padded || got.SequenceEqual(sent.AsSpan(packet * JungfrauModule.PixelsPerPacket, JungfrauModule.PixelsPerPacket)),
                    $"module {module} frame {frame} packet {packet} is neither the one sent nor padding");
            }
        }
        Assert.Equal(frames * 2, received.Count);
    }
}
