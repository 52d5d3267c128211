using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lima2.Core.Parameters;
using Lima2.Detectors.Simulator;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.EndToEnd;

/// <summary><c>lima2 receive</c> with an SMX proc_params finds the simulator's planted Bragg peaks without Tango.</summary>
public sealed class ReceivePeaksTests : IDisposable
{
    private const int Frames = 24;
    private readonly string _folder = Directory.CreateTempSubdirectory("receive-peaks-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const string Det = """
        {"generator": {"type": "diffraction", "pixel_type": "gray16", "width": 128, "height": 96,
                       "diffraction": {"nb_bragg_peaks": 4, "bragg_intensity_min": 0, "bragg_intensity_max": 400, "rings": [], "seed": 7}}}
        """;

    [Fact]
    public void An_SMX_receive_counts_the_planted_peaks_and_hits_and_saves_them_in_the_sparse_file()
    {
        var settings = Path.Combine(_folder, "smx.yaml");
        File.WriteAllText(settings, $$"""
            receiver:
              channel: { kind: simulator }
              memory_cap: 64MiB
              saving_root: {{_folder}}
              peak_finder: reference
            acq_params:
              acq: { nb_frames: {{Frames}}, expo_time: 100000 }
              det: {{Det.ReplaceLineEndings(" ")}}
            proc_params:
              class_name: LimaProcessingSmx
              fifo: { nb_threads: 1 }
              fai: { cutoff_pick: 5, min_nb_peaks: 4, error_model: poisson, nb_bins: 8 }
              saving_sparse: { enabled: true, base_path: out, filename_prefix: smx_sparse, nb_frames_per_file: 1000 }
            """);
        using var receiver = Lima2Cli.Start("receive", settings);
        Assert.True(receiver.WaitForExit(TimeSpan.FromSeconds(120)) == 0, receiver.Output);

        var generator = FrameGenerator.Create(ParamsDocument.Parse<AcqParams<SimulatorDet>>($"{{\"det\": {Det}}}").Det.Generator);
        var planted = Enumerable.Range(0, Frames).Select(i => generator.PlantedPeaks(i)).ToArray();

        // the sparse file, read by h5py: every frame once, in order, with its peak count
        var sparse = JsonDocument.Parse(Python.Eval($$"""
            import h5py, json
            with h5py.File("{{_folder}}/out/smx_sparse_0_00000.h5", "r", locking=False) as f:
                s, p = f["/entry_0000/sparse_frames"], f["/entry_0000/peaks"]
                print(json.dumps({"frame_idx": s["frame_idx"][()].tolist(), "n": p["nPeaks"][()].tolist(),
                                  "ptr": len(s["frame_ptr"])}))
            """)).RootElement;
        Assert.Equal(Enumerable.Range(0, Frames), sparse.GetProperty("frame_idx").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(Frames + 1, sparse.GetProperty("ptr").GetInt32());
        var found = sparse.GetProperty("n").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        // faint planted peaks may be missed, bright ones not (two closer than a patch may merge into one); nothing else is found
        Assert.All(Enumerable.Range(0, Frames), i => Assert.InRange(found[i], planted[i].Count(p => p.Height >= 100) - 1, planted[i].Count));

        // the summary gives the same totals, and the hits are the frames with at least min_nb_peaks peaks
        var line = Regex.Match(receiver.Output, @"peaks: (\d+) in (\d+) frames; hits (\d+) .*hit rate ([\d.]+) %");
        Assert.True(line.Success, receiver.Output);
        Assert.Equal(found.Sum(), int.Parse(line.Groups[1].Value));
        Assert.Equal(Frames, int.Parse(line.Groups[2].Value));
        var hits = found.Count(n => n >= 4);
        Assert.InRange(hits, 1, Frames - 1); // some frames miss, so the count means something
        Assert.Equal(hits, int.Parse(line.Groups[3].Value));
        Assert.Equal(100.0 * hits / Frames, double.Parse(line.Groups[4].Value, CultureInfo.InvariantCulture), 1);
        Assert.Contains($"received {Frames}, processed {Frames}, dropped 0", receiver.Output);
        Assert.Contains("smx_sparse_0_00000.h5", receiver.Output);
        // 100 ms a frame: the run lasts long enough for live progress lines, which count peaks and hits as they come
        Assert.Matches(@"frames/s .* peaks \d+  hits \d+ \([\d.]+ %\)", receiver.Output);
    }
}
