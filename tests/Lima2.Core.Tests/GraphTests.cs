using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;

namespace Lima2.Core.Tests;

public class GraphTests
{
    private static readonly FrameInfo Small = new(16, 8, PixelType.Gray16);

    internal static async Task FeedAsync(IFrameTarget target, int count, int receivers = 1, int rank = 0,
        Func<long, ushort>? value = null, CancellationToken cancellationToken = default)
    {
        long local = 0;
        for (long index = rank; local < count; index += receivers, local++)
        {
            var buffer = await target.RentAsync(index, cancellationToken);
            if (buffer is null)
                continue;
            var frame = new Frame(buffer.Value, target.InputInfo, index, local);
            frame.Pixels<ushort>().Fill(value?.Invoke(index) ?? (ushort)(index % 1000));
            await target.SubmitAsync(frame, cancellationToken);
        }
    }

    [Fact]
    public async Task Every_frame_is_processed_and_counted_when_nothing_overloads()
    {
        var proc = new LegacyProcParams
        {
            Statistics = new Statistics { Enabled = true, RectRois = [new RectRoi { Dimensions = new Dimensions { X = 4, Y = 4 } }] },
        };
        await using var graph = GraphBuilder.Build(proc, Small, OverloadPolicy.BackPressure, 1 << 20);
        await FeedAsync(graph, 50);
        var summary = await graph.CompleteAsync();

        Assert.Equal(50, summary.Counters.Received);
        Assert.Equal(50, summary.Counters.Processed);
        Assert.Equal(0, summary.Counters.Dropped);
        Assert.Equal(49, summary.Counters.LastProcessedIndex);
        Assert.Equal(50, summary.Counters.PerNode["input"]);
        Assert.Equal(50, summary.Counters.PerNode["roi_statistics"]);
        Assert.Equal(0, graph.Pool.InUse);
    }

    [Fact]
    public async Task Roi_rows_come_out_in_frame_order_with_frame_and_receiver_indices()
    {
        var proc = new LegacyProcParams
        {
            Fifo = new Fifo { NbThreads = 4 },
            Statistics = new Statistics
            {
                Enabled = true,
                RectRois = [new RectRoi { Dimensions = new Dimensions { X = 2, Y = 2 } }],
                ArcRois = [new ArcRoi { Center = new PointD { X = 8, Y = 4 }, R1 = 0, R2 = 2, A1 = 0, A2 = 360 }],
            },
        };
        await using var graph = GraphBuilder.Build(proc, Small, OverloadPolicy.BackPressure, 1 << 20);
        await FeedAsync(graph, 40, receivers: 3, rank: 1);
        await graph.CompleteAsync();
        var node = graph.Find<RoiStatisticsNode>()!;
        Assert.All(node.Latest, row => Assert.Equal(1 + 3 * 39, row.FrameIdx));
        var rows = node.Rows.Pop();

        Assert.Equal(2, node.Latest.Length);
        Assert.Equal(80, rows.Length);
        for (var i = 0; i < 40; i++)
        {
            var global = 1 + 3 * i;
            Assert.All(rows.AsSpan(2 * i, 2).ToArray(), row =>
            {
                Assert.Equal(global, row.FrameIdx);
                Assert.Equal(i, row.RecvIdx);
                Assert.Equal(global % 1000, row.Avg);
                Assert.Equal(0, row.Std);
            });
        }
    }

    private sealed class SlowSink(TimeSpan delay) : FrameConsumer<bool>("saving")
    {
        public List<long> Written { get; } = [];
        public bool Completed { get; private set; }

        public override bool Compute(Frame frame) => true;

        public override async ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken)
        {
            await Task.Delay(delay, cancellationToken);
            Written.Add(frame.Index);
        }

