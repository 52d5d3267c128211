using Lima2.Acquisition.Saving;
using Lima2.Hdf5;
using Lima2.Core.Parameters;
using Lima2.Acquisition.Tests.Hdf5;

namespace Lima2.Acquisition.Tests.Saving;

public sealed class MasterFileTests : IDisposable
{
    private readonly SavingFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(2, 11, SavingCompression.BshufLz4)]
    [InlineData(3, 14, SavingCompression.None)]
    [InlineData(3, 2, SavingCompression.Zip)]
    public async Task The_master_virtual_dataset_shows_every_receivers_frames_in_global_order(int receivers, int total, SavingCompression compression)
    {
        var root = new SavingRoot(_folder.Root);
        for (var rank = 0; rank < receivers; rank++)
        {
            await using var sink = new Hdf5FrameSink(_folder.Params(compression, perFile: 2, rank: rank), SavingFolder.Info, root);
            for (long global = rank, local = 0; global < total; global += receivers, local++)
            {
                using var frame = SavingFolder.Frame(global, local);
                await sink.WriteAsync(frame, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        var master = MasterFile.Write(_folder.Params(compression, perFile: 2), root, SavingFolder.Info, receivers, total);
        Assert.Equal(Path.Combine(root.Root, "data", "scan_master.h5"), master);

        var view = H5PyView.Read(master, "/entry_0000/measurement/data");
        Assert.True(view.Virtual);
        Assert.Equal(new long[] { total, 10, 24 }, view.Shape);
        Assert.Equal(Enumerable.Range(0, total).SelectMany(g => SavingFolder.Bytes(g)), view.Data);
    }

    [Fact]
    public async Task Frames_a_receiver_never_saved_read_as_zeros_in_the_master_file()
    {
        var root = new SavingRoot(_folder.Root);
        for (var rank = 0; rank < 2; rank++)
        {
            var share = rank == 0 ? 4 : 3;
            await using var sink = new Hdf5FrameSink(_folder.Params(perFile: 2, rank: rank), SavingFolder.Info, root,
                new SinkOptions(ExpectedFrames: share));
            // Receiver 1 stops after its first frame (global 1) of the 3 it should get (1, 3, 5).
            for (long global = rank, local = 0; global < (rank == 0 ? 7 : 2); global += 2, local++)
            {
                using var frame = SavingFolder.Frame(global, local);
                await sink.WriteAsync(frame, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        var master = MasterFile.Write(_folder.Params(perFile: 2), root, SavingFolder.Info, 2, 7);

        var view = H5PyView.Read(master, "/entry_0000/instrument/detector/data");
        var zeros = new byte[SavingFolder.Info.ByteSize];
        var expected = Enumerable.Range(0, 7).SelectMany(g => g % 2 == 0 || g == 1 ? SavingFolder.Bytes(g) : zeros);
        Assert.Equal(expected, view.Data);
    }

    [Fact]
    public async Task A_receiver_that_died_gets_only_the_frames_in_its_files_mapped_and_the_gap_is_stated()
    {
        using var root = new SavingRoot(_folder.Root);
        for (var rank = 0; rank < 2; rank++)
        {
            await using var sink = new Hdf5FrameSink(_folder.Params(perFile: 2, rank: rank), SavingFolder.Info, root);
            for (long global = rank, local = 0; global < (rank == 0 ? 7 : 4); global += 2, local++)
            {
                using var frame = SavingFolder.Frame(global, local);
                await sink.WriteAsync(frame, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        // receiver 1 was killed while writing its second file (global frame 5): never closed, not an HDF5 file yet
        File.WriteAllBytes(Path.Combine(_folder.Root, "data", "scan_1_00001.h5"), new byte[100]);

        var master = MasterFile.Write(_folder.Params(perFile: 2), root, SavingFolder.Info, [4, 3]);

        var view = H5PyView.Read(master, "/entry_0000/instrument/detector/data");
        var zeros = new byte[SavingFolder.Info.ByteSize];
        Assert.Equal(Enumerable.Range(0, 7).SelectMany(g => g == 5 ? zeros : SavingFolder.Bytes(g)), view.Data);
        Assert.Equal("receiver 1: 1 of 3 frames not in its files (they read as 0)",
            view.Attribute($"{NexusLayout.FramesPath}@{MasterFile.MissingAttribute}"));
        var saved = H5PyView.Read(master, $"/entry_0000/instrument/detector/{MasterFile.SavedPerReceiverField}");
        Assert.Equal(new long[] { 4, 2 }, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(saved.Data).ToArray());
    }

    [Fact]
    public async Task A_forged_count_maps_no_more_than_the_files_hold_and_reads_only_the_files_there_are()
    {
        using var root = new SavingRoot(_folder.Root);
        await using (var sink = new Hdf5FrameSink(_folder.Params(perFile: 2), SavingFolder.Info, root))
        {
            for (long i = 0; i < 3; i++)
            {
                using var frame = SavingFolder.Frame(i, i);
                await sink.WriteAsync(frame, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }

        var master = MasterFile.Write(_folder.Params(perFile: 2), root, SavingFolder.Info, [long.MaxValue / 4]);

        var view = H5PyView.Read(master, "/entry_0000/instrument/detector/data");
        Assert.Equal(new long[] { 3, 10, 24 }, view.Shape);
        Assert.Equal(Enumerable.Range(0, 3).SelectMany(g => SavingFolder.Bytes(g)), view.Data);
    }

    [Theory]
    [InlineData(new long[] { 5 }, 5)]
    [InlineData(new long[] { 5, 3 }, 9)]
    [InlineData(new long[] { 2, 3, 0 }, 8)]
    public async Task After_an_endless_run_the_master_file_shows_exactly_the_frames_each_receiver_saved(long[] saved, long total)
    {
        var root = new SavingRoot(_folder.Root);
        var receivers = saved.Length;
        for (var rank = 0; rank < receivers; rank++)
        {
            // nb_frames 0: no expected count, the last file holds just what was written
            await using var sink = new Hdf5FrameSink(_folder.Params(perFile: 2, rank: rank), SavingFolder.Info, root);
            for (long local = 0; local < saved[rank]; local++)
            {
                using var frame = SavingFolder.Frame(rank + local * receivers, local);
                await sink.WriteAsync(frame, CancellationToken.None);
            }
            await sink.CompleteAsync(CancellationToken.None);
        }
        Assert.Equal(total, MasterFile.TotalFrames(saved));
        var master = MasterFile.Write(_folder.Params(perFile: 2), root, SavingFolder.Info, saved);

        var view = H5PyView.Read(master, "/entry_0000/measurement/data");
        Assert.True(view.Virtual);
        Assert.Equal(new long[] { total, 10, 24 }, view.Shape);
        var zeros = new byte[SavingFolder.Info.ByteSize];
        var expected = Enumerable.Range(0, (int)total)
            .SelectMany(g => g / receivers < saved[g % receivers] ? SavingFolder.Bytes(g) : zeros);
        Assert.Equal(expected, view.Data);
    }
}
