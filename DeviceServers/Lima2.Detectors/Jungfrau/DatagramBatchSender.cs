using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// Gathers fixed-size datagrams to IPv4 destinations in one pinned buffer and sends them, up to <c>capacity</c> per
/// <c>sendmmsg</c> system call on Linux; where it is missing (another OS, a C library without it, ENOSYS) one
/// <see cref="Socket.SendTo(ReadOnlySpan{byte}, EndPoint)"/> each, same datagrams in the same order. Used by one thread.
/// </summary>
internal sealed unsafe class DatagramBatchSender
{
    private readonly Socket _socket;
    private readonly int _slotBytes;
    private readonly byte[] _data;
    private readonly Libc.MMsgHdr[] _messages;
    private readonly Libc.SockAddrIn[] _addresses;
    private readonly Libc.IoVec[] _vectors;
    private readonly IPEndPoint[] _endpoints;
    private int _count;

    /// <param name="useSendmmsg">false takes the fallback path even where sendmmsg exists (tests)</param>
    public DatagramBatchSender(Socket socket, int slotBytes, int capacity, bool useSendmmsg = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _socket = socket;
        _slotBytes = slotBytes;
        _data = GC.AllocateUninitializedArray<byte>(slotBytes * capacity, pinned: true);
        _messages = GC.AllocateArray<Libc.MMsgHdr>(capacity, pinned: true);
        _addresses = GC.AllocateArray<Libc.SockAddrIn>(capacity, pinned: true);
        _vectors = GC.AllocateArray<Libc.IoVec>(capacity, pinned: true);
        _endpoints = new IPEndPoint[capacity];
        var data = (byte*)Marshal.UnsafeAddrOfPinnedArrayElement(_data, 0);
        var addresses = (Libc.SockAddrIn*)Marshal.UnsafeAddrOfPinnedArrayElement(_addresses, 0);
        var iov = (Libc.IoVec*)Marshal.UnsafeAddrOfPinnedArrayElement(_vectors, 0);
        for (var i = 0; i < capacity; i++)
        {
            iov[i] = new Libc.IoVec { Base = data + (long)i * slotBytes, Length = (nuint)slotBytes };
            _messages[i].Header = new Libc.MsgHdr { Name = addresses + i, NameLength = (uint)sizeof(Libc.SockAddrIn), Iov = iov + i, IovLength = 1 };
        }
        Batched = useSendmmsg && OperatingSystem.IsLinux();
    }

    /// <summary>Whether sends go through sendmmsg (false once it was found missing).</summary>
    public bool Batched { get; private set; }

    /// <summary>The slot of the next datagram to <paramref name="destination"/> (IPv4), to be filled whole; sends the batch first when it is full.</summary>
    public Span<byte> Add(IPEndPoint destination)
    {
        if (destination.AddressFamily != AddressFamily.InterNetwork)
            throw new ArgumentException($"{destination} is not an IPv4 endpoint", nameof(destination));
        if (_count == _endpoints.Length)
            Flush();
        var slot = _count++;
        _endpoints[slot] = destination;
        Span<byte> address = stackalloc byte[4];
        destination.Address.TryWriteBytes(address, out _);
        _addresses[slot] = new Libc.SockAddrIn
        {
            Family = Libc.SockAddrIn.AfInet,
            Port = BinaryPrimitives.ReverseEndianness((ushort)destination.Port), // network order on a little-endian host
            Address = MemoryMarshal.Read<uint>(address),
        };
        return _data.AsSpan(slot * _slotBytes, _slotBytes);
    }

    /// <summary>Sends the datagrams gathered so far.</summary>
    public void Flush()
    {
        var sent = 0;
        if (Batched)
        {
            try
            {
                sent = SendBatch();
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                Batched = false;
            }
        }
        for (var i = sent; i < _count; i++)
            _socket.SendTo(_data.AsSpan(i * _slotBytes, _slotBytes), _endpoints[i]);
        _count = 0;
    }

    /// <summary>Sends what sendmmsg takes; returns how many went (fewer only where it turned out missing: ENOSYS).</summary>
    private int SendBatch()
    {
        var sent = 0;
        while (sent < _count)
        {
            int count;
            fixed (Libc.MMsgHdr* messages = _messages)
                count = Libc.SendMMsg(_socket.SafeHandle, messages + sent, (uint)(_count - sent), 0);
            if (count > 0)
            {
                sent += count;
                continue;
            }
            if (count == 0) // a blocking socket sends at least one or fails: never spin on nothing
                throw new IOException("sendmmsg sent none of the datagrams");
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EIntr)
                continue;
            if (errno == Libc.ENoSys)
            {
                Batched = false;
                return sent;
            }
            throw new IOException($"sendmmsg failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        return sent;
    }
}
