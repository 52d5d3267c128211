// Tango.Bench: reads/s of a scalar (long_scalar) and of a 1024×1024 uint16 image (ushort_image_ro) served by
// TangoNetTest (C#), TangoTest (C++) and a PyTango server, all registered in the embedded Tango
// database (so TangoTest serves 1024×1024 through its UShort_image_ro_size property). Two clients measure, one
// after the other in every round: one PyTango process (the issue's yardstick) and Tango.Client in this process.
// Targets are interleaved within a round so load changes hit them alike, and their order rotates from round to
// round: on 2 cores a read's round trip is ~35 µs or ~70 µs depending on whether the scheduler puts the serving
// thread on the client's core, and that placement follows the position in the sequence (the first target of a fresh
// PyTango client, the one after a given other), not the server, so a fixed order biases one target by a few %. For Tango.Client it also takes the server
// process's CPU time per read (user + system, all threads), which a loaded machine changes far less than reads/s.
// Prints Markdown for docs/BENCHMARKS.md.
//
// usage: Tango.Bench [--seconds 2] [--rounds 3]
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Lima2.TestSupport;
using Tango;
using Tango.Client;

var seconds = double.Parse(Option("--seconds") ?? "2", CultureInfo.InvariantCulture);
var rounds = int.Parse(Option("--rounds") ?? "3", CultureInfo.InvariantCulture);
string[] attributes = ["long_scalar", "ushort_image_ro"];

List<Server> servers =
[
    new("TangoNetTest", Path.Combine(AppContext.BaseDirectory, "TangoNetTest"), [], "TangoNetTest", "TangoNetTest"),
    new("TangoTest", "/usr/lib/tango/TangoTest", [], "TangoTest", "TangoTest"),
    new("PyTango", Python.Interpreter, [Path.Combine(RepoPaths.Root, "bench", "py", "bench_server.py")],
        "BenchServer", "BenchServer"), // PyTango names the server after the class
];

var tangoHost = EmbeddedTangoDb.TangoHost;
var hostPort = tangoHost.Split(':');
using var db = new Database(hostPort[0], int.Parse(hostPort[1], CultureInfo.InvariantCulture));
var processes = new List<ChildProcess>();
var results = new List<(string Client, string Target, string Attribute, double Rate, double CpuUs)>();
try
{
    foreach (var s in servers)
    {
        db.AddServer(s.ServerName + "/bench", s.ClassName, s.Device);
        db.PutDeviceProperty(s.Device, new Dictionary<string, string[]> { ["UShort_image_ro_size"] = ["1024"] });
        var process = ChildProcess.Start(s.Executable, [.. s.Arguments, "bench"], EmbeddedTangoDb.Environment);
        processes.Add(process);
        process.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(60));
    }
    var proxies = servers.ToDictionary(s => s.Name, s => new DeviceProxy($"tango://{tangoHost}/{s.Device}"));
    foreach (var (name, proxy) in proxies)
    {
        var image = proxy.ReadAttribute("ushort_image_ro");
        if ((image.DimX, image.DimY) != (1024, 1024))
            throw new InvalidOperationException($"{name} serves a {image.DimX}x{image.DimY} image, not 1024x1024");
    }

    var frame = GC.AllocateArray<ushort>(1024 * 1024, pinned: true); // one reused frame buffer, as on the frame path
    Console.Error.WriteLine($"load before: {File.ReadAllText("/proc/loadavg").Trim()}");
    var script = Path.Combine(RepoPaths.Root, "bench", "py", "read_rate.py");
    for (var round = 1; round <= rounds; round++)
    {
        var order = Rotated(servers.Zip(processes).ToArray(), round - 1);
        var output = Python.Run(script, [seconds.ToString(CultureInfo.InvariantCulture), string.Join(",", attributes),
            .. order.Select(t => $"{t.First.Name}=tango://{tangoHost}/{t.First.Device}")], environment: EmbeddedTangoDb.Environment);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var m = JsonDocument.Parse(line).RootElement;
            results.Add(("PyTango", m.GetProperty("target").GetString()!, m.GetProperty("attribute").GetString()!,
                m.GetProperty("reads").GetInt64() / m.GetProperty("seconds").GetDouble(), double.NaN));
        }
        foreach (var attribute in attributes)
        {
            foreach (var (s, p) in order)
            {
                var (rate, cpu) = Measure(() => proxies[s.Name].ReadAttribute(attribute), seconds, p.Id);
                results.Add(("Tango.Client", s.Name, attribute, rate, cpu));
            }
        }
        foreach (var (s, p) in order)
        {
            var (rate, cpu) = Measure(() => proxies[s.Name].ReadInto<ushort>("ushort_image_ro", frame), seconds, p.Id);
            results.Add(("Tango.Client ReadInto", s.Name, "ushort_image_ro", rate, cpu));
        }
        Console.Error.WriteLine($"round {round}/{rounds} done");
    }
    Console.Error.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
    foreach (var proxy in proxies.Values)
        proxy.Dispose();
}
finally
{
    foreach (var p in processes)
        p.Dispose();
    foreach (var s in servers)
        db.DeleteServer(s.ServerName + "/bench");
}

