using Lima2.Core.Frames;
using Lima2.Detectors.MaxIv;
using Lima2.Zmq;

namespace Lima2.Detectors.Dectris;

/// <summary>
/// One stream format's messages as the stand-in detector sends them on one endpoint (the streamer keeps one writer
/// per endpoint: the MAX IV stream numbers its messages per connection). Image payloads go out as they are given,
/// without a copy, where the format carries them in a part of their own.
/// </summary>
internal abstract class StreamFormatWriter
{
    /// <summary>A writer for each of <paramref name="endpoints"/> endpoints, one series identity among them.</summary>
    /// <exception cref="ArgumentException">the format has no <paramref name="encoding"/> payload</exception>
    public static StreamFormatWriter[] ForEndpoints(DectrisStreamVersion version, DectrisEncoding encoding, string detail, int endpoints)
    {
        StreamFormatWriter first = version switch
        {
            DectrisStreamVersion.V1 => new V1(detail),
            DectrisStreamVersion.V2 => new V2(new StreamV2Writer()),
            _ => new MaxIvFormat(),
        };
        first.Check(encoding);
        var writers = new StreamFormatWriter[endpoints];
        writers[0] = first;
        for (var i = 1; i < endpoints; i++)
            writers[i] = first.Sibling();
        return writers;
    }

    /// <exception cref="ArgumentException">the format has no <paramref name="encoding"/> payload</exception>
    protected abstract void Check(DectrisEncoding encoding);

    /// <summary>A writer of the same series for another endpoint.</summary>
    protected abstract StreamFormatWriter Sibling();

    public abstract void SendHeader(StreamerSocket socket, long series, FrameInfo info, long frames);

    public abstract void SendImage(StreamerSocket socket, long series, long frame, FrameInfo info, DectrisEncoding encoding, ZmqSendBuffer payload);

    /// <summary>The series' end message (one part).</summary>
    public abstract ReadOnlySpan<byte> End(long series);

    private static void Refuse(string format, DectrisEncoding encoding) =>
        throw new ArgumentException($"{format} has no {encoding} payload", nameof(encoding));

    /// <summary>DECTRIS stream V1: the image's JSON parts around the payload blob.</summary>
    private sealed class V1(string detail) : StreamFormatWriter
    {
        private readonly StreamV1Writer _writer = new();

        protected override void Check(DectrisEncoding encoding)
        {
            if (encoding is not (DectrisEncoding.Raw or DectrisEncoding.Lz4Block or DectrisEncoding.BitshuffleLz4))
                Refuse("DECTRIS stream V1", encoding);
        }

        protected override StreamFormatWriter Sibling() => new V1(detail);

        public override void SendHeader(StreamerSocket socket, long series, FrameInfo info, long frames)
        {
            var parts = StreamV1Writer.Header(series, detail, info, frames);
            for (var i = 0; i < parts.Count; i++)
                socket.Send(parts[i], more: i < parts.Count - 1);
        }

        public override void SendImage(StreamerSocket socket, long series, long frame, FrameInfo info, DectrisEncoding encoding, ZmqSendBuffer payload)
        {
            var parts = _writer.ImageParts(series, frame, info, encoding, payload.Length);
            socket.Send(parts.Image, more: true);
            socket.Send(parts.Descriptor, more: true);
            socket.Send(payload, more: true);
            socket.Send(parts.Config, more: false);
        }

        public override ReadOnlySpan<byte> End(long series) => StreamV1Writer.End(series);
    }

    /// <summary>DECTRIS stream V2: one CBOR message per image, the payload inside it (copied there).</summary>
    private sealed class V2(StreamV2Writer writer) : StreamFormatWriter
    {
        protected override void Check(DectrisEncoding encoding)
        {
            if (encoding is not (DectrisEncoding.Raw or DectrisEncoding.Lz4Chunk or DectrisEncoding.BitshuffleLz4))
                Refuse("DECTRIS stream V2", encoding);
        }

        protected override StreamFormatWriter Sibling() => new V2(new StreamV2Writer(writer));

        public override void SendHeader(StreamerSocket socket, long series, FrameInfo info, long frames) =>
            socket.Send(writer.Start(series, info, frames), more: false);

        public override void SendImage(StreamerSocket socket, long series, long frame, FrameInfo info, DectrisEncoding encoding, ZmqSendBuffer payload) =>
            socket.SendCopy(writer.Image(series, frame, info, encoding, payload.Span).Span);

        public override ReadOnlySpan<byte> End(long series) => writer.End(series);
    }

    /// <summary>MAX IV's unified stream: a JSON part, then the payload blob; <c>msg_number</c> counts this endpoint's messages.</summary>
    private sealed class MaxIvFormat : StreamFormatWriter
    {
        private readonly MaxIvStreamWriter _writer = new();

        protected override void Check(DectrisEncoding encoding) => MaxIvStream.CompressionName(encoding);

        protected override StreamFormatWriter Sibling() => new MaxIvFormat();

        public override void SendHeader(StreamerSocket socket, long series, FrameInfo info, long frames) =>
            socket.Send(_writer.Header().Span, more: false);

        public override void SendImage(StreamerSocket socket, long series, long frame, FrameInfo info, DectrisEncoding encoding, ZmqSendBuffer payload)
        {
            socket.Send(_writer.Image(frame, info, encoding).Span, more: true);
            socket.Send(payload, more: false);
        }

        public override ReadOnlySpan<byte> End(long series) => _writer.End().Span;
    }
}

/// <summary>A streamer's socket as a writer sends on it: each part waits for the receiver, but not past cancellation.</summary>
internal readonly struct StreamerSocket(ZmqSocket socket, Action onReleased, CancellationToken token)
{
    public void Send(ReadOnlySpan<byte> part, bool more)
    {
        while (!socket.Send(part, more))
            token.ThrowIfCancellationRequested();
    }

    public void Send(ZmqSendBuffer part, bool more)
    {
        while (!socket.Send(part, more))
            token.ThrowIfCancellationRequested();
    }

    /// <summary>A one-part message copied into a send buffer whose release counts as the receivers' progress.</summary>
    public void SendCopy(ReadOnlySpan<byte> message)
    {
        using var buffer = new ZmqSendBuffer(message.Length, onReleased);
        message.CopyTo(buffer.Span);
        Send(buffer, more: false);
    }
}
