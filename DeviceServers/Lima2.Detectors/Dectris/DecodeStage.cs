using Lima2.Core.Frames;
using Lima2.Core.Pipeline;
using Lima2.Zmq;

namespace Lima2.Detectors.Dectris;

/// <summary>What the decode stage gives back to its channel: the message slots and the fate of every frame.</summary>
internal interface IDecodeOwner
{
    /// <summary>A message the stage is done with: its slot can receive again.</summary>
    void FreeSlot(ZmqMultipartMessage message);

    void OnDelivered();

    /// <summary>A frame of the share was reported lost to the target, for <paramref name="reason"/>.</summary>
    void OnLost(string reason);
}

/// <summary>Where the payload lies in the message, so that a decoder finds it again once the ref struct is gone.</summary>
internal readonly record struct PayloadLocation(int Part, int Offset, int Length);

/// <summary>One admitted frame on its way from the receive thread to the target, or one lost frame.</summary>
/// <remarks>
/// Its payload is in <see cref="Message"/>'s slot, or, when the frame keeps it for saving as it came, in
/// <see cref="Kept"/>, taken out of the message (which went back to receiving) and handed over with the frame. A raw
/// frame's payload may be its <see cref="Pixels"/> already (<see cref="PixelsInMessage"/>): nothing to decode.
/// </remarks>
internal sealed class DecodeJob(ZmqMultipartMessage? message, PayloadLocation payload, DectrisEncoding encoding, long index)
{
    public ZmqMultipartMessage? Message = message;
    public readonly PayloadLocation Payload = payload;
    public readonly DectrisEncoding Encoding = encoding;
    public readonly long Index = index;
    public PooledBuffer Pixels;
    public ZmqHeldPart? Kept;
    public bool PixelsInMessage;
    public string? Problem;

    public static DecodeJob Lost(long index, string reason) => new(null, default, default, index) { Problem = reason };

    /// <summary>The encoded frame, wherever it is now.</summary>
    public ReadOnlySpan<byte> PayloadBytes =>
        Kept is { } kept ? kept.Memory.Span : Message![Payload.Part].Span.Slice(Payload.Offset, Payload.Length);

    public void Release()
    {
        Pixels.Dispose();
        ((IDisposable?)Kept)?.Dispose();
        Pixels = default;
        Kept = null;
    }

    /// <summary>Gives back what a frame that will not be handed over holds: its message slot and buffers.</summary>
    public void Discard(IDecodeOwner owner)
    {
        if (Message is { } message)
            owner.FreeSlot(message);
        Message = null;
        Release();
    }
}

/// <summary>
/// The ordered, bounded path from the receive thread to the target: decoding on up to
/// <see cref="DectrisChannelOptions.DecodeWorkers"/> frames at once (an <see cref="OrderedStage{TItem, TResult}"/>),
/// then hand-over (or loss report) in the order the receive thread admitted the frames.
/// </summary>
internal sealed class DecodeStage
{
    private readonly IDecodeOwner _owner;
    private readonly IFrameTarget _target;
    private readonly FrameInfo _frame;
    private readonly int _rank;
    private readonly int _receivers;
    private readonly CancellationTokenSource _stop;
    private readonly CancellationToken _token;
    private readonly OrderedStage<DecodeJob, DecodeJob> _stage;

    private Exception? _error;

    /// <param name="frame">the geometry of every frame of the series</param>
    /// <param name="stop">the run's stop: cancelled here too when the target or a decoder fails</param>
    public DecodeStage(IDecodeOwner owner, IFrameTarget target, FrameInfo frame, DectrisChannelOptions options, CancellationTokenSource stop)
    {
        _owner = owner;
        _target = target;
        _frame = frame;
        _rank = options.Rank;
        _receivers = options.Receivers;
        _stop = stop;
        _token = stop.Token;
        var workers = options.DecodeWorkers;
        // room for every worker's frame and as many decoded ones waiting for their turn, plus the one being handed over
        _stage = new OrderedStage<DecodeJob, DecodeJob>(Decode, (job, _) => SubmitAsync(job), Abandon, workers, 2 * workers + 2);
    }

    /// <summary>Queues a frame for decoding; waits while the decoders are busy (the receive thread's back-pressure).</summary>
    public void Post(DecodeJob job)
    {
        bool accepted;
        try
        {
            var send = _stage.SendAsync(job, _token);
            accepted = send.IsCompletedSuccessfully ? send.Result : send.AsTask().GetAwaiter().GetResult();
        }
        catch
        {
            job.Discard(_owner);
            throw;
        }
        if (!accepted)
        {
            Abandon(job);
            throw new OperationCanceledException("the frame delivery has stopped");
        }
    }

    /// <summary>Reports a frame lost, in its turn among the frames being decoded.</summary>
    public void Lose(long index, string reason) => Post(DecodeJob.Lost(index, reason));

    /// <summary>Waits for every queued frame to be handed over or reported lost; throws the target's or a decoder's failure.</summary>
    public void Complete()
    {
        _stage.Complete();
        try
        {
            _stage.Completion.GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            throw new ChannelException($"decoding failed: {e.Message}", e);
        }
        if (_error is not null)
            throw new ChannelException($"the target failed to take a frame: {_error.Message}", _error);
    }

    private DecodeJob Decode(DecodeJob job)
    {
        if (job.Problem is not null || job.PixelsInMessage)
            return job;
        var message = job.Message;
        try
        {
            var image = new DectrisImage { Frame = job.Index, Info = _frame, Encoding = job.Encoding, Payload = job.PayloadBytes };
            image.DecodeInto(job.Pixels.Span);
        }
        catch (DectrisFormatException e)
        {
            job.Problem = e.Message;
            job.Release();
        }
        finally
        {
            job.Message = null;
            if (message is not null)
                _owner.FreeSlot(message);
        }
        return job;
    }

    private async ValueTask SubmitAsync(DecodeJob job)
    {
        if (_error is not null)
        {
            job.Release(); // the target is broken: nothing more is handed to it
            return;
        }
        if (job.Problem is null && _token.IsCancellationRequested)
        {
            job.Release();
            job.Problem = $"frame {job.Index}: stopped before delivery";
        }
        if (job.Problem is { } reason)
        {
            ReportLost(job.Index, reason);
            return;
        }
        var frame = new Frame(job.Pixels, _frame, job.Index, (job.Index - _rank) / _receivers);
        if (job.Kept is { } kept)
            frame.AttachEncoded(FrameEncoding.BitshuffleLz4, kept.Memory, kept); // released with the frame
        try
        {
            await _target.SubmitAsync(frame, _token).ConfigureAwait(false);
            _owner.OnDelivered();
        }
        catch (OperationCanceledException) when (_token.IsCancellationRequested)
        {
            // Stopped while the graph's entry was full: the target counted the frame as dropped.
        }
        catch (Exception e)
        {
            _error = e;
            _stop.Cancel();
        }
    }

    /// <summary>
    /// A frame the stage will not hand over after a decoder failed unexpectedly: its slot and buffers go back and it
    /// counts as lost (unless the target is the part that broke); the run stops.
    /// </summary>
    private void Abandon(DecodeJob job)
    {
        job.Discard(_owner);
        if (_error is null)
            ReportLost(job.Index, $"frame {job.Index}: not decoded, the frame delivery has stopped");
        Cancel();
    }

    private void ReportLost(long index, string reason)
    {
        _owner.OnLost(reason);
        _target.ReportLost(index, reason);
    }

    private void Cancel()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the run is over: nothing left to stop
        }
    }
}
