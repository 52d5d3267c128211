using System.Runtime.InteropServices;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// The 48-byte <c>sls_detector_header</c> (version 2) that starts every JUNGFRAU UDP datagram: little-endian, packed
/// (slsDetectorPackage docs/src/udpheader.rst). Blittable so that it is read straight out of a receive buffer.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct SlsDetectorHeader
{
    public const int Size = 48;
    public const byte JungfrauDetType = 3;
    public const byte CurrentVersion = 2;

    public ulong FrameNumber;
    /// <summary>Exposure length in 0.1 µs.</summary>
    public uint ExpLength;
    public uint PacketNumber;
    /// <summary>detSpec1: the bunch id on JUNGFRAU.</summary>
    public ulong BunchId;
    /// <summary>10 MHz clock.</summary>
    public ulong Timestamp;
    public ushort ModuleId;
    public ushort Row;
    public ushort Column;
    public ushort DetSpec2;
    /// <summary>detSpec3: JUNGFRAU "DAQ info" (gain mode bits, storage cell, event code).</summary>
    public uint DaqInfo;
    public ushort DetSpec4;
    public byte DetType;
    public byte Version;

    static SlsDetectorHeader()
    {
        // The wire format is little-endian and read without byte swapping.
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("sls_detector_header is read as little-endian memory");
    }

    /// <summary>The header at the start of a datagram; the caller has checked that it holds at least <see cref="Size"/> bytes.</summary>
    public static SlsDetectorHeader Read(ReadOnlySpan<byte> datagram) => MemoryMarshal.Read<SlsDetectorHeader>(datagram);

    public readonly void Write(Span<byte> datagram)
    {
        var copy = this;
        MemoryMarshal.Write(datagram, in copy);
    }
}

/// <summary>The fixed sizes of a JUNGFRAU module-frame as it travels over one 10 GbE interface.</summary>
public static class JungfrauModule
{
    public const int Width = 1024;
    public const int Height = 512;
    public const int Pixels = Width * Height;
    public const int PacketsPerFrame = 128;
    public const int PayloadBytes = 8192;
    public const int PixelsPerPacket = PayloadBytes / sizeof(ushort);
    public const int DatagramBytes = SlsDetectorHeader.Size + PayloadBytes;

    /// <summary>Pixels are 75 µm squares (in m).</summary>
    public const double PixelSize = 75e-6;
}
