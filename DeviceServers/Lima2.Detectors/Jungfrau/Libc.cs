using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// The C library's <c>recvmmsg</c> (Linux ≥ 2.6.33, glibc ≥ 2.12) and the LP64 Linux structures it fills. Nothing but
/// declarations: <see cref="DatagramBatchReceiver"/> turns errno into exceptions and falls back where it is missing.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int MsgDontWait = 0x40;
    public const int EIntr = 4;
    public const int EAgain = 11;
    public const int ENoSys = 38;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary><c>struct msghdr</c>: 56 bytes on LP64 Linux (the padding after the two 32-bit fields is implicit).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary><c>struct mmsghdr</c>: a message and the bytes the kernel put into it.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    /// <summary>Receives up to <paramref name="count"/> datagrams in one call; -1 with errno set on failure.</summary>
    [LibraryImport(Lib, EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int RecvMMsg(SafeSocketHandle socket, MMsgHdr* messages, uint count, int flags, void* timeout);
}
