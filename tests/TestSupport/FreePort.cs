using System.Net;
using System.Net.Sockets;

namespace Lima2.TestSupport;

public static class FreePort
{
    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The first of <paramref name="count"/> consecutive UDP ports on 127.0.0.1 that were free a moment ago (a JUNGFRAU stand-in sends module i to port + i).</summary>
    public static int ConsecutiveUdp(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var sockets = new List<Socket>();
            try
            {
                var first = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sockets.Add(first);
                first.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)first.LocalEndPoint!).Port;
                if (port + count - 1 > IPEndPoint.MaxPort)
                    continue;
                for (var i = 1; i < count; i++)
                {
                    var next = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                    sockets.Add(next);
                    next.Bind(new IPEndPoint(IPAddress.Loopback, port + i));
                }
                return port;
            }
            catch (SocketException)
            {
                // one of them is taken: try another first port
            }
            finally
            {
                foreach (var socket in sockets)
                    socket.Dispose();
            }
        }
        throw new InvalidOperationException($"no {count} consecutive free UDP ports");
    }
}
