namespace Lima2.Server;

/// <summary>Versions clients check: BLISS matches <c>version</c> against <c>&lt;prefix&gt;-&lt;maj&gt;.&lt;min&gt;.&lt;patch&gt;</c>.</summary>
public static class Lima2Version
{
    public const string Core = "core-1.0.0";

    /// <summary>The processing classes' <c>Version</c> class property.</summary>
    public const string Processing = "1.0.0";
}

