namespace Lima2.TestSupport;

/// <summary>
/// The checkout's embedded Tango database (scripts/tango-db.sh: private MariaDB + Debian's DataBaseds on
/// loopback). Suites share one instance: they start it if needed and never stop it; .ci/run stops it.
/// </summary>
public static class EmbeddedTangoDb
{
    private static readonly Lazy<string> TangoHostValue = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>TANGO_HOST of the running database, starting it on first use.</summary>
    public static string TangoHost => TangoHostValue.Value;

    /// <summary>Environment for a Tango process that uses the embedded database.</summary>
    public static IReadOnlyDictionary<string, string?> Environment =>
        new Dictionary<string, string?> { ["TANGO_HOST"] = TangoHost };

    private static string Start()
    {
        var script = Path.Combine(RepoPaths.Root, "scripts", "tango-db.sh");
        using (var up = ChildProcess.Start(script, ["up"]))
        {
            // a fresh machine installs MariaDB's data folder and the Tango schema first; the script bounds each step itself
            if (up.WaitForExit(TimeSpan.FromSeconds(180)) != 0)
                throw new InvalidOperationException($"tango-db.sh up failed:\n{up.Output}");
        }
        using var env = ChildProcess.Start(script, ["env"]);
        env.WaitForExit(TimeSpan.FromSeconds(60));
        // "export TANGO_HOST=127.0.0.1:10000"
        var host = env.Output.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .Single(word => word.StartsWith("TANGO_HOST=", StringComparison.Ordinal))["TANGO_HOST=".Length..];
        NativeEnvironment.Set("TANGO_HOST", host); // cppTango reads it with getenv
        return host;
    }
}