Console.WriteLine($"{rounds} rounds of {seconds} s per client, target and attribute. Reads/s: median, ratio to TangoTest, (each round).");
Console.WriteLine();
Console.WriteLine($"| client | attribute | {string.Join(" | ", servers.Select(s => s.Name))} |");
Console.WriteLine($"|---|---|{string.Concat(servers.Select(_ => "---|"))}");
foreach (var client in new[] { "PyTango", "Tango.Client", "Tango.Client ReadInto" })
{
    foreach (var attribute in attributes.Where(a => Rates(client, "TangoTest", a).Length > 0))
    {
        var reference = Median(Rates(client, "TangoTest", attribute));
        var cells = servers.Select(s =>
        {
            var rates = Rates(client, s.Name, attribute);
            var runs = string.Join(" / ", rates.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)));
            return FormattableString.Invariant($"**{Median(rates):F0}** {Median(rates) / reference:F2}× ({runs})");
        });
        Console.WriteLine($"| {client} | {attribute} | {string.Join(" | ", cells)} |");
    }
}
Console.WriteLine();
Console.WriteLine("Server CPU time per read (µs, user + system of the server process): median, ratio to TangoTest, (each round).");
Console.WriteLine();
Console.WriteLine($"| client | attribute | {string.Join(" | ", servers.Select(s => s.Name))} |");
Console.WriteLine($"|---|---|{string.Concat(servers.Select(_ => "---|"))}");
foreach (var client in new[] { "Tango.Client", "Tango.Client ReadInto" })
{
    foreach (var attribute in attributes.Where(a => Rates(client, "TangoTest", a).Length > 0))
    {
        var reference = Median(CpuTimes(client, "TangoTest", attribute));
        var cells = servers.Select(s =>
        {
            var cpu = CpuTimes(client, s.Name, attribute);
            var runs = string.Join(" / ", cpu.Select(c => c.ToString("F1", CultureInfo.InvariantCulture)));
            return FormattableString.Invariant($"**{Median(cpu):F1}** {Median(cpu) / reference:F2}× ({runs})");
        });
        Console.WriteLine($"| {client} | {attribute} | {string.Join(" | ", cells)} |");
    }
}
return 0;

double[] Rates(string client, string target, string attribute) =>
    [.. results.Where(r => r.Client == client && r.Target == target && r.Attribute == attribute).Select(r => r.Rate)];

double[] CpuTimes(string client, string target, string attribute) =>
    [.. results.Where(r => r.Client == client && r.Target == target && r.Attribute == attribute).Select(r => r.CpuUs)];

static T[] Rotated<T>(T[] items, int by) => [.. items.Skip(by % items.Length), .. items.Take(by % items.Length)];

static double Median(double[] values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

// Reads/s, and the server's CPU µs per read (clock ticks of 10 ms: 2 s of reads resolve it well enough).
static (double Rate, double CpuUs) Measure(Action read, double seconds, int serverPid)
{
    read(); // connection and first-call costs stay out of the measurement
    using var server = Process.GetProcessById(serverPid);
    var cpu0 = server.TotalProcessorTime;
    var reads = 0L;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        read();
        reads++;
    }
    var elapsed = clock.Elapsed.TotalSeconds;
    server.Refresh();
    return (reads / elapsed, (server.TotalProcessorTime - cpu0).TotalMicroseconds / reads);
}

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

internal sealed record Server(string Name, string Executable, string[] Arguments, string ServerName, string ClassName)
{
    public string Device => $"bench/{Name.ToLowerInvariant()}/1";
}
