using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Hdf5;

namespace Lima2.Detectors.Loader;

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

    private Hdf5FrameSource(IReadOnlyList<string> paths, string datasetPath, FrameSlice slice)
    {
        try
        {
            foreach (var path in paths)
            {
                var file = Hdf5File.OpenReadOnly(path);
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
    public static Hdf5FrameSource Open(string path, string datasetPath) => new([path], datasetPath, new FrameSlice());

    /// <summary>The files a simulator loader names, from <c>start_number</c> on while they exist.</summary>
    public static Hdf5FrameSource Open(LoaderParams loader)
    {
        var paths = new List<string>();
        for (var number = loader.StartNumber; ; number++)
        {
            var name = FilenameFormat.Render(loader.FilenameFormat, loader.FilenamePrefix, 0, number, loader.FilenameSuffix);
            var path = Path.Combine(loader.BasePath, name);
            if (!File.Exists(path))
                break;
            paths.Add(path);
        }
        if (paths.Count == 0)
            throw new FileNotFoundException(
                $"no file {FilenameFormat.Render(loader.FilenameFormat, loader.FilenamePrefix, 0, loader.StartNumber, loader.FilenameSuffix)} in {loader.BasePath}");
        return new Hdf5FrameSource(paths, loader.DatasetPath, loader.FrameSlice);
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
