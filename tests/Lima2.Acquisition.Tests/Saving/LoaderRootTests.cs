using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>
/// The simulator loader reads its frame files only from under the receiver's reference root (the root of every file
/// a receiver reads), never through a link: a file elsewhere would otherwise be served back through the saved files
/// and <c>getFrame</c>.
/// </summary>
public sealed class LoaderRootTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("loader-root-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("elsewhere-").FullName;
    private readonly string _saving = Directory.CreateTempSubdirectory("loader-saving-").FullName;

    public LoaderRootTests()
    {
        foreach (var folder in new[] { _root, _outside })
            Python.Eval($$"""
                import h5py, numpy as np, os
                os.makedirs("{{folder}}/in", exist_ok=True)
                with h5py.File("{{folder}}/in/frames_00000.h5", "w") as f:
                    f["entry_0000/instrument/detector/data"] = np.arange(4 * 8 * 16, dtype=np.uint16).reshape(4, 8, 16)
                """);
    }

    public void Dispose()
    {
        foreach (var folder in new[] { _root, _outside, _saving })
            Directory.Delete(folder, recursive: true);
    }

    private string Settings(string basePath) => $$"""
        {"receiver": {"channel": {"kind": "simulator"}, "memory_cap": "64MiB", "saving_root": "{{_saving}}",
                      "reference_root": "{{_root}}", "peak_finder": "reference"},
         "acq_params": {"acq": {"nb_frames": 4, "expo_time": 1000},
                        "det": {"image_source": "loader", "loader": {"base_path": "{{basePath}}", "filename_prefix": "frames"} } },
         "proc_params": {"class_name": "LimaProcessingLegacy",
                         "saving": {"enabled": true, "base_path": "out", "filename_prefix": "played", "nb_frames_per_file": 10} } }
        """;

    [Theory]
    [InlineData("in")]
    [InlineData("{root}/in")]
    public async Task Loader_files_under_the_reference_root_are_played_and_saved_as_they_are(string basePath)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var run = await ReceiverRun.PrepareAsync(
            ReceiverSettings.Parse(Settings(basePath.Replace("{root}", _root))), timeout.Token);
        var summary = await run.RunAsync(timeout.Token);
        Assert.Null(summary.Error);

        var same = Python.Eval($$"""
            import h5py, numpy as np
            with h5py.File("{{_saving}}/out/played_0_00000.h5", "r") as f:
                d = f["entry_0000/measurement/data"][()]
            print(d.shape == (4, 8, 16) and bool((d == np.arange(4 * 8 * 16).reshape(4, 8, 16)).all()))
            """);
        Assert.Equal("True", same.Trim());
    }

    [Fact]
    public async Task Loader_files_outside_the_root_behind_a_link_and_missing_ones_are_refused_alike()
    {
        Directory.CreateSymbolicLink(Path.Combine(_root, "linked"), Path.Combine(_outside, "in"));
        Directory.CreateDirectory(Path.Combine(_root, "planted"));
        File.CreateSymbolicLink(Path.Combine(_root, "planted", "frames_00000.h5"), Path.Combine(_outside, "in", "frames_00000.h5"));

        async Task<string> Refusal(string basePath) =>
            (await Assert.ThrowsAsync<FileNotFoundException>(() => ReceiverRun.PrepareAsync(ReceiverSettings.Parse(Settings(basePath))))).Message;
        string Expected(string basePath) => $"{basePath}/frames_00000.h5 is not a file under the reference root {_root}";

        foreach (var basePath in new[] { $"{_outside}/in", "linked", "planted", "in/../../x", $"{_outside}/missing", "missing" })
            Assert.Equal(Expected(basePath), await Refusal(basePath));
    }
}
