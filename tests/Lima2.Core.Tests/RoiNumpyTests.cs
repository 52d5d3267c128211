using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Core.Processing;
using Lima2.TestSupport;

namespace Lima2.Core.Tests;

/// <summary>ROI statistics, profiles and geometry compared with numpy on the same frames (written as .npy).</summary>
public class RoiNumpyTests
{
    private const int Width = 97;
    private const int Height = 61;

    private static readonly RectRoi[] Rects =
    [
        Rect(0, 0, Width, Height),
        Rect(10, 5, 20, 30),
        Rect(90, 50, 7, 11),
        Rect(40, 0, 1, 61),
    ];

    private static readonly ArcRoi[] Arcs =
    [
        new() { Center = new PointD { X = 48, Y = 30 }, R1 = 0, R2 = 25, A1 = 0, A2 = 360 },
        new() { Center = new PointD { X = 48.3, Y = 30.7 }, R1 = 5.5, R2 = 20.2, A1 = 12.345, A2 = 197.89 },
        new() { Center = new PointD { X = 0, Y = 60 }, R1 = 10, R2 = 70, A1 = 300.5, A2 = 400.25 },
        new() { Center = new PointD { X = 120, Y = -10 }, R1 = 30, R2 = 90, A1 = 95.5, A2 = 170.1 },
    ];

    private static RectRoi Rect(int x, int y, int w, int h) =>
        new() { Topleft = new Point { X = x, Y = y }, Dimensions = new Dimensions { X = w, Y = h } };

    private static Frame RandomFrame(PixelType type, int seed)
    {
        var random = new Random(seed);
        var frame = new Frame(PooledBuffer.Unpooled(new byte[new FrameInfo(Width, Height, type).ByteSize]),
            new FrameInfo(Width, Height, type), seed, 0);
        switch (type)
        {
            case PixelType.Gray16:
                foreach (ref var p in frame.Pixels<ushort>()) p = (ushort)random.Next(0, 65536);
                break;
            case PixelType.Gray8s:
                foreach (ref var p in frame.Pixels<sbyte>()) p = (sbyte)random.Next(-128, 128);
                break;
            case PixelType.Gray32:
                foreach (ref var p in frame.Pixels<uint>()) p = (uint)random.NextInt64(0, uint.MaxValue);
                break;
            case PixelType.Gray32f:
                foreach (ref var p in frame.Pixels<float>()) p = (float)(random.NextDouble() * 2000 - 500);
                break;
            default:
                throw new NotSupportedException(type.ToString());
        }
        return frame;
    }

