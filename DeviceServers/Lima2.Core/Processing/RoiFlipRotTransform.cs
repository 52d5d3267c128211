using System.Numerics;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;

namespace Lima2.Core.Processing;

/// <summary>
/// Lima2's roi_flip_rot node: binning (sum of bx × by blocks, saturating), crop, flip, then clockwise rotation —
/// one pass through a precomputed index map into a new frame from <paramref name="pool"/>.
/// </summary>
public sealed class RoiFlipRotTransform : IFrameTransform
{
    private readonly FramePool _pool;
    private readonly int _origin;
    private readonly int _stepX;
    private readonly int _stepY;
    private const int Tile = 64;
    private readonly int _binX;
    private readonly int _binY;
    private readonly int _inputWidth;

    public RoiFlipRotTransform(FrameInfo input, RoiFlipRot geometry, FramePool pool)
    {
        Input = input;
        _pool = pool;
        _inputWidth = input.Width;
        _binX = geometry.Binning.X;
        _binY = geometry.Binning.Y;
        var (cropX, cropY, width, height) = Crop(input, geometry);
        Output = OutputInfo(input, geometry);
        if (pool.BufferBytes < Output.ByteSize)
            throw new ArgumentException($"roi_flip_rot: pool buffers of {pool.BufferBytes} bytes cannot hold {Output}");
        // every step is affine in (ox, oy), so the source of output pixel (ox, oy) is origin + ox·stepX + oy·stepY
        int Source(int ox, int oy)
        {
            var (x, y) = geometry.Rotation switch
            {
                Rotation.R90 => (oy, height - 1 - ox),
                Rotation.R180 => (width - 1 - ox, height - 1 - oy),
                Rotation.R270 => (width - 1 - oy, ox),
                _ => (ox, oy),
            };
            if (geometry.Flip is Flip.LeftRight or Flip.Both)
                x = width - 1 - x;
            if (geometry.Flip is Flip.UpDown or Flip.Both)
                y = height - 1 - y;
            return (y + cropY) * _binY * input.Width + (x + cropX) * _binX;
        }
        _origin = Source(0, 0);
        _stepX = Source(1, 0) - _origin;
        _stepY = Source(0, 1) - _origin;
    }

    public string Name => "roi_flip_rot";

    public FrameInfo Input { get; }

    public FrameInfo Output { get; }

    /// <summary>Geometry of the frames a geometry block makes from <paramref name="input"/> frames.</summary>
    public static FrameInfo OutputInfo(FrameInfo input, RoiFlipRot geometry)
    {
        var (_, _, width, height) = Crop(input, geometry);
        var rotated = geometry.Rotation is Rotation.R90 or Rotation.R270;
        return input with { Width = rotated ? height : width, Height = rotated ? width : height };
    }

    /// <summary>The binned and cropped rectangle (before flip and rotation) that a geometry block selects.</summary>
    public static (int X, int Y, int Width, int Height) Crop(FrameInfo input, RoiFlipRot geometry)
    {
        var binnedWidth = input.Width / geometry.Binning.X;
        var binnedHeight = input.Height / geometry.Binning.Y;
        var roi = geometry.Roi;
        var width = roi.Dimensions.X == 0 ? binnedWidth - roi.Topleft.X : roi.Dimensions.X;
        var height = roi.Dimensions.Y == 0 ? binnedHeight - roi.Topleft.Y : roi.Dimensions.Y;
        if (width <= 0 || height <= 0 || roi.Topleft.X + width > binnedWidth || roi.Topleft.Y + height > binnedHeight)
            throw new ArgumentException(
                $"roi_flip_rot: crop {roi.Topleft.X},{roi.Topleft.Y} {width}x{height} is outside the binned {binnedWidth}x{binnedHeight} frame");
        return (roi.Topleft.X, roi.Topleft.Y, width, height);
    }

    /// <summary>
    /// The mask in output geometry: an output pixel is used (1) when every input pixel of its binning block is.
    /// </summary>
    public byte[] MapMask(ReadOnlySpan<byte> mask)
    {
        if (mask.Length != Input.Width * Input.Height)
            throw new ArgumentException($"roi_flip_rot: a mask of {mask.Length} pixels for {Input.Width}x{Input.Height} frames");
        var result = new byte[Output.Width * Output.Height];
        for (var oy = 0; oy < Output.Height; oy++)
            for (var ox = 0; ox < Output.Width; ox++)
            {
                var source = _origin + ox * _stepX + oy * _stepY;
                var used = true;
                for (var by = 0; by < _binY && used; by++)
                    for (var bx = 0; bx < _binX && used; bx++)
                        used = mask[source + by * _inputWidth + bx] != 0;
                result[oy * Output.Width + ox] = used ? (byte)1 : (byte)0;
            }
        return result;
    }

    public async ValueTask<Frame> ApplyAsync(Frame input, CancellationToken cancellationToken)
    {
        var buffer = await _pool.RentAsync(cancellationToken).ConfigureAwait(false);
        Frame output;
        try
        {
            output = new Frame(buffer, Output, input.Index, input.ReceiverIndex);
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
        try
        {
            Map(input, output);
        }
        catch
        {
            output.Dispose();
            throw;
        }
        input.Dispose();
        return output;
    }

    private void Map(Frame input, Frame output)
    {
        switch (input.Info.PixelType)
        {
            case PixelType.Gray8: Map(input.Pixels<byte>(), output.Pixels<byte>()); break;
            case PixelType.Gray8s: Map(input.Pixels<sbyte>(), output.Pixels<sbyte>()); break;
            case PixelType.Gray16: Map(input.Pixels<ushort>(), output.Pixels<ushort>()); break;
            case PixelType.Gray16s: Map(input.Pixels<short>(), output.Pixels<short>()); break;
            case PixelType.Gray32: Map(input.Pixels<uint>(), output.Pixels<uint>()); break;
            case PixelType.Gray32s: Map(input.Pixels<int>(), output.Pixels<int>()); break;
            case PixelType.Gray32f: Map(input.Pixels<float>(), output.Pixels<float>()); break;
            case PixelType.Gray64f: Map(input.Pixels<double>(), output.Pixels<double>()); break;
            default: throw new NotSupportedException(input.Info.PixelType.ToString());
        }
    }

    /// <summary>Output in 64×64 tiles, so that the rotated reads stay in cache.</summary>
    private void Map<T>(ReadOnlySpan<T> input, Span<T> output) where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        var (width, height) = (Output.Width, Output.Height);
        var binned = _binX != 1 || _binY != 1;
        for (var ty = 0; ty < height; ty += Tile)
            for (var tx = 0; tx < width; tx += Tile)
            {
                var yEnd = Math.Min(height, ty + Tile);
                var xEnd = Math.Min(width, tx + Tile);
                for (var oy = ty; oy < yEnd; oy++)
                {
                    var source = _origin + tx * _stepX + oy * _stepY;
                    var target = output.Slice(oy * width, width);
                    for (var ox = tx; ox < xEnd; ox++, source += _stepX)
                        target[ox] = binned ? Bin(input, source) : input[source];
                }
            }
    }

    private T Bin<T>(ReadOnlySpan<T> input, int source) where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        var sum = 0.0;
        for (var by = 0; by < _binY; by++)
        {
            var row = source + by * _inputWidth;
            for (var bx = 0; bx < _binX; bx++)
                sum += double.CreateTruncating(input[row + bx]);
        }
        return PixelMath.Saturate<T>(sum);
    }
}
