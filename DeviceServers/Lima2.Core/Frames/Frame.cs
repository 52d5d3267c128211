using System.Runtime.InteropServices;

namespace Lima2.Core.Frames;

/// <summary>
/// A detector frame on its way through a receiver: its pixels in a pooled buffer, its global index
/// (the detector's frame number) and its receiver-local index. A frame may also carry the bytes it
/// arrived in (e.g. a DECTRIS bslz4 chunk, left in the message it came in) so that saving writes them as they are.
/// </summary>
/// <remarks>
/// Ownership is explicit and counted: a node that hands the frame to several consumers calls
/// <see cref="Retain"/> once per extra consumer, and every consumer disposes it when done. The last
/// <see cref="Dispose"/> returns the buffers to the pool.
/// </remarks>
public sealed class Frame : IDisposable
{
    private readonly PooledBuffer _pixels;
    private ReadOnlyMemory<byte> _encoded;
    private IDisposable? _encodedOwner;
    private int _references = 1;

    public Frame(PooledBuffer pixels, FrameInfo info, long index, long receiverIndex)
    {
        if (pixels.IsEmpty || pixels.Memory.Length < info.ByteSize)
            throw new ArgumentException($"a {info} frame needs {info.ByteSize} bytes", nameof(pixels));
        _pixels = pixels;
        Info = info;
        Index = index;
        ReceiverIndex = receiverIndex;
    }

    public FrameInfo Info { get; }

    /// <summary>Global frame index: the detector's frame number, 0-based.</summary>
    public long Index { get; }

    /// <summary>Index of this frame among the frames of its receiver, 0-based.</summary>
    public long ReceiverIndex { get; }

    /// <summary>Decoded pixels, row-major, little-endian.</summary>
    public Memory<byte> Data => _pixels.Memory[..Info.ByteSize];

    public Span<T> Pixels<T>() where T : unmanaged => MemoryMarshal.Cast<byte, T>(Data.Span);

    /// <summary>How <see cref="EncodedData"/> is encoded; <see cref="FrameEncoding.Raw"/> when none is kept.</summary>
    public FrameEncoding Encoding { get; private set; }

    /// <summary>The bytes the frame arrived in, when kept for pass-through saving; empty otherwise.</summary>
    public ReadOnlyMemory<byte> EncodedData => _encoded;

    /// <summary>
    /// Keeps the frame's wire bytes for saving as-is: <paramref name="bytes"/> stay valid until the frame's last owner
    /// releases it, which disposes <paramref name="owner"/> (a received message held where it arrived, a pool buffer).
    /// </summary>
    public void AttachEncoded(FrameEncoding encoding, ReadOnlyMemory<byte> bytes, IDisposable owner)
    {
        if (_encodedOwner is not null)
            throw new InvalidOperationException("the frame already carries encoded data");
        _encoded = bytes;
        _encodedOwner = owner;
        Encoding = encoding;
    }

    /// <summary>Adds an owner; each owner disposes the frame once.</summary>
    public Frame Retain()
    {
        // never resurrect a released frame: its buffers may already belong to another frame
        var current = Volatile.Read(ref _references);
        while (true)
        {
            if (current <= 0)
                throw new ObjectDisposedException(nameof(Frame), $"frame {Index} was already released");
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
                return this;
            current = seen;
        }
    }

    public void Dispose()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left > 0)
            return;
        if (left < 0)
            throw new ObjectDisposedException(nameof(Frame), $"frame {Index} was released twice");
        _pixels.Dispose();
        _encodedOwner?.Dispose();
    }

    /// <summary>A frame over an array of its own, outside any pool (tests, tools).</summary>
    public static Frame FromArray<T>(T[] pixels, int width, int height, long index = 0, long receiverIndex = 0)
        where T : unmanaged
    {
        var info = new FrameInfo(width, height, PixelTypes.Of<T>());
        var bytes = MemoryMarshal.AsBytes(pixels.AsSpan()).ToArray();
        return new Frame(PooledBuffer.Unpooled(bytes), info, index, receiverIndex);
    }
}
