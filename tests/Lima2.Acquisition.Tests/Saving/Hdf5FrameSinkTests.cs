using System.Globalization;
using System.Runtime.InteropServices;
using Lima2.Acquisition.Saving;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Hdf5;
using Lima2.TestSupport;
using Lima2.Acquisition.Tests.Hdf5;

namespace Lima2.Acquisition.Tests.Saving;

public sealed class Hdf5FrameSinkTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private async Task Save(SavingParams saving, IEnumerable<Frame> frames, SinkOptions? options = null)
    {
        await using var sink = new Hdf5FrameSink(saving, SavingFolder.Info, new SavingRoot(_folder.Root), options);
        foreach (var frame in frames)
        {
            await sink.WriteAsync(frame, CancellationToken.None);
            frame.Dispose();
        }
        await sink.CompleteAsync(CancellationToken.None);
    }

    [Theory]
    [InlineData(SavingCompression.None, new int[0])]
    [InlineData(SavingCompression.Zip, new[] { 1 })]
    [InlineData(SavingCompression.BshufLz4, new[] { 32008 })]
    public async Task Frames_roll_over_files_and_read_back_pixel_exact_in_h5py(SavingCompression compression, int[] filters)
    {
        await Save(_folder.Params(compression), Enumerable.Range(0, 7).Select(i => SavingFolder.Frame(i, i)), new SinkOptions(Parallelism: 3));

        var files = Directory.GetFiles(Path.Combine(_folder.Root, "data")).Select(f => Path.GetFileName(f)!).Order().ToArray();
        Assert.Equal(["scan_0_00000.h5", "scan_0_00001.h5", "scan_0_00002.h5"], files);
        for (var f = 0; f < 3; f++)
        {
            var view = H5PyView.Read(Path.Combine(_folder.Root, "data", files[f]), "/entry_0000/measurement/data");
            var count = f < 2 ? 3 : 1;
            Assert.Equal(new long[] { count, 10, 24 }, view.Shape);
            Assert.Equal(filters, view.Filters);
            Assert.Equal(Enumerable.Range(3 * f, count).SelectMany(i => SavingFolder.Bytes(i)), view.Data);
            Assert.Equal("NXdetector", view.Group("/entry_0000/instrument/detector"));
            Assert.Equal("NXdata", view.Group("/entry_0000/instrument/detector/plot"));
            // the frames are NXmx's /entry/data/data; every Lima2 path is a soft link to it
            foreach (var lima2Path in new[] { "/entry_0000/instrument/detector/data", "/entry_0000/instrument/detector/plot/data", "/entry_0000/measurement/data" })
                Assert.Equal("/entry/data/data", view.Link(lima2Path));
            Assert.Equal("image", view.Attribute("/entry/data/data@interpretation"));
        }
    }

    [Theory]
    [InlineData(SavingCompression.Zip)]
    [InlineData(SavingCompression.BshufLz4)]
    public async Task In_a_graph_the_sink_compresses_frames_in_parallel_and_writes_every_one_at_its_row(SavingCompression compression)
    {
        const int frames = 40;
        var saving = _folder.Params(compression, perFile: frames);
        var sink = new Hdf5FrameSink(saving, SavingFolder.Info, new SavingRoot(_folder.Root), new SinkOptions(Parallelism: 3, ExpectedFrames: frames));
        var options = new GraphOptions { Parallelism = 3, EntryCapacity = 4, MemoryCapBytes = 8L * SavingFolder.Info.ByteSize };
        await using (var graph = new FrameGraph(SavingFolder.Info, [], [sink], options))
        {
            for (var i = 0; i < frames; i++)
            {
                var buffer = (await graph.RentAsync(i, CancellationToken.None))!.Value;
                SavingFolder.Bytes(i).CopyTo(buffer.Span);
                await graph.SubmitAsync(new Frame(buffer, SavingFolder.Info, i, i), CancellationToken.None);
            }
            var summary = await graph.CompleteAsync();
            Assert.Equal(frames, summary.Counters.Processed);
            Assert.Equal(frames, summary.Counters.PerNode["saving"]);
        }

        Assert.Equal(frames, sink.FramesWritten);
        var view = H5PyView.Read(Path.Combine(_folder.Root, "data", "scan_0_00000.h5"), "/entry_0000/measurement/data");
        Assert.Equal(new long[] { frames, 10, 24 }, view.Shape);
        Assert.Equal(Enumerable.Range(0, frames).SelectMany(i => SavingFolder.Bytes(i)), view.Data);
    }

    [Fact]
    public async Task A_bitshuffle_chunk_that_came_with_the_frame_is_written_as_it_is()
    {
        var frames = new List<Frame>();
        var chunks = new List<byte[]>();
        for (var i = 0; i < 2; i++)
        {
            var pixels = SavingFolder.Bytes(i);
            // A block size bitshuffle would not choose by itself: a recompressed chunk could not look the same.
            var chunk = new byte[BitshuffleLz4.MaxEncodedLength(pixels.Length, 2, 64)];
            chunk = chunk[..BitshuffleLz4.Encode(pixels, chunk, 2, 64)];
            chunks.Add(chunk);
            var frame = SavingFolder.Frame(i, i);
            var chunkBuffer = PooledBuffer.Unpooled(chunk.ToArray());
            frame.AttachEncoded(FrameEncoding.BitshuffleLz4, chunkBuffer.Memory, chunkBuffer);
            frames.Add(frame);
        }
        await Save(_folder.Params(SavingCompression.BshufLz4), frames);

        var file = Path.Combine(_folder.Root, "data", "scan_0_00000.h5");
        var output = Python.Eval($"""
            import h5py
            with h5py.File("{file}") as f:
                d = f["/entry_0000/instrument/detector/data"]
                for i in range(2):
                    print(d.id.read_direct_chunk((i, 0, 0))[1].hex())
            """);
        var stored = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(chunks.Select(c => Convert.ToHexStringLower(c)), stored);
        Assert.Equal(Enumerable.Range(0, 2).SelectMany(i => SavingFolder.Bytes(i)),
            H5PyView.Read(file, "/entry_0000/instrument/detector/data").Data);
    }

    /// <summary>
    /// On a disk (the checkout's: the temp folder may be tmpfs, where nothing is reserved), a frame file has 64 MiB of
    /// blocks reserved past its end while it is written, and once closed it is the bytes HDF5 wrote, no block past them.
    /// </summary>
    [Fact]
    public async Task On_disk_a_file_gets_space_reserved_ahead_while_written_and_none_past_its_end_once_closed()
    {
        var root = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, $"saving-disk-{Guid.NewGuid():N}")).FullName;
        try
        {
            var info = new FrameInfo(256, 256, PixelType.Gray16); // 128 KiB a frame
            var pixels = Enumerable.Range(0, 4).Select(i => Enumerable.Range(0, info.PixelCount).Select(p => (ushort)(p * 7 + i)).ToArray()).ToArray();
            var sink = new Hdf5FrameSink(_folder.Params(perFile: 10), info, new SavingRoot(root));
            var file = Path.Combine(root, "data", "scan_0_00000.h5");
            (long Size, long Allocated) open;
            try
            {
                for (var i = 0; i < pixels.Length; i++)
                {
                    using var frame = Frame.FromArray(pixels[i], info.Width, info.Height, i, i);
                    await sink.WriteAsync(frame, CancellationToken.None);
                }
                open = SizeAndAllocated(file);
                await sink.CompleteAsync(CancellationToken.None);
            }
            finally
            {
                await sink.DisposeAsync();
            }
            Assert.True(open.Size < 1 << 20 && open.Allocated >= 64L << 20, $"while written: {open.Size} bytes, {open.Allocated} allocated");
            var closed = SizeAndAllocated(file);
            Assert.True(closed.Size > pixels.Length * info.ByteSize && closed.Allocated <= (closed.Size + 4095) / 4096 * 4096,
                $"closed: {closed.Size} bytes, {closed.Allocated} allocated");
            Assert.Equal(pixels.SelectMany(p => MemoryMarshal.AsBytes(p.AsSpan()).ToArray()), H5PyView.Read(file, "/entry_0000/measurement/data").Data);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static (long Size, long Allocated) SizeAndAllocated(string file)
    {
        var fields = Python.Eval($"import os; s = os.stat('{file}'); print(s.st_size, s.st_blocks * 512)").Split(' ');
        return (long.Parse(fields[0], CultureInfo.InvariantCulture), long.Parse(fields[1], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task An_existing_file_with_policy_abort_stops_before_anything_is_written_and_overwrite_replaces_it()
    {
        await Save(_folder.Params(), [SavingFolder.Frame(0, 0)]);
        var error = Assert.Throws<IOException>(() => new Hdf5FrameSink(_folder.Params(), SavingFolder.Info, new SavingRoot(_folder.Root)));
        Assert.Contains("scan_0_00000.h5 already exists", error.Message);

        await Save(_folder.Params() with { FileExistsPolicy = FileExistsPolicy.Overwrite }, [SavingFolder.Frame(5, 0), SavingFolder.Frame(6, 1)]);
        var view = H5PyView.Read(Path.Combine(_folder.Root, "data", "scan_0_00000.h5"), "/entry_0000/instrument/detector/data");
        Assert.Equal(new long[] { 2, 10, 24 }, view.Shape);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("data/../../escape")]
    [InlineData("/etc")]
    public void Paths_outside_the_saving_root_are_refused(string basePath)
    {
        var error = Assert.Throws<UnauthorizedAccessException>(() =>
            new Hdf5FrameSink(_folder.Params(basePath: basePath), SavingFolder.Info, new SavingRoot(_folder.Root)));
        Assert.Contains(basePath, error.Message);
    }

    [Fact]
    public async Task A_symbolic_link_out_of_the_root_is_refused_and_nothing_is_created_beyond_it()
    {
        var outside = Directory.CreateTempSubdirectory("outside-").FullName;
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(_folder.Root, "link"), outside);
            var error = Assert.Throws<UnauthorizedAccessException>(() =>
                new Hdf5FrameSink(_folder.Params(basePath: "link/sub"), SavingFolder.Info, new SavingRoot(_folder.Root)));
            Assert.Contains("through a link", error.Message);
            Assert.Empty(Directory.GetFileSystemEntries(outside));

            Directory.CreateDirectory(Path.Combine(_folder.Root, "data"));
            var planted = Path.Combine(_folder.Root, "data", "scan_0_00000.h5");
            File.CreateSymbolicLink(planted, Path.Combine(outside, "victim.h5"));
            Assert.Throws<IOException>(() => new Hdf5FrameSink(_folder.Params(), SavingFolder.Info, new SavingRoot(_folder.Root))); // exists
            // overwrite replaces the link itself with the new file
            await new Hdf5FrameSink(_folder.Params() with { FileExistsPolicy = FileExistsPolicy.Overwrite }, SavingFolder.Info, new SavingRoot(_folder.Root)).DisposeAsync();
            Assert.Null(new FileInfo(planted).LinkTarget);
            Assert.Empty(Directory.GetFileSystemEntries(outside));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_folder_swapped_for_a_link_after_prepare_gets_no_file_beyond_it_and_the_write_fails_saying_so()
    {
        var outside = Directory.CreateTempSubdirectory("outside-").FullName;
        try
        {
            var victim = Path.Combine(outside, "run", "scan_0_00001.h5");
            Directory.CreateDirectory(Path.GetDirectoryName(victim)!);
            File.WriteAllText(victim, "precious");
            var saving = _folder.Params(perFile: 1, basePath: "data/run") with { FileExistsPolicy = FileExistsPolicy.Overwrite };
            using var root = new SavingRoot(_folder.Root);
            await using var sink = new Hdf5FrameSink(saving, SavingFolder.Info, root); // prepared: file 0 is there
            using (var first = SavingFolder.Frame(0, 0))
                await sink.WriteAsync(first, CancellationToken.None);

            Directory.Move(Path.Combine(_folder.Root, "data"), Path.Combine(_folder.Root, "moved"));
            Directory.CreateSymbolicLink(Path.Combine(_folder.Root, "data"), outside);
            // the sink writes each frame as it comes (no queue of its own): the write of the next file fails
            using var second = SavingFolder.Frame(1, 1);
            var error = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => sink.WriteAsync(second, CancellationToken.None).AsTask());

            Assert.Contains("link", error.Message);
            Assert.Equal("precious", File.ReadAllText(victim));
            Assert.Equal([victim], Directory.GetFiles(outside, "*", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Overwriting_a_file_hard_linked_to_one_elsewhere_replaces_the_link_and_leaves_the_other_file_alone()
    {
        var outside = Path.Combine(_folder.Root, "..", $"outside-{Guid.NewGuid():N}.h5"); // same file system: a hard link is possible
        try
        {
            File.WriteAllText(outside, "precious");
            Directory.CreateDirectory(Path.Combine(_folder.Root, "data"));
            Assert.Equal(0, link(outside, Path.Combine(_folder.Root, "data", "scan_0_00000.h5")));
            var saving = _folder.Params() with { FileExistsPolicy = FileExistsPolicy.Overwrite };
            using var root = new SavingRoot(_folder.Root);
            await new Hdf5FrameSink(saving, SavingFolder.Info, root).DisposeAsync();

            Assert.Equal("precious", File.ReadAllText(outside));
        }
        finally
        {
            File.Delete(outside);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int link(string existing, string created);

    [Fact]
    public async Task A_full_disk_is_a_clear_error_and_the_frames_written_are_counted()
    {
        var mount = Path.Combine(_folder.Root, "small");
        Directory.CreateDirectory(mount);
        using (var m = ChildProcess.Start("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount]))
            Assert.Equal(0, m.WaitForExit(TimeSpan.FromSeconds(10)));
        try
        {
            var big = new FrameInfo(256, 256, PixelType.Gray16); // 128 KiB a frame, 1 MiB of disk
            var saving = _folder.Params(basePath: "small", perFile: 100);
            var sink = new Hdf5FrameSink(saving, big, new SavingRoot(_folder.Root));
            Exception? error = null;
            long offered = 0;
            try
            {
                for (; offered < 20 && error is null; offered++)
                {
                    using var frame = Frame.FromArray(new ushort[big.PixelCount], big.Width, big.Height, offered, offered);
                    try
                    {
                        await sink.WriteAsync(frame, CancellationToken.None);
                    }
                    catch (Exception e)
                    {
                        error = e;
                    }
                }
                if (error is null)
                    error = await Record.ExceptionAsync(() => sink.CompleteAsync(CancellationToken.None).AsTask());
            }
            finally
            {
                await sink.DisposeAsync();
            }
            var full = Assert.IsType<DiskFullException>(error);
            Assert.Equal($"disk full: {Path.Combine(new SavingRoot(_folder.Root).Root, "small")}", full.Message);
            Assert.Contains("No space left on device", full.InnerException!.Message);
            Assert.Contains("scan_0_00000.h5", full.InnerException.Message);
            Assert.InRange(sink.FramesWritten, 1, 7);
            Assert.True(sink.FramesWritten < offered);
        }
        finally
        {
            using var u = ChildProcess.Start("umount", [mount]);
            u.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }
}
