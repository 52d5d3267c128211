using System.Net;
using Lima2.Core.Parameters;
using Tango.Client;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Lima2.Server;

/// <summary>One receiver of a beamline description.</summary>
public sealed record ReceiverEntry
{
    public string Channel { get; set; } = "simulator";
    public string Endpoint { get; set; } = "";
    public string MemoryCap { get; set; } = "1GiB";
    public string OverloadPolicy { get; set; } = "back_pressure";
    public string PeakFinder { get; set; } = "auto";

    /// <summary>The live view's TCP port (0: a free one; -1: none), as the receiver's <c>live_port</c> property.</summary>
    public int LivePort { get; set; } = -1;

    /// <summary>Re-publish the processed frames (the receiver's <c>publish</c> property); null: not published.</summary>
    public PublishConfig? Publish { get; set; }

    /// <summary>The channel block of a <c>jungfrau_udp</c> receiver (its ports, modules, geometry, corrections).</summary>
    public JungfrauChannelConfig? Jungfrau { get; set; }

    /// <summary>The host whose Starter runs this receiver; empty: the beamline's <c>host</c>.</summary>
    public string Host { get; set; } = "";

    /// <summary>The ORBendPoint this receiver's server is started with; empty: the beamline's <c>orb_endpoint</c>.</summary>
    public string OrbEndpoint { get; set; } = "";
}

/// <summary>
/// A beamline's Lima2 system (config/beamline.yaml): one control and n receivers, each in a Lima2Server process of
/// its own (instance <c>{instance}_control</c>, <c>{instance}_recv{rank}</c>), devices
/// <c>{domain}/limacontrol/{name}</c> and <c>{domain}/limareceiver/{name}@{rank}</c>.
/// </summary>
public sealed record Beamline
{
    public string Server { get; set; } = "Lima2Server";
    public string Instance { get; set; } = "lima2";
    public string Domain { get; set; } = "id00";
    public string Name { get; set; } = "simulator";
    public string Detector { get; set; } = "simulator";

    /// <summary>The DECTRIS detector's SIMPLON server (detector: dectris), e.g. <c>http://dcu:80</c>.</summary>
    public string SimplonUrl { get; set; } = "";
    public string Topology { get; set; } = "round_robin";
    public string SavingRoot { get; set; } = "/tmp";

    /// <summary>Where reference images must lie; empty: under the saving root.</summary>
    public string ReferenceRoot { get; set; } = "";

    public List<ReceiverEntry> Receivers { get; set; } = [new()];

    /// <summary>The control's live view TCP port (the whole detector; 0: a free one; -1: none), its <c>live_port</c>.</summary>
    public int LivePort { get; set; } = -1;

    /// <summary>
    /// The address every server publishes (omniORB's ORBendPoint, e.g. <c>giop:tcp:lid00ctl:</c>) unless a receiver
    /// names its own; empty: the environment's ORBendPoint, else omniORB's default (every interface).
    /// </summary>
    public string OrbEndpoint { get; set; } = "";

    /// <summary>The host whose Starter runs the control and every receiver that names no host; empty: this host.</summary>
    public string Host { get; set; } = "";

    /// <summary>Starter's StartDsPath entry (a folder holding a Lima2Server symlink to the apphost); empty: no Starter.</summary>
    public string StartDsPath { get; set; } = "";

    /// <summary>The level Starter starts the servers at (1 first, as Astor numbers them).</summary>
    public int StartupLevel { get; set; } = 1;

    public string ControlInstance => $"{Instance}_control";

    public string ControlDevice => $"{Domain}/limacontrol/{Name}";

    public string ReceiverInstance(int rank) => $"{Instance}_recv{rank}";

    public string ReceiverDevice(int rank) => $"{Domain}/limareceiver/{Name}@{rank}";

    public string ControlHost => Host.Length > 0 ? Host : ThisHost;

    public string ReceiverHost(int rank) => Receivers[rank].Host.Length > 0 ? Receivers[rank].Host : ControlHost;

