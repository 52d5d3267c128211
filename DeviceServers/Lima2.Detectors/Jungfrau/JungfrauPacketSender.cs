using System.Net;
using System.Net.Sockets;

namespace Lima2.Detectors.Jungfrau;

/// <summary>Where one module's datagrams go.</summary>
public readonly record struct ModuleDestination(int ModuleId, IPEndPoint Endpoint);

/// <summary>
/// The stand-in detector's sending side: the 128 datagrams of each module-frame, modules interleaved packet by packet
/// as parallel modules arrive, over plain UDP sockets (sendmmsg batching is still to do). For loopback tests and demos.
/// </summary>
public sealed class JungfrauPacketSender : IDisposable
{
    private readonly IReadOnlyList<ModuleDestination> _modules;
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly byte[] _datagram = new byte[JungfrauModule.DatagramBytes];

    public JungfrauPacketSender(IReadOnlyList<ModuleDestination> modules)
    {
        if (modules.Count == 0)
            throw new ArgumentException("a sender sends at least one module", nameof(modules));
        _modules = modules;
        _socket.SendBufferSize = 4 << 20;
    }

    public long PacketsSent { get; private set; }
    public long PacketsDropped { get; private set; }

    /// <summary>Sends one frame: <paramref name="modulePixels"/>[i] is module i's 1024×512 raw words; packets in <paramref name="drop"/> are left out.</summary>
    public void SendFrame(ulong frameNumber, IReadOnlyList<ushort[]> modulePixels, ISet<(int ModuleId, int Packet)>? drop = null)
    {
        if (modulePixels.Count != _modules.Count || modulePixels.Any(m => m.Length != JungfrauModule.Pixels))
            throw new ArgumentException($"expected {_modules.Count} modules of {JungfrauModule.Pixels} pixels", nameof(modulePixels));
        for (var packet = 0; packet < JungfrauModule.PacketsPerFrame; packet++)
            for (var m = 0; m < _modules.Count; m++)
            {
                var (moduleId, endpoint) = _modules[m];
                if (drop?.Contains((moduleId, packet)) == true)
                {
                    PacketsDropped++;
                    continue;
                }
                JungfrauPackets.Write(_datagram, frameNumber, moduleId, packet, modulePixels[m]);
                _socket.SendTo(_datagram, endpoint);
                PacketsSent++;
            }
    }

    public void Dispose() => _socket.Dispose();
}
