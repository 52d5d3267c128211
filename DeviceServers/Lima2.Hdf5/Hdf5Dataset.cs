using Lima2.Core.Frames;
using Lima2.Hdf5.Native;

namespace Lima2.Hdf5;

/// <summary>A dataset of frames (N, H, W) chunked one frame per chunk, or a single frame (H, W) read whole.</summary>
public sealed unsafe class Hdf5Dataset : IDisposable
{
    private readonly DatasetHandle _dataset;
    private readonly Hdf5File _file;
    private readonly int _rank;

    internal Hdf5Dataset(DatasetHandle dataset, Hdf5File file, string path, FrameInfo frame, long frames, int rank = 3)
    {
        _dataset = dataset;
        _file = file;
        _rank = rank;
        Path = path;
        Frame = frame;
        Frames = frames;
    }

    public string Path { get; }

    public FrameInfo Frame { get; }

    /// <summary>The dataset's current extent on axis 0.</summary>
    public long Frames { get; private set; }

    /// <summary>Sets the extent on axis 0 (grow ahead of writes, shrink to what was written before closing).</summary>
    public void SetFrames(long frames)
    {
        H5.Enter();
        var size = stackalloc ulong[] { (ulong)frames, (ulong)Frame.Height, (ulong)Frame.Width };
        H5.Check(H5.H5Dset_extent(_dataset.Id, size), $"{Where}: extend to {frames} frames");
        Frames = frames;
    }

    /// <summary>
    /// Writes one frame's chunk as it is (direct chunk write, no filter run): <paramref name="chunk"/> is already
    /// encoded the way the dataset's filter declares (raw pixels when none).
    /// </summary>
    public void WriteChunk(long frame, ReadOnlySpan<byte> chunk)
    {
        H5.Enter();
        CheckFrame(frame);
        var offset = stackalloc ulong[] { (ulong)frame, 0, 0 };
        fixed (byte* data = chunk)
            H5.Check(H5.H5Dwrite_chunk(_dataset.Id, H5.Default, 0, offset, (nuint)chunk.Length, data),
                $"{Where}: write chunk of frame {frame}");
    }

    /// <summary>Writes one frame's pixels through the dataset's filters.</summary>
    public void WriteFrame(long frame, ReadOnlySpan<byte> pixels)
    {
        H5.Enter();
        CheckFrame(frame);
        CheckLength(pixels.Length);
        using var space = FrameSelection(frame, out var memory);
        using (memory)
        fixed (byte* data = pixels)
            H5.Check(H5.H5Dwrite(_dataset.Id, H5.TypeOf(Frame.PixelType), memory.Id, space.Id, H5.Default, data),
                $"{Where}: write frame {frame}");
    }

    /// <summary>Reads one frame's pixels (decoded by the dataset's filters).</summary>
    public void ReadFrame(long frame, Span<byte> pixels)
    {
        H5.Enter();
        if (frame < 0 || frame >= Frames)
            throw new ArgumentOutOfRangeException(nameof(frame), frame, $"{Where} has {Frames} frames");
        CheckLength(pixels.Length);
        fixed (byte* data = pixels)
        {
            if (_rank == 2)
            {
                H5.Check(H5.H5Dread(_dataset.Id, H5.TypeOf(Frame.PixelType), H5.Default, H5.Default, H5.Default, data),
                    $"{Where}: read");
                return;
            }
            using var space = FrameSelection(frame, out var memory);
            using (memory)
                H5.Check(H5.H5Dread(_dataset.Id, H5.TypeOf(Frame.PixelType), memory.Id, space.Id, H5.Default, data),
                    $"{Where}: read frame {frame}");
        }
    }

    private string Where => $"{_file.Path}:{Path}";

    private void CheckFrame(long frame)
    {
        if (frame < 0 || frame >= Frames)
            throw new ArgumentOutOfRangeException(nameof(frame), frame, $"{Where} has room for {Frames} frames");
    }

    private void CheckLength(int length)
    {
        if (length != Frame.ByteSize)
            throw new ArgumentException($"a {Frame} frame has {Frame.ByteSize} bytes, not {length}");
    }

    private SpaceHandle FrameSelection(long frame, out SpaceHandle memory)
    {
        var space = new SpaceHandle(H5.H5Dget_space(_dataset.Id), "H5Dget_space");
        var start = stackalloc ulong[] { (ulong)frame, 0, 0 };
        var count = stackalloc ulong[] { 1, (ulong)Frame.Height, (ulong)Frame.Width };
        H5.Check(H5.H5Sselect_hyperslab(space.Id, H5.SelectSet, start, null, count, null), "H5Sselect_hyperslab");
        memory = new SpaceHandle(H5.H5Screate_simple(3, count, null), "H5Screate_simple");
        return space;
    }

    public void Dispose() => _dataset.Dispose();
}
