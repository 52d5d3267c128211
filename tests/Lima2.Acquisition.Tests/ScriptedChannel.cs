using Lima2.Acquisition.Tests.Saving;
using Lima2.Core.Frames;
using Lima2.Core.Pipeline;

namespace Lima2.Acquisition.Tests;

/// <summary>A channel of no known kind: fixed frames, and its own answers to every contract question.</summary>
internal sealed class ScriptedChannel(FrameInfo info, int frames) : IDetectorChannel
{
    private int _triggers;

    public int Triggers => Volatile.Read(ref _triggers);

    public string Name => "scripted";

    public bool StartsAtPrepare => true;

    public long? TotalFrames => frames;

    public IReadOnlyDictionary<string, long> Rejections { get; } = new Dictionary<string, long> { ["not a frame"] = 2 };

    public string LastRejection => "message 7 is not a frame";

    public long BufferedBytesBound(FrameInfo frame) => 3L * frame.ByteSize;

    public void Trigger() => Interlocked.Increment(ref _triggers);

    /// <summary>What <see cref="StartAsync"/> says besides the frames: the detector's facts.</summary>
    public DetectorMetadata? Metadata { get; init; }

    /// <summary>What <see cref="StartAsync"/> says besides the frames: each frame is these parts of the detector's image.</summary>
    public FrameParts? Parts { get; init; }

    public ValueTask<ChannelStart> StartAsync(CancellationToken cancellationToken) =>
        new(new ChannelStart(info, frames) { Metadata = Metadata, Parts = Parts });

    public async Task<ChannelSummary> RunAsync(IFrameTarget target, CancellationToken cancellationToken)
    {
        for (var i = 0; i < frames; i++)
        {
            var buffer = await target.RentAsync(i, cancellationToken) ?? throw new InvalidOperationException("back-pressure gives a buffer");
            SavingFolder.Bytes(i).CopyTo(buffer.Span);
            await target.SubmitAsync(new Frame(buffer, info, i, i), cancellationToken);
        }
        return new ChannelSummary(frames, 0, ChannelEnd.Completed, "script done");
    }

    public ValueTask DisposeAsync() => default;
}
