using System.Net;
using System.Net.Sockets;
using Lima2.TestSupport;

namespace Lima2.Core.Tests;

/// <summary>The ports the suites give their servers and stand-ins (TestSupport's FreePort), handed out by test classes in parallel.</summary>
public sealed class FreePortTests
{
    [Fact]
    public void Ports_handed_out_in_parallel_are_distinct_outside_the_ephemeral_range_and_free()
    {
        var (low, high) = EphemeralRange();
        var ports = new int[400];
        Parallel.For(0, ports.Length, i => ports[i] = FreePort.Next());

        Assert.Equal(ports.Length, ports.Distinct().Count());
        // a port the kernel may give to bind(0) or to an outgoing connection can be taken before the test binds it
        Assert.All(ports, p => Assert.False(p >= low && p <= high, $"{p} is in the ephemeral range {low}-{high}"));
        foreach (var port in ports.Take(20))
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
        }
    }

    [Fact]
    public void Consecutive_udp_ports_are_free_outside_the_ephemeral_range_and_never_overlap()
    {
        var (low, high) = EphemeralRange();
        var firsts = Enumerable.Range(0, 50).Select(_ => FreePort.ConsecutiveUdp(8)).ToArray();

        var all = firsts.SelectMany(first => Enumerable.Range(first, 8)).ToArray();
        Assert.Equal(all.Length, all.Distinct().Count());
        Assert.All(all, p => Assert.False(p >= low && p <= high, $"{p} is in the ephemeral range {low}-{high}"));
        foreach (var port in Enumerable.Range(firsts[0], 8))
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
    }

    /// <summary>The ports the kernel picks for bind(0) and outgoing connections.</summary>
    private static (int Low, int High) EphemeralRange()
    {
        var words = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return (int.Parse(words[0]), int.Parse(words[1]));
    }
}
