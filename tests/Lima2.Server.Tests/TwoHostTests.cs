using System.Runtime.Versioning;
using System.Text.Json;
using Lima2.TestSupport;

namespace Lima2.Server.Tests;

/// <summary>Two hosts' worth of servers, a database and a client: runs alone.</summary>
[CollectionDefinition(nameof(TwoHostTests), DisableParallelization = true)]
public sealed class TwoHostCollection;

/// <summary>
/// A beamline over two "hosts": network namespaces joined by a veth pair in a private /30 that exists only inside this
/// machine. The Tango DB and the control live on one (10.200.0.1), the receivers on the other (10.200.0.2), each server
/// started with the ORBendPoint the beamline YAML gives it; a PyTango client on the receivers' host drives an
/// acquisition across, and every device publishes the address it was given in the DB, never loopback.
/// </summary>
[Collection(nameof(TwoHostTests))]
[SupportedOSPlatform("linux")] // network namespaces
public sealed class TwoHostTests
{
    [Fact]
    public void A_client_on_another_host_drives_the_control_and_receivers_each_reached_at_the_address_it_was_given()
    {
        using var hosts = new TwoHosts();
        var root = Directory.CreateTempSubdirectory("lima2-hosts-").FullName;
        File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101); // MariaDB runs as user mysql below it: rwxr-xr-x
        var tangoHost = $"{TwoHosts.ControlAddress}:10000";
        var database = new Dictionary<string, string?>
        {
            ["LIMA2_TANGO_DIR"] = Path.Combine(root, "tango"), ["TANGO_PORT"] = "10000", ["LIMA2_MYSQL_PORT"] = "3307",
            ["LIMA2_TANGO_ADDRESS"] = TwoHosts.ControlAddress, ["TANGO_HOST"] = null,
        };
        var tangoDb = Path.Combine(RepoPaths.Root, "scripts", "tango-db.sh");
        var tango = new Dictionary<string, string?> { ["TANGO_HOST"] = tangoHost };
        List<ChildProcess> servers = [];
        try
        {
            hosts.Run(TwoHosts.ControlHost, tangoDb, ["up"], database);
            var config = Path.Combine(root, "beamline.yaml");
            File.WriteAllText(config, $$"""
                instance: hosts
                domain: hosts
                name: sim
                saving_root: {{root}}
                orb_endpoint: "giop:tcp:{{TwoHosts.ControlAddress}}:"
                receivers:
                  - {channel: simulator, memory_cap: 256MiB, peak_finder: reference, orb_endpoint: "giop:tcp:{{TwoHosts.ReceiverAddress}}:"}
                  - {channel: simulator, memory_cap: 256MiB, peak_finder: reference, orb_endpoint: "giop:tcp:{{TwoHosts.ReceiverAddress}}:"}
                """);
            hosts.Run(TwoHosts.ControlHost, Lima2System.Executable, ["--register", config], tango);
            var instances = hosts.Run(TwoHosts.ControlHost, Lima2System.Executable, ["--instances", config], tango)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split(' ')).ToArray();
            Assert.Equal([["hosts_control", $"giop:tcp:{TwoHosts.ControlAddress}:"],
                ["hosts_recv0", $"giop:tcp:{TwoHosts.ReceiverAddress}:"], ["hosts_recv1", $"giop:tcp:{TwoHosts.ReceiverAddress}:"]],
                instances);
            foreach (var (instance, endpoint) in instances.Select(i => (i[0], i[1])))
            {
                var host = endpoint.Contains(TwoHosts.ControlAddress, StringComparison.Ordinal) ? TwoHosts.ControlHost : TwoHosts.ReceiverHost;
                var server = hosts.Start(host, Lima2System.Executable, [instance],
                    new Dictionary<string, string?>(tango) { ["ORBendPoint"] = endpoint }, root);
                servers.Add(server);
                server.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(60));
            }

            string[] receivers = ["hosts/limareceiver/sim@0", "hosts/limareceiver/sim@1"];
            File.WriteAllText(Path.Combine(root, "acq.json"), """{"acq": {"nb_frames": 20, "expo_time": 100}, "det": {"generator": {"width": 64, "height": 64}}}""");
            File.WriteAllText(Path.Combine(root, "proc.json"), $$$"""
                {"class_name": "LimaProcessingLegacy",
                 "saving": {"enabled": true, "base_path": "{{{root}}}/data", "filename_prefix": "hosts"}}
                """);
            var summaryPath = Path.Combine(root, "summary.json");
            var client = new Dictionary<string, string?>(tango) { ["ORBendPoint"] = null };
            hosts.Run(TwoHosts.ReceiverHost, Python.Interpreter,
                [Path.Combine(RepoPaths.Root, "scripts", "lima2-run.py"), "--control", "hosts/limacontrol/sim",
                 "--receivers", string.Join(",", receivers), "--acq", Path.Combine(root, "acq.json"),
                 "--proc", Path.Combine(root, "proc.json"), "--json", summaryPath, "--quiet", "--timeout", "60"], client);
            var summary = JsonDocument.Parse(File.ReadAllText(summaryPath)).RootElement;
            Assert.False(summary.GetProperty("failed").GetBoolean(), summary.ToString());
            Assert.Equal(20, summary.GetProperty("nb_frames_acquired").GetInt64());
            Assert.Equal([10, 10], summary.GetProperty("nb_frames_saved").EnumerateArray().Select(e => e.GetInt64()));
            Assert.True(File.Exists(Path.Combine(root, "data", "hosts_master.h5")));

            var published = JsonDocument.Parse(hosts.Run(TwoHosts.ControlHost, Python.Interpreter,
                [Path.Combine(AppContext.BaseDirectory, "py", "device_addresses.py"), "hosts/limacontrol/sim", "dserver/Lima2Server/hosts_control",
                 .. receivers, "dserver/Lima2Server/hosts_recv0", "dserver/Lima2Server/hosts_recv1"], client)).RootElement;
            foreach (var device in published.EnumerateObject())
            {
                var expected = device.Name.Contains("control", StringComparison.Ordinal) ? TwoHosts.ControlAddress : TwoHosts.ReceiverAddress;
                Assert.True(device.Value.GetProperty("exported").GetBoolean(), device.Name);
                var addresses = device.Value.GetProperty("addresses").EnumerateArray().Select(a => a.GetString()!).ToArray();
                Assert.NotEmpty(addresses);
                Assert.All(addresses, a => Assert.StartsWith($"{expected}:", a));
            }
        }
        finally
        {
            foreach (var server in servers)
            {
                server.Signal(15);
                try
                {
                    server.WaitForExit(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                    // Dispose kills it
                }
                server.Dispose();
            }
            hosts.Run(TwoHosts.ControlHost, tangoDb, ["purge"], database);
            Directory.Delete(root, recursive: true);
        }
    }
}

