using System.Globalization;
using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;

namespace Lima2.PeakFinding.Tests;

/// <summary>The README demo's diffraction frames (simulator) through our finder and through pyFAI 0.21.3.</summary>
public sealed class SimulatorFrameTests
{
    private const int Frames = 40;

    /// <summary>The demo's frames: 512x512 gray16, radial background, a ring at 150 px, 12 Bragg peaks, Poisson noise.</summary>
    private static DiffractionGenerator DemoGenerator()
    {
        var acq = ParamsDocument.Parse<AcqParams<SimulatorDet>>(File.ReadAllText(Path.Combine(RepoPaths.Root, "config/demo/acq_params.json")));
        return (DiffractionGenerator)FrameGenerator.Create(acq.Det.Generator);
    }

    /// <summary>What the SMX pipeline assumes for simulator frames (Lima2.Server's PeakFindingNode.SimulatorGeometry).</summary>
    private static Geometry SimulatorGeometry(FrameInfo frame)
    {
        const double pixel = FrameGenerator.PixelSize;
        return new Geometry(DiffractionGenerator.Distance, frame.Height / 2.0 * pixel, frame.Width / 2.0 * pixel, 0, 0, 0, pixel, pixel);
    }

    [Fact]
    public void The_demo_frames_give_the_planted_peaks_and_the_same_peaks_as_pyFAI_with_the_default_bins()
    {
        var generator = DemoGenerator();
        var info = generator.Info;
        var geometry = SimulatorGeometry(info);
        // the demo's fai block, bins left to the model
        var fai = new FaiParams { ErrorModel = ErrorModel.Poisson, CutoffClip = 5, Cycle = 5, CutoffPick = 5, Noise = 1, PatchSize = 3, Connected = 3 };
        var model = PeakFinderModel.Create(info.Width, info.Height, geometry, null, fai);
        using var finder = PeakFinder.Create(model, info.PixelType, Ocl.Reference);

        var stack = new byte[Frames * info.ByteSize];
        var ours = new List<Peak[]>();
        var planted = 0;
        var unmatched = new List<string>();
        for (var i = 0; i < Frames; i++)
        {
            var pixels = stack.AsMemory(i * info.ByteSize, info.ByteSize);
            generator.Render(i, pixels.Span);
            using var frame = new Frame(PooledBuffer.Unpooled(pixels.ToArray()), info, i, i);
            var peaks = finder.Process(frame).Peaks.ToArray();
            ours.Add(peaks);
            var truth = generator.PlantedPeaks(i);
            planted += truth.Count;
            unmatched.AddRange(truth.Where(t => !peaks.Any(p => Math.Abs(p.Pos0 - t.Y) <= 2 && Math.Abs(p.Pos1 - t.X) <= 2))
                .Select(t => $"frame {i}: planted ({t.Y:F1}, {t.X:F1}) not found"));
            unmatched.AddRange(peaks.Where(p => !truth.Any(t => Math.Abs(p.Pos0 - t.Y) <= 2 && Math.Abs(p.Pos1 - t.X) <= 2))
                .Select(p => $"frame {i}: extra peak at ({p.Pos0:F1}, {p.Pos1:F1}), {Radius(generator, p):F1} px from the beam centre"));
        }
        var found = ours.Sum(p => p.Length);
        Assert.True(Math.Abs(found - planted) <= planted * 0.02,
            $"{found} peaks for {planted} planted with {model.NbBins} bins:\n{string.Join("\n", unmatched.Take(20))}");

        var pyfai = PyFaiPeaks(stack, info, geometry, model.NbBins, fai);
        for (var i = 0; i < Frames; i++)
            Assert.Equal(pyfai[i], ours[i].Select(p => p.Index).Order().ToArray());
    }

    private static double Radius(DiffractionGenerator generator, Peak p) =>
        Math.Sqrt(Math.Pow(p.Pos0 - generator.BeamCenter.Y, 2) + Math.Pow(p.Pos1 - generator.BeamCenter.X, 2));

