using System.Net;
using System.Runtime.InteropServices;
using Lima2.Acquisition.Jungfrau;
using Lima2.Acquisition.Tests.EndToEnd;
using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Detectors.Jungfrau;
using Lima2.Hdf5;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Jungfrau;

/// <summary><c>lima2 stream --jungfrau --modules 2</c> into <c>lima2 receive</c>, both as processes: a pedestal run, then a photon run.</summary>
public sealed class JungfrauCliTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private readonly string _folder = Directory.CreateTempSubdirectory("jungfrau-cli-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <param name="det">the run's JUNGFRAU det block: what the run does</param>
    private string Settings(int port, long frames, string prefix, string jungfrau = "", string det = "")
    {
        var path = Path.Combine(_folder, $"{prefix}.yaml");
        File.WriteAllText(path, $$"""
            receiver:
              channel:
                kind: jungfrau_udp
                timeout_ms: 30000
                jungfrau: { ports: [ {{port}}, {{port + 1}} ], receive_buffer: 4MiB, window: 4, {{jungfrau}} }
              memory_cap: 256MiB
              saving_root: {{_folder}}
              reference_root: {{_folder}}
            acq_params:
              acq: { nb_frames: {{frames}} }
              det: { {{det}} }
            proc_params:
              class_name: LimaProcessingLegacy
              saving: { enabled: true, base_path: out, filename_prefix: {{prefix}}, nb_frames_per_file: 100 }
            """);
        return path;
    }

    private static void Run(string settings, params string[] stream)
    {
        using var receiver = Lima2Cli.Start("receive", settings);
        Assert.True(SpinWait.SpinUntil(() => receiver.Output.Contains("receiving "), Limit), receiver.Output);
        using var streamer = Lima2Cli.Start(["stream", "--jungfrau", "--rate", "10", .. stream]);
        Assert.Equal(0, streamer.WaitForExit(Limit));
        Assert.Equal(0, receiver.WaitForExit(Limit));
        Assert.Contains("(0 left out)", streamer.Output);
        // the whole output in the message: which packets a loaded machine lost, if any
        Assert.True(receiver.Output.Contains("jungfrau: 3 frames complete, 0 incomplete (padded), 0 missed")
                    && receiver.Output.Contains("packets caught, 0 padded, 0 late, 0 duplicate, 0 rejected; 3 frames complete, 0 incomplete, 0 missed"),
            $"receiver:\n{receiver.Output}\nstream:\n{streamer.Output}");
    }

    [Fact]
    public void A_pedestal_run_then_a_photon_run_of_two_modules_save_what_the_library_computes_from_the_stand_ins_words()
    {
        var port = FreePort.ConsecutiveUdp(2); // the stand-in sends module i to port + i
        var gain = Path.Combine(_folder, "jf", "gain.h5");
        Directory.CreateDirectory(Path.GetDirectoryName(gain)!);
        Run(Settings(port, 3, "dark", det: "pedestal_run: jf/pedestal.h5"), "--modules", "2", "--dark", "--frames", "3", "--port", $"{port}", "--gain-file", gain);
        Run(Settings(port, 3, "photons", det: "jfrau: { pedestal_path: jf/pedestal.h5, gain_path: jf/gain.h5, photon_energy: 12.4 }"),
            "--modules", "2", "--frames", "3", "--port", $"{port}");

        // the same stand-in (seed 1, 12.4 keV) makes the words; the library corrects them with the maps the runs used
        var model = new JungfrauModel(modules: 2);
        using var standIn = new JungfrauStandIn(JungfrauStandInTests.Diffraction(2), model,
            new JungfrauStandInOptions { Ports = [new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.Loopback, port + 1)], Frames = 3 });
        using var root = new SavingRoot(_folder);
        var correction = new JungfrauCorrection(JungfrauCalibrationFile.Read(root, "jf/pedestal.h5", JungfrauCalibrationFile.Pedestal, 2),
            JungfrauCalibrationFile.Read(root, "jf/gain.h5", JungfrauCalibrationFile.Gain, 2));
        Assert.Equal(model.Gain.SelectMany(m => m), JungfrauCalibrationFile.Read(root, "jf/gain.h5", JungfrauCalibrationFile.Gain, 2).SelectMany(m => m));
        var view = H5PyView.Read(Path.Combine(_folder, "out", "photons_0_00000.h5"), "/entry_0000/measurement/data");
        Assert.Equal("<i4", view.Dtype);
        Assert.Equal([3L, 1024, 1024], view.Shape);
        var saved = MemoryMarshal.Cast<byte, int>(view.Data).ToArray();
        Assert.Equal(3 * 1024 * 1024, saved.Length);
        for (var i = 0; i < 3; i++)
        {
            var photons = new int[2 * JungfrauModule.Pixels];
            correction.ToPhotons(standIn.ModuleWords(i).SelectMany(m => m).ToArray(), photons, 12.4f, 6.2f);
            Assert.True(photons.AsSpan().SequenceEqual(saved.AsSpan(i * photons.Length, photons.Length)), $"frame {i} differs");
        }
    }

    [Fact]
    public void One_module_over_two_ports_per_module_arrives_whole_with_the_stand_ins_words()
    {
        var port = FreePort.ConsecutiveUdp(2); // the stand-in sends module i to port + i
        Run(Settings(port, 3, "halves", "ports_per_module: 2"), "--modules", "1", "--ports-per-module", "2", "--frames", "3", "--port", $"{port}");

        using var standIn = new JungfrauStandIn(JungfrauStandInTests.Diffraction(1), new JungfrauModel(modules: 1), new JungfrauStandInOptions
        {
            Ports = [new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.Loopback, port + 1)],
            Interfaces = 2,
            Frames = 3,
        });
        var view = H5PyView.Read(Path.Combine(_folder, "out", "halves_0_00000.h5"), "/entry_0000/measurement/data");
        Assert.Equal([3L, 512, 1024], view.Shape);
        var saved = MemoryMarshal.Cast<byte, ushort>(view.Data);
        for (var i = 0; i < 3; i++)
            Assert.True(standIn.ModuleWords(i)[0].AsSpan().SequenceEqual(saved.Slice(i * JungfrauModule.Pixels, JungfrauModule.Pixels)), $"frame {i} differs");
    }

    [Fact]
    public void Ports_per_module_other_than_one_or_two_is_refused()
    {
        using var streamer = Lima2Cli.Start("stream", "--jungfrau", "--ports-per-module", "3");
        Assert.NotEqual(0, streamer.WaitForExit(Limit));
        Assert.Contains("--ports-per-module is 1 or 2, got 3", streamer.Output);
    }
}
