using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Core.Frames;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.EndToEnd;

/// <summary>
/// <c>lima2 stream</c> → <c>lima2 receive</c> as separate processes over loopback ZMQ (DECTRIS V1 and V2, MAX IV), files
/// read back by h5py.
/// </summary>
public sealed class StreamReceiveTests : IDisposable
{
    private static readonly FrameInfo Info = new(48, 40, PixelType.Gray16);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("e2e-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private byte[] Input(int frames)
    {
        var bytes = Lima2Cli.Frames(Info, frames);
        Lima2Cli.WriteInput(Path.Combine(_folder, "input.h5"), Info, bytes);
        return bytes;
    }

    /// <summary>The receiver's channel kind for a stream <paramref name="version"/> (v1, v2 or maxiv).</summary>
    private static string Kind(string version) => version == "maxiv" ? "maxiv" : $"dectris_{version}";

    private static string[] StreamArgs(string version, string encoding, string folder, int frames, IEnumerable<string> endpoints, int threads = 1) =>
        ["stream", .. version == "maxiv" ? ["--format", "maxiv"] : new[] { "--version", version }, "--encoding", encoding,
         "--frames", frames.ToString(), "--file", Path.Combine(folder, "input.h5"), "--dataset", "/frames", "--no-progress", "--threads", threads.ToString(), .. endpoints.SelectMany(e => new[] { "--endpoint", e })];

    [Theory]
    [InlineData("v1", "bslz4", "bshuf_lz4", 32008)]
    [InlineData("v1", "lz4", "zip", 1)]
    [InlineData("v1", "raw", "none", 0)]
    [InlineData("v2", "bslz4", "none", 0)]
    [InlineData("v2", "lz4", "bshuf_lz4", 32008)]
    [InlineData("v2", "raw", "zip", 1)]
    [InlineData("maxiv", "bslz4", "bshuf_lz4", 32008)]
    [InlineData("maxiv", "lz4", "zip", 1)]
    [InlineData("maxiv", "raw", "none", 0)]
    public void Every_streamed_frame_is_saved_pixel_exact(string version, string encoding, string compression, int filter)
    {
        const int frames = 12;
        var input = Input(frames);
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var receiver = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, Kind(version), endpoint, compression));
        using var streamer = Lima2Cli.Start(StreamArgs(version, encoding, _folder, frames, [endpoint]));
        Assert.True(streamer.WaitForExit(Limit) == 0, streamer.Output);
        Assert.True(receiver.WaitForExit(Limit) == 0, receiver.Output);
        Assert.Contains("received 12, processed 12, dropped 0", receiver.Output);
        Assert.Contains("saved 12 frames", receiver.Output);

