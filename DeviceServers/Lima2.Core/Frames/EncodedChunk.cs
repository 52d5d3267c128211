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

/// <summary>
/// A detector channel that hands frames over with the bytes they came in left where they arrived (its received
/// messages, not copied: encoded chunks kept for saving, raw pixels): the frames it may hold that way at once are a
/// share of the receiver's memory cap, on top of what it says it buffers.
/// </summary>
public interface IEncodedChunkHolder
{
    /// <summary>
    /// Lets the channel hold up to <paramref name="budgetBytes"/> more of chunks of frames of <paramref name="frame"/>'s
    /// geometry, each counted as a whole frame; before its run. Returns the bytes it takes: 0 when it keeps no chunk.
    /// </summary>
    long HoldMoreChunks(FrameInfo frame, long budgetBytes);
}
