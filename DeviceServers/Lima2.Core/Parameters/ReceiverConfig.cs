using System.Globalization;
using System.Runtime.Serialization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Lima2.Core.Parameters;

public enum ChannelKind
{
    /// <summary>The built-in simulator (generator or loader, from acq_params det).</summary>
    Simulator,

    /// <summary>DECTRIS stream V1 (multipart JSON + blobs) over ZMQ PULL.</summary>
    DectrisV1,

    /// <summary>DECTRIS stream V2 (CBOR) over ZMQ PULL.</summary>
    DectrisV2,

    /// <summary>JUNGFRAU modules' UDP packets (sls_detector_header), one port per module (<see cref="ChannelConfig.Jungfrau"/>).</summary>
    JungfrauUdp,

    /// <summary>MAX IV's unified stream (multipart JSON header + blobs: header, image, series_end) over ZMQ PULL.</summary>
    [EnumMember(Value = "maxiv")] MaxIv,
}

/// <summary>What runs an SMX receiver's peak finder.</summary>
public enum PeakFinderBackend
{
    /// <summary>The OpenCL device of proc_params <c>gpu</c>, else the C# reference.</summary>
    Auto,
    [EnumMember(Value = "opencl")] OpenCl,
    Reference,
}

/// <summary>Where a receiver gets its frames.</summary>
public sealed record ChannelConfig
{
    public ChannelKind Kind { get; set; } = ChannelKind.Simulator;

    /// <summary>ZMQ endpoints to connect to, e.g. <c>tcp://127.0.0.1:9999</c> (not used by the simulator).</summary>
    public List<string> Endpoints { get; set; } = [];

    /// <summary>
    /// No message for this long while frames are still expected fails the run (FAULT), the frames that never came
    /// counted lost; in ms (0 = wait for ever).
    /// </summary>
    public int TimeoutMs { get; set; }

    /// <summary>
    /// DECTRIS multi-threshold detectors (Eiger2 dual threshold): the channel this receiver takes, one of the
    /// header's <c>channels</c> (<c>threshold_1</c>, <c>threshold_2</c>, <c>difference</c>); unset = the first.
    /// The images of the other thresholds are counted as not taken.
    /// </summary>
    public string? Threshold { get; set; }

    /// <summary>The ports, modules, geometry and corrections of a <c>jungfrau_udp</c> channel.</summary>
    public JungfrauChannelConfig? Jungfrau { get; set; }
}

/// <summary>
/// A receiver's fixed set-up: the <c>receiver</c> section of a <c>lima2 receive</c> settings file (YAML), or the
/// receiver device's properties, e.g.
/// <code>
/// rank: 0
/// nb_receivers: 2
/// channel: { kind: dectris_v1, endpoints: [ "tcp://127.0.0.1:9999" ] }
/// memory_cap: 4GiB
/// overload_policy: back_pressure
/// saving_root: /data/visitor
/// reference_root: /data/visitor
/// peak_finder: reference
/// </code>
/// </summary>
public sealed partial record ReceiverConfig
{
    /// <summary>This receiver's index among <see cref="NbReceivers"/> (frames i with i % n == rank).</summary>
    public int Rank { get; set; }

    public int NbReceivers { get; set; } = 1;

    public ChannelConfig Channel { get; set; } = new();

    /// <summary>Frame memory the receiver may hold: bytes, or with a unit (<c>512MiB</c>, <c>4GiB</c>, <c>2GB</c>).</summary>
    public string MemoryCap { get; set; } = "1GiB";

    public OverloadPolicy OverloadPolicy { get; set; } = OverloadPolicy.BackPressure;

    /// <summary>Every saving base_path must lie under this directory.</summary>
    public string SavingRoot { get; set; } = "/tmp";

    /// <summary>Every file a receiver reads (reference images: mask, flat, background, calibration arrays; the simulator loader's frames) must lie under this directory.</summary>
    public string ReferenceRoot { get; set; } = "/tmp";

    /// <summary>What runs the peak finder of an SMX pipeline.</summary>
    public PeakFinderBackend PeakFinder { get; set; } = PeakFinderBackend.Auto;

    /// <summary>
    /// Copy frames to the peak finder's OpenCL device from its driver-pinned memory even where the device could read
    /// host memory in place (a CPU device): the path a GPU takes, to test and measure it on PoCL. A GPU always copies.
    /// </summary>
    public bool PeakFinderCopiesFrames { get; set; }

