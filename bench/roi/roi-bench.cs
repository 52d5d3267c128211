#:project ../../DeviceServers/Lima2.Core/Lima2.Core.csproj
#:property TreatWarningsAsErrors=true
#:property Nullable=enable
#:property InvariantGlobalization=true
#:property PublishAot=false
#:property TieredCompilation=false

// ROI statistics per 4 Mpx gray16 frame, single thread (issue 11 Deliver 2): µs per frame and GB/s of frame read.
// Usage: dotnet run -c Release bench/roi/roi-bench.cs [repeats]
using System.Diagnostics;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Processing;

var repeats = args.Length > 0 ? int.Parse(args[0]) : 50;
const int W = 2048, H = 2048;
var random = new Random(1);
var pixels = new ushort[W * H];
for (var i = 0; i < pixels.Length; i++)
    pixels[i] = (ushort)(random.Next(0, 200) + (i % 97 == 0 ? random.Next(0, 60000) : 0)); // background and hot spots
using var frame = Frame.FromArray(pixels, W, H);
Console.WriteLine($"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}, " +
                  $"{W}x{H} gray16 ({frame.Info.ByteSize / 1048576.0:F0} MiB), {repeats} repeats, median and best, one thread");

var mask = new byte[W * H];
Array.Fill(mask, (byte)1);
for (var i = 0; i < mask.Length; i += 97) mask[i] = 0;
var statistics = new Statistics
{
    Enabled = true,
    RectRois = Enumerable.Range(0, 16).Select(i => new RectRoi { Topleft = new Point { X = 100 * i, Y = 100 * i }, Dimensions = new Dimensions { X = 256, Y = 256 } }).ToArray(),
    ArcRois = Enumerable.Range(0, 4).Select(i => new ArcRoi { Center = new PointD { X = 1024, Y = 1024 }, R1 = 100 + 200 * i, R2 = 200 + 200 * i, A1 = 90 * i, A2 = 90 * i + 90 }).ToArray(),
};
var issueCase = new Statistics
{
    Enabled = true,
    RectRois = [new RectRoi { Topleft = new Point { X = 100, Y = 100 }, Dimensions = new Dimensions { X = 200, Y = 200 } }, new RectRoi { Dimensions = new Dimensions { X = W, Y = H } }],
};
ReadLimit();
Run("1 full-frame rect", RoiStatisticsNode.FromParams(new Statistics { Enabled = true, RectRois = [new RectRoi { Dimensions = new Dimensions { X = W, Y = H } }] }, frame.Info, default, 1, 1));
Run("full frame, 1% masked", RoiStatisticsNode.FromParams(new Statistics { Enabled = true, RectRois = [new RectRoi { Dimensions = new Dimensions { X = W, Y = H } }] }, frame.Info, mask, 1, 1));
Run("lima2 bench ROIs: 200x200 + whole frame", RoiStatisticsNode.FromParams(issueCase, frame.Info, default, 1, 1));
Run("16 rects 256x256 + 4 arc sectors", RoiStatisticsNode.FromParams(statistics, frame.Info, default, 1, 1));

// the limit beside the figures: one thread only reading the frame (OR of all its 256-bit words)
void ReadLimit()
{
    var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, System.Runtime.Intrinsics.Vector256<ulong>>(frame.Data.Span);
    var times = new double[repeats];
    var (a, b, c, d) = (System.Runtime.Intrinsics.Vector256<ulong>.Zero, System.Runtime.Intrinsics.Vector256<ulong>.Zero,
        System.Runtime.Intrinsics.Vector256<ulong>.Zero, System.Runtime.Intrinsics.Vector256<ulong>.Zero);
    for (var i = 0; i < repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        for (var k = 0; k + 3 < words.Length; k += 4)
        {
            a |= words[k];
            b |= words[k + 1];
            c |= words[k + 2];
            d |= words[k + 3];
        }
        times[i] = clock.Elapsed.TotalMicroseconds;
    }
    var seen = a | b | c | d;
    Array.Sort(times);
    Console.WriteLine($"{"limit: read the frame once (OR of words)",-42} {times[repeats / 2],8:F0} µs median {times[0],8:F0} µs best  " +
                      $"{frame.Info.ByteSize / times[0] / 1e3,6:F1} GB/s (best) {(seen == default ? "" : " ")}");
}

void Run(string what, RoiStatisticsNode node)
{
    node.Compute(frame);
    var times = new double[repeats];
    for (var i = 0; i < repeats; i++)
    {
        var clock = Stopwatch.StartNew();
        node.Compute(frame);
        times[i] = clock.Elapsed.TotalMicroseconds;
    }
    Array.Sort(times);
    var pixelsRead = node.Regions.Sum(r => r.Count);
    Console.WriteLine($"{what,-42} {times[repeats / 2],8:F0} µs median {times[0],8:F0} µs best  " +
                      $"{pixelsRead * 2 / times[0] / 1e3,6:F1} GB/s of ROI pixels (best)");
}
