using System.Net;
using System.Net.Sockets;

namespace Lima2.TestSupport;

/// <summary>
/// Ports on 127.0.0.1 for a test to give a server or a stand-in. They come from just below the kernel's ephemeral
/// range (<c>ip_local_port_range</c>): a port the OS picked (bind to 0) and freed again could be taken before the test
/// binds it by any process starting meanwhile (Tango servers bind their CORBA and event ports to 0) or by an outgoing
/// connection, and the OS may pick it twice. Below the range only an explicit bind takes a port, and this process
/// hands each one out once.
/// </summary>
public static class FreePort
{
    private const int RangeSize = 12000;

    private static readonly (int First, int Last) Range = BelowEphemeralRange();

    // a random start: test processes of other checkouts on the same machine rarely probe the same ports
    private static int _taken = Random.Shared.Next(Range.Last - Range.First);

    /// <summary>A TCP port on 127.0.0.1 that is free now, outside the ephemeral range, never handed out before by this process.</summary>
    public static int Next() => Take(1, port => IsFree(port, SocketType.Stream, ProtocolType.Tcp));

    /// <summary>The first of <paramref name="count"/> consecutive UDP ports on 127.0.0.1, as <see cref="Next"/> (a JUNGFRAU stand-in sends module i to port + i).</summary>
    public static int ConsecutiveUdp(int count) =>
        Take(count, first => Enumerable.Range(first, count).All(port => IsFree(port, SocketType.Dgram, ProtocolType.Udp)));

    private static int Take(int count, Func<int, bool> free)
    {
        var size = Range.Last - Range.First + 1;
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var end = Interlocked.Add(ref _taken, count);
            var first = Range.First + (end - count) % size;
            if (first + count - 1 > Range.Last)
                continue; // would straddle the end of the range: the next turn starts over at its beginning
            if (free(first))
                return first;
        }
        throw new InvalidOperationException($"no {count} free port(s) in {Range.First}-{Range.Last} after 200 tries");
    }

    private static bool IsFree(int port, SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static (int First, int Last) BelowEphemeralRange()
    {
        var words = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var (low, high) = (int.Parse(words[0]), int.Parse(words[1]));
        if (low - 1 - RangeSize >= 1024)
            return (low - RangeSize, low - 1);
        if (high + RangeSize <= IPEndPoint.MaxPort)
            return (high + 1, high + RangeSize);
        throw new InvalidOperationException($"the ephemeral range {low}-{high} leaves no {RangeSize} ports outside it");
    }
}
