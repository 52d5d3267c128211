using System.Text.Json;
using Lima2.Core.Parameters;

namespace Lima2.Server.Control;

/// <summary>
/// What the control device says about its detector: <c>det_info</c>, <c>det_status</c> and <c>det_capabilities</c>
/// as the JSON Lima2's clients read (the plugin name must be one the conductor knows; ranges in ns).
/// </summary>
/// <param name="Plugin">"Simulator" or "Dectris"</param>
public sealed record DetectorDescription(string Plugin, string Model, string SerialNumber, double PixelSizeX, double PixelSizeY)
{
    private static readonly string[] TriggerModes = ["internal", "software", "external", "gate"];

    public static DetectorDescription For(string channelKind) => channelKind switch
    {
        "simulator" => new("Simulator", "Generator", "0", 75e-6, 75e-6),
        _ => new("Dectris", "Eiger2 (stream)", "unknown", 75e-6, 75e-6),
    };

    /// <summary>The frame size: the simulator's generator from acq_params; a DECTRIS detector says it in its stream.</summary>
    public string Info(AcqParams<SimulatorDet> acq) => JsonSerializer.Serialize(new
    {
        plugin = Plugin,
        model = Model,
        sn = SerialNumber,
        pixel_size = new { x = PixelSizeX, y = PixelSizeY },
        expo_time_range = new[] { 1L, 10_000_000L },
        latency_time_range = new[] { 0L, 1_000_000L },
        trigger_modes = TriggerModes,
        dimensions = new { x = acq.Det.Generator.Width, y = acq.Det.Generator.Height },
        pixel_type = acq.Det.Generator.PixelType.ToString().ToLowerInvariant(),
    });

    public string Status(string state) => JsonSerializer.Serialize(new
    {
        humidity = 0.0,
        temperature = 25.0,
        high_voltage_state = "READY",
        state,
        time = DateTimeOffset.UtcNow.ToString("O"),
    });

    public string Capabilities() => JsonSerializer.Serialize(new
    {
        trigger_modes = TriggerModes,
        expo_time_range = new[] { 1_000L, 10_000_000_000L },
        latency_time_range = new[] { 0L, 1_000_000_000L },
    });
}
