using System.Runtime.Serialization;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Lima2.Core.Parameters;

/// <summary>What a <c>jungfrau_udp</c> receiver hands to the graph in a run (the run's params choose it).</summary>
public enum JungfrauOutputKind
{
    /// <summary>The raw words (gray16: gain bits and ADC).</summary>
    Raw,

    /// <summary>Corrected energies in keV (gray32f).</summary>
    Energy,

    /// <summary>Photon counts (gray32s).</summary>
    Photons,
}

/// <summary>Which frames, or which parts of them, a JUNGFRAU receiver takes.</summary>
public enum JungfrauDispatch
{
    /// <summary>Whole frames, every one to this receiver (the only one): its ports carry every module of <see cref="JungfrauChannelConfig.Geometry"/>.</summary>
    FullFrame,

    /// <summary>
    /// Whole frames dealt round robin, as the simulator's and DECTRIS's are: the detector sends frame k to the
    /// (k mod n)-th entry of its UDP destination list, receiver k mod n of n, whose ports carry every module of
    /// <see cref="JungfrauChannelConfig.Geometry"/>; receiver 0's master file interleaves every receiver's frames.
    /// </summary>
    RoundRobin,

    /// <summary>
    /// Partial frames: every receiver takes every frame, receiver r of n the r-th of n runs of the detector's modules,
    /// as equal as can be (modules ⌊r·M/n⌋ to ⌊(r+1)·M/n⌋ − 1; <see cref="JungfrauChannelConfig.Geometry"/> is the whole
    /// detector: 8 modules, 2 receivers: 0–3 and 4–7), on its ports (<see cref="JungfrauChannelConfig.PortsPerModule"/>
    /// each); it saves its modules one under the other, and receiver 0's master file assembles every receiver's
    /// modules into the detector's frames.
    /// </summary>
    Modules,
}

/// <summary>Where a <c>jungfrau_udp</c> receiver corrects its frames (energy and photons outputs).</summary>
public enum JungfrauCorrectionEngine
{
    Cpu,

    /// <summary>The OpenCL device <c>opencl_platform</c>:<c>opencl_device</c>, else the first CPU device (PoCL).</summary>
    [EnumMember(Value = "opencl")] OpenCl,
}

/// <summary>How a JUNGFRAU receiver's modules are laid out in the image: a grid, row by row from the top.</summary>
public sealed record JungfrauGeometryConfig
{
    /// <summary>Module rows; 0 = one column of all the modules.</summary>
    public int Rows { get; set; }

    public int Columns { get; set; } = 1;

    /// <summary>Pixels between modules side by side.</summary>
    public int GapX { get; set; }

    /// <summary>Pixels between module rows.</summary>
    public int GapY { get; set; }

    /// <summary>1030×514 modules with the chip-border double pixels (true) or the raw 1024×512 layout.</summary>
    public bool DoublePixelGaps { get; set; }
}

/// <summary>
/// The <c>channel.jungfrau</c> block of a <c>jungfrau_udp</c> receiver: what the hardware is (ports, modules,
/// geometry, dispatch, the correction engine) and defaults, e.g.
/// <code>
/// jungfrau: { bind: 127.0.0.1, ports: [50001, 50002], geometry: { rows: 2, columns: 1 }, correction: opencl }
/// </code>
/// What a run does (a pedestal run, corrected frames, raw words) comes with the run's params: the JUNGFRAU det's
/// <c>pedestal_run</c> and <c>jfrau</c>, or SMX's proc_params <c>jfrau</c>.
/// </summary>
public sealed record JungfrauChannelConfig
{
    /// <summary>The address the UDP ports are bound on.</summary>
    public string Bind { get; set; } = "127.0.0.1";

    /// <summary>
    /// <see cref="PortsPerModule"/> UDP ports per module: module i of <see cref="ModuleIds"/> on port i, or with two
    /// per module its halves (interfaces 0 and 1) on ports 2i and 2i + 1.
    /// </summary>
    public List<int> Ports { get; set; } = [];

    /// <summary>UDP interfaces per module, 1 or 2 (a JUNGFRAU with two 10 GbE links sends half the module over each).</summary>
    public int PortsPerModule { get; set; } = 1;

    /// <summary>The <c>modId</c> each module sends; empty = 0, 1, 2, ...</summary>
    public List<int> ModuleIds { get; set; } = [];

