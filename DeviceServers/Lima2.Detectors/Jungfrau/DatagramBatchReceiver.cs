using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// Takes the datagrams waiting on a UDP socket without blocking, up to <see cref="Capacity"/> per call, into one pinned
/// buffer of fixed-size slots reused from call to call (each call overwrites the last one's datagrams). On Linux one
/// <c>recvmmsg</c> system call takes them all; where it is missing (another OS, a C library without it, a kernel
/// answering ENOSYS) it falls back to one <see cref="Socket.Receive(Span{byte})"/> per datagram, same results.
/// A datagram longer than a slot shows as exactly a slot long. Used by one thread.
/// </summary>
internal sealed unsafe class DatagramBatchReceiver
{
    private readonly Socket _socket;
    private readonly int _slotBytes;
    private readonly byte[] _data;
    private readonly Libc.MMsgHdr[] _messages;
    private readonly Libc.IoVec[] _vectors;
    private readonly int[] _lengths;

    /// <param name="useRecvmmsg">false takes the fallback path even where recvmmsg exists (tests)</param>
    public DatagramBatchReceiver(Socket socket, int slotBytes, int capacity, bool useRecvmmsg = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _socket = socket;
        _slotBytes = slotBytes;
        _lengths = new int[capacity];
        _data = GC.AllocateUninitializedArray<byte>(slotBytes * capacity, pinned: true);
        _messages = GC.AllocateArray<Libc.MMsgHdr>(capacity, pinned: true);
        _vectors = GC.AllocateArray<Libc.IoVec>(capacity, pinned: true);
        var data = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_data, 0);
        var vectors = (Libc.IoVec*)Marshal.UnsafeAddrOfPinnedArrayElement(_vectors, 0);
        for (var i = 0; i < capacity; i++)
        {
            vectors[i] = new Libc.IoVec { Base = data + (long)i * slotBytes, Length = (nuint)slotBytes };
            _messages[i].Header = new Libc.MsgHdr { Iov = vectors + i, IovLength = 1 };
        }
        Batched = useRecvmmsg && OperatingSystem.IsLinux();
    }

    public int Capacity => _lengths.Length;

    /// <summary>Whether calls go through recvmmsg (false once it was found missing).</summary>
    public bool Batched { get; private set; }

    /// <summary>Datagram <paramref name="index"/> of the last <see cref="Receive"/>.</summary>
    public ReadOnlySpan<byte> this[int index] => _data.AsSpan(index * _slotBytes, _lengths[index]);

    /// <summary>Takes the datagrams waiting now, without blocking; 0 when none is.</summary>
    public int Receive()
    {
        if (Batched)
        {
            try
            {
                return ReceiveBatch();
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                Batched = false;
            }
        }
        return ReceiveEach();
    }

    private int ReceiveBatch()
    {
        int count;
        fixed (Libc.MMsgHdr* messages = _messages)
            count = Libc.RecvMMsg(_socket.SafeHandle, messages, (uint)_messages.Length, Libc.MsgDontWait, null);
        if (count >= 0)
        {
            for (var i = 0; i < count; i++)
                _lengths[i] = (int)_messages[i].Length;
            return count;
        }
        var errno = Marshal.GetLastPInvokeError();
        switch (errno)
        {
            case Libc.EAgain or Libc.EIntr:
                return 0;
            case Libc.ENoSys:
                Batched = false;
                return ReceiveEach();
            default:
                throw new IOException($"recvmmsg failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
    }

    /// <summary>The fallback: one receive per datagram while the socket says one is waiting (a zero-length datagram too).</summary>
    private int ReceiveEach()
    {
        var count = 0;
        while (count < _lengths.Length && _socket.Poll(0, SelectMode.SelectRead))
        {
            var length = _socket.Receive(_data.AsSpan(count * _slotBytes, _slotBytes), SocketFlags.None, out var error);
            _lengths[count++] = error switch
            {
                SocketError.Success => length,
                SocketError.MessageSize => _slotBytes, // truncated, as recvmmsg reports it
                _ => throw new SocketException((int)error),
            };
        }
        return count;
    }
}
