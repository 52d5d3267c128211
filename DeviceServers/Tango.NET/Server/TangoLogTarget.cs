using NLog;
using NLog.Config;
using NLog.Targets;
using Tango.Interop;

namespace Tango.Server;

/// <summary>
/// NLog to Tango logging: an event logged through <see cref="Device.Logger"/> goes to that device's Tango logger,
/// any other to the admin device's. Tango decides what is written (-v levels, logging targets).
/// </summary>
[Target("Tango")]
public sealed class TangoLogTarget : TargetWithLayout
{
    /// <summary>The event property that names the device a message belongs to.</summary>
    internal const string DeviceProperty = "tango_device";

    public TangoLogTarget()
    {
        Name = "tango";
        Layout = "${message}${onexception:inner=\n${exception:format=tostring}}";
    }

    protected override void Write(LogEventInfo logEvent)
    {
        var level = ToTango(logEvent.Level);
        var device = logEvent.HasProperties && logEvent.Properties.TryGetValue(DeviceProperty, out var d) ? d as Device : null;
        if (device is not null)
            device.Log(level, () => RenderLogEvent(Layout, logEvent));
        else
            ServerProxy.Log(0, level, RenderLogEvent(Layout, logEvent));
    }

    /// <summary>Sends every NLog logger to Tango unless the configuration already has a Tango target.</summary>
    internal static void Install()
    {
        var config = LogManager.Configuration ?? new LoggingConfiguration();
        if (config.AllTargets.OfType<TangoLogTarget>().Any())
            return;
        config.AddRule(NLog.LogLevel.Trace, NLog.LogLevel.Fatal, new TangoLogTarget());
        LogManager.Configuration = config;
    }

    private static int ToTango(NLog.LogLevel level) =>
        level == NLog.LogLevel.Fatal ? 0
        : level == NLog.LogLevel.Error ? 1
        : level == NLog.LogLevel.Warn ? 2
        : level == NLog.LogLevel.Info ? 3
        : 4;
}
