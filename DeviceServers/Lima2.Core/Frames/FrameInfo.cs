namespace Lima2.Core.Frames;

/// <summary>Geometry and pixel type of a frame: Lima2's <c>frame_info</c> document.</summary>
public readonly record struct FrameInfo(int Width, int Height, PixelType PixelType, int Channels = 1)
{
    public int PixelCount => checked(Width * Height * Channels);

    public int ByteSize => checked(PixelCount * PixelType.SizeOf());

    public override string ToString() => $"{Width}x{Height}x{Channels} {PixelType.ToLimaName()}";
}
