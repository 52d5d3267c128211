using System.Text.Json;
using Lima2.Core.Parameters;
using Lima2.Protocol;

namespace Lima2.Server.Control;

/// <summary>
/// The detector behind the control device (its camera plugin): what it says about itself (<c>det_info</c>,
/// <c>det_status</c>, <c>det_capabilities</c>, <c>version</c>) and the commands of a run. The control calls
/// <see cref="Prepare"/> after its receivers answered, <see cref="Start"/> after they started, <see cref="Finish"/>
/// once they are all done, and <see cref="Abort"/> on Stop and Reset.
/// </summary>
public interface IDetector : IDisposable
{
    DetectorPlugin Plugin { get; }

    /// <summary><c>&lt;plugin&gt;-&lt;maj&gt;.&lt;min&gt;.&lt;patch&gt;</c>, as BLISS checks it.</summary>
    string Version { get; }

    string Info(IAcqParams acq);

    string Status(AcqState state);

    string Capabilities();

    /// <summary>Configures the detector for <paramref name="acq"/> and makes it ready; throws with the detector's reason.</summary>
    void Prepare(IAcqParams acq);

    void Start();

    void Trigger();

    /// <summary>Ends the series once the receivers have all its frames.</summary>
    void Finish();

    void Abort();

    /// <summary>Why the detector failed during the run, or null.</summary>
    string? Failure { get; }
}

/// <summary>
/// Ranges and trigger modes both plugins state: one pair of ranges, given in ns by det_capabilities (the newest BLISS
/// reads them in ns) and in µs by det_info, whose numbers Lima2's own servers and clients use (interface note §1).
/// </summary>
internal static class DetectorJson
{
    public static readonly string[] TriggerModes = ["internal", "software", "external", "gate"];

    private static readonly long[] ExpoTimeRangeNs = [1_000, 10_000_000_000];
    private static readonly long[] LatencyTimeRangeNs = [0, 1_000_000_000];

    private static long[] Microseconds(long[] ns) => [.. ns.Select(t => t / 1_000)];

    public static string Capabilities() => JsonSerializer.Serialize(new
    {
        trigger_modes = TriggerModes,
        expo_time_range = ExpoTimeRangeNs,
        latency_time_range = LatencyTimeRangeNs,
    });

    public static string Info(string plugin, string model, string serial, double pixelX, double pixelY, int width, int height, string pixelType) =>
        JsonSerializer.Serialize(new
        {
            plugin,
            model,
            sn = serial,
            pixel_size = new { x = pixelX, y = pixelY },
            expo_time_range = Microseconds(ExpoTimeRangeNs),
            latency_time_range = Microseconds(LatencyTimeRangeNs),
            trigger_modes = TriggerModes,
            dimensions = new { x = width, y = height },
            pixel_type = pixelType,
        });

    public static string Status(string state, double humidity, double temperature, string highVoltage) => JsonSerializer.Serialize(new
    {
        humidity,
        temperature,
        high_voltage_state = highVoltage,
        state,
        time = DateTimeOffset.UtcNow.ToString("O"),
    });
}

/// <summary>
/// A detector whose frames the receivers get by themselves (a generator or a stand-in that takes no commands): a run
/// needs nothing here, and it never fails during one.
/// </summary>
public abstract class PassiveDetector : IDetector
{
    public abstract DetectorPlugin Plugin { get; }

    public abstract string Version { get; }

    public abstract string Info(IAcqParams acq);

    public string Status(AcqState state) => DetectorJson.Status(state.ToString().ToLowerInvariant(), 0, 25, "READY");

    public string Capabilities() => DetectorJson.Capabilities();

    public virtual void Prepare(IAcqParams acq)
    {
    }

    public void Start()
    {
    }

    public void Trigger()
    {
    }

    public void Finish()
    {
    }

    public void Abort()
    {
    }

    public string? Failure => null;

    public void Dispose()
    {
    }
}

/// <summary>The simulator plugin: the receivers generate or load the frames themselves.</summary>
public sealed class SimulatorDetector : PassiveDetector
{
    public override DetectorPlugin Plugin => DetectorPlugin.Simulator;

    public override string Version => Lima2Version.Core;

    /// <summary>The frame size is the generator's, from acq_params.</summary>
    public override string Info(IAcqParams acq)
    {
        var generator = (acq.Det as SimulatorDet ?? new SimulatorDet()).Generator;
        return DetectorJson.Info("Simulator", "Generator", "0", 75e-6, 75e-6, generator.Width, generator.Height,
            generator.PixelType.ToString().ToLowerInvariant());
    }
}
