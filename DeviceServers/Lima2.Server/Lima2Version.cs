using Lima2.Server.Devices;

namespace Lima2.Server;

/// <summary>Versions clients check: BLISS matches <c>version</c> against <c>&lt;prefix&gt;-&lt;maj&gt;.&lt;min&gt;.&lt;patch&gt;</c>.</summary>
public static class Lima2Version
{
    public const string Core = "core-1.0.0";

    /// <summary>The processing classes' <c>Version</c> class property.</summary>
    public const string Processing = "1.0.0";
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
            NLog.LogManager.GlobalThreshold = StateMapping.ToNLog(value);
        }
    }
}
