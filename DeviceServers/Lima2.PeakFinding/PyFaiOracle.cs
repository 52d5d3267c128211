namespace Lima2.PeakFinding;

/// <summary>
/// The script that runs pyFAI's own OpenCL peak finder (Debian's /usr/bin/python3 with pyFAI and pyopencl) on
/// the same frames, for the live cross-check and the benchmark.
/// </summary>
public static class PyFaiOracle
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Writes the script to a temporary file of its own (callers delete it) and returns its path.</summary>
    public static string WriteScript()
    {
        using var stream = typeof(PyFaiOracle).Assembly.GetManifestResourceStream("Lima2.PeakFinding.Tools.pyfai_peakfinder.py")
            ?? throw new InvalidOperationException("pyfai_peakfinder.py is not embedded");
        var path = Path.Combine(Path.GetTempPath(), $"lima2-pyfai-peakfinder-{Guid.NewGuid():N}.py");
        using var file = File.Create(path);
        stream.CopyTo(file);
        return path;
    }

    /// <summary>The <c>fai</c> parameters as the script's JSON argument (pyFAI's argument names).</summary>
    public static string Params(FaiParams p) => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["dummy"] = p.Dummy,
        ["delta_dummy"] = p.Dummy is null ? null : p.DeltaDummy,
        ["error_model"] = p.ErrorModel.ToString().ToLowerInvariant(),
        ["cutoff_clip"] = p.CutoffClip,
        ["cycle"] = p.Cycle,
        ["noise"] = p.Noise,
        ["cutoff_pick"] = p.CutoffPick,
        ["patch_size"] = p.PatchSize,
        ["connected"] = p.Connected,
    });

    /// <summary>A PONI (version 2) text for a geometry, as pyFAI.load reads it.</summary>
    public static string Poni(Geometry g, int height, int width) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""
        # Nota: C-Order, 1 refers to the Y axis, 2 to the X axis
        poni_version: 2
        Detector: Detector
        Detector_config: {"pixel1": {{g.PixelSize1:R}}, "pixel2": {{g.PixelSize2:R}}, "max_shape": [{{height}}, {{width}}]}
        Distance: {{g.Distance:R}}
        Poni1: {{g.Poni1:R}}
        Poni2: {{g.Poni2:R}}
        Rot1: {{g.Rot1:R}}
        Rot2: {{g.Rot2:R}}
        Rot3: {{g.Rot3:R}}
        Wavelength: {{(g.Wavelength > 0 ? g.Wavelength : 1e-10):R}}
        """);
}
