using Lima2.Acquisition.Publishing;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;

namespace Lima2.Acquisition;

/// <summary>
/// How a receiver's memory cap is shared: the channel's bound on received messages (ZeroMQ queue, kernel socket
/// buffer, messages being decoded, and the chunks or raw pixels of the frames in flight it keeps where they arrived), the saving
/// sinks' compressed-chunk buffers, the re-publisher's send queue, and the frame pool, which gets the rest.
/// </summary>
public sealed record ReceiverMemory(long CapBytes, long ChannelBytes, long SinkBytes, long PoolBytes, long PublishBytes = 0)
{
    /// <summary>
    /// Shares the cap of <paramref name="config"/> for frames of <paramref name="frame"/>'s geometry. The cap covers
    /// every frame-sized buffer of the run: the channel's received messages and the sinks' compressed chunks come off
    /// it first; a channel that keeps frames' chunks or raw pixels in its messages (<see cref="IEncodedChunkHolder"/>)
    /// gets half of the rest for them, the frame pool the other half.
    /// </summary>
    /// <exception cref="ArgumentException">the rest is less than two frames.</exception>
    public static ReceiverMemory Plan(ReceiverConfig config, IDetectorChannel channel, ProcParams proc, FrameInfo frame,
        SinkOptions sinkOptions)
    {
        var channelBytes = channel.BufferedBytesBound(frame);
        var sinkBytes = proc.DenseSavingChannels().Where(c => c.Params.Enabled)
            .Sum(c => Hdf5FrameSink.BufferBytes(c.Params, frame, sinkOptions));
        var publishBytes = config.Publish is { } publish ? FramePublisher.BufferBytes(publish, frame) : 0;
        var poolBytes = config.MemoryCapBytes - channelBytes - sinkBytes - publishBytes;
        if (channel is IEncodedChunkHolder holder)
        {
            // a frame in flight holds a pool buffer and its chunk: half of the rest each, the pool keeping two frames
            var held = holder.HoldMoreChunks(frame, Math.Max(0, Math.Min(poolBytes / 2, poolBytes - 2L * frame.ByteSize)));
            channelBytes += held;
            poolBytes -= held;
        }
        if (poolBytes < 2L * frame.ByteSize)
            throw new ArgumentException(
                $"memory_cap {config.MemoryCap} leaves {Math.Max(0, poolBytes)} bytes for frames after {channelBytes} bytes of stream " +
                $"buffers, {sinkBytes} bytes of saving buffers and {publishBytes} bytes of publish queue; {frame} frames need at least {2L * frame.ByteSize}");
        return new ReceiverMemory(config.MemoryCapBytes, channelBytes, sinkBytes, poolBytes, publishBytes);
    }
}