    /// <summary>Re-publish the processed frames on a ZMQ endpoint; null: not published.</summary>
    public PublishConfig? Publish { get; set; }

    [YamlIgnore]
    public long MemoryCapBytes => ParseBytes(MemoryCap) ?? throw new FormatException($"memory_cap '{MemoryCap}' is not a size");

    internal static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithEnumNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    internal static readonly ISerializer Writer = new SerializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithEnumNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    public static ReceiverConfig Load(string path) => Parse(File.ReadAllText(path), Path.GetFileName(path));

    /// <summary>Parses and checks a configuration; errors name the field, or the line and column for YAML errors.</summary>
    public static ReceiverConfig Parse(string yaml, string source = "config")
    {
        ReceiverConfig config;
        try
        {
            config = Reader.Deserialize<ReceiverConfig?>(yaml) ?? new ReceiverConfig();
        }
        catch (YamlException e)
        {
            var reason = (e.InnerException ?? e).Message;
            throw new ParamsException([new ParamsError($"{source}:{e.Start.Line}:{e.Start.Column}", reason)]);
        }
        ParamsValidator.ThrowIfAny(config.Validate());
        return config;
    }

    public string ToYaml() => Writer.Serialize(this);

    public IReadOnlyList<ParamsError> Validate()
    {
        var errors = new List<ParamsError>();
        if (NbReceivers < 1)
            errors.Add(new("nb_receivers", "must be >= 1"));
        if (Rank < 0 || Rank >= NbReceivers)
            errors.Add(new("rank", $"must be in [0, {NbReceivers - 1}]"));
        if (ParseBytes(MemoryCap) is not { } bytes || bytes <= 0)
            errors.Add(new("memory_cap", $"'{MemoryCap}' is not a positive size (e.g. 4GiB, 512MiB, 1000000)"));
        if (Channel.Kind is ChannelKind.DectrisV1 or ChannelKind.DectrisV2 or ChannelKind.MaxIv && Channel.Endpoints.Count == 0)
            errors.Add(new("channel.endpoints", $"at least one endpoint is needed for {Channel.Kind}"));
        if (Channel.Threshold is { } threshold && (Channel.Kind is not (ChannelKind.DectrisV1 or ChannelKind.DectrisV2 or ChannelKind.MaxIv) || string.IsNullOrWhiteSpace(threshold)))
            errors.Add(new("channel.threshold", $"'{threshold}': a DECTRIS or MAX IV channel's name (threshold_1, threshold_2, difference)"));
        if (Channel.Kind == ChannelKind.JungfrauUdp)
            errors.AddRange(Channel.Jungfrau?.Validate("channel.jungfrau", Rank, Math.Max(1, NbReceivers)) ?? [new("channel.jungfrau", "a jungfrau_udp channel needs its ports")]);
        else if (Channel.Jungfrau is not null)
            errors.Add(new("channel.jungfrau", $"only for a jungfrau_udp channel, this one is {Channel.Kind}"));
        if (Channel.TimeoutMs < 0)
            errors.Add(new("channel.timeout_ms", "must be >= 0"));
        if (Publish is not null)
            errors.AddRange(Publish.Validate("publish"));
        if (!Path.IsPathFullyQualified(SavingRoot))
            errors.Add(new("saving_root", $"'{SavingRoot}' must be an absolute path"));
        if (!Path.IsPathFullyQualified(ReferenceRoot))
            errors.Add(new("reference_root", $"'{ReferenceRoot}' must be an absolute path"));
        return errors;
    }

    /// <summary>Bytes in <c>123</c>, <c>64KiB</c>, <c>512MiB</c>, <c>4GiB</c>, <c>2GB</c>, <c>1.5G</c>; null if not a size.</summary>
    public static long? ParseBytes(string text)
    {
        var match = SizePattern().Match(text.Trim());
        if (!match.Success)
            return null;
        var number = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var unit = match.Groups[2].Value.ToUpperInvariant();
        double scale = unit switch
        {
            "" or "B" => 1,
            "K" or "KIB" => 1L << 10,
            "M" or "MIB" => 1L << 20,
            "G" or "GIB" => 1L << 30,
            "T" or "TIB" => 1L << 40,
            "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            "TB" => 1e12,
            _ => double.NaN,
        };
        var bytes = number * scale;
        return double.IsFinite(bytes) && bytes < long.MaxValue ? (long)bytes : null;
    }

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$")]
    private static partial Regex SizePattern();
}