    private static byte[] RandomMask(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, Width * Height).Select(_ => random.NextDouble() < 0.2 ? (byte)0 : (byte)1).ToArray();
    }

    private const string NumpyStats = """
        import json, sys
        import numpy as np
        spec = json.load(open(sys.argv[1]))
        out = []
        for case in spec:
            a = np.load(case["frame"]).astype(np.float64)
            h, w = a.shape
            used = np.load(case["mask"]) != 0 if case["mask"] else np.ones(a.shape, bool)
            yy, xx = np.mgrid[0:h, 0:w]
            rows = []
            for r in case["rects"]:
                sel = np.zeros(a.shape, bool)
                sel[r["y"]:r["y"] + r["h"], r["x"]:r["x"] + r["w"]] = True
                rows.append(sel & used)
            for c in case["arcs"]:
                d2 = (xx - c["cx"]) ** 2 + (yy - c["cy"]) ** 2
                ang = np.degrees(np.arctan2(yy - c["cy"], xx - c["cx"]))
                span = c["a2"] - c["a1"]
                inside = (d2 >= c["r1"] ** 2) & (d2 <= c["r2"] ** 2)
                if span < 360:
                    inside &= np.mod(ang - c["a1"], 360.0) <= span
                rows.append(inside & used)
            stats = []
            for sel in rows:
                v = a[sel]
                stats.append([int(v.size), float(v.sum()), float(v.min()), float(v.max()), float(v.mean()), float(v.std())] if v.size else [0, 0, 0, 0, 0, 0])
            profiles = []
            for p in case["profiles"]:
                sub = np.ma.masked_array(a, ~used)[p["y"]:p["y"] + p["h"], p["x"]:p["x"] + p["w"]]
                axis = 0 if p["horizontal"] else 1
                cnt = sub.count(axis=axis)
                profiles.append([[int(n), float(s), float(lo), float(hi), float(m), float(sd)] if n else [0, 0, 0, 0, 0, 0]
                    for n, s, lo, hi, m, sd in zip(cnt, sub.sum(axis=axis).filled(0), sub.min(axis=axis).filled(0),
                        sub.max(axis=axis).filled(0), sub.mean(axis=axis).filled(0), sub.std(axis=axis).filled(0))])
            out.append({"stats": stats, "profiles": profiles})
        print(json.dumps(out))
        """;

    [Fact]
    public void Rect_and_arc_roi_statistics_and_profiles_match_numpy_for_every_pixel_type_with_and_without_mask()
    {
        using var dir = new TempDir();
        var profiles = new (RectRoi Roi, ProfileDirection Direction)[]
        {
            (Rect(10, 5, 20, 30), ProfileDirection.Horizontal),
            (Rect(10, 5, 20, 30), ProfileDirection.Vertical),
            (Rect(0, 60, 97, 1), ProfileDirection.Horizontal),
        };
        var spec = new JsonArray();
        var ours = new List<(RoiStats[] Stats, RoiStats[][] Profiles)>();
        var seed = 0;
        foreach (var type in new[] { PixelType.Gray16, PixelType.Gray8s, PixelType.Gray32, PixelType.Gray32f })
            foreach (var masked in new[] { false, true })
            {
                seed++;
                using var frame = RandomFrame(type, seed);
                var mask = masked ? RandomMask(seed) : null;
                var framePath = Path.Combine(dir.Path, $"frame{seed}.npy");
                var maskPath = Path.Combine(dir.Path, $"mask{seed}.npy");
                NpyFile.Write(framePath, frame);
                if (mask is not null)
                    NpyFile.Write(maskPath, mask, "|u1", Height, Width);

                var regions = Rects.Select(r => PixelRegion.Rectangle(r, Width, Height, mask))
                    .Concat(Arcs.Select(a => PixelRegion.Arc(a, Width, Height, mask)));
                var node = new RoiProfilesNode(profiles.Select(p => p.Roi).ToArray(), profiles.Select(p => p.Direction).ToArray(),
                    frame.Info, mask, 1);
                var profileStats = profiles.Select(p =>
                {
                    var profile = RoiProfilesNode.Profile.Clip(p.Roi, p.Direction, frame.Info);
                    var bins = new RoiStats[profile.Bins];
                    node.Measure(frame, profile, bins);
                    return bins;
                }).ToArray();
                ours.Add((regions.Select(r => RoiMath.Measure(frame, r)).ToArray(), profileStats));

                spec.Add(new JsonObject
                {
                    ["frame"] = framePath,
                    ["mask"] = mask is null ? "" : maskPath,
                    ["rects"] = new JsonArray(Rects.Select(r => (JsonNode)new JsonObject
                        { ["x"] = r.Topleft.X, ["y"] = r.Topleft.Y, ["w"] = r.Dimensions.X, ["h"] = r.Dimensions.Y }).ToArray()),
                    ["arcs"] = new JsonArray(Arcs.Select(a => (JsonNode)new JsonObject
                        { ["cx"] = a.Center.X, ["cy"] = a.Center.Y, ["r1"] = a.R1, ["r2"] = a.R2, ["a1"] = a.A1, ["a2"] = a.A2 }).ToArray()),
                    ["profiles"] = new JsonArray(profiles.Select(p => (JsonNode)new JsonObject
                    {
                        ["x"] = p.Roi.Topleft.X, ["y"] = p.Roi.Topleft.Y, ["w"] = p.Roi.Dimensions.X, ["h"] = p.Roi.Dimensions.Y,
                        ["horizontal"] = p.Direction == ProfileDirection.Horizontal,
                    }).ToArray()),
                });
            }
        var specPath = Path.Combine(dir.Path, "spec.json");
        File.WriteAllText(specPath, spec.ToJsonString());
        var scriptPath = Path.Combine(dir.Path, "stats.py");
        File.WriteAllText(scriptPath, NumpyStats);
        var numpy = JsonNode.Parse(Python.Run(scriptPath, [specPath]))!.AsArray();

        Assert.Equal(ours.Count, numpy.Count);
        for (var c = 0; c < ours.Count; c++)
        {
            var expected = numpy[c]!["stats"]!.AsArray();
            Assert.Equal(expected.Count, ours[c].Stats.Length);
            for (var r = 0; r < expected.Count; r++)
                AssertStats(expected[r]!.AsArray(), ours[c].Stats[r], $"case {c} roi {r}");
            var expectedProfiles = numpy[c]!["profiles"]!.AsArray();
            for (var p = 0; p < expectedProfiles.Count; p++)
            {
                var bins = expectedProfiles[p]!.AsArray();
                Assert.Equal(bins.Count, ours[c].Profiles[p].Length);
                for (var b = 0; b < bins.Count; b++)
                    AssertStats(bins[b]!.AsArray(), ours[c].Profiles[p][b], $"case {c} profile {p} bin {b}");
            }
        }
        Assert.Contains(ours, o => o.Stats.Any(s => s.Count > 0 && s.Std > 0));
    }

    private static void AssertStats(JsonArray expected, RoiStats actual, string where)
    {
        var values = expected.Select(v => v!.GetValue<double>()).ToArray();
        Assert.True(values[0] == actual.Count, $"{where}: count {actual.Count}, numpy {values[0]}");
        var ours = new[] { actual.Sum, actual.Min, actual.Max, actual.Avg, actual.Std };
        string[] names = ["sum", "min", "max", "avg", "std"];
        for (var i = 0; i < ours.Length; i++)
        {
            var tolerance = 1e-9 * Math.Max(1, Math.Abs(values[i + 1]));
            Assert.True(Math.Abs(ours[i] - values[i + 1]) <= tolerance,
                $"{where}: {names[i]} {ours[i].ToString("R", CultureInfo.InvariantCulture)}, numpy {values[i + 1].ToString("R", CultureInfo.InvariantCulture)}");
        }
    }

    [Theory]
    [InlineData(1, 1, 0, 0, 0, 0, "none", "0")]
    [InlineData(1, 1, 3, 4, 50, 40, "left_right", "90")]
    [InlineData(2, 3, 1, 2, 20, 0, "up_down", "180")]
    [InlineData(3, 2, 0, 0, 0, 0, "both", "270")]
    public async Task Binning_crop_flip_and_rotation_match_numpy(int bx, int by, int x, int y, int w, int h, string flip, string rotation)
    {
        using var dir = new TempDir();
        var geometry = new RoiFlipRot
        {
            Enabled = true,
            Binning = new Binning { X = bx, Y = by },
            Roi = new CropRoi { Topleft = new Point { X = x, Y = y }, Dimensions = new CropDimensions { X = w, Y = h } },
            Flip = JsonSerializer.Deserialize<Flip>($"\"{flip}\"", ParamsJson.Options),
            Rotation = JsonSerializer.Deserialize<Rotation>($"\"{rotation}\"", ParamsJson.Options),
        };
        using var input = RandomFrame(PixelType.Gray16, 99);
        using var pool = new FramePool(input.Info.ByteSize, 2L * input.Info.ByteSize);
        var transform = new RoiFlipRotTransform(input.Info, geometry, pool);
        using var output = await transform.ApplyAsync(input.Retain(), default);
        NpyFile.Write(Path.Combine(dir.Path, "in.npy"), input);
        NpyFile.Write(Path.Combine(dir.Path, "out.npy"), output);

        var result = Python.Eval($$"""
            import numpy as np
            a = np.load("{{dir.Path}}/in.npy").astype(np.int64)
            h, w = a.shape[0] // {{by}}, a.shape[1] // {{bx}}
            a = a[:h * {{by}}, :w * {{bx}}].reshape(h, {{by}}, w, {{bx}}).sum(axis=(1, 3))
            a = np.minimum(a, 65535)
            cw = {{w}} or w - {{x}}
            ch = {{h}} or h - {{y}}
            a = a[{{y}}:{{y}} + ch, {{x}}:{{x}} + cw]
            if "{{flip}}" in ("left_right", "both"): a = a[:, ::-1]
            if "{{flip}}" in ("up_down", "both"): a = a[::-1, :]
            a = np.rot90(a, -{{rotation}} // 90)
            b = np.load("{{dir.Path}}/out.npy")
            print(a.shape == b.shape and bool((a == b).all()), a.shape, b.shape)
            """);
        Assert.StartsWith("True", result);
    }
}
