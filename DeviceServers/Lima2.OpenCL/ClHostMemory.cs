using System.Buffers;

namespace Lima2.OpenCL;

/// <summary>
/// Host memory the driver allocated and page-locked for a device: a <c>CL_MEM_ALLOC_HOST_PTR</c> buffer mapped for
/// the life of this object. Host code writes it through <see cref="MemoryManager{T}.Memory"/>; a copy to the device from
/// it (<see cref="ClQueue.Write(ClBuffer, void*, long, long, bool, bool, ReadOnlySpan{ClEvent})"/>) is a DMA transfer
/// without the driver's staging copy, which is what pageable or .NET-pinned memory costs (about 3x on an H200).
/// </summary>
/// <remarks>Disposing unmaps and releases the buffer: nothing may use the memory any more.</remarks>
public sealed unsafe class ClHostMemory : MemoryManager<byte>
{
    private readonly ClBuffer _buffer;
    private readonly ClQueue _queue;
    private readonly Lock _queueLock;
    private byte* _mapped;

    /// <param name="context">the device's context</param>
    /// <param name="queue">a queue of that context that maps and unmaps; shared, so used under <paramref name="queueLock"/></param>
    /// <param name="queueLock">serialises the use of <paramref name="queue"/></param>
    /// <param name="bytes">size</param>
    /// <exception cref="OpenClException">the driver could not allocate or map the memory.</exception>
    public ClHostMemory(ClContext context, ClQueue queue, Lock queueLock, int bytes)
    {
        _buffer = context.CreateBuffer(bytes, ClMemFlags.ReadWrite | ClMemFlags.AllocHostPtr);
        _queue = queue;
        _queueLock = queueLock;
        try
        {
            lock (_queueLock)
                _mapped = (byte*)queue.Map(_buffer, write: true);
        }
        catch
        {
            _buffer.Dispose();
            throw;
        }
        Length = bytes;
    }

    public int Length { get; }

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_mapped is null, this);
        return new Span<byte>(_mapped, Length);
    }

    /// <summary>The address is fixed while the object lives: nothing to pin.</summary>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ObjectDisposedException.ThrowIf(_mapped is null, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)elementIndex, (uint)Length);
        return new MemoryHandle(_mapped + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (!disposing || _mapped is null)
            return; // unmapping needs the queue, which a finaliser cannot count on; the buffer's handle releases it
        lock (_queueLock)
        {
            _queue.Unmap(_buffer, _mapped);
            _queue.Finish();
        }
        _mapped = null;
        _buffer.Dispose();
    }
}
