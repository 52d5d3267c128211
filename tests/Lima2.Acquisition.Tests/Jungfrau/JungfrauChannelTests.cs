using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using Lima2.Acquisition.Jungfrau;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Jungfrau;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Jungfrau;

/// <summary>
/// The <c>jungfrau_udp</c> channel in a <see cref="ReceiverRun"/> (the engine of <c>lima2 receive</c> and the receiver
/// device), fed over loopback by the stand-in JUNGFRAU of <c>lima2 stream --jungfrau</c>, its files read with h5py.
/// </summary>
public sealed class JungfrauChannelTests : IDisposable
{
    private const int Modules = 2;
    private const int Pixels = Modules * JungfrauModule.Pixels;
    private readonly string _folder = Directory.CreateTempSubdirectory("jungfrau-channel-").FullName;
    private readonly JungfrauModel _model = new(Modules, photonEnergyKeV: 12.4f, seed: 21);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>
    /// A receiver on free ports, one per module (or two, each taking half of it), the modules stacked (raw 1024×512
    /// layout), its frames saved as out/{prefix}_0_00000.h5; <paramref name="det"/>: the run's JUNGFRAU det keys,
    /// <paramref name="rawSaving"/>: its acq_params saving block (the raw words).
    /// </summary>
    private string Settings(long frames, string prefix, string jungfrau = "", int portsPerModule = 1, string det = "", string rawSaving = "{}",
        string receiver = "") => $$"""
        {"receiver": {{{receiver}} "channel": {"kind": "jungfrau_udp", "timeout_ms": 20000,
                                  "jungfrau": {"ports": [{{string.Join(", ", Enumerable.Repeat(0, Modules * portsPerModule))}}],
                                               "ports_per_module": {{portsPerModule}},
                                               "window": 4, "receive_buffer": "4MiB", "frame_timeout_ms": 300 {{jungfrau}} } },
                      "memory_cap": "256MiB", "saving_root": "{{_folder}}", "reference_root": "{{_folder}}"},
         "acq_params": {"acq": {"nb_frames": {{frames}} }, "det": { {{det}} }, "saving": {{rawSaving}} },
         "proc_params": {"class_name": "LimaProcessingLegacy",
                         "saving": {"enabled": true, "base_path": "out", "filename_prefix": "{{prefix}}", "nb_frames_per_file": 100} } }
        """;

    /// <summary>Prepares the receiver, streams to its ports as <paramref name="send"/> says, and runs it to the end.</summary>
    private static Task<(ReceiverSummary Summary, JungfrauChannel Channel)> Run(string settings, Func<IReadOnlyList<IPEndPoint>, Task> send) =>
        Run(ReceiverSettings.Parse(settings), send);