    public JungfrauGeometryConfig Geometry { get; set; } = new();

    /// <summary>
    /// full_frame (one receiver takes every frame), round_robin (whole frames dealt between the receivers) or modules
    /// (partial-frame dispatch between the receivers).
    /// </summary>
    public JungfrauDispatch Dispatch { get; set; }

    /// <summary>Socket receive buffer per port: bytes or with a unit (the kernel caps it at net.core.rmem_max).</summary>
    public string ReceiveBuffer { get; set; } = "64MiB";

    /// <summary>An incomplete frame is handed on (padded) this long after its first packet, in ms.</summary>
    public int FrameTimeoutMs { get; set; } = 200;

    /// <summary>Frames in flight per port.</summary>
    public int Window { get; set; } = 16;

    /// <summary>The frame number of the acquisition's first frame (sls detectors count from 1).</summary>
    public ulong FirstFrameNumber { get; set; } = 1;

    /// <summary>Where energies and photons are computed: cpu (SIMD) or opencl, same results bit for bit.</summary>
    public JungfrauCorrectionEngine Correction { get; set; } = JungfrauCorrectionEngine.Cpu;

    /// <summary>The OpenCL platform index of <c>correction: opencl</c>.</summary>
    public int OpenclPlatform { get; set; }

    /// <summary>The OpenCL device index of <c>correction: opencl</c>.</summary>
    public int OpenclDevice { get; set; }

    /// <summary>keV below which a pixel counts 0 photons in a photons run; negative = half a photon.</summary>
    public float Threshold { get; set; } = -1;

    /// <summary>Pedestal tracking in a corrected run: frames 0, N, 2N, ... are dark (a pulsed shutter closed on them); 0 = none.</summary>
    public int TrackDarkEvery { get; set; }

    /// <summary>Pedestal tracking in a corrected run: in the frames not flagged dark, G0 pixels with |E| at most this many keV are dark.</summary>
    public float? TrackG0Band { get; set; }

    /// <summary>Pedestal tracking: dark samples a pixel's pedestal follows (each moves it 1/track_window of the way).</summary>
    public int TrackWindow { get; set; } = 1000;

    /// <summary>Pedestal tracking: the tracked maps are saved to this HDF5 file (under saving_root, as pedestal_run's) at the end of the run.</summary>
    public string? TrackedPedestalFile { get; set; }

    [YamlIgnore]
    public bool TracksPedestal => TrackDarkEvery > 0 || TrackG0Band is not null;

    /// <summary>
    /// A block as the receiver device's <c>jungfrau</c> property holds it (YAML or JSON, the keys of a settings file's
    /// <c>channel.jungfrau</c>); its values are checked with the rest of the receiver's configuration at Prepare.
    /// </summary>
    /// <exception cref="ParamsException">not a block of known keys; the error names the line and column.</exception>
    public static JungfrauChannelConfig Parse(string yaml, string source)
    {
        try
        {
            return ReceiverConfig.Reader.Deserialize<JungfrauChannelConfig?>(yaml) ?? new JungfrauChannelConfig();
        }
        catch (YamlException e)
        {
            throw new ParamsException([new ParamsError($"{source}:{e.Start.Line}:{e.Start.Column}", (e.InnerException ?? e).Message)]);
        }
    }

    /// <summary>
    /// The block as one line of JSON, for the receiver device's <c>jungfrau</c> property (what <see cref="Parse"/>
    /// reads): the Tango DB trims each line of a property, which would lose a YAML block's indentation.
    /// </summary>
    public string ToPropertyText() => JsonWriter.Serialize(this).Trim();

    private static readonly ISerializer JsonWriter = new SerializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithEnumNamingConvention(UnderscoredNamingConvention.Instance)
        .JsonCompatible()
        .Build();

    [YamlIgnore]
    public IReadOnlyList<int> ModuleIdList => ModuleIds.Count > 0 ? ModuleIds : [.. Enumerable.Range(0, Ports.Count / Math.Max(PortsPerModule, 1))];

