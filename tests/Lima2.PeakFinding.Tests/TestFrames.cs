using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using Lima2.Core.Frames;
using Lima2.TestSupport;

namespace Lima2.PeakFinding.Tests;

/// <summary>The shared synthetic frames (testdata/peaks) and their oracle outputs, loaded once per process.</summary>
public sealed class TestFrame
{
    private static readonly Dictionary<string, TestFrame> Cache = new();

    private TestFrame(string name)
    {
        Name = name;
        var dir = Dir;
        using (var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, $"{name}_meta.json"))))
        {
            var root = meta.RootElement;
            Height = root.GetProperty("shape")[0].GetInt32();
            Width = root.GetProperty("shape")[1].GetInt32();
            Geometry = new Geometry(root.GetProperty("distance_m").GetDouble(), root.GetProperty("poni1_m").GetDouble(),
                root.GetProperty("poni2_m").GetDouble(), 0, 0, 0, root.GetProperty("pixel_size_m").GetDouble(),
                root.GetProperty("pixel_size_m").GetDouble());
        }
        Pixels = MemoryMarshal.Cast<byte, int>(Gunzip(Path.Combine(dir, $"{name}_frame_i32.bin.gz"))).ToArray();
        Mask = Gunzip(Path.Combine(dir, $"{name}_mask_u8.bin.gz"));
    }

    /// <summary>The frames' folder: testdata/peaks of the shared folder.</summary>
    public static string Dir { get; } = Path.Combine(RepoPaths.TestData, "peaks");

    public static string Oracle(string file) => Path.Combine(Dir, "oracle", file);

    public string Name { get; }
    public int Width { get; }
    public int Height { get; }
    public Geometry Geometry { get; }
    public int[] Pixels { get; }
    public byte[] Mask { get; }

    public static TestFrame Get(string name)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(name, out var f))
                Cache[name] = f = new TestFrame(name);
            return f;
        }
    }

    public Frame ToFrame(long index = 0) => Frame.FromArray(Pixels, Width, Height, index);

    /// <summary>The pyFAI parameters of one oracle configuration (summary_*.json), with the compat switch on.</summary>
    public FaiParams OracleParams(string config)
    {
        var summary = Name == "jf4m" ? "summary_jf4m.json" : "summary_f1k_blank1k.json";
        using var doc = JsonDocument.Parse(File.ReadAllText(Oracle(summary)));
        var p = doc.RootElement.GetProperty(Name).GetProperty(config).GetProperty("params");
        return new FaiParams
        {
            ErrorModel = p.GetProperty("error_model").GetString() == "azimuthal" ? ErrorModel.Azimuthal : ErrorModel.Poisson,
            CutoffClip = p.GetProperty("cutoff_clip").GetDouble(),
            Cycle = p.GetProperty("cycle").GetInt32(),
            Noise = p.GetProperty("noise").GetDouble(),
            CutoffPick = p.GetProperty("cutoff_pick").GetDouble(),
            PatchSize = p.TryGetProperty("patch_size", out var ps) ? ps.GetInt32() : 3,
            Connected = p.TryGetProperty("connected", out var c) ? c.GetInt32() : 3,
            Dummy = p.GetProperty("dummy").GetDouble(),
            DeltaDummy = p.GetProperty("delta_dummy").GetDouble(),
            NbBins = p.GetProperty("npt").GetInt32(),
            Pyfai0213Compat = true,
        };
    }

    /// <summary>The exact radial bin edges pyFAI used (pos0_min_m, delta_m) for a configuration.</summary>
    public (double Min, double Delta) OracleBins(string config)
    {
        var summary = Name == "jf4m" ? "summary_jf4m.json" : "summary_f1k_blank1k.json";
        using var doc = JsonDocument.Parse(File.ReadAllText(Oracle(summary)));
        var b = doc.RootElement.GetProperty(Name).GetProperty(config).GetProperty("bins");
        return (b.GetProperty("pos0_min_m").GetDouble(), b.GetProperty("delta_m").GetDouble());
    }

    public PeakFinderModel Model(FaiParams p) => PeakFinderModel.Create(Width, Height, Geometry, Mask, p);

    private static byte[] Gunzip(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>The planted peaks (row, col).</summary>
    public List<(double Row, double Col)> Planted() =>
        File.ReadLines(Path.Combine(Dir, $"{Name}_peaks.csv")).Skip(1).Where(l => l.Length > 0)
            .Select(l => l.Split(',')).Select(f => (double.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture),
                double.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture))).ToList();
}
