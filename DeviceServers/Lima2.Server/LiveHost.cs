namespace Lima2.Server;

/// <summary>The address a device's live view listens on: the host its Tango server publishes, so that the page is
/// reachable wherever the device is (a beamline's network, or loopback in tests and the demo).</summary>
public static class LiveHost
{
    /// <summary>
    /// The host of omniORB's endpoint, <c>-ORBendPoint</c> on the command line or else the ORBendPoint environment
    /// variable (<c>giop:tcp:lid00rcv1:</c> → lid00rcv1, <c>giop:tcp:[::1]:0</c> → [::1]); "" (every interface) when
    /// neither names one, as omniORB then listens on every interface too.
    /// </summary>
    public static string FromEndpoint(IReadOnlyList<string> args, string? environment)
    {
        var at = args.ToList().IndexOf("-ORBendPoint");
        var endpoint = at >= 0 && at + 1 < args.Count ? args[at + 1] : environment ?? "";
        const string prefix = "giop:tcp:";
        if (!endpoint.StartsWith(prefix, StringComparison.Ordinal))
            return "";
        var address = endpoint[prefix.Length..];
        var colon = address.LastIndexOf(':');
        return colon < 0 ? address : address[..colon];
    }

    public static string Current() => FromEndpoint(Environment.GetCommandLineArgs(), Environment.GetEnvironmentVariable("ORBendPoint"));
}
