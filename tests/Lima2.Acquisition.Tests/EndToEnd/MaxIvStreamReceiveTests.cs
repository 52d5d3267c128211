using Lima2.Acquisition.Tests.Hdf5;
using Lima2.Core.Frames;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.EndToEnd;

/// <summary><c>lima2 stream --format maxiv</c> → <c>lima2 receive</c> on a <c>maxiv</c> channel, files read back by h5py.</summary>
public sealed class MaxIvStreamReceiveTests : IDisposable
{
    private static readonly FrameInfo Info = new(48, 40, PixelType.Gray16);
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("maxiv-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData("bslz4", "bshuf_lz4", 32008)]
    [InlineData("lz4", "zip", 1)]
    [InlineData("raw", "none", 0)]
    public void Every_frame_of_a_maxiv_stream_is_saved_pixel_exact(string encoding, string compression, int filter)
    {
        const int frames = 12;
        var input = Lima2Cli.Frames(Info, frames);
        Lima2Cli.WriteInput(Path.Combine(_folder, "input.h5"), Info, input);
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        using var receiver = Lima2Cli.Start("receive", Lima2Cli.Settings(_folder, "maxiv", endpoint, compression));
        using var source = Lima2Cli.Start("stream", "--format", "maxiv", "--encoding", encoding, "--frames", $"{frames}",
            "--file", Path.Combine(_folder, "input.h5"), "--dataset", "/frames", "--endpoint", endpoint, "--no-progress");
        Assert.True(source.WaitForExit(Limit) == 0, source.Output);
        Assert.True(receiver.WaitForExit(Limit) == 0, receiver.Output);
        Assert.Contains("received 12, processed 12, dropped 0", receiver.Output);
        Assert.Contains("saved 12 frames", receiver.Output);

        var view = H5PyView.Read(Path.Combine(_folder, "out", "scan_master.h5"), "/entry_0000/measurement/data");
        Assert.Equal(new long[] { frames, 40, 48 }, view.Shape);
        Assert.Equal(input, view.Data);
        var part = H5PyView.Read(Path.Combine(_folder, "out", "scan_0_00002.h5"), "/entry_0000/instrument/detector/data");
        Assert.Equal(filter == 0 ? [] : new[] { filter }, part.Filters);
    }
}
