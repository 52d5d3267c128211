using System.Net;
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

    /// <summary>Starter's StartDsPath (a folder holding a Lima2Server symlink to the apphost); empty: no Starter.</summary>
    public string StartDsPath { get; set; } = "";

    public string StarterLogHome { get; set; } = "";

    public string ControlInstance => $"{Instance}_control";

    public string ControlDevice => $"{Domain}/limacontrol/{Name}";

    public string ReceiverInstance(int rank) => $"{Instance}_recv{rank}";

    public string ReceiverDevice(int rank) => $"{Domain}/limareceiver/{Name}@{rank}";

    public static Beamline Load(string path)
    {
        var reader = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        var beamline = reader.Deserialize<Beamline?>(File.ReadAllText(path)) ?? new Beamline();
        if (beamline.Receivers.Count == 0)
            throw new FormatException($"{path}: receivers: at least one receiver is needed");
        if (!Path.IsPathFullyQualified(beamline.SavingRoot))
            throw new FormatException($"{path}: saving_root: '{beamline.SavingRoot}' must be an absolute path");
        if (beamline.ReferenceRoot.Length > 0 && !Path.IsPathFullyQualified(beamline.ReferenceRoot))
            throw new FormatException($"{path}: reference_root: '{beamline.ReferenceRoot}' must be an absolute path");
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
            output.WriteLine(b.ControlInstance);
            for (var rank = 0; rank < b.Receivers.Count; rank++)
                output.WriteLine(b.ReceiverInstance(rank));
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
        db.AddServer($"{b.Server}/{b.ControlInstance}", "LimaControl", b.ControlDevice);
        db.PutDeviceProperty(b.ControlDevice, new Dictionary<string, string[]>
        {
            ["receivers"] = receivers,
            ["receiver_topology"] = [b.Receivers.Count == 1 ? "single" : b.Topology],
            ["detector"] = [b.Detector],
            ["simplon_url"] = [b.SimplonUrl],
        });
        output.WriteLine($"{b.Server}/{b.ControlInstance}: LimaControl {b.ControlDevice} -> {string.Join(", ", receivers)}");
        for (var rank = 0; rank < b.Receivers.Count; rank++)
        {
            var r = b.Receivers[rank];
            var device = receivers[rank];
            db.AddServer($"{b.Server}/{b.ReceiverInstance(rank)}", "LimaReceiver", device);
            db.PutDeviceProperty(device, new Dictionary<string, string[]>
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
            });
            output.WriteLine($"{b.Server}/{b.ReceiverInstance(rank)}: LimaReceiver {device} ({r.Channel}, rank {rank})");
        }
        if (b.StartDsPath.Length > 0)
        {
            var host = Dns.GetHostName().Split('.')[0].ToLowerInvariant();
            var starter = $"tango/admin/{host}";
            db.AddServer($"Starter/{host}", "Starter", starter);
            var properties = new Dictionary<string, string[]> { ["StartDsPath"] = [b.StartDsPath] };
            if (b.StarterLogHome.Length > 0)
                properties["LogFileHome"] = [b.StarterLogHome];
            db.PutDeviceProperty(starter, properties);
            output.WriteLine($"Starter/{host}: {starter} StartDsPath={b.StartDsPath}");
        }
    }
}
