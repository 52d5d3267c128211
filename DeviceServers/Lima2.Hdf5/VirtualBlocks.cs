using Lima2.Core.Frames;
using Lima2.Hdf5.Native;

namespace Lima2.Hdf5;

/// <summary>
/// One block of a virtual dataset of frames: frames [0, <paramref name="Frames"/>) of a source dataset of shape
/// (<paramref name="Frames"/>, <paramref name="SourceHeight"/>, <paramref name="SourceWidth"/>), the rectangle
/// (<paramref name="SourceX"/>, <paramref name="SourceY"/>, <paramref name="Width"/>, <paramref name="Height"/>) of each,
/// shown at frames [<paramref name="FirstFrame"/>, …) and (<paramref name="X"/>, <paramref name="Y"/>) of the virtual one.
/// </summary>
/// <param name="FileName">the source file, relative to the virtual dataset's file (resolved by HDF5 from its folder)</param>
public sealed record VirtualBlock(string FileName, string DatasetPath, long Frames, int SourceHeight, int SourceWidth,
    int SourceX, int SourceY, int Width, int Height, long FirstFrame, int X, int Y);

/// <summary>Virtual datasets assembled from rectangles of other datasets' frames (partial-frame dispatch).</summary>
public static unsafe class VirtualBlocks
{
    /// <summary>
    /// Creates a virtual dataset of <paramref name="frames"/> frames of <paramref name="frame"/>'s geometry and pixel
    /// type assembled from <paramref name="blocks"/>; a pixel no block covers reads 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">a block outside its source's frames or the virtual dataset's.</exception>
    public static void CreateVirtualBlockDataset(this Hdf5File file, string path, FrameInfo frame, long frames, IEnumerable<VirtualBlock> blocks)
    {
        H5.Enter();
        var dims = stackalloc ulong[] { (ulong)frames, (ulong)frame.Height, (ulong)frame.Width };
        using var space = new SpaceHandle(H5.H5Screate_simple(3, dims, null), "H5Screate_simple");
        using var dcpl = Hdf5File.VirtualFramesProperties(frame);
        var sourceDims = stackalloc ulong[3];
        var start = stackalloc ulong[3];
        var count = stackalloc ulong[3];
        foreach (var b in blocks)
        {
            if (b.Frames <= 0)
                continue;
            if (b.SourceX < 0 || b.SourceY < 0 || b.SourceX + b.Width > b.SourceWidth || b.SourceY + b.Height > b.SourceHeight
                || b.X < 0 || b.Y < 0 || b.X + b.Width > frame.Width || b.Y + b.Height > frame.Height
                || b.FirstFrame < 0 || b.FirstFrame + b.Frames > frames)
                throw new ArgumentOutOfRangeException(nameof(blocks), b, $"does not fit its source or {frames} frames of {frame.Width}x{frame.Height}");
            (sourceDims[0], sourceDims[1], sourceDims[2]) = ((ulong)b.Frames, (ulong)b.SourceHeight, (ulong)b.SourceWidth);
            using var sourceSpace = new SpaceHandle(H5.H5Screate_simple(3, sourceDims, null), "H5Screate_simple");
            (start[0], start[1], start[2]) = (0, (ulong)b.SourceY, (ulong)b.SourceX);
            (count[0], count[1], count[2]) = ((ulong)b.Frames, (ulong)b.Height, (ulong)b.Width);
            H5.Check(H5.H5Sselect_hyperslab(sourceSpace.Id, H5.SelectSet, start, null, count, null), "H5Sselect_hyperslab(source)");
            using var selection = new SpaceHandle(H5.H5Screate_simple(3, dims, null), "H5Screate_simple");
            (start[0], start[1], start[2]) = ((ulong)b.FirstFrame, (ulong)b.Y, (ulong)b.X);
            H5.Check(H5.H5Sselect_hyperslab(selection.Id, H5.SelectSet, start, null, count, null), "H5Sselect_hyperslab");
            H5.Check(H5.H5Pset_virtual(dcpl.Id, selection.Id, b.FileName, b.DatasetPath, sourceSpace.Id),
                $"H5Pset_virtual({b.FileName}:{b.DatasetPath})");
        }
        file.CreateVirtualDataset(path, frame, space, dcpl);
    }
}
