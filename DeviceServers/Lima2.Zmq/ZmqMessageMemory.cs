using System.Runtime.InteropServices;

namespace Lima2.Zmq;

/// <summary>
/// Where the memory of received messages goes once they are closed. libzmq mallocs each large message it reads and
/// frees it when the message is closed; glibc gives such blocks back to the kernel by default (munmap above its mmap
/// threshold, a heap trim above its trim threshold), so the pages of the next message fault afresh while the kernel
/// copies the stream into them: up to one minor fault per 4 KiB received, on libzmq's I/O thread.
/// </summary>
public static partial class ZmqMessageMemory
{
    private const int TrimThreshold = -1; // M_TRIM_THRESHOLD
    private const int TopPad = -2; // M_TOP_PAD
    private const int MmapThreshold = -3; // M_MMAP_THRESHOLD

    /// <summary>glibc's heap size in a thread's arena other than the main one (HEAP_MAX_SIZE on 64-bit).</summary>
    private const int ArenaHeapBytes = 64 << 20;

    /// <summary>glibc's largest mmap threshold on 64-bit (HEAP_MAX_SIZE / 2): messages up to this size can come from its heap.</summary>
    public const int LargestHeapMessageBytes = 32 << 20;

    private static int _kept;

    /// <summary>
    /// Makes messages up to <see cref="LargestHeapMessageBytes"/> come from glibc's heap and keeps the heap's freed
    /// memory for the next ones instead of returning it to the kernel. Once per process, for the whole process: what it
    /// holds is bounded by the most bytes it ever had allocated at once, for a receiver its stream buffers, which its
    /// memory cap counts. Nothing to do on a C library that is not glibc.
    /// </summary>
    public static void KeepFreedMessages()
    {
        if (Interlocked.Exchange(ref _kept, 1) != 0 || !OperatingSystem.IsLinux())
            return;
        try
        {
            mallopt(MmapThreshold, LargestHeapMessageBytes);
            mallopt(TrimThreshold, int.MaxValue);
            // an arena other than the main one grows by heaps of 64 MiB and unmaps a heap once all of it is free,
            // unless the heap before it has less than this pad left: as much as a heap keeps every heap it grew
            // (the pad only adds address space to a heap's growth, not memory, until written)
            mallopt(TopPad, ArenaHeapBytes);
        }
        catch (EntryPointNotFoundException)
        {
            // not glibc: its allocator has no such thresholds
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);
}
