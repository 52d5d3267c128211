using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Lima2.Detectors.Jungfrau;

namespace Lima2.Acquisition.Tests.Jungfrau;

public class SlsDetectorHeaderTests
{
    [Fact]
    public void The_header_reads_each_field_at_its_documented_little_endian_offset()
    {
        var bytes = new byte[JungfrauModule.DatagramBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(0), 1_000_000_000_001);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 100);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), 127);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), 0xB0B0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), 0x1234_5678_9ABC);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(32), 7);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(34), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(36), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(40), 0x8000_0011);
        bytes[46] = 3;
        bytes[47] = 2;

        var header = SlsDetectorHeader.Read(bytes);

        Assert.Equal(48, Unsafe.SizeOf<SlsDetectorHeader>());
        Assert.Equal((1_000_000_000_001UL, 100u, 127u, 0xB0B0UL, 0x1234_5678_9ABCUL), (header.FrameNumber, header.ExpLength, header.PacketNumber, header.BunchId, header.Timestamp));
        Assert.Equal(((ushort)7, (ushort)2, (ushort)1, 0x8000_0011u, (byte)3, (byte)2), (header.ModuleId, header.Row, header.Column, header.DaqInfo, header.DetType, header.Version));
        var written = new byte[SlsDetectorHeader.Size];
        header.Write(written);
        Assert.Equal(bytes[..48], written);
    }
}
