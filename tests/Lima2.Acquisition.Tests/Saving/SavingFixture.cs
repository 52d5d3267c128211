using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;

namespace Lima2.Acquisition.Tests.Saving;

/// <summary>A saving root in a temporary folder, and frames whose pixels say which global frame they are.</summary>
public sealed class SavingFolder : IDisposable
{
    public SavingFolder() => Root = Directory.CreateTempSubdirectory("saving-").FullName;

    public string Root { get; }

    public static readonly FrameInfo Info = new(24, 10, PixelType.Gray16);

    public static ushort[] Pixels(long global) =>
        Enumerable.Range(0, Info.PixelCount).Select(i => (ushort)(i % 7 == 0 ? global * 3 + i : i % 5)).ToArray();

    public static byte[] Bytes(long global) => MemoryMarshal.AsBytes(Pixels(global).AsSpan()).ToArray();

    public static Frame Frame(long global, long receiverIndex) =>
        Lima2.Core.Frames.Frame.FromArray(Pixels(global), Info.Width, Info.Height, global, receiverIndex);

    public SavingParams Params(SavingCompression compression = SavingCompression.None, int perFile = 3, int rank = 0, string basePath = "data") => new()
    {
        Enabled = true,
        BasePath = basePath,
        FilenamePrefix = "scan",
        FilenameRank = rank,
        NbFramesPerFile = perFile,
        Compression = compression,
    };

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
