using System.Security.Cryptography;
using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;
using Lima2.Detectors.Simulator;

namespace Lima2.Core.Tests;

public class SimulatorTests
{
    private static GeneratorParams Diffraction(int width = 256, int height = 192, bool noise = true, int peaks = 12) => new()
    {
        Type = GeneratorType.Diffraction,
        Width = width,
        Height = height,
        Diffraction = new DiffractionParams { NbBraggPeaks = peaks, PoissonNoise = noise, Seed = 7, Rings = [new Ring { Radius = 60 }] },
    };

    private static byte[] Render(IFrameSource source, long index)
    {
        var bytes = new byte[source.Info.ByteSize];
        source.Render(index, bytes);
        return bytes;
    }

    [Fact]
    public void A_frame_depends_only_on_its_global_index()
    {
        var first = FrameGenerator.Create(Diffraction());
        var second = FrameGenerator.Create(Diffraction());

        Assert.Equal(Render(first, 5), Render(second, 5));
        Assert.Equal(Render(first, 5), Render(first, 5));
        Assert.NotEqual(Render(first, 5), Render(first, 6));
        Assert.Equal(first.PlantedPeaks(5), second.PlantedPeaks(5));
        Assert.NotEqual(first.PlantedPeaks(5), first.PlantedPeaks(6));
    }

    [Fact]
    public void A_different_seed_gives_different_frames()
    {
        var other = Diffraction() with { Diffraction = Diffraction().Diffraction with { Seed = 8 } };
        Assert.NotEqual(Render(FrameGenerator.Create(Diffraction()), 3), Render(FrameGenerator.Create(other), 3));
    }

    [Fact]
    public void Gaussian_peaks_have_their_height_at_their_centre_and_grow_per_frame()
    {
        var parameters = new GeneratorParams
        {
            Width = 64,
            Height = 48,
            Gauss = new GaussParams { Peaks = [new GaussPeak { X0 = 20, Y0 = 30, Fwhm = 4, Max = 1000 }], GrowFactor = 0.5 },
        };
        var generator = FrameGenerator.Create(parameters);
        using var frame = Frame.FromArray(new ushort[64 * 48], 64, 48);
        generator.Render(2, frame.Data.Span);
        var pixels = frame.Pixels<ushort>();

        Assert.Equal(2000, pixels[30 * 64 + 20]);
        Assert.Equal(1000, pixels[30 * 64 + 22]);
        Assert.Equal(0, pixels[0]);
        Assert.Equal(new PlantedPeak(20, 30, 4, 2000), Assert.Single(generator.PlantedPeaks(2)));
    }

    [Fact]
    public void Bragg_peaks_stand_out_where_they_were_planted()
    {
        var generator = (DiffractionGenerator)FrameGenerator.Create(Diffraction(noise: false) with { PixelType = PixelType.Gray32f });
        var pixels = new float[256 * 192];
        var frame = Frame.FromArray(pixels, 256, 192);
        generator.Render(4, frame.Data.Span);
        var image = frame.Pixels<float>();

        foreach (var peak in generator.PlantedPeaks(4))
        {
            var (x, y) = ((int)Math.Round(peak.X), (int)Math.Round(peak.Y));
            var background = generator.Radial(Math.Sqrt(Math.Pow(x - generator.BeamCenter.X, 2) + Math.Pow(y - generator.BeamCenter.Y, 2)));
            Assert.True(image[y * 256 + x] > background + 0.4 * peak.Height,
                $"peak at {peak.X:F1},{peak.Y:F1}: {image[y * 256 + x]} vs background {background:F1} + height {peak.Height:F0}");
        }
    }

    [Theory]
    [InlineData(4.0)]
    [InlineData(50.0)]
    public void Poisson_noise_has_the_mean_and_variance_of_its_expected_value(double level)
    {
        var parameters = Diffraction(noise: true, peaks: 0) with
        {
            Diffraction = new DiffractionParams { BackgroundOffset = level, BackgroundAmplitude = 0, Rings = [], NbBraggPeaks = 0, Seed = 3 },
        };
        var generator = FrameGenerator.Create(parameters);
        var values = new List<double>();
        for (var i = 0; i < 4; i++)
        {
            var frame = Frame.FromArray(new ushort[256 * 192], 256, 192);
            generator.Render(i, frame.Data.Span);
            foreach (var v in frame.Pixels<ushort>())
                values.Add(v);
        }
        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / values.Count;

        Assert.InRange(mean, level * 0.98, level * 1.02);
        Assert.InRange(variance, level * 0.95, level * 1.05);
    }

