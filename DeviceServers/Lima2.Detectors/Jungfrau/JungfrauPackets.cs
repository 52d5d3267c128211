using System.Runtime.InteropServices;

namespace Lima2.Detectors.Jungfrau;

/// <summary>Builds the datagrams a JUNGFRAU module sends for one module-frame (the stand-in detector's side).</summary>
public static class JungfrauPackets
{
    /// <summary>Writes packet <paramref name="packetNumber"/> of a 1024×512 module-frame into a <see cref="JungfrauModule.DatagramBytes"/>-byte datagram.</summary>
    public static void Write(Span<byte> datagram, ulong frameNumber, int moduleId, int packetNumber, ReadOnlySpan<ushort> modulePixels)
    {
        new SlsDetectorHeader
        {
            FrameNumber = frameNumber,
            PacketNumber = (uint)packetNumber,
            ModuleId = (ushort)moduleId,
            Timestamp = frameNumber * 10_000, // 1 kHz on the 10 MHz clock
            BunchId = frameNumber,
            DetType = SlsDetectorHeader.JungfrauDetType,
            Version = SlsDetectorHeader.CurrentVersion,
        }.Write(datagram);
        MemoryMarshal.AsBytes(modulePixels.Slice(packetNumber * JungfrauModule.PixelsPerPacket, JungfrauModule.PixelsPerPacket))
            .CopyTo(datagram[SlsDetectorHeader.Size..]);
    }

    /// <summary>A new datagram for packet <paramref name="packetNumber"/> of a module-frame.</summary>
    public static byte[] Create(ulong frameNumber, int moduleId, int packetNumber, ReadOnlySpan<ushort> modulePixels)
    {
        var datagram = new byte[JungfrauModule.DatagramBytes];
        Write(datagram, frameNumber, moduleId, packetNumber, modulePixels);
        return datagram;
    }
}
