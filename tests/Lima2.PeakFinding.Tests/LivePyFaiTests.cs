using System.Globalization;
using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.TestSupport;

namespace Lima2.PeakFinding.Tests;

/// <summary>pyFAI 0.21.3 running beside us on a frame made now (numpy, another seed), on the same PoCL device.</summary>
public sealed class LivePyFaiTests
{
    /// <param name="infinite">the frame as float32 with one +Inf pixel (what a Jungfrau gain of 0 gives), not masked</param>
    [Theory]
    [InlineData(false, "opencl")]
    [InlineData(true, "opencl")]
    [InlineData(true, "reference")]
    public void A_fresh_frame_gives_pyFAIs_peaks_on_the_same_device(bool infinite, string backend)
    {
        var dir = Directory.CreateTempSubdirectory("lima2-live-");
        try
        {
            var framePath = Path.Combine(dir.FullName, "frame.npy");
            var maskPath = Path.Combine(dir.FullName, "mask.npy");
            // 600x500 frame: background 5 + 100·exp(−r/150), a masked gap, 25 Gaussian peaks, Poisson noise
            Python.Eval($$"""
                import numpy
                rng = numpy.random.default_rng(20261122)
                h, w = 600, 500
                i, j = numpy.mgrid[0:h, 0:w]
                r = numpy.hypot(i - 290.2, j - 240.7)
                e = 5 + 100 * numpy.exp(-r / 150)
                for _ in range(25):
                    pr, pc = rng.uniform(10, h - 10), rng.uniform(10, w - 10)
                    s = rng.uniform(0.7, 1.3)
                    e += rng.uniform(300, 5000) * numpy.exp(-((i - pr) ** 2 + (j - pc) ** 2) / (2 * s * s)) / (2 * numpy.pi * s * s)
                img = rng.poisson(e).astype(numpy.int32)
                mask = numpy.zeros((h, w), numpy.uint8)
                mask[300:306, :] = 1
                img[mask == 1] = -1
                if {{(infinite ? "True" : "False")}}:
                    img = img.astype(numpy.float32)
                    img[100, 200] = numpy.inf
                numpy.save("{{framePath}}", img)
                numpy.save("{{maskPath}}", mask)
                """);
            var frames = NpyFile.Read(framePath);
            var mask = NpyFile.Read(maskPath).Data[..(600 * 500)];
            var geometry = new Geometry(0.1, 290.7 * 75e-6, 241.2 * 75e-6, 0, 0, 0, 75e-6, 75e-6);
            var p = new FaiParams { CutoffPick = 4, Connected = 3, PatchSize = 3, Dummy = -1, DeltaDummy = 0.5, Pyfai0213Compat = true };
            var model = PeakFinderModel.Create(500, 600, geometry, mask, p);
            var poni = Path.Combine(dir.FullName, "g.poni");
            File.WriteAllText(poni, PyFaiOracle.Poni(geometry, 600, 500));

            var script = PyFaiOracle.WriteScript();
            var cpu = Ocl.Cpu;
            var output = Python.Run(script, [framePath, poni, model.NbBins.ToString(CultureInfo.InvariantCulture), PyFaiOracle.Params(p),
                "--mask", maskPath, "--platform", cpu.Platform.Index.ToString(CultureInfo.InvariantCulture), "--device", cpu.Index.ToString(CultureInfo.InvariantCulture)],
                TimeSpan.FromSeconds(120));
            File.Delete(script);
            using var doc = JsonDocument.Parse(output[output.IndexOf('{')..]);
            var expected = doc.RootElement.GetProperty("frames")[0].GetProperty("peaks").EnumerateArray()
                .Select(x => (Index: x[0].GetInt32(), Pos0: x[1].GetDouble(), Pos1: x[2].GetDouble(), I: x[3].GetDouble())).ToList();

            var type = infinite ? PixelType.Gray32f : PixelType.Gray32s;
            using var finder = PeakFinder.Create(model, type, backend == "opencl" ? Ocl.Options : Ocl.Reference);
            using var frame = new Frame(PooledBuffer.Unpooled(frames.Data), new FrameInfo(500, 600, type), 0, 0);
            var ours = finder.Process(frame).Peaks;

            Assert.True(expected.Count >= 20, $"pyFAI found only {expected.Count} peaks");
            Assert.Equal(expected.Select(e => e.Index), ours.Select(o => o.Index));
            foreach (var (e, o) in expected.Zip(ours))
            {
                Assert.Equal(e.Pos0, o.Pos0, 1e-3);
                Assert.Equal(e.Pos1, o.Pos1, 1e-3);
                Assert.Equal(e.I, o.Intensity, 1e-4 * Math.Abs(e.I) + 1e-3);
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
