#:project ../../../DeviceServers/Lima2.Detectors/Lima2.Detectors.csproj
#:property TreatWarningsAsErrors=true
#:property Nullable=enable
#:property AllowUnsafeBlocks=true
#:property InvariantGlobalization=true
#:property PublishAot=false
#:property GenerateProgramFile=false

// Per-frame costs of the acquisition core on 2048x2048 gray16 frames (4 Mpx, 8 MiB):
// ROI statistics, profiles, roi_flip_rot, simulator generation, and a whole graph fed by the simulator.
// Usage: dotnet run -c Release tests/Lima2.Core.Tests/bench/core-bench.cs [frames]
using System.Diagnostics;
using Lima2.Core.Frames;
using Lima2.Core.Graph;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;
using Lima2.Detectors.Simulator;

var repeats = args.Length > 0 ? int.Parse(args[0]) : 20;
const int W = 2048, H = 2048;
var info = new FrameInfo(W, H, PixelType.Gray16);
Console.WriteLine($"cores: {Environment.ProcessorCount}, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, frame {info} = {info.ByteSize / 1048576.0:F0} MiB, {repeats} repeats, median shown");

var diffraction = new GeneratorParams { Type = GeneratorType.Diffraction, Width = W, Height = H };
var generator = FrameGenerator.Create(diffraction);
var frame = new Frame(PooledBuffer.Unpooled(new byte[info.ByteSize]), info, 0, 0);
generator.Render(0, frame.Data.Span);

Measure("simulator diffraction + Poisson (parallel rows)", () => generator.Render(1, frame.Data.Span), info.ByteSize);
var quiet = FrameGenerator.Create(diffraction with { Diffraction = diffraction.Diffraction with { PoissonNoise = false } });
Measure("simulator diffraction, no noise (parallel rows)", () => quiet.Render(1, frame.Data.Span), info.ByteSize);
var gauss = FrameGenerator.Create(new GeneratorParams { Width = W, Height = H });
Measure("simulator gauss, 1 peak (parallel rows)", () => gauss.Render(1, frame.Data.Span), info.ByteSize);
generator.Render(0, frame.Data.Span);

var full = PixelRegion.Rectangle(0, 0, W, H, W, H);
Measure("ROI stats: 1 full-frame rect (4 Mpx)", () => RoiMath.Measure(frame, full), info.ByteSize);
var mask = new byte[W * H];
Array.Fill(mask, (byte)1);
for (var i = 0; i < mask.Length; i += 97) mask[i] = 0;
var maskedFull = PixelRegion.Rectangle(0, 0, W, H, W, H, mask);
Measure($"ROI stats: full frame with 1% masked ({maskedFull.Runs.Length} runs)", () => RoiMath.Measure(frame, maskedFull), info.ByteSize);
var ring = PixelRegion.Arc(new ArcRoi { Center = new PointD { X = 1024, Y = 1024 }, R1 = 200, R2 = 1000, A1 = 0, A2 = 360 }, W, H);
Measure($"ROI stats: 1 arc ring r 200..1000 ({ring.Count / 1e6:F2} Mpx)", () => RoiMath.Measure(frame, ring), info.ByteSize);
var stats = RoiStatisticsNode.FromParams(new Statistics
{
    Enabled = true,
    RectRois = Enumerable.Range(0, 16).Select(i => new RectRoi { Topleft = new Point { X = 100 * i, Y = 100 * i }, Dimensions = new Dimensions { X = 256, Y = 256 } }).ToArray(),
    ArcRois = Enumerable.Range(0, 4).Select(i => new ArcRoi { Center = new PointD { X = 1024, Y = 1024 }, R1 = 100 + 200 * i, R2 = 200 + 200 * i, A1 = 90 * i, A2 = 90 * i + 90 }).ToArray(),
}, info, default, 1, 1);
Measure("ROI stats node: 16 rects 256x256 + 4 arc sectors", () => stats.Compute(frame), info.ByteSize);
var profiles = new RoiProfilesNode([new RectRoi { Dimensions = new Dimensions { X = W, Y = H } }, new RectRoi { Dimensions = new Dimensions { X = W, Y = H } }],
    [ProfileDirection.Horizontal, ProfileDirection.Vertical], info, null, 1);
Measure("ROI profiles: full frame horizontal + vertical", () => profiles.Compute(frame), info.ByteSize);
using var pool = new FramePool(info.ByteSize, 4L * info.ByteSize);
var rotate = new RoiFlipRotTransform(info, new RoiFlipRot { Enabled = true, Rotation = Rotation.R90, Flip = Flip.LeftRight }, pool);
Measure("roi_flip_rot: flip + rotate 90", () => rotate.ApplyAsync(frame.Retain(), default).AsTask().Result.Dispose(), info.ByteSize);
var bin = new RoiFlipRotTransform(info, new RoiFlipRot { Enabled = true, Binning = new Binning { X = 2, Y = 2 } }, pool);
Measure("roi_flip_rot: binning 2x2", () => bin.ApplyAsync(frame.Retain(), default).AsTask().Result.Dispose(), info.ByteSize);

// whole graph: simulator (prefetched images, so the copy into the pool is the only per-frame cost) → graph
var frames = 50 * repeats;
var det = new SimulatorDet { Generator = diffraction, NbPrefetchFrames = 8 };
var proc = new LegacyProcParams
{
    Fifo = new Fifo { NbThreads = Math.Max(1, Environment.ProcessorCount / 2), NbFifoFrames = 16 },
    Statistics = new Statistics { Enabled = true, RectRois = [new RectRoi { Dimensions = new Dimensions { X = W, Y = H } }] },
};
await using (var channel = new SimulatorChannel(new Acquisition { NbFrames = frames, ExpoTime = 1 }, det))
{
    var start = await channel.StartAsync(default);
    await using var graph = GraphBuilder.Build(proc, start.Frame, OverloadPolicy.BackPressure, 32L * info.ByteSize);
    for (var i = 0; i < 8; i++) channel.Source.Render(i, new byte[info.ByteSize]);
    var clock = Stopwatch.StartNew();
    var summary = await channel.RunAsync(graph, default);
    var result = await graph.CompleteAsync();
    var seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"{"graph: simulator (prefetch) -> input -> full-frame ROI stats",-62} {frames / seconds,8:F0} frames/s  {frames * (double)info.ByteSize / seconds / 1e9,6:F2} GB/s" +
                      $"  (processed {result.Counters.Processed}, dropped {result.Counters.Dropped}, pool peak {graph.Pool.AllocatedBytes / 1048576} MiB)");
}

void Measure(string what, Action action, long bytes)
{
    action();
    var times = new double[repeats];
    var process = Process.GetCurrentProcess();
    var cpu = process.TotalProcessorTime;
    for (var i = 0; i < repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        action();
        times[i] = clock.Elapsed.TotalMilliseconds;
    }
    process.Refresh();
    var cpuPerFrame = (process.TotalProcessorTime - cpu).TotalMilliseconds / repeats;
    Array.Sort(times);
    var median = times[repeats / 2];
    Console.WriteLine($"{what,-62} {median,8:F2} ms/frame wall (min {times[0],7:F2})  {cpuPerFrame,8:F2} ms/frame CPU  {bytes / times[0] / 1e6,6:F2} GB/s best");
}