        var view = H5PyView.Read(Path.Combine(_folder, "out", "scan_master.h5"), "/entry_0000/measurement/data");
        Assert.Equal(new long[] { frames, 40, 48 }, view.Shape);
        Assert.Equal(input, view.Data);
        var part = H5PyView.Read(Path.Combine(_folder, "out", "scan_0_00002.h5"), "/entry_0000/instrument/detector/data");
        Assert.Equal(new long[] { 2, 40, 48 }, part.Shape);
        Assert.Equal(filter == 0 ? [] : new[] { filter }, part.Filters);
    }

    [Theory]
    [InlineData("v1")]
    [InlineData("v2")]
    public void A_stream_with_header_detail_all_is_saved_as_nxmx_with_the_headers_pixel_size_distance_beam_centre_and_wavelength(string version)
    {
        const int frames = 7;
        var input = Input(frames);
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var receiver = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, $"dectris_{version}", endpoint, "bshuf_lz4"));
        using var streamer = Lima2Cli.Start([.. StreamArgs(version, "bslz4", _folder, frames, [endpoint]), "--detail", "all"]);
        Assert.Equal(0, streamer.WaitForExit(Limit));
        Assert.True(receiver.WaitForExit(Limit) == 0, receiver.Output);

        var header = Detectors.Dectris.EmulatedDetector.Metadata(Info);
        foreach (var (file, shape) in new[] { ("scan_master.h5", frames), ("scan_0_00001.h5", 2) })
        {
            var nxmx = Saving.NxmxReaderTests.ReadNxmx(Path.Combine(_folder, "out", file));
            Assert.Equal([shape, Info.Height, Info.Width], nxmx.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(header.XPixelSize, nxmx.GetProperty("pixel_size").EnumerateArray().First().GetDouble());
            Assert.Equal(header.Distance, nxmx.GetProperty("distance").GetDouble());
            Assert.Equal(header.BeamCenterX!.Value, nxmx.GetProperty("beam_center").EnumerateArray().First().GetDouble(), 1e-12);
            Assert.Equal(header.BeamCenterY!.Value, nxmx.GetProperty("beam_center").EnumerateArray().Last().GetDouble(), 1e-12);
            Assert.Equal(header.IncidentWavelength, nxmx.GetProperty("wavelength").GetDouble());
            Assert.Equal((header.SensorMaterial, header.SensorThickness),
                (nxmx.GetProperty("sensor_material").GetString(), nxmx.GetProperty("sensor_thickness").GetDouble()));
        }
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(input)),
            Saving.NxmxReaderTests.ReadNxmx(Path.Combine(_folder, "out", "scan_master.h5")).GetProperty("sha256").GetString());
    }

    [Theory]
    [InlineData(2, "v1", 1)]
    [InlineData(3, "v2", 2)]
    [InlineData(3, "v1", 3)]
    public void The_master_file_interleaves_the_receivers_files_in_global_frame_order(int receivers, string version, int threads)
    {
        const int frames = 17;
        var input = Input(frames);
        var endpoints = Enumerable.Range(0, receivers).Select(_ => $"tcp://127.0.0.1:{FreePort.Next()}").ToArray();
        var settings = Lima2Cli.Settings(_folder, $"dectris_{version}", endpoints[0], "bshuf_lz4", perFile: 2);
        var processes = Enumerable.Range(0, receivers)
            .Select(r => Lima2Cli.Start("receive", settings, "--rank", r.ToString(), "--receivers", receivers.ToString(), "--endpoint", endpoints[r]))
            .ToList();
        try
        {
            using var streamer = Lima2Cli.Start(StreamArgs(version, "bslz4", _folder, frames, endpoints, threads));
            Assert.Equal(0, streamer.WaitForExit(Limit));
            foreach (var p in processes)
                Assert.True(p.WaitForExit(Limit) == 0, p.Output);
        }
        finally
        {
            processes.ForEach(p => p.Dispose());
        }
        // Receiver r holds global frames r, r+n, ...; its first file holds two of them.
        var first = H5PyView.Read(Path.Combine(_folder, "out", $"scan_{receivers - 1}_00000.h5"), "/entry_0000/instrument/detector/data");
        Assert.Equal(input.AsSpan((receivers - 1) * Info.ByteSize, Info.ByteSize).ToArray(), first.Data[..Info.ByteSize]);
        var master = H5PyView.Read(Path.Combine(_folder, "out", "scan_master.h5"), "/entry_0000/instrument/detector/data");
        Assert.True(master.Virtual);
        Assert.Equal(new long[] { frames, 40, 48 }, master.Shape);
        Assert.Equal(input, master.Data);
    }

    [Fact]
    public void A_receiver_reads_the_maxiv_stream_another_receiver_republishes()
    {
        const int frames = 9;
        var input = Input(frames);
        var detector = $"tcp://127.0.0.1:{FreePort.Next()}";
        var relay = $"tcp://127.0.0.1:{FreePort.Next()}";
        var first = Path.Combine(_folder, "first.yaml");
        File.WriteAllText(first, $$"""
            receiver:
              channel: { kind: dectris_v1, endpoints: [ "{{detector}}" ] }
              saving_root: {{_folder}}
              publish: { endpoint: "{{relay}}", socket: push, format: maxiv, compression: bslz4, queue_frames: 16, end_timeout_ms: 20000 }
            acq_params: { acq: { nb_frames: {{frames}} } }
            proc_params: { class_name: LimaProcessingLegacy }
            """);
        using var second = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, "maxiv", relay, "bshuf_lz4"));
        using var receiver = Lima2Cli.Start("receive", first);
        using var source = Lima2Cli.Start("stream", "--frames", $"{frames}", "--file", Path.Combine(_folder, "input.h5"), "--dataset", "/frames",
            "--endpoint", detector, "--no-progress");
        Assert.True(source.WaitForExit(Limit) == 0, source.Output);
        Assert.True(receiver.WaitForExit(Limit) == 0, receiver.Output);
        Assert.Contains("publish: published 9 frames, dropped 0", receiver.Output);
        Assert.True(second.WaitForExit(Limit) == 0, second.Output);
        Assert.Contains("end of series; received 9, processed 9, dropped 0", second.Output);

        Assert.Equal(input, H5PyView.Read(Path.Combine(_folder, "out", "scan_master.h5"), "/entry_0000/measurement/data").Data);
    }

    [Fact]
    public void An_existing_file_with_policy_abort_stops_the_receiver_with_a_clear_error()
    {
        Directory.CreateDirectory(Path.Combine(_folder, "out"));
        File.WriteAllText(Path.Combine(_folder, "out", "scan_0_00000.h5"), "precious");
        Input(3);
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var receiver = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, "dectris_v1", endpoint, "none"));
        using var streamer = Lima2Cli.Start(StreamArgs("v1", "bslz4", _folder, 3, [endpoint]));
        Assert.NotEqual(0, receiver.WaitForExit(Limit));
        Assert.Contains("scan_0_00000.h5 already exists (file_exists_policy abort)", receiver.Output);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(_folder, "out", "scan_0_00000.h5")));
    }

    [Fact]
    public void A_full_disk_ends_the_run_with_the_error_and_counts_what_was_saved()
    {
        var mount = Path.Combine(_folder, "small");
        Directory.CreateDirectory(mount);
        using (var m = ChildProcess.Start("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mount]))
            Assert.Equal(0, m.WaitForExit(TimeSpan.FromSeconds(10)));
        try
        {
            const int frames = 100; // 3.75 KiB each, uncompressed: 375 KiB do not fit
            Input(frames);
            var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
            using var receiver = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, "dectris_v1", endpoint, "none", perFile: 1000, savingRoot: mount));
            using var streamer = Lima2Cli.Start(StreamArgs("v1", "bslz4", _folder, frames, [endpoint]));
            Assert.Equal(1, receiver.WaitForExit(Limit));
            Assert.Contains($"disk full: {Path.Combine(mount, "out")}", receiver.Output);
            var saved = int.Parse(System.Text.RegularExpressions.Regex.Match(receiver.Output, @"saved (\d+) frames").Groups[1].Value);
            Assert.InRange(saved, 1, frames - 1);
        }
        finally
        {
            using var u = ChildProcess.Start("umount", ["-l", mount]);
            u.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public void A_misbehaving_detector_gives_counted_rejections_and_losses_and_the_good_frames_are_saved()
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var receiver = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, "dectris_v1", endpoint, "bshuf_lz4"));
        Python.Run(PythonScripts.Path("bad_v1_stream.py"), [endpoint]);
        Assert.Equal(3, receiver.WaitForExit(Limit)); // 3: finished, frames lost
        var output = receiver.Output;
        Assert.Contains("received 6, processed 4, dropped 2 (overload 0, lost 2, fault 0); saved 4 frames", output);
        Assert.Contains("rejected: 2 × malformed", output);
        Assert.Contains("rejected: 1 × duplicate frame", output);
        Assert.Contains("rejected: 1 × out of order", output);
        Assert.Contains("last rejected: frame 3 came after frame 4; it was counted lost", output);

        var view = H5PyView.Read(Path.Combine(_folder, "out", "scan_master.h5"), "/entry_0000/measurement/data");
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(view.Data).ToArray();
        Assert.Equal(6 * 16 * 8, values.Length);
        for (var f = 0; f < 6; f++)
            Assert.All(values.AsSpan(f * 128, 128).ToArray(), v => Assert.Equal(f is 1 or 3 ? 0 : f, v));
    }

    [Fact]
    public void A_detector_that_stops_mid_series_fails_the_receiver_at_the_timeout_with_the_missing_frames_lost()
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var receiver = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, "dectris_v1", endpoint, "none", timeoutMs: 500));
        using var detector = ChildProcess.Start(Python.Interpreter, [PythonScripts.Path("stalled_v1_stream.py"), endpoint]);
        Assert.True(receiver.WaitForExit(Limit) == 1, receiver.Output); // 1: failed
        var output = receiver.Output;
        Assert.Contains("received 6, processed 3, dropped 3 (overload 0, lost 3, fault 0); saved 3 frames", output);
        Assert.Contains("error: the stream stopped: no message for 500 ms (receiver channel.timeout_ms), 3 frames that never came counted lost", output);
        Assert.False(detector.HasExited); // the detector still holds the connection open: only the timeout ended the run
    }

    [Fact]
    public void A_message_larger_than_the_memory_cap_is_dropped_unread_and_its_frames_counted_lost()
    {
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        // memory_cap 64MiB: a 65 MiB image is dropped by libzmq with the connection, the timeout ends the run
        using var receiver = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, "dectris_v1", endpoint, "none", timeoutMs: 3000));
        using var detector = ChildProcess.Start(Python.Interpreter, [PythonScripts.Path("oversize_v1_stream.py"), endpoint, $"{65 << 20}"]);
        Assert.True(receiver.WaitForExit(Limit) == 1, receiver.Output); // 1: failed
        var output = receiver.Output;
        Assert.Contains("received 10, processed 5, dropped 5 (overload 0, lost 5, fault 0); saved 5 frames", output);
        Assert.Contains("error: the stream stopped: no message for 3000 ms (receiver channel.timeout_ms), 5 frames that never came counted lost", output);
        Assert.DoesNotContain("rejected:", output);
    }
}
