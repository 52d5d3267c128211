using System.Text.Json;
using Lima2.Acquisition.Tests.EndToEnd;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Bench;

/// <summary>
/// scripts/device/pyshim: lima2-bench's same-work peer on the GPU server, whose Python has no pyzmq and whose h5py's
/// HDF5 lacks the bitshuffle filter. Imitated here with Debian's python3: the shim first on PYTHONPATH (its zmq.py
/// shadows pyzmq) and HDF5_PLUGIN_PATH an empty folder (no filter plugin found).
/// </summary>
public sealed class DevicePeerShimTests
{
    private static readonly string Shim = Path.Combine(RepoPaths.Root, "scripts", "device", "pyshim");
    private static readonly string Peer = Path.Combine(AppContext.BaseDirectory, "py", "same_work_receiver.py");
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private const int Frames = 6;

    [Theory]
    [InlineData("bslz4")]
    [InlineData("raw")]
    public void The_peer_takes_a_lima2_stream_through_the_shim_as_through_pyzmq(string encoding)
    {
        var noFilters = Directory.CreateTempSubdirectory("lima2-no-filters-").FullName;
        try
        {
            var (rc, output) = RunPeer(encoding, new Dictionary<string, string?> { ["PYTHONPATH"] = Shim, ["HDF5_PLUGIN_PATH"] = noFilters });
            Assert.True(rc == 0, output);
            var withShim = Result(output);
            var (pyzmqRc, pyzmqOutput) = RunPeer(encoding, new Dictionary<string, string?>());
            Assert.True(pyzmqRc == 0, pyzmqOutput);
            var withPyzmq = Result(pyzmqOutput);
            Assert.Equal(Frames, withShim.GetProperty("frames").GetInt32());
            Assert.True(withShim.GetProperty("complete").GetBoolean());
            Assert.Equal(withPyzmq.GetProperty("bytes").GetInt64(), withShim.GetProperty("bytes").GetInt64());
            Assert.Equal(withPyzmq.GetProperty("roi_rows").GetInt32(), withShim.GetProperty("roi_rows").GetInt32());
        }
        finally
        {
            Directory.Delete(noFilters, recursive: true);
        }
    }

    [Fact]
    public void Without_the_shim_the_peer_cannot_declare_the_bitshuffle_filter_its_hdf5_lacks()
    {
        var noFilters = Directory.CreateTempSubdirectory("lima2-no-filters-").FullName;
        try
        {
            var (rc, output) = RunPeer("bslz4", new Dictionary<string, string?> { ["HDF5_PLUGIN_PATH"] = noFilters });
            Assert.NotEqual(0, rc);
            Assert.Contains("Unknown compression filter number: 32008", output);
        }
        finally
        {
            Directory.Delete(noFilters, recursive: true);
        }
    }

    [Fact]
    public void The_shim_is_the_zmq_imported_and_its_receive_times_out_as_pyzmq_does()
    {
        var output = Python.Eval(
            "import zmq\n" +
            "socket = zmq.Context().socket(zmq.PULL)\n" +
            "socket.setsockopt(zmq.RCVTIMEO, 200)\n" +
            $"socket.connect('tcp://127.0.0.1:{FreePort.Next()}')\n" +
            "try:\n    socket.recv_multipart(copy=False)\nexcept zmq.Again:\n    print('again', zmq.__file__)\n",
            new Dictionary<string, string?> { ["PYTHONPATH"] = Shim });
        Assert.Contains($"again {Path.Combine(Shim, "zmq.py")}", output);
    }

    /// <summary>The peer on one endpoint of <c>lima2 stream</c> (V1, <see cref="Frames"/> frames); its exit code and output.</summary>
    private static (int Rc, string Output) RunPeer(string encoding, IReadOnlyDictionary<string, string?> environment)
    {
        var folder = Directory.CreateTempSubdirectory("lima2-peer-").FullName;
        var endpoint = $"tcp://127.0.0.1:{FreePort.Next()}";
        try
        {
            using var peer = ChildProcess.Start(Python.Interpreter, [Peer, endpoint, Path.Combine(folder, "peer.h5")], environment);
            peer.WaitForOutput("ready", Limit);
            using var stream = Lima2Cli.Start("stream", "--version", "v1", "--encoding", encoding, "--endpoint", endpoint,
                "--frames", Frames.ToString(), "--width", "256", "--height", "256", "--prefetch", "2", "--no-progress");
            var rc = peer.WaitForExit(Limit);
            if (rc == 0)
                Assert.Equal(0, stream.WaitForExit(Limit));
            return (rc, peer.Output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static JsonElement Result(string output) =>
        JsonDocument.Parse(output.Split('\n').Last(line => line.StartsWith('{'))).RootElement;
}
