using Lima2.Detectors.Dectris.Simplon;

namespace Lima2.Server.Control;

/// <summary>The camera plugin the control's <c>detector</c>, <c>simplon_url</c> and <c>simplon_api_version</c> properties name.</summary>
public static class DetectorFactory
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the property at fault.</summary>
    public static IDetector Create(string detector, string simplonUrl, string simplonApiVersion)
    {
        if (detector == "simulator")
            return new SimulatorDetector();
        if (detector == "jungfrau" || detector.StartsWith("jungfrau:", StringComparison.Ordinal))
            return JungfrauDetector.FromProperty(detector);
        if (detector is not ("dectris" or "dectris_v1" or "dectris_v2"))
            throw new ArgumentException($"property detector: '{detector}' is no plugin (simulator | dectris | jungfrau[:ROWSxCOLUMNS])");
        if (!Uri.TryCreate(simplonUrl, UriKind.Absolute, out var url))
            throw new ArgumentException($"property simplon_url: '{simplonUrl}' is not a URL (http://host:port) and the dectris plugin needs one");
        return new DectrisDetector(new SimplonClient(url, simplonApiVersion));
    }
}
