using Lima2.TestSupport;
using Tango.Client;

namespace Lima2.Server.Tests;

/// <summary>
/// A Lima2 system on the embedded Tango DB: a beamline of its own (unique domain and instances) registered with
/// <c>Lima2Server --register</c>, a control and n receivers started as Lima2Server processes; all removed when disposed.
/// </summary>
public sealed class Lima2System : IDisposable
{
    private readonly Dictionary<string, ChildProcess> _processes = [];
    private readonly Dictionary<string, string?> _serverEnvironment;
    private readonly string _executable;

    /// <param name="serverEnvironment">extra environment for the server processes (e.g. .NET runtime settings)</param>
    /// <param name="dectris">a DECTRIS detector instead of the simulator: its SIMPLON URL and one stream endpoint per receiver</param>
    /// <param name="beamlineSettings">more top-level lines for the beamline YAML (e.g. Starter's <c>start_ds_path</c>)</param>
    /// <param name="executable">the Lima2Server apphost that registers and serves (default: the one built beside the tests)</param>
    /// <param name="receiverSettings">more keys for every receiver's entry in the beamline YAML (e.g. <c>live_port: 0</c>, <c>publish: {...}</c>)</param>
    /// <param name="jungfrau">a JUNGFRAU instead of the simulator: the control's <c>detector</c> property and each receiver's jungfrau block (a YAML flow mapping)</param>
    public Lima2System(int receivers = 2, string peakFinder = "reference", bool start = true,
        IReadOnlyDictionary<string, string?>? serverEnvironment = null, (string SimplonUrl, IReadOnlyList<string> Endpoints)? dectris = null,
        string beamlineSettings = "", string? executable = null, string receiverSettings = "",
        (string Detector, IReadOnlyList<string> Blocks)? jungfrau = null)
    {
        _executable = executable ?? Executable;
        _serverEnvironment = new Dictionary<string, string?>(EmbeddedTangoDb.Environment);
        foreach (var (key, value) in serverEnvironment ?? new Dictionary<string, string?>())
            _serverEnvironment[key] = value;
        var id = $"t{Environment.ProcessId}x{Guid.NewGuid().ToString("N")[..6]}";
        Root = Directory.CreateTempSubdirectory("lima2-e2e-").FullName;
        _serverEnvironment.TryAdd("LIMA2_LOG_DIR", LogFolder);
        Config = Path.Combine(Root, "beamline.yaml");
        var more = receiverSettings.Length > 0 ? $", {receiverSettings}" : "";
        var recv = string.Concat(Enumerable.Range(0, receivers).Select(r => (dectris, jungfrau) switch
        {
            ({ } d, _) => $"  - {{channel: dectris_v1, endpoint: \"{d.Endpoints[r]}\", memory_cap: 256MiB, peak_finder: {peakFinder}{more}}}\n",
            (_, { } j) => $"  - {{channel: jungfrau_udp, jungfrau: {j.Blocks[r]}, memory_cap: 512MiB, peak_finder: {peakFinder}{more}}}\n",
            _ => $"  - {{channel: simulator, memory_cap: 256MiB, peak_finder: {peakFinder}{more}}}\n",
        }));
        var detector = (dectris, jungfrau) switch
        {
            ({ } e, _) => $"detector: dectris\nsimplon_url: \"{e.SimplonUrl}\"",
            (_, { } j) => $"detector: \"{j.Detector}\"",
            _ => "detector: simulator",
        };
        File.WriteAllText(Config, $"""
            server: Lima2Server
            instance: {id}
            domain: {id}
            name: sim
            saving_root: {Root}
            {detector}
            {beamlineSettings}
            receivers:
            {recv}
            """);
        Instance = id;
        Control = $"{id}/limacontrol/sim";
        Receivers = Enumerable.Range(0, receivers).Select(r => $"{id}/limareceiver/sim@{r}").ToArray();
        Register();
        Instances = [$"{id}_control", .. Enumerable.Range(0, receivers).Select(r => $"{id}_recv{r}")];
        if (start)
            foreach (var instance in Instances)
                StartServer(instance);
    }

