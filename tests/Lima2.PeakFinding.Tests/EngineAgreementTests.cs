using Lima2.Core.Frames;

namespace Lima2.PeakFinding.Tests;

/// <summary>The OpenCL kernels and the C# reference give the same results for every feature.</summary>
public sealed class EngineAgreementTests
{
    public static TheoryData<string> Features() => ["plain", "legacy", "dark+flat+solid+polarization+absorption", "variance", "azimuthal", "hybrid", "uint16", "float+nan", "jungfrau", "5x5+radius_max", "dummy"];

    [Theory]
    [MemberData(nameof(Features))]
    public void OpenCL_and_the_CSharp_reference_agree(string feature)
    {
        var counts = Synthetic.Counts(7);
        var p = new FaiParams { CutoffPick = 3.5, Connected = 2 };
        var c = Calibration.None;
        Frame frame = Synthetic.Frame(counts);
        var type = PixelType.Gray32s;
        switch (feature)
        {
            case "legacy": p = p with { Pyfai0213Compat = true }; break;
            case "dark+flat+solid+polarization+absorption":
                c = new Calibration { Dark = Synthetic.Field(1, 0, 5), Flat = Synthetic.Field(2, 0.9f, 1.1f), SolidAngle = Synthetic.Field(3, 0.95f, 1f),
                    Polarization = Synthetic.Field(4, 0.9f, 1f), Absorption = Synthetic.Field(5, 0.98f, 1f) };
                p = p with { NormalizationFactor = 1.5 };
                break;
            case "variance":
                c = new Calibration { Variance = counts.Select(v => (float)Math.Max(v, 1) * 1.1f).ToArray(), DarkVariance = Synthetic.Field(6, 0, 1) };
                p = p with { ErrorModel = ErrorModel.Variance, VariancePath = "in memory" };
                break;
            case "azimuthal": p = p with { ErrorModel = ErrorModel.Azimuthal }; break;
            case "hybrid": p = p with { ErrorModel = ErrorModel.Hybrid }; break;
            case "uint16":
                frame = Frame.FromArray(counts.Select(v => (ushort)v).ToArray(), Synthetic.Width, Synthetic.Height);
                type = PixelType.Gray16;
                break;
            case "float+nan":
                var f = counts.Select(v => (float)v).ToArray();
                for (var i = 0; i < f.Length; i += 97) f[i] = float.NaN;
                frame = Frame.FromArray(f, Synthetic.Width, Synthetic.Height);
                type = PixelType.Gray32f;
                break;
            case "jungfrau":
                // G0 for most pixels, G1 (bits 01) for the strongest: raw = stage << 14 | adc
                var gain = Enumerable.Repeat(40f, Synthetic.Width * Synthetic.Height).Concat(Enumerable.Repeat(4f, Synthetic.Width * Synthetic.Height))
                    .Concat(Enumerable.Repeat(0.4f, Synthetic.Width * Synthetic.Height)).ToArray();
                var pedestal = Enumerable.Repeat(1000f, 3 * Synthetic.Width * Synthetic.Height).ToArray();
                var raw = counts.Select(v => v * 12.4f * 40 + 1000 < 16000 ? (ushort)(v * 12.4f * 40 + 1000) : (ushort)(1 << 14 | (int)(v * 12.4f * 4 + 1000))).ToArray();
                c = new Calibration { Jungfrau = new JungfrauCorrection(gain, pedestal, 12.4) };
                frame = Frame.FromArray(raw, Synthetic.Width, Synthetic.Height);
                type = PixelType.Gray16;
                break;
            case "5x5+radius_max": p = p with { PatchSize = 5, Connected = 4, RadiusMax = 100 * 75e-6 }; break;
            case "dummy":
                for (var i = 0; i < counts.Length; i += 13) counts[i] = -1;
                frame = Synthetic.Frame(counts);
                p = p with { Dummy = -1, DeltaDummy = 0.5 };
                break;
        }
        var model = Synthetic.Model(p, c);
        using var ocl = PeakFinder.Create(model, type, Ocl.Options);
        using var reference = PeakFinder.Create(model, type, Ocl.Reference);
        var a = ocl.Process(frame);
        var b = reference.Process(frame);
        frame.Dispose();

        Assert.True(b.NbPeaks >= 3, $"{b.NbPeaks} peaks: the case must exercise picking");
        Assert.Equal(b.Peaks.Select(x => x.Index), a.Peaks.Select(x => x.Index));
        foreach (var (x, y) in a.Peaks.Zip(b.Peaks))
        {
            Assert.Equal(y.Pos0, x.Pos0, 1e-3);
            Assert.Equal(y.Pos1, x.Pos1, 1e-3);
            Assert.Equal(y.Intensity, x.Intensity, 1e-3 * Math.Abs(y.Intensity));
            Assert.Equal(y.Sigma, x.Sigma, 1e-3 * y.Sigma);
        }
        Assert.Equal(b.Sparse.Index, a.Sparse.Index);
        for (var k = 0; k < b.Sparse.BackgroundAvg.Length; k++)
        {
            Assert.Equal(b.Sparse.BackgroundAvg[k], a.Sparse.BackgroundAvg[k], 1e-4 * Math.Abs(b.Sparse.BackgroundAvg[k]) + 1e-5);
            Assert.Equal(b.Sparse.BackgroundStd[k], a.Sparse.BackgroundStd[k], 1e-4 * b.Sparse.BackgroundStd[k] + 1e-5);
        }
        Assert.All(a.Peaks, x => Assert.True(float.IsFinite(x.Pos0) && float.IsFinite(x.Intensity)));
    }
}
