using System.Runtime.InteropServices;

namespace Lima2.Detectors.Jungfrau;

/// <summary>Builds the datagrams a JUNGFRAU module sends for one module-frame (the stand-in detector's side).</summary>
public static class JungfrauPackets
{
    /// <summary>
    /// Writes packet <paramref name="packetNumber"/> (0–127) of a 1024×512 module-frame into a
    /// <see cref="JungfrauModule.DatagramBytes"/>-byte datagram. With two <paramref name="interfaces"/> each carries 64
    /// of them numbered from 0: packet p goes out on interface p / 64 as number p % 64.
    /// </summary>
    public static void Write(Span<byte> datagram, ulong frameNumber, int moduleId, int packetNumber, ReadOnlySpan<ushort> modulePixels, int interfaces = 1)
    {
        new SlsDetectorHeader
        {
            FrameNumber = frameNumber,
            PacketNumber = (uint)(packetNumber % (JungfrauModule.PacketsPerFrame / interfaces)),
            ModuleId = (ushort)moduleId,
            Timestamp = frameNumber * 10_000, // 1 kHz on the 10 MHz clock
            BunchId = frameNumber,
            DetType = SlsDetectorHeader.JungfrauDetType,
            Version = SlsDetectorHeader.CurrentVersion,
        }.Write(datagram);
        MemoryMarshal.AsBytes(modulePixels.Slice(packetNumber * JungfrauModule.PixelsPerPacket, JungfrauModule.PixelsPerPacket))
            .CopyTo(datagram[SlsDetectorHeader.Size..]);
    }

    /// <summary>A new datagram for packet <paramref name="packetNumber"/> of a module-frame (see <see cref="Write"/>).</summary>
    public static byte[] Create(ulong frameNumber, int moduleId, int packetNumber, ReadOnlySpan<ushort> modulePixels, int interfaces = 1)
    {
        var datagram = new byte[JungfrauModule.DatagramBytes];
        Write(datagram, frameNumber, moduleId, packetNumber, modulePixels, interfaces);
        return datagram;
    }
}