    [Theory]
    [InlineData(10, 3)]
    [InlineData(7, 2)]
    [InlineData(2, 3)]
    public async Task Receivers_of_a_round_robin_share_make_every_frame_exactly_once_and_identical_to_one_detector(int total, int receivers)
    {
        var det = new SimulatorDet { Generator = Diffraction(64, 32) };
        var acq = new Acquisition { NbFrames = total, ExpoTime = 1 };
        var reference = FrameGenerator.Create(det.Generator);
        var seen = new Dictionary<long, string>();
        for (var rank = 0; rank < receivers; rank++)
        {
            await using var channel = new SimulatorChannel(acq, det, rank, receivers);
            var start = await channel.StartAsync(default);
            var collector = new Collector(start.Frame);
            var summary = await channel.RunAsync(collector, default);

            Assert.Equal(SimulatorChannel.Share(total, rank, receivers), start.ExpectedFrames);
            Assert.Equal(start.ExpectedFrames, summary.Delivered);
            Assert.Equal(Enumerable.Range(0, (int)summary.Delivered).Select(i => (long)i), collector.Frames.Select(f => f.Local));
            foreach (var (index, _, hash) in collector.Frames)
            {
                Assert.Equal(rank, index % receivers);
                Assert.True(seen.TryAdd(index, hash), $"frame {index} made twice");
            }
        }
        Assert.Equal(Enumerable.Range(0, total).Select(i => (long)i), seen.Keys.Order());
        Assert.All(seen, pair => Assert.Equal(Hash(Render(reference, pair.Key)), pair.Value));
    }

    [Fact]
    public async Task With_prefetch_frame_i_shows_image_i_modulo_p()
    {
        var det = new SimulatorDet { Generator = Diffraction(64, 32), NbPrefetchFrames = 3 };
        await using var channel = new SimulatorChannel(new Acquisition { NbFrames = 7, ExpoTime = 1 }, det);
        var collector = new Collector((await channel.StartAsync(default)).Frame);
        await channel.RunAsync(collector, default);
        var reference = FrameGenerator.Create(det.Generator);

        Assert.All(collector.Frames, f => Assert.Equal(Hash(Render(reference, f.Index % 3)), f.Hash));
        Assert.Equal(reference.PlantedPeaks(1), channel.PlantedPeaks(4));
    }

    [Fact]
    public async Task Software_trigger_releases_frames_per_trigger()
    {
        var acq = new Acquisition { NbFrames = 4, ExpoTime = 1, TriggerMode = TriggerMode.Software, NbFramesPerTrigger = 2 };
        await using var channel = new SimulatorChannel(acq, new SimulatorDet { Generator = Diffraction(16, 16) });
        var collector = new Collector((await channel.StartAsync(default)).Frame);
        var run = channel.RunAsync(collector, default);
        await Task.Delay(50);
        Assert.Empty(collector.Frames);
        channel.Trigger();
        while (collector.Frames.Count < 2)
            await Task.Delay(5);
        await Task.Delay(50);
        Assert.Equal(2, collector.Frames.Count);
        channel.Trigger();
        var summary = await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(4, summary.Delivered);
    }

    [Fact]
    public async Task Stopping_an_endless_acquisition_ends_the_run_and_the_graph_accounts_for_every_frame()
    {
        var det = new SimulatorDet { Generator = Diffraction(64, 32) };
        var acq = new Acquisition { NbFrames = 0, ExpoTime = 100 };
        var proc = new LegacyProcParams
        {
            Statistics = new Statistics { Enabled = true, RectRois = [new RectRoi { Dimensions = new Dimensions { X = 64, Y = 32 } }] },
        };
        await using var channel = new SimulatorChannel(acq, det);
        var start = await channel.StartAsync(default);
        Assert.Null(start.ExpectedFrames);
        await using var graph = GraphBuilder.Build(proc, start.Frame, OverloadPolicy.BackPressure, 1 << 20);
        using var stop = new CancellationTokenSource();
        var running = channel.RunAsync(graph, stop.Token);
        // stopped once frames flow, however slowly a loaded machine makes them (not after a fixed time)
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (graph.Counters.Received <= 10 && DateTime.UtcNow < deadline && !running.IsCompleted)
            await Task.Delay(5);
        stop.Cancel();
        var summary = await running;
        var counters = (await graph.CompleteAsync()).Counters;

        Assert.Equal(ChannelEnd.Stopped, summary.End);
        Assert.True(summary.Delivered > 10);
        Assert.True(counters.Balanced);
        var rows = graph.Find<RoiStatisticsNode>()!.Rows;
        Assert.Equal(counters.Processed, rows.Pop().Length + rows.Lost);
    }

