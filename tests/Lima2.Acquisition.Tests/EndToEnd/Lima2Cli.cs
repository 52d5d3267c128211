using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.Hdf5;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.EndToEnd;

/// <summary>Runs the <c>lima2</c> command (built beside the tests) and prepares what it reads.</summary>
internal static class Lima2Cli
{
    public static ChildProcess Start(params string[] arguments) =>
        ChildProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "lima2.dll"), .. arguments]);

    /// <summary>Every frame different, compressible but not trivially: what a detector sends.</summary>
    public static byte[] Frames(FrameInfo info, int count)
    {
        var pixels = new ushort[info.PixelCount * count];
        var random = new Random(42);
        for (var i = 0; i < pixels.Length; i++)
            pixels[i] = (ushort)(random.Next(8) == 0 ? random.Next(4000) : i / info.PixelCount);
        return MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray();
    }

    /// <summary>An HDF5 file of frames for <c>lima2 stream --file</c>.</summary>
    public static void WriteInput(string path, FrameInfo info, byte[] frames)
    {
        using var file = Hdf5File.Create(path, overwrite: true);
        using var dataset = file.CreateFrameDataset("/frames", info, ChunkFilter.None);
        var count = frames.Length / info.ByteSize;
        dataset.SetFrames(count);
        for (var i = 0; i < count; i++)
            dataset.WriteChunk(i, frames.AsSpan(i * info.ByteSize, info.ByteSize));
    }

    /// <summary>A settings file for <c>lima2 receive</c>.</summary>
    public static string Settings(string folder, string kind, string endpoint, string compression, int perFile = 5,
        string policy = "abort", string savingRoot = "", long frames = 0, int timeoutMs = 0)
    {
        var path = Path.Combine(folder, $"receive-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, $$"""
            receiver:
              channel: { kind: {{kind}}, endpoints: [ "{{endpoint}}" ], timeout_ms: {{timeoutMs}} }
              memory_cap: 64MiB
              saving_root: {{(savingRoot == "" ? folder : savingRoot)}}
            acq_params:
              acq: { nb_frames: {{frames}} }
            proc_params:
              class_name: LimaProcessingLegacy
              saving: { enabled: true, base_path: out, filename_prefix: scan, nb_frames_per_file: {{perFile}}, compression: {{compression}}, file_exists_policy: {{policy}} }
              statistics: { enabled: true, rect_rois: [ { topleft: { x: 1, y: 1 }, dimensions: { x: 8, y: 6 } } ] }
            """);
        return path;
    }
}
