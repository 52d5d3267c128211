using System.Globalization;
using System.Text.Json;
using Lima2.Core.Frames;

namespace Lima2.PeakFinding;

/// <summary>
/// A detector geometry in pyFAI's convention: sample-to-PONI distance, PONI position on the detector (m, dim1 =
/// rows, dim2 = columns), the three rotations (rad) and the pixel size (m).
/// </summary>
public sealed record Geometry(double Distance, double Poni1, double Poni2, double Rot1, double Rot2, double Rot3,
    double PixelSize1, double PixelSize2, double Wavelength = 0)
{
    /// <summary>The detector's (rows, columns) when the geometry says it (PONI v2 <c>max_shape</c>): frames of
    /// another shape do not belong to this geometry.</summary>
    public (int Height, int Width)? DetectorShape { get; init; }

    /// <summary>
    /// Radius r = √(t1² + t2²) (m, pyFAI unit <c>r_m</c>) of every pixel centre, row-major. pyFAI places the centre
    /// of pixel (i, j) at ((i + ½)·p1, (j + ½)·p2) and rotates the detector by rot1, rot2, rot3. Like pyFAI's
    /// <c>rArray</c>, the in-plane positions (i + ½)·p1 − poni1 are float32 and the rotation float64: that makes
    /// the radii, hence the bins, bit-identical to pyFAI's.
    /// </summary>
    public double[] RadiusMeters(int height, int width)
    {
        if (Distance <= 0 || PixelSize1 <= 0 || PixelSize2 <= 0)
            throw new ArgumentException($"geometry: distance and pixel sizes must be positive ({this})");
        var (c1, s1) = (Math.Cos(Rot1), Math.Sin(Rot1));
        var (c2, s2) = (Math.Cos(Rot2), Math.Sin(Rot2));
        var (c3, s3) = (Math.Cos(Rot3), Math.Sin(Rot3));
        var L = Distance;
        var r = new double[(long)height * width];
        float px1 = (float)PixelSize1, px2 = (float)PixelSize2, poni1 = (float)Poni1, poni2 = (float)Poni2;
        Parallel.For(0, height, i =>
        {
            double p1 = (i + 0.5f) * px1 - poni1;
            for (var j = 0; j < width; j++)
            {
                double p2 = (j + 0.5f) * px2 - poni2;
                var t1 = p1 * c2 * c3 + p2 * (c3 * s1 * s2 - c1 * s3) - L * (c1 * c3 * s2 + s1 * s3);
                var t2 = p1 * c2 * s3 + p2 * (c1 * c3 + s1 * s2 * s3) - L * (-c3 * s1 + c1 * s2 * s3);
                r[(long)i * width + j] = Math.Sqrt(t1 * t1 + t2 * t2);
            }
        });
        return r;
    }

    /// <summary>
    /// The geometry of a flat detector facing the beam, from what its channel knows (<c>ChannelStart.Metadata</c>:
    /// the simulator's set-up, or a DECTRIS header); null when distance, pixel size or beam centre is unknown. The
    /// beam centre counts pixels from the first pixel's corner, as pyFAI's PONI does, so PONI = centre × pixel size.
    /// </summary>
    public static Geometry? FromMetadata(DetectorMetadata? metadata) =>
        metadata is { Distance: { } distance, XPixelSize: { } x, YPixelSize: { } y, BeamCenterX: { } cx, BeamCenterY: { } cy }
            ? new Geometry(distance, cy * y, cx * x, 0, 0, 0, y, x)
            : null;

    /// <summary>Reads a pyFAI PONI file (versions 1 and 2).</summary>
    public static Geometry FromPoniFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"PONI file not found: {path}", path);
        return ParsePoni(File.ReadAllText(path), path);
    }

    /// <summary>Parses the PONI text format: <c>Key: value</c> lines, <c>#</c> comments; pixel sizes come from
    /// <c>Detector_config</c> (v2, JSON) or <c>PixelSize1/2</c> (v1).</summary>
    public static Geometry ParsePoni(string text, string source = "PONI")
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var colon = line.IndexOf(':');
            if (colon <= 0)
                throw new FormatException($"{source}: line without 'key: value': {line}");
            values[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        double Number(string key, double? fallback = null)
        {
            if (!values.TryGetValue(key, out var v))
                return fallback ?? throw new FormatException($"{source}: missing {key}");
            if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d))
                throw new FormatException($"{source}: {key} is not a number: {v}");
            return d;
        }

        double p1, p2;
        (int, int)? shape = null;
        if (values.TryGetValue("Detector_config", out var config))
        {
            try
            {
                using var doc = JsonDocument.Parse(config);
                p1 = doc.RootElement.GetProperty("pixel1").GetDouble();
                p2 = doc.RootElement.GetProperty("pixel2").GetDouble();
                if (doc.RootElement.TryGetProperty("max_shape", out var max) && max.ValueKind == JsonValueKind.Array)
                    shape = max.GetArrayLength() == 2 ? (max[0].GetInt32(), max[1].GetInt32())
                        : throw new FormatException($"{source}: Detector_config max_shape is not [rows, columns]: {config}");
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new FormatException($"{source}: Detector_config has no pixel1/pixel2: {config}", e);
            }
        }
        else if (values.ContainsKey("PixelSize1"))
        {
            p1 = Number("PixelSize1");
            p2 = Number("PixelSize2");
        }
        else
        {
            var detector = values.GetValueOrDefault("Detector", "?");
            throw new FormatException($"{source}: no pixel size for detector '{detector}' (need Detector_config or PixelSize1/PixelSize2)");
        }
        return new Geometry(Number("Distance"), Number("Poni1"), Number("Poni2"), Number("Rot1", 0), Number("Rot2", 0),
            Number("Rot3", 0), p1, p2, Number("Wavelength", 0)) { DetectorShape = shape };
    }
}
