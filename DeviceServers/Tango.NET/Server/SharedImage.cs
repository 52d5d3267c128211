using System.Runtime.InteropServices;
using Tango.Interop;

namespace Tango.Server;

/// <summary>Fills the pixels of a <see cref="SharedImage{T}"/>, row after row.</summary>
public delegate void PixelWriter<T>(Span<T> pixels);

/// <summary>What the read path needs from a <see cref="SharedImage{T}"/> without knowing T.</summary>
internal interface ISharedImage
{
    Array Buffer { get; }
    int Width { get; }
    int Height { get; }
    NativeMutexHandle Mutex { get; }
}

/// <summary>
/// An IMAGE attribute value that clients read without a managed or native copy: the pixels live in a buffer on
/// the pinned object heap, and cppTango holds this image's mutex from the read until the reply has been sent.
/// <see cref="Update"/> takes the same mutex, so the pixels never change under a reply. Read-only attributes only.
/// </summary>
public sealed class SharedImage<T> : ISharedImage where T : unmanaged
{
    private readonly T[] _pixels;

    public SharedImage(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        _pixels = GC.AllocateArray<T>(checked(width * height), pinned: true);
        Mutex = NativeMutexHandle.Create();
    }

    public int Width { get; }

    public int Height { get; }

    Array ISharedImage.Buffer => _pixels;

    NativeMutexHandle ISharedImage.Mutex => Mutex;

    private NativeMutexHandle Mutex { get; }

    /// <summary>Rewrites the pixels (row-major, <see cref="Width"/> per row) once no reply is using them.</summary>
    public void Update(PixelWriter<T> write)
    {
        Mutex.Lock();
        try
        {
            write(_pixels);
        }
        finally
        {
            Mutex.Unlock();
        }
    }

    /// <summary>A copy of the pixels as a [height, width] array.</summary>
    public T[,] ToArray()
    {
        var copy = new T[Height, Width];
        Mutex.Lock();
        try
        {
            _pixels.AsSpan().CopyTo(MemoryMarshal.CreateSpan(ref copy[0, 0], copy.Length));
        }
        finally
        {
            Mutex.Unlock();
        }
        return copy;
    }
}
