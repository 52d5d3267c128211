using System.Runtime.InteropServices;

namespace Lima2.Zmq;

/// <summary>The libzmq 4.x C API, as Debian ships it (<c>libzmq.so.5</c>).</summary>
internal static unsafe partial class Native
{
    private const string Library = "libzmq.so.5";

    /// <summary><c>sizeof(zmq_msg_t)</c>.</summary>
    public const int MessageSize = 64;

    public const int EINTR = 4;
    public const int EAGAIN = 11;

    /// <summary><c>ZMQ_IO_THREADS</c>, a context option.</summary>
    public const int IoThreads = 1;

    [LibraryImport(Library)] public static partial nint zmq_ctx_new();
    [LibraryImport(Library)] public static partial int zmq_ctx_term(nint context);
    [LibraryImport(Library)] public static partial int zmq_ctx_set(ZmqContextHandle context, int option, int value);
    [LibraryImport(Library)] public static partial nint zmq_socket(ZmqContextHandle context, int type);
    [LibraryImport(Library)] public static partial int zmq_close(nint socket);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial int zmq_bind(ZmqSocketHandle socket, string endpoint);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)] public static partial int zmq_connect(ZmqSocketHandle socket, string endpoint);
    [LibraryImport(Library)] public static partial int zmq_setsockopt(ZmqSocketHandle socket, int option, void* value, nuint length);
    [LibraryImport(Library)] public static partial int zmq_getsockopt(ZmqSocketHandle socket, int option, void* value, nuint* length);
    [LibraryImport(Library)] public static partial int zmq_send(ZmqSocketHandle socket, byte* buffer, nuint length, int flags);
    [LibraryImport(Library)] public static partial int zmq_msg_init(void* message);
    [LibraryImport(Library)] public static partial int zmq_msg_close(void* message);
    [LibraryImport(Library)] public static partial int zmq_msg_init_size(ZmqMessageHandle message, nuint size);
    [LibraryImport(Library)] public static partial int zmq_msg_move(ZmqMessageHandle destination, ZmqMessageHandle source);
    [LibraryImport(Library)] public static partial int zmq_msg_init_data(void* message, void* data, nuint size,
        delegate* unmanaged[Cdecl]<void*, void*, void> free, void* hint);
    [LibraryImport(Library)] public static partial int zmq_msg_send(void* message, ZmqSocketHandle socket, int flags);
    [LibraryImport(Library)] public static partial int zmq_msg_recv(ZmqMessageHandle message, ZmqSocketHandle socket, int flags);
    [LibraryImport(Library)] public static partial void* zmq_msg_data(ZmqMessageHandle message);
    [LibraryImport(Library)] public static partial nuint zmq_msg_size(ZmqMessageHandle message);
    [LibraryImport(Library)] public static partial int zmq_msg_more(ZmqMessageHandle message);
    [LibraryImport(Library)] public static partial int zmq_poll(PollItem* items, int count, long timeoutMilliseconds);
    [LibraryImport(Library)] public static partial int zmq_errno();
    [LibraryImport(Library)] public static partial nint zmq_strerror(int errno);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollItem
    {
        public nint Socket;
        public int Fd;
        public short Events;
        public short ReturnedEvents;
    }

    /// <summary>The last error as an exception, with libzmq's own text.</summary>
    public static ZmqException Error(string what)
    {
        var errno = zmq_errno();
        return new ZmqException(errno, $"{what}: {Marshal.PtrToStringUTF8(zmq_strerror(errno))}");
    }
}

/// <summary>A libzmq call failed; <see cref="Errno"/> is libzmq's error number.</summary>
public sealed class ZmqException(int errno, string message) : Exception(message)
{
    public int Errno { get; } = errno;
}

internal sealed class ZmqContextHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    public static ZmqContextHandle Create()
    {
        var context = new ZmqContextHandle();
        context.SetHandle(Native.zmq_ctx_new());
        return context.IsInvalid ? throw Native.Error("zmq_ctx_new") : context;
    }

    // Blocks until every socket of the context is closed: sockets hold a reference to their context handle.
    protected override bool ReleaseHandle() => Native.zmq_ctx_term(handle) == 0;
}

internal sealed class ZmqSocketHandle() : SafeHandle(0, ownsHandle: true)
{
    private ZmqContextHandle? _context;

    public override bool IsInvalid => handle == 0;

    public static ZmqSocketHandle Create(ZmqContextHandle context, int type)
    {
        var socket = new ZmqSocketHandle();
        var added = false;
        context.DangerousAddRef(ref added);
        socket.SetHandle(Native.zmq_socket(context, type));
        if (socket.IsInvalid)
        {
            context.DangerousRelease();
            throw Native.Error("zmq_socket");
        }
        socket._context = context;
        return socket;
    }

    protected override bool ReleaseHandle()
    {
        var closed = Native.zmq_close(handle) == 0;
        _context?.DangerousRelease();
        return closed;
    }
}

/// <summary>
/// A <c>zmq_msg_t</c> in native memory. A SafeHandle so that closing it while a receive into it is in flight on
/// another thread waits for that call to return (libzmq aborts the process on a message closed under it).
/// </summary>
internal sealed unsafe class ZmqMessageHandle() : SafeHandle(0, ownsHandle: true)
{
    public override bool IsInvalid => handle == 0;

    public static ZmqMessageHandle Create()
    {
        var memory = NativeMemory.AlignedAlloc(Native.MessageSize, 8);
        Native.zmq_msg_init(memory);
        var message = new ZmqMessageHandle();
        message.SetHandle((nint)memory);
        return message;
    }

    /// <summary>Releases the bytes the message holds (libzmq frees them) and leaves it empty.</summary>
    public void Clear()
    {
        Native.zmq_msg_close((void*)handle);
        Native.zmq_msg_init((void*)handle);
    }

    protected override bool ReleaseHandle()
    {
        var closed = Native.zmq_msg_close((void*)handle) == 0;
        NativeMemory.AlignedFree((void*)handle);
        return closed;
    }
}