    public string ReceiverOrbEndpoint(int rank) => Receivers[rank].OrbEndpoint.Length > 0 ? Receivers[rank].OrbEndpoint : OrbEndpoint;

    /// <summary>The short, lower-case host name, as Starter names its device <c>tango/admin/{host}</c>.</summary>
    public static string ThisHost => Dns.GetHostName().Split('.')[0].ToLowerInvariant();

    public static Beamline Load(string path)
    {
        var reader = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .WithEnumNamingConvention(UnderscoredNamingConvention.Instance).Build();
        var beamline = reader.Deserialize<Beamline?>(File.ReadAllText(path)) ?? new Beamline();
        if (beamline.Receivers.Count == 0)
            throw new FormatException($"{path}: receivers: at least one receiver is needed");
        if (!Path.IsPathFullyQualified(beamline.SavingRoot))
            throw new FormatException($"{path}: saving_root: '{beamline.SavingRoot}' must be an absolute path");
        if (beamline.StartupLevel < 1)
            throw new FormatException($"{path}: startup_level: {beamline.StartupLevel} must be 1 or more");
        if (beamline.ReferenceRoot.Length > 0 && !Path.IsPathFullyQualified(beamline.ReferenceRoot))
            throw new FormatException($"{path}: reference_root: '{beamline.ReferenceRoot}' must be an absolute path");
        for (var rank = 0; rank < beamline.Receivers.Count; rank++)
        {
            var r = beamline.Receivers[rank];
            var errors = r.Jungfrau?.Validate($"receivers[{rank}].jungfrau", rank, beamline.Receivers.Count).ToList() ?? [];
            if ((r.Channel == "jungfrau_udp") != (r.Jungfrau is not null))
                errors.Add(new ParamsError($"receivers[{rank}]", "a jungfrau_udp receiver has a jungfrau block, and only it"));
            // the clients read the control's topology to know where frame k is: it must say what the receivers' dispatch does
            if (beamline.Receivers.Count > 1 && r.Jungfrau is { Dispatch: var dispatch and not JungfrauDispatch.FullFrame }
                && (dispatch == JungfrauDispatch.Modules) != (beamline.Topology == "partial"))
                errors.Add(new ParamsError($"receivers[{rank}].jungfrau.dispatch", $"{ParamsJson.EnumName(dispatch)} does not go with topology " +
                                                                                     $"{beamline.Topology}: modules dispatch needs topology partial, round_robin needs round_robin"));
            if (errors.Count > 0)
                throw new FormatException($"{path}: {string.Join("; ", errors)}");
        }
        return beamline;
    }
}