    /// <summary>The detector's modules (positions in <see cref="Geometry"/>, module ids) receiver <paramref name="rank"/> of <paramref name="receivers"/> takes under <see cref="JungfrauDispatch.Modules"/>.</summary>
    public IReadOnlyList<int> ModulesOf(int rank, int receivers)
    {
        var modules = Geometry.Rows * Geometry.Columns;
        return [.. Enumerable.Range(rank * modules / receivers, (rank + 1) * modules / receivers - rank * modules / receivers)];
    }

    /// <param name="rank">the receiver's rank among <paramref name="receivers"/> (which modules it takes under modules dispatch)</param>
    public IEnumerable<ParamsError> Validate(string path, int rank = 0, int receivers = 1)
    {
        if (Ports.Count == 0)
            yield return new($"{path}.ports", "at least one UDP port, one per module");
        if (Ports.Any(p => p is < 0 or > 65535))
            yield return new($"{path}.ports", "ports are in [0, 65535] (0 = any free one)");
        if (PortsPerModule is not (1 or 2))
            yield return new($"{path}.ports_per_module", "1 or 2");
        else if (Ports.Count % PortsPerModule != 0)
            yield return new($"{path}.ports", $"{PortsPerModule} ports per module, {Ports.Count} given");
        else if (ModuleIds.Count > 0 && ModuleIds.Count != Ports.Count / PortsPerModule)
            yield return new($"{path}.module_ids", $"one module id per module ({Ports.Count / PortsPerModule}), {ModuleIds.Count} given");
        if (ModuleIds.Any(id => id is < 0 or > 65535) || ModuleIds.Distinct().Count() != ModuleIds.Count)
            yield return new($"{path}.module_ids", "distinct values in [0, 65535]");
        if (!System.Net.IPAddress.TryParse(Bind, out _))
            yield return new($"{path}.bind", $"'{Bind}' is not an IP address");
        if (ReceiverConfig.ParseBytes(ReceiveBuffer) is not { } buffer || buffer is <= 0 or > int.MaxValue)
            yield return new($"{path}.receive_buffer", $"'{ReceiveBuffer}' is not a size up to 2GiB");
        if (FrameTimeoutMs < 1)
            yield return new($"{path}.frame_timeout_ms", "must be >= 1");
        if (Window is < 1 or > 1024)
            yield return new($"{path}.window", "must be in [1, 1024]");
        if (Geometry.Rows < 0 || Geometry.Columns < 1 || Geometry.GapX < 0 || Geometry.GapY < 0)
            yield return new($"{path}.geometry", "rows >= 0, columns >= 1, gaps >= 0");
        else if (Dispatch == JungfrauDispatch.Modules)
        {
            if (Geometry.Rows == 0)
                yield return new($"{path}.geometry", "modules dispatch needs the whole detector's rows and columns");
            else if (ModulesOf(rank, receivers) is var share && PortsPerModule is (1 or 2) && share.Count * PortsPerModule != Ports.Count)
                yield return new($"{path}.ports", $"receiver {rank} of {receivers} takes modules {string.Join(", ", share)} of " +
                                                  $"{Geometry.Rows} x {Geometry.Columns}: {PortsPerModule} port(s) each, {Ports.Count} given");
            if (ModuleIds.Count > 0)
                yield return new($"{path}.module_ids", "modules dispatch gives each receiver its run of modules by rank: leave module_ids out");
        }
        else
        {
            if (Geometry.Rows > 0 && PortsPerModule is (1 or 2) && Geometry.Rows * Geometry.Columns != Ports.Count / PortsPerModule)
                yield return new($"{path}.geometry", $"{Geometry.Rows} x {Geometry.Columns} modules, the ports carry {Ports.Count / PortsPerModule}");
            if (Dispatch == JungfrauDispatch.FullFrame && receivers > 1)
                yield return new($"{path}.dispatch", $"full_frame gives every frame to one receiver: {receivers} receivers take whole frames " +
                                                     "with round_robin (frame k to receiver k mod n) or parts of every frame with modules");
        }
        if (TrackDarkEvery < 0 || TrackG0Band < 0 || TrackWindow < 1)
            yield return new($"{path}.track_dark_every", "pedestal tracking takes track_dark_every >= 0, track_g0_band >= 0 keV and track_window >= 1");
        else if (TrackedPedestalFile is not null && !TracksPedestal)
            yield return new($"{path}.track_dark_every", "pedestal tracking (tracked_pedestal_file) needs track_dark_every or track_g0_band");
    }
}
