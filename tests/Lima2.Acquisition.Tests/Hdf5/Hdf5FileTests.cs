using System.Runtime.InteropServices;
using Lima2.Compression;
using Lima2.Core.Frames;
using Lima2.Hdf5;
using Lima2.Hdf5.Native;

namespace Lima2.Acquisition.Tests.Hdf5;

public sealed class Hdf5FileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("h5-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static ushort[] Pixels(int frame, int count) =>
        Enumerable.Range(0, count).Select(i => (ushort)((i * 7 + frame * 131) % 1000)).ToArray();

    [Theory]
    [InlineData(ChunkFilter.None, 0)]
    [InlineData(ChunkFilter.Deflate, 1)]
    [InlineData(ChunkFilter.BitshuffleLz4, 32008)]
    public void Frames_written_chunk_by_chunk_read_back_pixel_exact_in_h5py(ChunkFilter filter, int filterId)
    {
        var info = new FrameInfo(33, 20, PixelType.Gray16);
        var path = Path.Combine(_folder, "frames.h5");
        var expected = new List<byte>();
        using (var file = Hdf5File.Create(path, overwrite: false))
        {
            file.CreateGroup("/entry", "NXentry");
            using var dataset = file.CreateFrameDataset("/entry/instrument/detector/data", info, filter);
            dataset.SetFrames(3);
            for (var f = 0; f < 3; f++)
            {
                var bytes = MemoryMarshal.AsBytes(Pixels(f, info.PixelCount).AsSpan()).ToArray();
                expected.AddRange(bytes);
                if (filter == ChunkFilter.BitshuffleLz4)
                {
                    var chunk = new byte[BitshuffleLz4.MaxEncodedLength(bytes.Length, 2)];
                    dataset.WriteChunk(f, chunk.AsSpan(0, BitshuffleLz4.Encode(bytes, chunk, 2)));
                }
                else if (filter == ChunkFilter.None && f == 1)
                    dataset.WriteChunk(f, bytes);
                else
                    dataset.WriteFrame(f, bytes);
            }
            file.CreateSoftLink("/entry/instrument/detector/data", "/entry/measurement/data");
            file.SetAttribute("/entry/instrument/detector/data", "interpretation", "image");
            file.Close();
        }

        var view = H5PyView.Read(path, "/entry/measurement/data");
        Assert.Equal(new long[] { 3, 20, 33 }, view.Shape);
        Assert.Equal("<u2", view.Dtype);
        Assert.Equal(filterId == 0 ? [] : new[] { filterId }, view.Filters);
        Assert.Equal(expected.ToArray(), view.Data);
        Assert.Equal("NXentry", view.Group("/entry"));
        Assert.Equal("/entry/instrument/detector/data", view.Link("/entry/measurement/data"));
        Assert.Equal("image", view.Attribute("/entry/instrument/detector/data@interpretation"));
    }

    [Fact]
    public void A_strided_virtual_dataset_interleaves_its_sources_in_global_order()
    {
        var info = new FrameInfo(4, 3, PixelType.Gray32);
        const int receivers = 3, total = 8;
        var sources = new List<VirtualSource>();
        for (var rank = 0; rank < receivers; rank++)
        {
            var name = $"part_{rank}.h5";
            var frames = (total - rank + receivers - 1) / receivers;
            using var file = Hdf5File.Create(Path.Combine(_folder, name), overwrite: false);
            using var dataset = file.CreateFrameDataset("/e/d", info, ChunkFilter.None);
            dataset.SetFrames(frames);
            for (var k = 0; k < frames; k++)
            {
                var global = rank + k * receivers;
                dataset.WriteChunk(k, MemoryMarshal.AsBytes(Enumerable.Repeat((uint)global, info.PixelCount).ToArray().AsSpan()));
            }
            sources.Add(new VirtualSource(name, "/e/d", frames, rank, receivers));
        }
        var master = Path.Combine(_folder, "master.h5");
        using (var file = Hdf5File.Create(master, overwrite: false))
            file.CreateVirtualFrameDataset("/e/d", info, total, sources);

        var view = H5PyView.Read(master, "/e/d");
        Assert.True(view.Virtual);
        Assert.Equal(new long[] { total, 3, 4 }, view.Shape);
        var values = MemoryMarshal.Cast<byte, uint>(view.Data).ToArray();
        for (var g = 0; g < total; g++)
            Assert.All(values.AsSpan(g * 12, 12).ToArray(), v => Assert.Equal((uint)g, v));
    }

    [Fact]
    public void A_virtual_dataset_maps_a_sources_first_frames_when_its_file_holds_more_rows()
    {
        // a stopped finite run's last file: sized for 5 frames, 2 taken (the rows past them hold no frame)
        var info = new FrameInfo(4, 3, PixelType.Gray16);
        using (var file = Hdf5File.Create(Path.Combine(_folder, "part.h5"), overwrite: false))
        using (var dataset = file.CreateFrameDataset("/e/d", info, ChunkFilter.None))
        {
            dataset.SetFrames(5);
            for (var k = 0; k < 2; k++)
                dataset.WriteChunk(k, MemoryMarshal.AsBytes(Enumerable.Repeat((ushort)(k + 1), info.PixelCount).ToArray().AsSpan()));
        }
        var master = Path.Combine(_folder, "master.h5");
        using (var file = Hdf5File.Create(master, overwrite: false))
            file.CreateVirtualFrameDataset("/e/d", info, 3, [new VirtualSource("part.h5", "/e/d", 2, 1, 1)]);

        var view = H5PyView.Read(master, "/e/d");
        Assert.Equal(new long[] { 3, 3, 4 }, view.Shape);
        Assert.Equal(new ushort[] { 0, 1, 2 }, MemoryMarshal.Cast<byte, ushort>(view.Data).ToArray().Where((_, i) => i % 12 == 0));
    }

    [Fact]
    public void Creating_over_an_existing_file_fails_unless_overwrite_and_reading_it_back_works()
    {
        var info = new FrameInfo(5, 2, PixelType.Gray8);
        var path = Path.Combine(_folder, "x.h5");
        using (var file = Hdf5File.Create(path, overwrite: false))
        using (var dataset = file.CreateFrameDataset("/d", info, ChunkFilter.Deflate))
        {
            dataset.SetFrames(1);
            dataset.WriteFrame(0, Enumerable.Range(0, 10).Select(i => (byte)i).ToArray());
        }
        var error = Assert.Throws<IOException>(() => Hdf5File.Create(path, overwrite: false));
        Assert.Contains("already exists", error.Message);

        using (var file = Hdf5File.OpenReadOnly(path))
        using (var dataset = file.OpenFrameDataset("/d"))
        {
            Assert.Equal(info, dataset.Frame);
            Assert.Equal(1, dataset.Frames);
            var back = new byte[10];
            dataset.ReadFrame(0, back);
            Assert.Equal(Enumerable.Range(0, 10).Select(i => (byte)i), back);
        }
        using (Hdf5File.Create(path, overwrite: true))
        {
        }
        using (var file = Hdf5File.OpenReadOnly(path))
            Assert.False(file.Exists("/d"));
    }

    [Fact]
    public void Hdf5_errors_carry_the_library_error_stack()
    {
        var error = Assert.Throws<Hdf5Exception>(() => Hdf5File.OpenReadOnly(Path.Combine(_folder, "missing.h5")));
        Assert.Contains("missing.h5", error.Message);
        Assert.Contains("H5F", error.Message);
        using var file = Hdf5File.Create(Path.Combine(_folder, "y.h5"), overwrite: false);
        var missing = Assert.Throws<Hdf5Exception>(() => file.OpenFrameDataset("/nope"));
        Assert.Contains("/nope", missing.Message);
    }

    [Fact]
    public void Child_processes_do_not_inherit_open_files_so_they_cannot_hold_their_lock()
    {
        var path = Path.Combine(_folder, "locked.h5");
        using (var file = Hdf5File.Create(path, overwrite: false))
        {
            using var child = Lima2.TestSupport.ChildProcess.Start("sh", ["-c", "ls -l /proc/self/fd/"]);
            child.WaitForExit(TimeSpan.FromSeconds(10));
            Assert.DoesNotContain("locked.h5", child.Output);
            Assert.Contains("/proc/", child.Output);
        }
        using (Hdf5File.OpenReadOnly(path))
        {
        }
    }
}
