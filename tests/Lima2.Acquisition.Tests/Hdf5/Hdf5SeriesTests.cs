using System.Runtime.InteropServices;
using Lima2.Hdf5;
using Lima2.TestSupport;

namespace Lima2.Acquisition.Tests.Hdf5;

public sealed class Hdf5SeriesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("h5s-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(ChunkFilter.None, new int[0])]
    [InlineData(ChunkFilter.Deflate, new[] { 1 })]
    [InlineData(ChunkFilter.BitshuffleLz4, new[] { 32008 })]
    public void Rows_appended_across_chunks_read_back_exact_in_h5py(ChunkFilter filter, int[] filters)
    {
        var path = Path.Combine(_folder, "series.h5");
        using (var file = Hdf5File.Create(path, overwrite: false))
        {
            using (var values = file.CreateSeries<uint>("/g/values", 0, chunkRows: 4, filter))
            {
                values.Append([1, 2, 3]);
                values.Append([]);
                values.Append([4, 5, 6, 7, 8, 9u]);
                Assert.Equal(9, values.Rows);
            }
            using (var table = file.CreateSeries<float>("/g/table", 3, chunkRows: 2, filter))
            {
                table.Append([0.5f, 1, 2]);
                table.Append([3, 4, 5, 6, 7, 8.25f]);
                Assert.Throws<ArgumentException>(() => table.Append([1f, 2]));
                Assert.Equal(3, table.Rows);
            }
            file.Close();
        }
        var values1 = H5PyView.Read(path, "/g/values");
        Assert.Equal(new long[] { 9 }, values1.Shape);
        Assert.Equal("<u4", values1.Dtype);
        Assert.Equal(filters, values1.Filters);
        Assert.Equal(Enumerable.Range(1, 9).Select(i => (uint)i), MemoryMarshal.Cast<byte, uint>(values1.Data).ToArray());
        var table1 = H5PyView.Read(path, "/g/table");
        Assert.Equal(new long[] { 3, 3 }, table1.Shape);
        Assert.Equal("<f4", table1.Dtype);
        Assert.Equal([0.5f, 1, 2, 3, 4, 5, 6, 7, 8.25f], MemoryMarshal.Cast<byte, float>(table1.Data).ToArray());
    }

    [Fact]
    public void Fixed_arrays_scalars_and_string_array_attributes_read_back_in_h5py()
    {
        var path = Path.Combine(_folder, "arrays.h5");
        using (var file = Hdf5File.Create(path, overwrite: false))
        {
            file.WriteArray<double>("/a/image", [1, 2, 3, 4, 5, 6.5], 2, 3);
            file.WriteArray<long>("/a/scalar", [-7]);
            file.WriteArray<int>("/a/empty", [], 0);
            file.SetAttribute("/a", "axes", [".", "radius"]);
            Assert.Throws<ArgumentException>(() => file.WriteArray<int>("/a/bad", [1, 2, 3], 2, 2));
            file.Close();
        }
        var output = Python.Eval($"""
            import h5py
            with h5py.File("{path}") as f:
                print(f["/a/image"].dtype.str, f["/a/image"].shape, f["/a/image"][()].tolist())
                print(f["/a/scalar"].dtype.str, f["/a/scalar"].shape, f["/a/scalar"][()])
                print(f["/a/empty"].shape, [str(a) for a in f["/a"].attrs["axes"]], "bad" in f["/a"])
            """).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("<f8 (2, 3) [[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]]", output[0]);
        Assert.Equal("<i8 () -7", output[1]);
        Assert.Equal("(0,) ['.', 'radius'] False", output[2]);
    }
}
