using Lima2.Hdf5.Native;

namespace Lima2.Hdf5;

/// <summary>
/// A dataset that grows by rows appended in order: one value per row (rank 1, <see cref="RowWidth"/> 0) or rows of
/// a fixed width (rank 2). Each append extends axis 0 and writes through the dataset's filters, so a writer holds
/// no more than the rows it appends.
/// </summary>
public sealed unsafe class Hdf5Series<T> : IDisposable where T : unmanaged
{
    private readonly DatasetHandle _dataset;
    private readonly Hdf5File _file;

    internal Hdf5Series(DatasetHandle dataset, Hdf5File file, string path, int rowWidth)
    {
        _dataset = dataset;
        _file = file;
        Path = path;
        RowWidth = rowWidth;
    }

    public string Path { get; }

    /// <summary>Values per row; 0 for a one-dimensional series.</summary>
    public int RowWidth { get; }

    /// <summary>Rows written so far (the extent of axis 0).</summary>
    public long Rows { get; private set; }

    /// <summary>Appends <paramref name="values"/>: whole rows, row-major.</summary>
    public void Append(ReadOnlySpan<T> values)
    {
        H5.Enter();
        var width = Math.Max(1, RowWidth);
        if (values.Length % width != 0)
            throw new ArgumentException($"{_file.Path}:{Path} takes rows of {width} values, not {values.Length} values");
        var rows = values.Length / width;
        if (rows == 0)
            return;
        var rank = RowWidth == 0 ? 1 : 2;
        var size = stackalloc ulong[] { (ulong)(Rows + rows), (ulong)RowWidth };
        H5.Check(H5.H5Dset_extent(_dataset.Id, size), $"{_file.Path}:{Path}: extend to {Rows + rows} rows");
        using var space = new SpaceHandle(H5.H5Dget_space(_dataset.Id), "H5Dget_space");
        var start = stackalloc ulong[] { (ulong)Rows, 0 };
        var count = stackalloc ulong[] { (ulong)rows, (ulong)RowWidth };
        H5.Check(H5.H5Sselect_hyperslab(space.Id, H5.SelectSet, start, null, count, null), "H5Sselect_hyperslab");
        using var memory = new SpaceHandle(H5.H5Screate_simple(rank, count, null), "H5Screate_simple");
        fixed (T* data = values)
            H5.Check(H5.H5Dwrite(_dataset.Id, H5.TypeOf<T>(), memory.Id, space.Id, H5.Default, data),
                $"{_file.Path}:{Path}: write rows {Rows}..{Rows + rows}");
        Rows += rows;
    }

    public void Dispose() => _dataset.Dispose();
}
