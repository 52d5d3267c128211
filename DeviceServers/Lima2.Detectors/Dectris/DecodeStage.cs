using System.Threading.Tasks.Dataflow;
using Lima2.Core.Frames;
using Lima2.Core.Pipeline;

namespace Lima2.Detectors.Dectris;

public sealed partial class DectrisChannel
{
    /// <summary>
    /// The ordered, bounded path from the receive thread to the target: decoding on up to
    /// <see cref="DectrisChannelOptions.DecodeWorkers"/> frames at once, then hand-over (or loss report) in the
    /// order the receive thread admitted the frames.
    /// </summary>
    private sealed class Delivery
    {
        private readonly DectrisChannel _channel;
        private readonly IFrameTarget _target;
        private readonly CancellationTokenSource _stop;
        private readonly CancellationToken _token;
        private readonly TransformBlock<DecodeJob, DecodeJob> _decode;
        private readonly ActionBlock<DecodeJob> _submit;

        private Exception? _error;

        /// <param name="stop">the run's stop: cancelled here too when the target fails</param>
        public Delivery(DectrisChannel channel, IFrameTarget target, CancellationTokenSource stop)
        {
            _channel = channel;
            _target = target;
            _stop = stop;
            _token = stop.Token;
            var workers = channel._options.DecodeWorkers;
            _decode = new TransformBlock<DecodeJob, DecodeJob>(Decode, new ExecutionDataflowBlockOptions
            {
                MaxDegreeOfParallelism = workers,
                BoundedCapacity = 2 * workers,
                EnsureOrdered = true,
                SingleProducerConstrained = true,
            });
            _submit = new ActionBlock<DecodeJob>(SubmitAsync, new ExecutionDataflowBlockOptions { BoundedCapacity = 2 });
            _decode.LinkTo(_submit, new DataflowLinkOptions { PropagateCompletion = true });
        }

        /// <summary>Queues a frame for decoding; waits while the decoders are busy (the receive thread's back-pressure).</summary>
        public void Post(DecodeJob job)
        {
            bool accepted;
            try
            {
                accepted = _decode.SendAsync(job, _token).GetAwaiter().GetResult();
            }
            catch
            {
                _channel.Discard(job);
                throw;
            }
            if (!accepted)
            {
                _channel.Discard(job);
                throw new OperationCanceledException("the frame delivery has stopped");
            }
        }

        /// <summary>Reports a frame lost, in its turn among the frames being decoded.</summary>
        public void Lose(long index, string reason) => Post(DecodeJob.Lost(index, reason));

        /// <summary>Waits for every queued frame to be handed over or reported lost; throws the target's failure.</summary>
        public void Complete()
        {
            _decode.Complete();
            _submit.Completion.GetAwaiter().GetResult();
            if (_error is not null)
                throw new ChannelException($"the target failed to take a frame: {_error.Message}", _error);
        }

        private DecodeJob Decode(DecodeJob job)
        {
            if (job.Message is not { } message)
                return job;
            try
            {
                var (part, offset, length) = job.Payload;
                var payload = message[part].Span.Slice(offset, length);
                var image = new DectrisImage { Frame = job.Index, Info = _channel._frame, Encoding = job.Encoding, Payload = payload };
                image.DecodeInto(job.Pixels.Array);
                if (!job.Encoded.IsEmpty)
                {
                    payload.CopyTo(job.Encoded.Array);
                    job.EncodedLength = length;
                }
            }
            catch (DectrisFormatException e)
            {
                job.Problem = e.Message;
                job.Release();
            }
            finally
            {
                job.Message = null;
                _channel.FreeSlot(message);
            }
            return job;
        }

        private async Task SubmitAsync(DecodeJob job)
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
                Interlocked.Increment(ref _channel._lost);
                Volatile.Write(ref _channel._lastProblem, reason);
                _target.ReportLost(job.Index, reason);
                return;
            }
            var options = _channel._options;
            var frame = new Frame(job.Pixels, _channel._frame, job.Index, (job.Index - options.Rank) / options.Receivers);
            if (!job.Encoded.IsEmpty)
                frame.AttachEncoded(FrameEncoding.BitshuffleLz4, job.Encoded, job.EncodedLength);
            try
            {
                await _target.SubmitAsync(frame, _token).ConfigureAwait(false);
                Interlocked.Increment(ref _channel._delivered);
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
    }
}