    /// <summary>pyFAI's peak pixels (sorted flat indices) per frame, with the same bins and parameters.</summary>
    private static int[][] PyFaiPeaks(byte[] stack, FrameInfo info, Geometry geometry, int bins, FaiParams fai)
    {
        var dir = Directory.CreateTempSubdirectory("lima2-simframes-");
        var script = PyFaiOracle.WriteScript();
        try
        {
            var frames = Path.Combine(dir.FullName, "frames.npy");
            NpyFile.Write(frames, stack, info.PixelType.ToNumpy(), Frames, info.Height, info.Width);
            var poni = Path.Combine(dir.FullName, "g.poni");
            File.WriteAllText(poni, PyFaiOracle.Poni(geometry, info.Height, info.Width));
            var cpu = Ocl.Cpu;
            var output = Python.Run(script, [frames, poni, bins.ToString(CultureInfo.InvariantCulture), PyFaiOracle.Params(fai),
                "--platform", cpu.Platform.Index.ToString(CultureInfo.InvariantCulture), "--device", cpu.Index.ToString(CultureInfo.InvariantCulture)],
                TimeSpan.FromSeconds(180));
            using var doc = JsonDocument.Parse(output[output.IndexOf('{')..]);
            return doc.RootElement.GetProperty("frames").EnumerateArray()
                .Select(f => f.GetProperty("peaks").EnumerateArray().Select(x => x[0].GetInt32()).Order().ToArray()).ToArray();
        }
        finally
        {
            File.Delete(script);
            dir.Delete(true);
        }
    }

    [Fact]
    public async Task The_simulators_metadata_gives_the_geometry_the_SMX_pipeline_assumes_for_the_demo()
    {
        var acq = ParamsDocument.Parse<AcqParams<SimulatorDet>>(File.ReadAllText(Path.Combine(RepoPaths.Root, "config/demo/acq_params.json")));
        await using var channel = new SimulatorChannel(acq.Acq, acq.Det);
        var start = await channel.StartAsync(CancellationToken.None);
        Assert.Equal(SimulatorGeometry(start.Frame), Geometry.FromMetadata(start.Metadata));
    }

    [Fact]
    public async Task With_the_beam_off_the_frame_centre_the_channels_geometry_finds_the_planted_peaks_and_the_frame_centre_does_not()
    {
        var acq = ParamsDocument.Parse<AcqParams<SimulatorDet>>(File.ReadAllText(Path.Combine(RepoPaths.Root, "config/demo/acq_params.json")));
        var det = acq.Det with
        {
            Generator = acq.Det.Generator with
            {
                Diffraction = acq.Det.Generator.Diffraction with { BeamCenter = new PointD { X = 180.3, Y = 300.7 } },
            },
        };
        await using var channel = new SimulatorChannel(acq.Acq, det);
        var start = await channel.StartAsync(CancellationToken.None);
        var generator = (DiffractionGenerator)channel.Source;
        var info = start.Frame;
        var fai = new FaiParams { ErrorModel = ErrorModel.Poisson, CutoffClip = 5, Cycle = 5, CutoffPick = 5, Noise = 1, PatchSize = 3, Connected = 3 };

        int Count(Geometry geometry)
        {
            using var finder = PeakFinder.Create(PeakFinderModel.Create(info.Width, info.Height, geometry, null, fai), info.PixelType, Ocl.Reference);
            var found = 0;
            for (var i = 0; i < 10; i++)
            {
                var pixels = new byte[info.ByteSize];
                generator.Render(i, pixels);
                using var frame = new Frame(PooledBuffer.Unpooled(pixels), info, i, i);
                found += finder.Process(frame).NbPeaks;
            }
            return found;
        }
        var planted = Enumerable.Range(0, 10).Sum(i => generator.PlantedPeaks(i).Count);
        var fromChannel = Count(Geometry.FromMetadata(start.Metadata)!);
        var fromFrameCentre = Count(SimulatorGeometry(info));
        // 129 for 120: frame 2 has a bright peak in the far corner, where the short arcs make small bins that
        // sigma clipping empties (as pyFAI does); the frame centre's geometry turns the whole ring into peaks (~2500)
        Assert.True(fromChannel >= planted && fromChannel <= planted * 1.1, $"{fromChannel} peaks for {planted} planted");
        Assert.True(fromFrameCentre > planted * 5, $"{fromFrameCentre} peaks with the frame centre for {planted} planted");
    }
}
