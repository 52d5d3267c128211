namespace Lima2.Core.Frames;

/// <summary>
/// Frames by global index, rendered or read on demand: the simulator's generators and loader, and the emulator's
/// (<c>lima2 stream</c>) sources. Must be safe to call from several threads for different indices.
/// </summary>
public interface IFrameSource
{
    FrameInfo Info { get; }

    /// <summary>Frames available (a file's length), or null when any index can be rendered.</summary>
    long? Count { get; }

    /// <summary>Writes frame <paramref name="index"/> (row-major, little-endian) into <paramref name="destination"/>.</summary>
    void Render(long index, Span<byte> destination);
}