    [Fact]
    public void The_loader_needs_a_reader_from_outside_the_core()
    {
        var det = new SimulatorDet { ImageSource = ImageSource.Loader, Loader = new LoaderParams { BasePath = "/tmp" } };
        var error = Assert.Throws<NotSupportedException>(() => new SimulatorChannel(new Acquisition(), det));
        Assert.Contains("HDF5", error.Message);
    }

    private static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    /// <summary>A target that hashes and releases each frame at once.</summary>
    private sealed class Collector(FrameInfo info) : IFrameTarget
    {
        private readonly FramePool _pool = new(info.ByteSize, 4L * info.ByteSize);

        public List<(long Index, long Local, string Hash)> Frames { get; } = [];

        public FrameInfo InputInfo => info;
        public CancellationToken Aborted => CancellationToken.None;

        public async ValueTask<PooledBuffer?> RentAsync(long frameIndex, CancellationToken cancellationToken) =>
            await _pool.RentAsync(cancellationToken);


        public ValueTask SubmitAsync(Frame frame, CancellationToken cancellationToken)
        {
            using (frame)
                lock (Frames)
                    Frames.Add((frame.Index, frame.ReceiverIndex, Hash(frame.Data.Span)));
            return default;
        }

        public void ReportLost(long frameIndex, string reason) => throw new InvalidOperationException(reason);
    }
}

public class ChannelRunnerTests
{
    [Fact]
    public async Task A_simulated_run_into_a_faulting_graph_stops_the_channel_and_reports_the_fault()
    {
        var det = new SimulatorDet { Generator = new GeneratorParams { Width = 32, Height = 16 } };
        await using var channel = new SimulatorChannel(new Acquisition { NbFrames = 0, ExpoTime = 1 }, det);
        var start = await channel.StartAsync(default);
        await using var graph = GraphBuilder.Build(new FailingProcParams(), start.Frame, OverloadPolicy.BackPressure, 1 << 20);
        var result = await ChannelRunner.RunAsync(channel, graph, default).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.False(result.Succeeded);
        Assert.IsType<GraphFaultedException>(result.Error);
        Assert.Equal(ChannelEnd.Aborted, result.Channel!.End);
        Assert.True(result.Graph.Counters.Balanced);
        Assert.Equal(result.Channel.Delivered, result.Graph.Counters.Received);
    }

    [Fact]
    public async Task A_finite_simulated_run_ends_with_every_frame_processed()
    {
        var det = new SimulatorDet { Generator = new GeneratorParams { Width = 32, Height = 16 } };
        await using var channel = new SimulatorChannel(new Acquisition { NbFrames = 30, ExpoTime = 1 }, det, rank: 1, receivers: 2);
        var start = await channel.StartAsync(default);
        await using var graph = GraphBuilder.Build(new LegacyProcParams(), start.Frame, OverloadPolicy.BackPressure, 1 << 20);
        var result = await ChannelRunner.RunAsync(channel, graph, default);

        Assert.True(result.Succeeded);
        Assert.Equal(15, result.Graph.Counters.Processed);
        Assert.Equal(29, result.Graph.Counters.LastProcessedIndex);
    }
}

public class DropPolicyRunTests
{
    private sealed class SlowSink() : FrameConsumer<bool>("saving")
    {
        public override bool Compute(Frame frame) => true;

        public override async ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken) =>
            await Task.Delay(2, cancellationToken);
    }

    [Fact]
    public async Task A_simulator_overrunning_a_slow_graph_with_drop_policy_sees_every_frame_counted_once()
    {
        var det = new SimulatorDet { Generator = new GeneratorParams { Width = 64, Height = 64 }, NbPrefetchFrames = 4 };
        await using var channel = new SimulatorChannel(new Acquisition { NbFrames = 300, ExpoTime = 1 }, det);
        var start = await channel.StartAsync(default);
        var proc = new LegacyProcParams { Fifo = new Fifo { NbFifoFrames = 2, NbThreads = 1 }, Saving = new SavingParams { Enabled = true } };
        await using var graph = GraphBuilder.Build(proc, start.Frame, OverloadPolicy.Drop, 6L * start.Frame.ByteSize,
            new GraphParts { SinkFactory = (_, _, _) => new SlowSink() });
        var result = await ChannelRunner.RunAsync(channel, graph, default);
        var counters = result.Graph.Counters;

        Assert.True(result.Succeeded);
        Assert.Equal(300, counters.Received);
        Assert.Equal(300, result.Channel!.Delivered + result.Channel.Lost);
        Assert.True(counters.DroppedOverload > 0);
        Assert.Equal(300, counters.Processed + counters.DroppedOverload);
        Assert.Equal(counters.Processed, counters.PerNode["saving"]);
        Assert.InRange(graph.Pool.AllocatedBytes, 0, 6L * start.Frame.ByteSize);
    }
}
