using System.Runtime.Serialization;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Lima2.Core.Parameters;

/// <summary>How re-published frames are handed out.</summary>
public enum PublishSocket
{
    /// <summary>ZMQ PUSH: each frame to one connected worker, load-balanced (workers PULL).</summary>
    Push,

    /// <summary>ZMQ PUB: every frame to every connected viewer (viewers SUB); libzmq drops silently for a viewer that lags.</summary>
    Pub,
}

/// <summary>The wire format of re-published frames.</summary>
public enum PublishFormat
{
    /// <summary>MAX IV's unified stream: JSON header + blob, <c>header</c>, <c>image</c>, <c>series_end</c>.</summary>
    [EnumMember(Value = "maxiv")] MaxIv,

    /// <summary>DECTRIS stream V2: one CBOR message per <c>start</c>, <c>image</c>, <c>end</c>.</summary>
    DectrisV2,
}

/// <summary>The payload of re-published frames.</summary>
public enum PublishCompression
{
    None,

    /// <summary>HDF5 bitshuffle/LZ4 chunk (filter 32008); a frame that came so from the detector is passed on as it came.</summary>
    Bslz4,

    /// <summary>HDF5 LZ4-filter chunk (filter 32004, 12-byte header).</summary>
    Lz4,
}

/// <summary>
/// A receiver re-publishing its processed frames on a ZMQ endpoint it binds (P06's broker → workers, MAX IV's
/// forwarder): the <c>publish</c> section of the receiver settings, or the receiver device's <c>publish</c> property,
/// e.g. <c>{ endpoint: "tcp://*:5555", socket: push, format: maxiv, compression: bslz4, queue_frames: 16 }</c>.
/// Publishing never slows acquisition: a frame for which the send queue has no room is dropped and counted.
/// </summary>
public sealed record PublishConfig
{
    /// <summary>The endpoint to bind, e.g. <c>tcp://*:5555</c>; workers or viewers connect to it.</summary>
    public string Endpoint { get; set; } = "";

    public PublishSocket Socket { get; set; } = PublishSocket.Push;

    public PublishFormat Format { get; set; } = PublishFormat.MaxIv;

    public PublishCompression Compression { get; set; } = PublishCompression.Bslz4;

    /// <summary>Frames waiting to be sent at most (the send queue, and the memory it holds: as many encoded frames).</summary>
    public int QueueFrames { get; set; } = 16;

    /// <summary>
    /// At the end of the run, how long the frames still queued and the end-of-series message may wait for a consumer
    /// to take them, in ms; frames not sent by then are counted dropped.
    /// </summary>
    public int EndTimeoutMs { get; set; } = 2000;

    private static readonly IDeserializer Reader = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithEnumNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    /// <summary>A YAML or JSON map (the device property); empty text is null: no publishing.</summary>
    /// <exception cref="ParamsException">the text is not a valid publish section.</exception>
    public static PublishConfig? Parse(string text, string source = "publish")
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        PublishConfig config;
        try
        {
            config = Reader.Deserialize<PublishConfig?>(text) ?? new PublishConfig();
        }
        catch (YamlException e)
        {
            throw new ParamsException([new ParamsError(source, (e.InnerException ?? e).Message)]);
        }
        ParamsValidator.ThrowIfAny(config.Validate(source));
        return config;
    }

    public IReadOnlyList<ParamsError> Validate(string prefix)
    {
        var errors = new List<ParamsError>();
        if (!Endpoint.Contains("://", StringComparison.Ordinal))
            errors.Add(new($"{prefix}.endpoint", $"'{Endpoint}' is not a ZMQ endpoint (e.g. tcp://*:5555)"));
        if (QueueFrames < 1)
            errors.Add(new($"{prefix}.queue_frames", "must be >= 1"));
        if (EndTimeoutMs < 0)
            errors.Add(new($"{prefix}.end_timeout_ms", "must be >= 0"));
        return errors;
    }
}