/// <summary><c>Lima2Server --register beamline.yaml</c>: servers, devices and properties into the DB of TANGO_HOST.</summary>
public static class Registration
{
    public static int Register(string path, TextWriter output)
    {
        try
        {
            var b = Beamline.Load(path);
            using var db = new Database();
            Apply(db, b, output);
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"Lima2Server --register {path}: {e.Message}");
            return 1;
        }
    }

    public static int ListInstances(string path, TextWriter output)
    {
        try
        {
            var b = Beamline.Load(path);
            output.WriteLine($"{b.ControlInstance} {b.OrbEndpoint}".TrimEnd());
            for (var rank = 0; rank < b.Receivers.Count; rank++)
                output.WriteLine($"{b.ReceiverInstance(rank)} {b.ReceiverOrbEndpoint(rank)}".TrimEnd());
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"Lima2Server --instances {path}: {e.Message}");
            return 1;
        }
    }

    public static void Apply(Database db, Beamline b, TextWriter output)
    {
        var receivers = Enumerable.Range(0, b.Receivers.Count).Select(b.ReceiverDevice).ToArray();
        var control = $"{b.Server}/{b.ControlInstance}";
        AddIfMissing(db, control, "LimaControl", b.ControlDevice);
        db.PutDeviceProperty(b.ControlDevice, new Dictionary<string, string[]>
        {
            ["receivers"] = receivers,
            ["receiver_topology"] = [b.Receivers.Count == 1 ? "single" : b.Topology],
            ["detector"] = [b.Detector],
            ["simplon_url"] = [b.SimplonUrl],
            ["live_port"] = [b.LivePort.ToString(System.Globalization.CultureInfo.InvariantCulture)],
        });
        output.WriteLine($"{control}: LimaControl {b.ControlDevice} -> {string.Join(", ", receivers)}");
        List<(string Server, string Host)> servers = [(control, b.ControlHost)];
        for (var rank = 0; rank < b.Receivers.Count; rank++)
        {
            var r = b.Receivers[rank];
            var server = $"{b.Server}/{b.ReceiverInstance(rank)}";
            AddIfMissing(db, server, "LimaReceiver", receivers[rank]);
            db.PutDeviceProperty(receivers[rank], new Dictionary<string, string[]>
            {
                ["rank"] = [rank.ToString()],
                ["nb_receivers"] = [b.Receivers.Count.ToString()],
                ["channel"] = [r.Channel],
                ["endpoint"] = [r.Endpoint],
                ["memory_cap"] = [r.MemoryCap],
                ["overload_policy"] = [r.OverloadPolicy],
                ["saving_root"] = [b.SavingRoot],
                ["reference_root"] = [b.ReferenceRoot.Length > 0 ? b.ReferenceRoot : b.SavingRoot],
                ["peak_finder"] = [r.PeakFinder],
                ["live_port"] = [r.LivePort.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                ["publish"] = [r.Publish?.ToJson() ?? ""],
                ["jungfrau"] = [r.Jungfrau?.ToPropertyText() ?? ""], // "": none (an empty list would leave an earlier block)
            });
            output.WriteLine($"{server}: LimaReceiver {receivers[rank]} ({r.Channel}, rank {rank})");
            servers.Add((server, b.ReceiverHost(rank)));
        }
        if (b.StartDsPath.Length > 0)
            PutUnderStarter(db, b, servers, output);
    }

    /// <summary>
    /// DbAddServer and DbAddDevice delete a device's row before inserting it again, which leaves a running server's
    /// device unexported: add the device only when it is not registered to this server yet.
    /// </summary>
    private static void AddIfMissing(Database db, string server, string className, string device)
    {
        try
        {
            var known = db.GetDeviceInfo(device);
            if (known.Server == server && known.ClassName == className)
                return;
        }
        catch (Tango.DevFailedException)
        {
            // not registered
        }
        db.AddDevice(device, className, server);
    }

    /// <summary>
    /// What Astor does for a controlled server: server info (host, controlled, start-up level), and the Lima2 folder
    /// appended to each host's Starter StartDsPath. Other entries and Starter's own settings stay as they are; a
    /// Starter already registered is not added again (that would unexport the running one).
    /// </summary>
    private static void PutUnderStarter(Database db, Beamline b, List<(string Server, string Host)> servers, TextWriter output)
    {
        foreach (var (server, host) in servers)
            db.PutServerInfo(new DbServerInfo(server, host, Controlled: true, b.StartupLevel));
        foreach (var host in servers.Select(s => s.Host).Distinct())
        {
            var starter = $"tango/admin/{host}";
            AddIfMissing(db, $"Starter/{host}", "Starter", starter);
            var path = db.GetDeviceProperty(starter, "StartDsPath")["StartDsPath"];
            if (!path.Contains(b.StartDsPath))
            {
                path = [.. path, b.StartDsPath];
                db.PutDeviceProperty(starter, new Dictionary<string, string[]> { ["StartDsPath"] = path });
            }
            var controlled = servers.Where(s => s.Host == host).Select(s => s.Server);
            output.WriteLine($"Starter/{host}: controls {string.Join(", ", controlled)} at level {b.StartupLevel}; " +
                $"StartDsPath {string.Join(", ", path)}");
        }
    }
}
