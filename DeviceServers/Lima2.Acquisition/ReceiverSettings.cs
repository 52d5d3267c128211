using System.Text.Json;
using System.Text.Json.Nodes;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using YamlDotNet.Serialization;

namespace Lima2.Acquisition;

/// <summary>
/// Everything one receiver's run needs: the receiver's fixed set-up, the run's acq_params (of the detector plugin
/// its channel kind reads: the simulator's det block, or the Dectris plugin's), its proc_params, and what it keeps
/// for readers. <c>lima2 receive</c> reads it from one JSON or YAML file with three sections:
/// <code>
/// receiver: { rank: 0, nb_receivers: 1, channel: { kind: dectris_v1, endpoints: [tcp://127.0.0.1:9999] },
///             memory_cap: 1GiB, overload_policy: back_pressure, saving_root: /data, peak_finder: auto }
/// acq_params: { acq: { nb_frames: 100, ... }, det: { ... } }
/// proc_params: { class_name: LimaProcessingLegacy, saving: { enabled: true, base_path: run1, ... }, ... }
/// </code>
/// </summary>
public sealed record ReceiverSettings(ReceiverConfig Receiver, IAcqParams AcqParams, ProcParams ProcParams)
{
    /// <summary>
    /// Keep the last buffers.nb_frames_buffer processed frames (<see cref="ReceiverRun.Frames"/>) and, for the
    /// pipelines that serve their input frames (Legacy, XPCS), the last buffers.nb_input_frames_buffer input frames
    /// (<see cref="ReceiverRun.InputFrames"/>).
    /// </summary>
    public bool KeepFrames { get; init; }

    /// <summary>
    /// Keep rows for the pops beyond ROI statistics and profiles (<see cref="Processing.FrameIdxNode"/>) and, for XPCS,
    /// the photon-sparse frames and their fill factors (<see cref="Processing.XpcsSparseNode"/>).
    /// </summary>
    public bool ReducedData { get; init; }

    /// <summary>
    /// The frame buffers the receiver keeps from one run to the next (its pools take them back instead of making fresh
    /// ones), or null: the run's pools are its own.
    /// </summary>
    public FrameBufferReserve? KeptBuffers { get; init; }

    /// <summary>
    /// The buffers of a JUNGFRAU run's queue of raw words to the disk kept from one run to the next, within each run's
    /// queue (counted in memory_cap with the channel's buffers); a run that saves no raw words frees them. Null: the
    /// queue's buffers are fresh every run.
    /// </summary>
    public FrameBufferReserve? KeptRawBuffers { get; init; }

    public static ReceiverSettings Load(string path)
    {
        var text = File.ReadAllText(path);
        var json = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? text : YamlToJson(text, path);
        return Parse(json, Path.GetFileName(path));
    }

    public static ReceiverSettings Parse(string json, string source = "settings")
    {
        var root = JsonNode.Parse(json) as JsonObject
            ?? throw new FormatException($"{source}: the settings are an object with receiver, acq_params, proc_params");
        foreach (var key in root.Select(p => p.Key))
            if (key is not ("receiver" or "acq_params" or "proc_params"))
                throw new FormatException($"{source}: unknown section '{key}' (receiver, acq_params, proc_params)");
        // ReceiverConfig reads YAML, of which JSON is a subset.
        var receiver = ReceiverConfig.Parse(root["receiver"]?.ToJsonString() ?? "{}", $"{source}: receiver");
        var acq = AcqParamsDocument.Parse(ChannelFactory.PluginOf(receiver.Channel.Kind), root["acq_params"]?.ToJsonString() ?? "{}");
        var proc = ProcParamsDocument.Parse(root["proc_params"]?.ToJsonString()
            ?? throw new FormatException($"{source}: proc_params is missing"));
        return new ReceiverSettings(receiver, acq, proc);
    }

    private static string YamlToJson(string yaml, string path)
    {
        try
        {
            var value = new DeserializerBuilder().WithAttemptingUnquotedStringTypeDeserialization().Build().Deserialize<object?>(yaml);
            return JsonSerializer.Serialize(Normalize(value));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            // the deserializer may wrap the parser's error ("did not find expected ','") in a vaguer one of its own
            var cause = e.InnerException as YamlDotNet.Core.YamlException ?? e;
            throw new FormatException($"{Path.GetFileName(path)} line {cause.Start.Line}, column {cause.Start.Column}: {cause.Message}", e);
        }
    }

    /// <summary>YAML mappings come as dictionaries keyed by object; JSON wants string keys.</summary>
    private static object? Normalize(object? value) => value switch
    {
        IDictionary<object, object?> map => map.ToDictionary(p => p.Key.ToString()!, p => Normalize(p.Value)),
        IList<object?> list => list.Select(Normalize).ToList(),
        _ => value,
    };
}
