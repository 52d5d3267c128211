using System.Diagnostics.CodeAnalysis;

namespace Lima2.Server.Devices;

/// <summary><c>log_level</c>: Lima2's severities, read by clients as the label.</summary>
[SuppressMessage("Style", "IDE1006", Justification = "DevEnum labels")]
public enum LogLevelLabel
{
    trace,
    debug,
    info,
    warning,
    error,
    fatal,
}

/// <summary>The process-wide log level behind every device's <c>log_level</c> (Lima2 has one per process).</summary>
public static class Lima2Logging
{
    private static LogLevelLabel _level = LogLevelLabel.info;

    public static LogLevelLabel Level
    {
        get => _level;
        set
        {
            _level = value;
            NLog.LogManager.GlobalThreshold = ToNLog(value);
        }
    }

    public static NLog.LogLevel ToNLog(LogLevelLabel level) => level switch
    {
        LogLevelLabel.trace => NLog.LogLevel.Trace,
        LogLevelLabel.debug => NLog.LogLevel.Debug,
        LogLevelLabel.info => NLog.LogLevel.Info,
        LogLevelLabel.warning => NLog.LogLevel.Warn,
        LogLevelLabel.error => NLog.LogLevel.Error,
        _ => NLog.LogLevel.Fatal,
    };
}