    private static async Task<(ReceiverSummary Summary, JungfrauChannel Channel)> Run(ReceiverSettings settings, Func<IReadOnlyList<IPEndPoint>, Task> send)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var run = await ReceiverRun.PrepareAsync(settings, timeout.Token);
        var channel = Assert.IsType<JungfrauChannel>(run.Channel);
        var running = run.RunAsync(timeout.Token);
        await send([.. channel.Ports.Select(p => new IPEndPoint(IPAddress.Loopback, p))]);
        return (await running, channel);
    }

    private JungfrauStandIn StandIn(IReadOnlyList<IPEndPoint> ports, long frames, JungfrauStandInContent content, double loss = 0, int interfaces = 1) =>
        new(content == JungfrauStandInContent.Dark ? null : JungfrauStandInTests.Diffraction(Modules), _model, new JungfrauStandInOptions
        {
            Ports = ports,
            Frames = frames,
            Rate = 10, // slow enough for the socket buffers of a busy machine: no packet lost but those left out
            LossFraction = loss,
            Seed = 4,
            Content = content,
            Interfaces = interfaces,
        });

    private static void WriteFrames(string path, JungfrauStandIn standIn, long frames) =>
        File.WriteAllBytes(path, Enumerable.Range(0, (int)frames)
            .SelectMany(i => standIn.ModuleWords(i).SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray())).ToArray());

    [Theory]
    [InlineData("cpu")]
    [InlineData("opencl")] // the CPU device (PoCL) here
    public async Task A_pedestal_run_then_an_energy_run_chosen_by_the_runs_params_save_maps_and_frames_equal_to_the_numpy_reference(string correction)
    {
        const int darkFrames = 6, frames = 4;
        JungfrauStandIn? dark = null, bright = null;
        // one receiver configuration for both runs: the det block of each run says what it does
        var (darkSummary, darkChannel) = await Run(Settings(darkFrames, "dark", $""", "correction": "{correction}" """,
            det: """ "pedestal_run": "jf/pedestal.h5" """), async ports =>
        {
            dark = StandIn(ports, darkFrames, JungfrauStandInContent.Dark);
            await dark.RunAsync(CancellationToken.None);
        });
        Assert.Null(darkSummary.Error);
        Assert.Equal(darkFrames, darkChannel.FramesComplete);
        Directory.CreateDirectory(Path.Combine(_folder, "jf"));
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "gain.h5"), JungfrauCalibrationFile.Gain, _model.Gain);

        // the raw words saved beside the energies, each with its own files and master file
        var (summary, channel) = await Run(Settings(frames, "energy", $""", "correction": "{correction}" """,
            det: """ "jfrau": {"pedestal_path": "jf/pedestal.h5", "gain_path": "jf/gain.h5", "photon_energy": 0} """,
            rawSaving: """{"enabled": true, "base_path": "raw", "filename_prefix": "raw", "nb_frames_per_file": 3}"""), async ports =>
        {
            bright = StandIn(ports, frames, JungfrauStandInContent.Photons);
            await bright.RunAsync(CancellationToken.None);
        });
        Assert.Null(summary.Error);
        Assert.Equal(correction == "opencl" ? typeof(JungfrauOpenClCorrection) : typeof(JungfrauCorrection), channel.Correction?.GetType());
        Assert.Equal((frames, frames, 0L), (summary.Counters.Received, summary.Saved, summary.Counters.Dropped));
        Assert.Equal((frames, 0L, 0L), (channel.FramesComplete, channel.FramesIncomplete, channel.FramesMissed));
        Assert.Equal(frames, channel.RawFramesSaved);
        Assert.EndsWith($"; raw words of {frames} frames saved", summary.Channel.Detail);
        Assert.All(darkChannel.PortCounters.Concat(channel.PortCounters), port => Assert.Equal(0, port.PacketsPadded));
        Assert.Equal(0, bright!.PacketsDropped + dark!.PacketsDropped);
        Assert.Empty(summary.Rejections);

        // the numpy reference of the dark frames' pedestal maps, then of the energies from the saved maps
        var darkDir = Directory.CreateDirectory(Path.Combine(_folder, "ref-dark")).FullName;
        var energyDir = Directory.CreateDirectory(Path.Combine(_folder, "ref-energy")).FullName;
        WriteFrames(Path.Combine(darkDir, "raw.u16"), dark, darkFrames);
        WriteFrames(Path.Combine(energyDir, "raw.u16"), bright, frames);
        Python.Eval($$"""
            import h5py
            with h5py.File("{{_folder}}/jf/pedestal.h5", "r") as f, h5py.File("{{_folder}}/jf/gain.h5", "r") as g:
                for d in ("{{darkDir}}", "{{energyDir}}"):
                    f["pedestal"][()].tofile(d + "/pedestal.f32")
                    g["gain"][()].tofile(d + "/gain.f32")
            """);
        Python.Run(PythonScripts.Path("jungfrau_reference.py"), [darkDir, $"{darkFrames}", $"{Pixels}", "12.4", "6.2"]);
        Python.Run(PythonScripts.Path("jungfrau_reference.py"), [energyDir, $"{frames}", $"{Pixels}", "12.4", "6.2"]);
        var verdict = Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{_folder}}/jf/pedestal.h5", "r") as f:
                pedestal, seen = f["pedestal"][()], f["pedestal_frames"][()]
            ref_pedestal = np.fromfile("{{darkDir}}/dark_pedestal.f32", np.float32).reshape(3, 1024, 1024)
            ref_seen = np.fromfile("{{darkDir}}/dark_count.i32", np.int32).reshape(3, 1024, 1024)
            def master(path):
                with h5py.File(f"{{_folder}}/{path}_master.h5", "r") as f:
                    return f["entry_0000/instrument/detector/data"][()]
            saved, raw = master("out/energy"), master("raw/raw")
            energy = np.fromfile("{{energyDir}}/energy.f32", np.float32).reshape({{frames}}, 1024, 1024)
            sent = np.fromfile("{{energyDir}}/raw.u16", np.uint16).reshape({{frames}}, 1024, 1024)
            print(saved.dtype, saved.shape, np.array_equal(pedestal, ref_pedestal), np.array_equal(seen, ref_seen),
                  np.array_equal(saved, energy), int((seen == 2).all()), raw.dtype, raw.shape, np.array_equal(raw, sent),
                  int(((raw >> 14) == 0).sum() > 0 and ((raw >> 14) != 0).sum() > 0))
            """);
        // gain bits in the raw words: some pixels in G0, some switched
        Assert.Equal("float32 (4, 1024, 1024) True True True 1 uint16 (4, 1024, 1024) True 1", verdict.Trim());
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_folder, "raw"), "raw_0_*.h5").Length);
    }

    [Theory]
    [InlineData("cpu", false)] // corrected straight into the graph's frames
    [InlineData("opencl", true)] // the CPU device (PoCL) here; corrected, then placed with the chip gaps
    public async Task A_tracked_energy_run_saves_frames_and_tracked_pedestal_maps_equal_to_the_numpy_reference(string correction, bool gaps)
    {
        const int frames = 5;
        Directory.CreateDirectory(Path.Combine(_folder, "jf"));
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "pedestal.h5"), JungfrauCalibrationFile.Pedestal, _model.Pedestal);
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "gain.h5"), JungfrauCalibrationFile.Gain, _model.Gain);
        JungfrauStandIn? standIn = null;
        // frames 0, 2, 4 flagged dark; in frames 1 and 3 the G0 pixels within 3 keV of zero
        var (summary, channel) = await Run(Settings(frames, "tracked",
            $""", "correction": "{correction}", "track_dark_every": 2, "track_g0_band": 3, "track_window": 4, "tracked_pedestal_file": "jf/tracked.h5" """ +
            (gaps ? """, "geometry": {"rows": 2, "double_pixel_gaps": true} """ : ""),
            det: """ "jfrau": {"pedestal_path": "jf/pedestal.h5", "gain_path": "jf/gain.h5", "photon_energy": 0} """), async ports =>
        {
            standIn = StandIn(ports, frames, JungfrauStandInContent.Photons);
            await standIn.RunAsync(CancellationToken.None);
        });
        Assert.Null(summary.Error);
        Assert.Equal((frames, 0L, 0L), (channel.FramesComplete, channel.FramesIncomplete, channel.FramesMissed));
        Assert.Equal((long)frames, summary.Saved);

        var dir = Directory.CreateDirectory(Path.Combine(_folder, "ref")).FullName;
        WriteFrames(Path.Combine(dir, "raw.u16"), standIn!, frames);
        File.WriteAllBytes(Path.Combine(dir, "pedestal.f32"), _model.Pedestal.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
        File.WriteAllBytes(Path.Combine(dir, "gain.f32"), _model.Gain.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
        Python.Run(PythonScripts.Path("jungfrau_reference.py"), ["--track", "2", "3", "4", dir, $"{frames}", $"{Pixels}", "12.4", "6.2", "2", "1", "0", "0"]);
        var verdict = Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{_folder}}/jf/tracked.h5", "r") as f:
                tracked = f["pedestal"][()]
            with h5py.File("{{_folder}}/out/tracked_0_00000.h5", "r") as f:
                saved = f["entry_0000/measurement/data"][()]
            ref_tracked = np.fromfile("{{dir}}/tracked_pedestal.f32", np.float32).reshape(3, 1024, 1024)
            energy = np.fromfile("{{dir}}/{{(gaps ? "assembled_energy" : "energy")}}.f32", np.float32).reshape(saved.shape)
            given = np.fromfile("{{dir}}/pedestal.f32", np.float32).reshape(3, 1024, 1024)
            print(tracked.dtype, tracked.shape, saved.shape, np.array_equal(tracked, ref_tracked), np.array_equal(saved, energy),
                  int((tracked != given).sum() > 1024 * 1024))
            """);
        Assert.Equal($"float32 (3, 1024, 1024) {(gaps ? "(5, 1028, 1030)" : "(5, 1024, 1024)")} True True 1", verdict.Trim());
    }

    [Fact]
    public async Task Two_receivers_dealt_whole_frames_round_robin_save_masters_interleaving_both_equal_to_the_numpy_reference_and_count_a_lost_packet_where_it_was()
    {
        const int frames = 6, receivers = 2;
        const long lossyFrame = 3; // receiver 1's
        const int lossyModule = 1, lossyPacket = 17;
        Directory.CreateDirectory(Path.Combine(_folder, "jf"));
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "pedestal.h5"), JungfrauCalibrationFile.Pedestal, _model.Pedestal);
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "gain.h5"), JungfrauCalibrationFile.Gain, _model.Gain);
        // every module to each receiver, placed with the chip gaps; the raw words saved beside the energies
        string SettingsOf(int rank) => Settings(frames, "energy",
            """, "dispatch": "round_robin", "geometry": {"rows": 2, "double_pixel_gaps": true} """,
            det: """ "jfrau": {"pedestal_path": "jf/pedestal.h5", "gain_path": "jf/gain.h5", "photon_energy": 0} """,
            rawSaving: """{"enabled": true, "base_path": "raw", "filename_prefix": "raw", "nb_frames_per_file": 2}""",
            receiver: $""" "rank": {rank}, "nb_receivers": {receivers}, """);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var runs = new List<ReceiverRun>();
        try
        {
            for (var rank = 0; rank < receivers; rank++)
                runs.Add(await ReceiverRun.PrepareAsync(ReceiverSettings.Parse(SettingsOf(rank)), timeout.Token));
            var channels = runs.Select(r => Assert.IsType<JungfrauChannel>(r.Channel)).ToArray();
            var running = runs.Select(r => r.RunAsync(timeout.Token)).ToArray();
            // the detector's destination list: frame k to receiver k mod 2's ports
            using var standIn = new JungfrauStandIn(JungfrauStandInTests.Diffraction(Modules), _model, new JungfrauStandInOptions
            {
                Destinations = [.. channels.Select(c => c.Ports.Select(p => new IPEndPoint(IPAddress.Loopback, p)).ToArray())],
                Frames = frames,
                Rate = 10,
                Drop = new HashSet<(long, int, int)> { (lossyFrame, lossyModule, lossyPacket) },
            });
            await standIn.RunAsync(CancellationToken.None);
            var summaries = await Task.WhenAll(running);
            Assert.All(summaries, summary => Assert.Null(summary.Error));
            Assert.Equal([3L, 3L], summaries.Select(summary => summary.Saved));
            Assert.Equal([3L, 3L], channels.Select(c => c.RawFramesSaved));
            // the lost packet counted by receiver 1, on its port of module 1, in its frame 3 only
            Assert.Equal([(3L, 0L, 0L), (2L, 1L, 0L)], channels.Select(c => (c.FramesComplete, c.FramesIncomplete, c.FramesMissed)));
            Assert.Equal([[0L, 0L], [0L, 1L]], channels.Select(c => c.PortCounters.Select(p => p.PacketsPadded)));
            Assert.Equal([[3L, 3L], [3L, 2L]], channels.Select(c => c.PortCounters.Select(p => p.FramesComplete)));
            Assert.All(channels, c => Assert.Empty(c.Rejections));
            Assert.Equal(1, standIn.PacketsDropped);

            // the numpy reference from the words sent, the packet left out padded as a receiver pads it
            var dir = Directory.CreateDirectory(Path.Combine(_folder, "ref")).FullName;
            var sent = Enumerable.Range(0, frames).Select(i => standIn.ModuleWords(i)).ToArray();
            sent[lossyFrame][lossyModule].AsSpan(lossyPacket * JungfrauModule.PixelsPerPacket, JungfrauModule.PixelsPerPacket).Fill(ModuleFrameAssembler.PaddingValue);
            File.WriteAllBytes(Path.Combine(dir, "raw.u16"), sent.SelectMany(f => f.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray())).ToArray());
            File.WriteAllBytes(Path.Combine(dir, "pedestal.f32"), _model.Pedestal.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
            File.WriteAllBytes(Path.Combine(dir, "gain.f32"), _model.Gain.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
            Python.Run(PythonScripts.Path("jungfrau_reference.py"), [dir, $"{frames}", $"{Pixels}", "12.4", "6.2", "2", "1", "0", "0"]);
            foreach (var run in runs)
                await run.DisposeAsync(); // the receivers' files closed
            runs.Clear();
            var verdict = Python.Eval($$"""
                import h5py, numpy as np
                def master(path):
                    with h5py.File(f"{{_folder}}/{path}_master.h5", "r") as f:
                        d = f["entry_0000/instrument/detector/data"]
                        return d[()], d.is_virtual
                (energy, energy_virtual), (raw, raw_virtual) = master("out/energy"), master("raw/raw")
                ref_energy = np.fromfile("{{dir}}/assembled_energy.f32", np.float32).reshape(energy.shape)
                ref_raw = np.fromfile("{{dir}}/assembled_raw.u16", np.uint16).reshape(raw.shape)
                with h5py.File("{{_folder}}/raw/raw_1_00000.h5", "r") as f:
                    first_of_1 = f["entry_0000/instrument/detector/data"][0]
                print(energy.dtype, energy.shape, energy_virtual, np.array_equal(energy, ref_energy), raw.dtype, raw.shape, raw_virtual,
                      np.array_equal(raw, ref_raw), np.array_equal(first_of_1, ref_raw[1]), int((raw[3] == 0xFFFF).sum()))
                """);
            // receiver 1's first file holds frame 1; frame 3's padded packet is 4096 pixels of 0xFFFF
            Assert.Equal("float32 (6, 1028, 1030) True True uint16 (6, 1028, 1030) True True True 4096", verdict.Trim());
        }
        finally
        {
            foreach (var run in runs)
                await run.DisposeAsync();
        }
    }

    /// <summary>An energy run whose raw words go to <c>raw/</c> (their own files, 2 modules = 2 MiB a frame).</summary>
    private string RawBesideEnergy(long frames, string receiver = "") => RawBesideEnergy(frames, "raw", raw: true, receiver);

    /// <summary>An energy run saving <c>out/{prefix}</c>, its raw words (when <paramref name="raw"/>) <c>raw/{prefix}</c>.</summary>
    private string RawBesideEnergy(long frames, string prefix, bool raw, string receiver = "")
    {
        Directory.CreateDirectory(Path.Combine(_folder, "jf"));
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "pedestal.h5"), JungfrauCalibrationFile.Pedestal, _model.Pedestal);
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "gain.h5"), JungfrauCalibrationFile.Gain, _model.Gain);
        return Settings(frames, prefix == "raw" ? "energy" : prefix, det: """ "jfrau": {"pedestal_path": "jf/pedestal.h5", "gain_path": "jf/gain.h5", "photon_energy": 0} """,
            rawSaving: raw ? $$"""{"enabled": true, "base_path": "raw", "filename_prefix": "{{prefix}}", "nb_frames_per_file": 100}""" : "{}", receiver: receiver);
    }

    [Fact]
    public async Task The_raw_words_queues_buffers_are_kept_for_the_next_run_within_its_queue_and_freed_by_a_run_without_raw_words()
    {
        const int frames = 4;
        const long frameBytes = Pixels * sizeof(ushort);
        using var kept = new FrameBufferReserve();
        ReceiverSettings Energy(string name, bool raw) => ReceiverSettings.Parse(RawBesideEnergy(frames, name, raw)) with { KeptRawBuffers = kept };
        async Task<JungfrauChannel> RunOnce(string name)
        {
            var (summary, channel) = await Run(Energy(name, raw: true), async ports =>
            {
                using var standIn = StandIn(ports, frames, JungfrauStandInContent.Photons);
                await standIn.RunAsync(CancellationToken.None);
            });
            Assert.Null(summary.Error);
            Assert.Equal(frames, channel.RawFramesSaved);
            return channel;
        }

        await RunOnce("first");
        // every buffer the first run's queue made is kept (within its 4 frames), none lent any more
        var fresh = kept.FreshBuffers;
        Assert.InRange(fresh, 1, 4);
        Assert.Equal((0L, fresh * frameBytes, 0L), (kept.ReusedBuffers, kept.KeptBytes, kept.LentBytes));

        await RunOnce("second");
        // the second run's queue wrote into the first one's buffers; all of them kept again, none lost or freed
        Assert.InRange(kept.ReusedBuffers, 1, 4);
        Assert.InRange(kept.FreshBuffers, fresh, 4);
        Assert.Equal((kept.FreshBuffers * frameBytes, 0L), (kept.KeptBytes, kept.LentBytes));
        Assert.InRange(kept.PeakBytes, kept.KeptBytes, 4 * frameBytes);

        // a run that saves no raw words frees them at Prepare: its memory cap does not count them
        await using (await ReceiverRun.PrepareAsync(Energy("third", raw: false)))
            Assert.Equal(0, kept.KeptBytes);
    }

    [Fact]
    public async Task Raw_words_waiting_for_a_stalled_disk_do_not_hold_the_corrected_frames_and_those_a_full_queue_drops_are_counted()
    {
        const int frames = 10, window = 4; // the raw words' queue to the disk holds a window of frames
        // the raw words' own file system, frozen once their file is created: every write to it waits until it thaws
        using var disk = FreezableDisk.Mount(Path.Combine(_folder, "raw"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await using var run = await ReceiverRun.PrepareAsync(ReceiverSettings.Parse(RawBesideEnergy(frames, """ "overload_policy": "drop", """)), timeout.Token);
        var channel = Assert.IsType<JungfrauChannel>(run.Channel);
        JungfrauStandIn standIn;
        Task<ReceiverSummary> running;
        disk.Freeze();
        try
        {
            running = run.RunAsync(timeout.Token);
            standIn = StandIn([.. channel.Ports.Select(p => new IPEndPoint(IPAddress.Loopback, p))], frames, JungfrauStandInContent.Photons);
            await standIn.RunAsync(CancellationToken.None);
            // every frame is corrected and handed to the graph while the raw words wait: they are written off the
            // channel's thread (the corrected frames' writes wait too: libhdf5 takes one call at a time)
            for (var wait = Stopwatch.StartNew(); run.Counters!.Received < frames && wait.Elapsed < TimeSpan.FromSeconds(20);)
                await Task.Delay(50);
            Assert.Equal(frames, run.Counters!.Received);
            Assert.Equal(0, channel.RawFramesSaved);
        }
        finally
        {
            disk.Thaw();
        }
        var summary = await running;
        Assert.Null(summary.Error);
        Assert.Equal((frames, frames, 0L), (channel.FramesComplete, summary.Saved, summary.Counters.Dropped));
        // the queue held a window of frames; the others found it full and were dropped, counted
        Assert.Equal((window, frames - window), (channel.RawFramesSaved, channel.RawFramesDropped));
        Assert.EndsWith($"; raw words of {window} frames saved, of {frames - window} dropped (their queue to the disk was full)", summary.Channel.Detail);
        WriteFrames(Path.Combine(_folder, "sent.u16"), standIn, frames);
        var verdict = Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{_folder}}/raw/raw_0_00000.h5", "r") as f:
                d = f["entry_0000/measurement/data"][()]
            sent = np.fromfile("{{_folder}}/sent.u16", np.uint16).reshape(d.shape)
            print(d.shape, np.array_equal(d[:{{window}}], sent[:{{window}}]), int(d[{{window}}:].any()))
            """);
        Assert.Equal($"({frames}, 1024, 1024) True 0", verdict.Trim());
    }

    [Fact]
    public async Task A_failed_write_of_the_raw_words_ends_the_run_with_a_one_sentence_reason()
    {
        const int frames = 3;
        var small = Path.Combine(_folder, "raw");
        Directory.CreateDirectory(small);
        using (var m = ChildProcess.Start("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]))
            Assert.Equal(0, m.WaitForExit(TimeSpan.FromSeconds(10)));
        try
        {
            var (summary, channel) = await Run(RawBesideEnergy(frames), async ports =>
                await StandIn(ports, frames, JungfrauStandInContent.Photons).RunAsync(CancellationToken.None));
            var error = Assert.IsType<ChannelException>(summary.Error);
            Assert.Equal($"the raw words were not saved: node 'saving_raw' failed processing frame 0: disk full: {small}", error.Message);
            Assert.Equal(0, channel.RawFramesSaved);
        }
        finally
        {
            using var u = ChildProcess.Start("umount", [small]);
            u.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task Frames_with_padded_packets_leave_the_tracked_pedestal_maps_alone()
    {
        const int frames = 10;
        Directory.CreateDirectory(Path.Combine(_folder, "jf"));
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "pedestal.h5"), JungfrauCalibrationFile.Pedestal, _model.Pedestal);
        JungfrauCalibrationFile.Write(Path.Combine(_folder, "jf", "gain.h5"), JungfrauCalibrationFile.Gain, _model.Gain);
        JungfrauStandIn? standIn = null;
        // frames 0, 3, 6, 9 flagged dark, in the others the G0 pixels within 3 keV of zero; the raw words saved beside
        // tell which frames came whole
        var (summary, channel) = await Run(Settings(frames, "lossy_tracked",
            """, "track_dark_every": 3, "track_g0_band": 3, "track_window": 4, "tracked_pedestal_file": "jf/tracked.h5" """,
            det: """ "jfrau": {"pedestal_path": "jf/pedestal.h5", "gain_path": "jf/gain.h5", "photon_energy": 0} """,
            rawSaving: """{"enabled": true, "base_path": "raw", "filename_prefix": "raw", "nb_frames_per_file": 100}"""), async ports =>
        {
            standIn = StandIn(ports, frames, JungfrauStandInContent.Photons, loss: 0.002);
            await standIn.RunAsync(CancellationToken.None);
        });
        Assert.Null(summary.Error);
        Assert.Equal((frames, frames), (summary.Saved, channel.RawFramesSaved));
        Assert.Equal(frames, channel.FramesComplete + channel.FramesIncomplete);
        Assert.InRange(channel.FramesIncomplete, 1, frames - 2);

        var dir = Directory.CreateDirectory(Path.Combine(_folder, "ref")).FullName;
        WriteFrames(Path.Combine(dir, "raw.u16"), standIn!, frames);
        File.WriteAllBytes(Path.Combine(dir, "pedestal.f32"), _model.Pedestal.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
        File.WriteAllBytes(Path.Combine(dir, "gain.f32"), _model.Gain.SelectMany(m => MemoryMarshal.AsBytes(m.AsSpan()).ToArray()).ToArray());
        // a frame came whole when its saved raw words are the stand-in's, padded packets (0xFFFF) nowhere
        var incomplete = Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{_folder}}/raw/raw_0_00000.h5", "r") as f:
                saved = f["entry_0000/measurement/data"][()].reshape({{frames}}, -1)
            sent = np.fromfile("{{dir}}/raw.u16", np.uint16).reshape(saved.shape)
            complete = (saved == sent).all(axis=1)
            complete.astype(np.uint8).tofile("{{dir}}/complete.u8")
            print(int((~complete).sum()))
            """);
        Assert.Equal(channel.FramesIncomplete, long.Parse(incomplete));
        // numpy's tracking over the complete frames only: the maps are equal bit for bit
        Python.Run(PythonScripts.Path("jungfrau_reference.py"), ["--track", "3", "3", "4", dir, $"{frames}", $"{Pixels}", "12.4", "6.2"]);
        var verdict = Python.Eval($$"""
            import os, h5py, numpy as np
            with h5py.File("{{_folder}}/jf/tracked.h5", "r") as f:
                tracked = f["pedestal"][()].reshape(3, -1)
            ref_tracked = np.fromfile("{{dir}}/tracked_pedestal.f32", np.float32).reshape(3, -1)
            os.remove("{{dir}}/complete.u8")  # the next reference tracks over every frame
            print(np.array_equal(tracked, ref_tracked))
            """);
        Assert.Equal("True", verdict.Trim());
        // and they are not the maps of a tracking over every frame
        Python.Run(PythonScripts.Path("jungfrau_reference.py"), ["--track", "3", "3", "4", dir, $"{frames}", $"{Pixels}", "12.4", "6.2"]);
        Assert.Equal("False", Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{_folder}}/jf/tracked.h5", "r") as f:
                tracked = f["pedestal"][()].reshape(3, -1)
            print(np.array_equal(tracked, np.fromfile("{{dir}}/tracked_pedestal.f32", np.float32).reshape(3, -1)))
            """).Trim());
    }

    [Fact]
    public void Pedestal_tracking_fields_round_trip_through_the_receiver_property_text()
    {
        var config = ReceiverConfig.Parse("""
            channel: { kind: jungfrau_udp, jungfrau: { ports: [1],
                       track_dark_every: 100, track_g0_band: 3.1, track_window: 500, tracked_pedestal_file: t.h5 } }
            """).Channel.Jungfrau!;
        var read = JungfrauChannelConfig.Parse(config.ToPropertyText(), "property");
        Assert.Equal((100, 3.1f, 500, "t.h5"), (read.TrackDarkEvery, read.TrackG0Band, read.TrackWindow, read.TrackedPedestalFile));
        var untracked = JungfrauChannelConfig.Parse(new JungfrauChannelConfig { Ports = [1] }.ToPropertyText(), "property");
        Assert.Equal((0, null, 1000, false), (untracked.TrackDarkEvery, untracked.TrackG0Band, untracked.TrackWindow, untracked.TracksPedestal));
    }

    [Theory]
    [InlineData("tracked_pedestal_file: t.h5", "channel.jungfrau.track_dark_every")] // no rule
    [InlineData("track_g0_band: 3, track_window: 0", "channel.jungfrau.track_dark_every")]
    public void Pedestal_tracking_without_a_rule_or_a_window_is_refused(string jungfrau, string path)
    {
        var errors = Assert.Throws<ParamsException>(() => ReceiverConfig.Parse($"channel: {{ kind: jungfrau_udp, jungfrau: {{ ports: [1], {jungfrau} }} }}")).Errors;
        Assert.Equal(path, Assert.Single(errors).Path);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Packets_left_out_are_padded_and_every_packet_and_frame_is_counted_once(int portsPerModule)
    {
        const int frames = 10;
        JungfrauStandIn? standIn = null;
        var (summary, channel) = await Run(Settings(frames, "lossy", portsPerModule: portsPerModule), async ports =>
        {
            standIn = StandIn(ports, frames, JungfrauStandInContent.Photons, loss: 0.01, interfaces: portsPerModule);
            await standIn.RunAsync(CancellationToken.None);
        });
        Assert.Null(summary.Error);
        var ports = channel.PortCounters;
        Assert.InRange(standIn!.PacketsDropped, 1, 100);
        Assert.Equal(standIn.PacketsDropped, ports.Sum(p => p.PacketsPadded));
        Assert.Equal(standIn.PacketsSent, ports.Sum(p => p.PacketsCaught));
        Assert.Equal(frames, channel.FramesComplete + channel.FramesIncomplete + channel.FramesMissed);
        Assert.True(channel.FramesIncomplete > 0);
        Assert.All(ports, p => Assert.Equal(frames, p.FramesComplete + p.FramesIncomplete + p.FramesMissed));
        Assert.Equal((long)frames, summary.Saved);
        Assert.Equal(Modules * portsPerModule, ports.Count);
        // every pixel is the stand-in's word but those of the packets left out, padded
        WriteFrames(Path.Combine(_folder, "sent.u16"), standIn, frames);
        var padded = Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{_folder}}/out/lossy_0_00000.h5", "r") as f:
                d = f["entry_0000/measurement/data"][()]
            sent = np.fromfile("{{_folder}}/sent.u16", np.uint16).reshape(d.shape)
            pad = d == 0xFFFF
            print(int(pad.sum()), np.array_equal(d[~pad], sent[~pad]))
            """);
        Assert.Equal($"{standIn.PacketsDropped * JungfrauModule.PixelsPerPacket} True", padded.Trim());
    }

    [Fact]
    public async Task A_frame_no_port_had_a_packet_of_is_counted_lost_and_the_others_are_delivered()
    {
        const int frames = 4;
        var (summary, channel) = await Run(Settings(frames, "missed"), ports =>
        {
            using var sender = new JungfrauPacketSender([.. ports.Select((port, id) => new ModuleDestination(id, port))]);
            var everything = Enumerable.Range(0, Modules).SelectMany(m => Enumerable.Range(0, 128).Select(p => (m, p))).ToHashSet();
            for (ulong frame = 1; frame <= frames; frame++)
            {
                sender.SendFrame(frame, [.. Enumerable.Range(0, Modules).Select(m => ModuleFrameAssemblerTests.ModulePixels(frame, m))],
                    frame == 2 ? everything : null);
                Thread.Sleep(100);
            }
            return Task.CompletedTask;
        });
        Assert.Null(summary.Error);
        Assert.Equal((3L, 0L, 1L), (channel.FramesComplete, channel.FramesIncomplete, channel.FramesMissed));
        Assert.Equal((4L, 1L, 3L), (summary.Counters.Received, summary.Counters.DroppedLost, summary.Saved));
    }

    [Fact]
    public void A_receive_buffer_larger_than_rmem_max_is_reported_with_the_fix()
    {
        var rmemMax = long.Parse(File.ReadAllText("/proc/sys/net/core/rmem_max").Trim());
        var asked = (int)Math.Min(int.MaxValue / 2, rmemMax + (1 << 20));
        var assembler = new ModuleFrameAssembler(new JungfrauAssemblerOptions { ModuleIds = [0] }, f => f.Dispose());
        using var cut = new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), assembler, TimeSpan.FromSeconds(1), asked);
        Assert.NotNull(cut.ReceiveBufferWarning);
        Assert.Contains($"net.core.rmem_max is {rmemMax} bytes", cut.ReceiveBufferWarning);
        Assert.Contains($"sysctl -w net.core.rmem_max={asked}", cut.ReceiveBufferWarning);
        using var granted = new JungfrauUdpListener(new IPEndPoint(IPAddress.Loopback, 0), assembler, TimeSpan.FromSeconds(1), 64 << 10);
        Assert.Null(granted.ReceiveBufferWarning);
    }

    [Fact]
    public void A_jungfrau_udp_channel_without_ports_or_with_a_bad_address_is_refused_naming_the_fields()
    {
        var errors = Assert.Throws<ParamsException>(() => ReceiverConfig.Parse("""
            channel: { kind: jungfrau_udp, jungfrau: { ports: [], bind: nowhere } }
            """)).Errors.Select(e => e.Path).ToArray();
        Assert.Equal(["channel.jungfrau.ports", "channel.jungfrau.bind"], errors);
        Assert.Throws<ParamsException>(() => ReceiverConfig.Parse("channel: { kind: jungfrau_udp }"));
        // what a run does is the run's params' to say, no longer the receiver's
        Assert.Throws<ParamsException>(() => ReceiverConfig.Parse("channel: { kind: jungfrau_udp, jungfrau: { ports: [1], output: energy } }"));
    }

    [Theory]
    [InlineData("ports: [1, 2, 3], ports_per_module: 2", "channel.jungfrau.ports")]
    [InlineData("ports: [1, 2], ports_per_module: 3", "channel.jungfrau.ports_per_module")]
    [InlineData("ports: [1, 2, 3, 4], ports_per_module: 2, module_ids: [0, 1, 2]", "channel.jungfrau.module_ids")]
    [InlineData("ports: [1, 2, 3, 4], ports_per_module: 2, geometry: { rows: 4 }", "channel.jungfrau.geometry")]
    public void Ports_that_do_not_make_whole_modules_are_refused_naming_the_field(string jungfrau, string path)
    {
        var errors = Assert.Throws<ParamsException>(() => ReceiverConfig.Parse($"channel: {{ kind: jungfrau_udp, jungfrau: {{ {jungfrau} }} }}")).Errors;
        Assert.Equal(path, Assert.Single(errors).Path);
    }

    [Fact]
    public void Two_ports_per_module_make_as_many_modules_as_half_the_ports()
    {
        var config = ReceiverConfig.Parse("channel: { kind: jungfrau_udp, jungfrau: { ports: [1, 2, 3, 4], ports_per_module: 2, correction: opencl } }");
        Assert.Equal([0, 1], config.Channel.Jungfrau!.ModuleIdList);
        Assert.Equal(JungfrauCorrectionEngine.OpenCl, config.Channel.Jungfrau.Correction);
    }

    [Theory]
    // each receiver's ports carry every module of the geometry
    [InlineData("ports: [1, 2, 3], geometry: { rows: 2, columns: 2 }, dispatch: round_robin", 2, "channel.jungfrau.geometry",
        "2 x 2 modules, the ports carry 3")]
    // several receivers dealt whole frames must say so: full_frame is one receiver taking every frame
    [InlineData("ports: [1, 2], geometry: { rows: 2 }", 2, "channel.jungfrau.dispatch",
        "full_frame gives every frame to one receiver: 2 receivers take whole frames with round_robin (frame k to receiver k mod n) or parts of every frame with modules")]
    [InlineData("ports: [1, 2], geometry: { rows: 2 }, dispatch: full_frame", 3, "channel.jungfrau.dispatch", null)]
    public void Round_robin_dispatch_needs_every_module_on_each_receivers_ports_and_several_receivers_need_a_dispatch(string block, int receivers,
        string path, string? reason)
    {
        var error = Assert.Single(Assert.Throws<ParamsException>(() =>
            ReceiverConfig.Parse($"rank: 1\nnb_receivers: {receivers}\nchannel: {{ kind: jungfrau_udp, jungfrau: {{ {block} }} }}")).Errors);
        Assert.Equal(path, error.Path);
        if (reason is not null)
            Assert.Equal(reason, error.Reason);
        var config = ReceiverConfig.Parse("rank: 1\nnb_receivers: 2\nchannel: { kind: jungfrau_udp, jungfrau: { ports: [1, 2], geometry: { rows: 2 }, dispatch: round_robin } }");
        Assert.Equal(JungfrauDispatch.RoundRobin, config.Channel.Jungfrau!.Dispatch);
        Assert.Equal([0, 1], config.Channel.Jungfrau.ModuleIdList);
    }

    [Fact]
    public void Modules_dispatch_gives_receiver_r_of_n_the_r_th_run_of_modules_and_refuses_a_wrong_port_count_or_module_ids()
    {
        const string block = "geometry: { rows: 4, columns: 2 }, dispatch: modules";
        var config = ReceiverConfig.Parse($"rank: 1\nnb_receivers: 2\nchannel: {{ kind: jungfrau_udp, jungfrau: {{ ports: [1, 2, 3, 4], {block} }} }}");
        Assert.Equal([4, 5, 6, 7], config.Channel.Jungfrau!.ModulesOf(1, 2));
        Assert.Equal([[0, 1], [2, 3, 4], [5, 6, 7]], Enumerable.Range(0, 3).Select(r => config.Channel.Jungfrau.ModulesOf(r, 3)));
        var errors = Assert.Throws<ParamsException>(() => ReceiverConfig.Parse(
            $"rank: 1\nnb_receivers: 2\nchannel: {{ kind: jungfrau_udp, jungfrau: {{ ports: [1, 2, 3], module_ids: [4, 5, 6], {block} }} }}")).Errors;
        Assert.Equal(["channel.jungfrau.ports", "channel.jungfrau.module_ids"], errors.Select(e => e.Path));
        Assert.Contains("receiver 1 of 2 takes modules 4, 5, 6, 7 of 4 x 2: 1 port(s) each, 3 given", errors[0].Reason);
        Assert.Equal("channel.jungfrau.geometry", Assert.Single(Assert.Throws<ParamsException>(() => ReceiverConfig.Parse(
            "channel: { kind: jungfrau_udp, jungfrau: { ports: [1], dispatch: modules } }")).Errors).Path);
    }
}