        public override ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            Completed = true;
            return default;
        }
    }

    private static LegacyProcParams Saving(int fifo = 4) => new()
    {
        Fifo = new Fifo { NbFifoFrames = fifo, NbThreads = 1 },
        Saving = new SavingParams { Enabled = true },
    };

    [Fact]
    public async Task A_slow_sink_with_drop_policy_drops_frames_and_the_counters_add_up()
    {
        var sink = new SlowSink(TimeSpan.FromMilliseconds(5));
        var parts = new GraphParts { SinkFactory = (_, _, _) => sink };
        await using var graph = GraphBuilder.Build(Saving(), Small, OverloadPolicy.Drop, 8 * Small.ByteSize, parts);
        await FeedAsync(graph, 200);
        var summary = await graph.CompleteAsync();

        Assert.Equal(200, summary.Counters.Received);
        Assert.True(summary.Counters.DroppedOverload > 0, "the sink is slower than the feed: some frames must drop");
        Assert.Equal(200, summary.Counters.Processed + summary.Counters.Dropped);
        Assert.Equal(summary.Counters.Processed, sink.Written.Count);
        Assert.Equal(summary.Counters.Processed, summary.Counters.PerNode["saving"]);
        Assert.Equal(sink.Written.Order(), sink.Written);
        Assert.True(sink.Completed);
    }

    [Fact]
    public async Task A_slow_sink_with_back_pressure_keeps_every_frame_and_memory_under_the_cap()
    {
        var sink = new SlowSink(TimeSpan.FromMilliseconds(1));
        var parts = new GraphParts { SinkFactory = (_, _, _) => sink };
        const int cap = 6;
        await using var graph = GraphBuilder.Build(Saving(), Small, OverloadPolicy.BackPressure, cap * Small.ByteSize, parts);
        var peak = 0;
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, graph.Pool.InUse);
                await Task.Yield();
            }
        });
        await FeedAsync(graph, 100);
        var summary = await graph.CompleteAsync();
        await stop.CancelAsync();
        await watcher;

        Assert.Equal(100, summary.Counters.Processed);
        Assert.Equal(0, summary.Counters.Dropped);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), sink.Written);
        Assert.InRange(graph.Pool.AllocatedBytes, Small.ByteSize, cap * Small.ByteSize);
        Assert.InRange(peak, 1, cap);
    }

    private sealed class FailingSink(long failAt) : FrameConsumer<bool>("saving")
    {
        public override bool Compute(Frame frame) => true;

        public override ValueTask CommitAsync(Frame frame, bool result, CancellationToken cancellationToken) =>
            frame.Index == failAt ? throw new IOException("disk full") : default;
    }

    [Fact]
    public async Task The_first_node_failure_faults_the_graph_names_node_and_frame_and_accounts_for_every_frame()
    {
        var parts = new GraphParts { SinkFactory = (_, _, _) => new FailingSink(7) };
        await using var graph = GraphBuilder.Build(Saving(), Small, OverloadPolicy.BackPressure, 16 * Small.ByteSize, parts);
        var fed = 0;
        for (var i = 0; i < 100 && !graph.Aborted.IsCancellationRequested; i++, fed++)
            await FeedOne(graph, i);
        var error = await Assert.ThrowsAsync<GraphFaultedException>(() => graph.CompleteAsync());

        Assert.Contains("'saving'", error.Message);
        Assert.Contains("frame 7", error.Message);
        Assert.Contains("disk full", error.Message);
        Assert.IsType<IOException>(error.InnerException);
        Assert.Equal(fed, error.Summary.Counters.Received);
        Assert.True(error.Summary.Counters.Balanced);
        Assert.Equal(7, error.Summary.Counters.Processed);
        Assert.True(error.Summary.Counters.DroppedFault >= 1);
        Assert.Equal(0, graph.Pool.InUse);
    }

    private static async Task FeedOne(FrameGraph graph, long index)
    {
        var buffer = await graph.RentAsync(index, default);
        await graph.SubmitAsync(new Frame(buffer!.Value, graph.InputInfo, index, index), default);
    }

    [Fact]
    public async Task The_failing_pipeline_faults_on_its_first_frame()
    {
        await using var graph = GraphBuilder.Build(new FailingProcParams(), Small, OverloadPolicy.BackPressure, 1 << 20);
        await FeedAsync(graph, 3);
        var error = await Assert.ThrowsAsync<GraphFaultedException>(() => graph.CompleteAsync());

        Assert.Contains("'failing'", error.Message);
        Assert.Equal(3, error.Summary.Counters.DroppedFault);
        Assert.Equal(0, error.Summary.Counters.Processed);
    }

    [Fact]
    public async Task Abort_releases_queued_frames_and_counts_them_dropped()
    {
        var sink = new SlowSink(TimeSpan.FromMilliseconds(20));
        await using var graph = GraphBuilder.Build(Saving(fifo: 16), Small, OverloadPolicy.BackPressure, 32 * Small.ByteSize,
            new GraphParts { SinkFactory = (_, _, _) => sink });
        await FeedAsync(graph, 20);
        graph.Abort("stopped by the user");
        var summary = await graph.CompleteAsync();

        Assert.Equal("stopped by the user", summary.AbortReason);
        Assert.True(summary.Counters.Balanced);
        Assert.True(summary.Counters.DroppedFault > 0);
        Assert.Equal(0, graph.Pool.InUse);
    }

    [Fact]
    public async Task Frames_lost_by_the_channel_count_as_received_and_dropped()
    {
        await using var graph = GraphBuilder.Build(new LegacyProcParams(), Small, OverloadPolicy.BackPressure, 1 << 20);
        await FeedAsync(graph, 5);
        graph.ReportLost(5, "truncated message");
        var summary = await graph.CompleteAsync();

        Assert.Equal(6, summary.Counters.Received);
        Assert.Equal(1, summary.Counters.DroppedLost);
        Assert.True(summary.Counters.Balanced);
    }

    private sealed class JitterTransform(FrameInfo info) : IFrameTransform
    {
        public string Name => "jitter";
        public FrameInfo Output => info;

        public async ValueTask<Frame> ApplyAsync(Frame input, CancellationToken cancellationToken)
        {
            await Task.Delay(Random.Shared.Next(0, 4), cancellationToken);
            return input;
        }
    }

    [Fact]
    public async Task Parallel_steps_keep_the_receiver_order_for_sinks_and_rows()
    {
        var sink = new SlowSink(TimeSpan.Zero);
        var stats = new RoiStatisticsNode([PixelRegion.Rectangle(0, 0, 1, 1, Small.Width, Small.Height)], 100, parallelism: 4);
        var options = new GraphOptions { Parallelism = 4, EntryCapacity = 8, MemoryCapBytes = 32 * Small.ByteSize };
        await using var graph = new FrameGraph(Small, [new JitterTransform(Small)], [stats, sink], options);
        await FeedAsync(graph, 60);
        var summary = await graph.CompleteAsync();

        Assert.Equal(60, summary.Counters.Processed);
        Assert.Equal(Enumerable.Range(0, 60).Select(i => (long)i), sink.Written);
        Assert.Equal(Enumerable.Range(0, 60), stats.Rows.Pop().Select(r => r.FrameIdx));
    }
}
