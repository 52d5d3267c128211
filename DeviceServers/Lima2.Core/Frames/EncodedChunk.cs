namespace Lima2.Core.Frames;

/// <summary>How a frame's bytes are encoded on the wire or in a file chunk.</summary>
public enum FrameEncoding
{
    /// <summary>Plain little-endian pixels.</summary>
    Raw,

    /// <summary>One LZ4 block without header (DECTRIS stream V1 <c>lz4&lt;</c>).</summary>
    Lz4,

    /// <summary>HDF5 bitshuffle-filter chunk: 12-byte header, bitshuffled LZ4 blocks (filter 32008).</summary>
    BitshuffleLz4,
}