/// <summary>
/// Two network namespaces joined by a veth pair (10.200.0.1/30 and 10.200.0.2/30), loopback up in each; deleted when
/// disposed. Needs root (ip netns).
/// </summary>
public sealed class TwoHosts : IDisposable
{
    public const string ControlAddress = "10.200.0.1";
    public const string ReceiverAddress = "10.200.0.2";

    private static readonly string Suffix = (Environment.ProcessId % 100000).ToString();

    public TwoHosts()
    {
        try
        {
            Ip("netns", "add", ControlHost);
            Ip("netns", "add", ReceiverHost);
            Ip("link", "add", $"l2c{Suffix}", "type", "veth", "peer", "name", $"l2r{Suffix}");
            foreach (var (host, link, address) in new[] { (ControlHost, $"l2c{Suffix}", ControlAddress), (ReceiverHost, $"l2r{Suffix}", ReceiverAddress) })
            {
                Ip("link", "set", link, "netns", host);
                Ip("-n", host, "addr", "add", $"{address}/30", "dev", link);
                Ip("-n", host, "link", "set", link, "up");
                Ip("-n", host, "link", "set", "lo", "up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static string ControlHost { get; } = $"lima2-ctl-{Suffix}";

    public static string ReceiverHost { get; } = $"lima2-recv-{Suffix}";

    /// <summary>Starts a process inside a namespace (<c>ip netns exec</c> execs it: the PID is the program's).</summary>
    public ChildProcess Start(string host, string program, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?> environment, string? workingDirectory = null) =>
        ChildProcess.Start("ip", ["netns", "exec", host, program, .. arguments], environment, workingDirectory);

    /// <summary>Runs a program inside a namespace to its end and returns its output; throws with it if it fails.</summary>
    public string Run(string host, string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?> environment)
    {
        using var process = Start(host, program, arguments, environment);
        var rc = process.WaitForExit(TimeSpan.FromSeconds(120));
        return rc == 0 ? process.Output : throw new InvalidOperationException($"{Path.GetFileName(program)} exited with {rc} in {host}:\n{process.Output}");
    }

    /// <summary>Deletes what exists of both (a veth end goes with its namespace, and its peer with it).</summary>
    public void Dispose()
    {
        foreach (var host in new[] { ControlHost, ReceiverHost })
            if (File.Exists($"/run/netns/{host}"))
                Ip("netns", "delete", host);
        if (Directory.Exists($"/sys/class/net/l2c{Suffix}"))
            Ip("link", "delete", $"l2c{Suffix}");
    }

    private static void Ip(params string[] arguments)
    {
        using var ip = ChildProcess.Start("ip", arguments);
        if (ip.WaitForExit(TimeSpan.FromSeconds(10)) != 0)
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed (network namespaces need root):\n{ip.Output}");
    }
}
