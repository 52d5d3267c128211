using System.Net;
using System.Net.Sockets;

namespace Lima2.Detectors.Jungfrau;

/// <summary>
/// Where one module's datagrams go: one endpoint per UDP interface, 1 or 2 (two 10 GbE links, each carrying half the
/// module: packets 0–63 to the first, 64–127 to the second, numbered 0–63 on each).
/// </summary>
public readonly record struct ModuleDestination(int ModuleId, IReadOnlyList<IPEndPoint> Endpoints)
{
    public ModuleDestination(int moduleId, IPEndPoint endpoint) : this(moduleId, [endpoint])
    {
    }
}

/// <summary>
/// The stand-in detector's sending side: the 128 datagrams of each module-frame, modules (and their interfaces)
/// interleaved packet by packet as parallel links deliver them, over plain UDP sockets (sendmmsg batching is still
/// to do). For loopback tests and demos.
/// </summary>
public sealed class JungfrauPacketSender : IDisposable
{
    private readonly IReadOnlyList<ModuleDestination> _modules;
    private readonly int _interfaces;
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly byte[] _datagram = new byte[JungfrauModule.DatagramBytes];

    public JungfrauPacketSender(IReadOnlyList<ModuleDestination> modules)
    {
        if (modules.Count == 0)
            throw new ArgumentException("a sender sends at least one module", nameof(modules));
        _interfaces = modules[0].Endpoints.Count;
        if (_interfaces is not (1 or 2) || modules.Any(m => m.Endpoints.Count != _interfaces))
            throw new ArgumentException("every module sends over the same number of interfaces, 1 or 2", nameof(modules));
        _modules = modules;
        _socket.SendBufferSize = 4 << 20;
    }

    public long PacketsSent { get; private set; }
    public long PacketsDropped { get; private set; }

    /// <summary>
    /// Sends one frame: <paramref name="modulePixels"/>[i] is module i's 1024×512 raw words; packets in
    /// <paramref name="drop"/> (module id, packet 0–127 of the module) are left out.
    /// </summary>
    public void SendFrame(ulong frameNumber, IReadOnlyList<ushort[]> modulePixels, ISet<(int ModuleId, int Packet)>? drop = null)
    {
        if (modulePixels.Count != _modules.Count || modulePixels.Any(m => m.Length != JungfrauModule.Pixels))
            throw new ArgumentException($"expected {_modules.Count} modules of {JungfrauModule.Pixels} pixels", nameof(modulePixels));
        var perInterface = JungfrauModule.PacketsPerFrame / _interfaces;
        for (var sent = 0; sent < perInterface; sent++)
            for (var m = 0; m < _modules.Count; m++)
                for (var link = 0; link < _interfaces; link++)
                {
                    var (moduleId, endpoints) = _modules[m];
                    var packet = link * perInterface + sent;
                    if (drop?.Contains((moduleId, packet)) == true)
                    {
                        PacketsDropped++;
                        continue;
                    }
                    JungfrauPackets.Write(_datagram, frameNumber, moduleId, packet, modulePixels[m], _interfaces);
                    _socket.SendTo(_datagram, endpoints[link]);
                    PacketsSent++;
                }
    }

    public void Dispose() => _socket.Dispose();
}
