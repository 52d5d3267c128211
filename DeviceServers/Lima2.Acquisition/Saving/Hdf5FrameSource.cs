using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Hdf5;
using Microsoft.Win32.SafeHandles;

namespace Lima2.Acquisition.Saving;

/// <summary>
/// Frames read from HDF5 files (the simulator's loader, <c>lima2 stream --file</c>): a series of files of
/// <c>nb_frames_per_file</c> frames each, a frame dataset (N, H, W) or a single frame (H, W) in each, played
/// through a frame slice (start, count, stride).
/// </summary>
public sealed class Hdf5FrameSource : IFrameSource, IDisposable
{
    private readonly List<(Hdf5File File, Hdf5Dataset Dataset)> _files = [];
    private readonly long _start;
    private readonly long _stride;

    private Hdf5FrameSource(IReadOnlyList<string> paths, Func<int, Hdf5File> open, string datasetPath, FrameSlice slice)
    {
        try
        {
            for (var i = 0; i < paths.Count; i++)
            {
                var file = open(i);
                try
                {
                    _files.Add((file, file.OpenFrameDataset(datasetPath)));
                }
                catch
                {
                    file.Dispose();
                    throw;
                }
            }
            Info = _files[0].Dataset.Frame;
            if (_files.FirstOrDefault(f => f.Dataset.Frame != Info) is { File: not null } other)
                throw new InvalidDataException($"{other.File.Path} holds {other.Dataset.Frame} frames, {paths[0]} {Info}");
            var available = _files.Sum(f => f.Dataset.Frames);
            _start = slice.Start;
            _stride = slice.Stride;
            var inSlice = available > _start ? (available - _start + _stride - 1) / _stride : 0;
            Count = slice.Count > 0 ? Math.Min(slice.Count, inSlice) : inSlice;
            if (Count == 0)
                throw new InvalidDataException($"the frame slice {slice} selects none of the {available} frames of {string.Join(", ", paths)}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public FrameInfo Info { get; }

    public long? Count { get; }

    /// <summary>One file's frame dataset, every frame.</summary>
    public static Hdf5FrameSource Open(string path, string datasetPath) =>
        new([path], _ => Hdf5File.OpenReadOnly(path), datasetPath, new FrameSlice());

    /// <summary>
    /// The files a simulator loader names, from <c>start_number</c> on while they exist under <paramref name="root"/>
    /// (a receiver's reference root), opened beneath it without following links. A first file that is missing and
    /// one outside the root or behind a link are refused alike, so the error tells nothing of what exists elsewhere.
    /// </summary>
    /// <exception cref="FileNotFoundException">the first file is not a file under the root.</exception>
    public static Hdf5FrameSource Open(LoaderParams loader, SavingRoot root)
    {
        string PathOf(int number) => Path.Combine(loader.BasePath,
            FilenameFormat.Render(loader.FilenameFormat, loader.FilenamePrefix, 0, number, loader.FilenameSuffix));
        SafeFileHandle? OpenUnder(string path)
        {
            try
            {
                return root.OpenRead(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        var opened = new List<(string Path, SafeFileHandle File)>();
        try
        {
            for (var number = loader.StartNumber; OpenUnder(PathOf(number)) is { } file; number++)
                opened.Add((PathOf(number), file));
            if (opened.Count == 0)
                throw new FileNotFoundException($"{PathOf(loader.StartNumber)} is not a file under the reference root {root.Root}");
            // HDF5 opens its own descriptor through /proc/self/fd/N, the file itself; ours are closed after
            return new Hdf5FrameSource(opened.ConvertAll(f => f.Path),
                i => Hdf5File.OpenReadOnly(opened[i].File, opened[i].Path), loader.DatasetPath, loader.FrameSlice);
        }
        finally
        {
            foreach (var (_, file) in opened)
                file.Dispose();
        }
    }

    public void Render(long index, Span<byte> destination)
    {
        if (index < 0 || index >= Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the loader has {Count} frames");
        var frame = _start + index * _stride;
        foreach (var (_, dataset) in _files)
        {
            if (frame < dataset.Frames)
            {
                dataset.ReadFrame(frame, destination[..Info.ByteSize]);
                return;
            }
            frame -= dataset.Frames;
        }
    }

    public void Dispose()
    {
        foreach (var (file, dataset) in _files)
        {
            dataset.Dispose();
            file.Dispose();
        }
        _files.Clear();
    }
}