    public static string Executable => Path.Combine(AppContext.BaseDirectory, "Lima2Server");

    /// <summary>Runs <c>Lima2Server --register</c> on this system's beamline YAML (again, as a beamline would).</summary>
    public string Register()
    {
        using var register = ChildProcess.Start(_executable, ["--register", Config], EmbeddedTangoDb.Environment);
        if (register.WaitForExit(TimeSpan.FromSeconds(30)) != 0)
            throw new InvalidOperationException($"--register failed:\n{register.Output}");
        return register.Output;
    }

    public string Root { get; }

    public string Config { get; }

    /// <summary>Where the servers write their log files (LIMA2_LOG_DIR).</summary>
    public string LogFolder => Path.Combine(Root, "log");

    public string Instance { get; }

    public string Control { get; }

    public IReadOnlyList<string> Receivers { get; }

    public string ReceiverInstance(int rank) => $"{Instance}_recv{rank}";

    /// <summary>The process id of a running server instance.</summary>
    public int ProcessId(string instance) => _processes[instance].Id;

    /// <summary>The server instances, control first.</summary>
    public IReadOnlyList<string> Instances { get; }

    public void StartServer(string instance)
    {
        var process = ChildProcess.Start(_executable, [instance], _serverEnvironment, Root);
        _processes[instance] = process;
        process.WaitForOutput("Ready to accept request", TimeSpan.FromSeconds(60));
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public void Kill(string instance)
    {
        var process = _processes[instance];
        process.Signal(9);
        process.WaitForExit(TimeSpan.FromSeconds(10));
        process.Dispose();
        _processes.Remove(instance);
    }

    /// <summary>Writes acq_params and proc_params to <c>{name}_acq.json</c> and <c>{name}_proc.json</c> for the scripts.</summary>
    public (string Acq, string Proc) WriteParams(string name, string acqJson, string procJson)
    {
        var acq = Path.Combine(Root, $"{name}_acq.json");
        var proc = Path.Combine(Root, $"{name}_proc.json");
        File.WriteAllText(acq, acqJson);
        File.WriteAllText(proc, procJson);
        return (acq, proc);
    }

    /// <summary>Runs scripts/lima2-run.py (the conductor's sequence) and returns its JSON summary.</summary>
    public System.Text.Json.JsonElement Run(string acqJson, string procJson, string name = "run")
    {
        var (acq, proc) = WriteParams(name, acqJson, procJson);
        var summary = Path.Combine(Root, $"{name}_summary.json");
        Python.Run(Path.Combine(RepoPaths.Root, "scripts", "lima2-run.py"),
            ["--control", Control, "--receivers", string.Join(",", Receivers), "--acq", acq, "--proc", proc, "--json", summary,
             "--quiet", "--timeout", "90"], TimeSpan.FromSeconds(120), EmbeddedTangoDb.Environment);
        return System.Text.Json.JsonDocument.Parse(File.ReadAllText(summary)).RootElement.Clone();
    }

    public string Python3(string script, params string[] arguments) =>
        Python.Run(Path.Combine(AppContext.BaseDirectory, "py", script), arguments, TimeSpan.FromSeconds(60), EmbeddedTangoDb.Environment);

    public void Dispose()
    {
        foreach (var p in _processes.Values)
        {
            p.Signal(15);
            try
            {
                p.WaitForExit(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                // Dispose kills it
            }
            p.Dispose();
        }
        try
        {
            using var db = new Database();
            foreach (var server in db.GetServerList($"Lima2Server/{Instance}_*"))
                db.DeleteServer(server);
        }
        catch (Tango.DevFailedException)
        {
            // the database is shared and outlives us; a leftover registration is harmless
        }
        Directory.Delete(Root, recursive: true);
    }
}
