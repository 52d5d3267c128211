using System.Globalization;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;
using Lima2.Protocol;

namespace Lima2.Server.Control;

/// <summary>
/// The Jungfrau plugin: a JUNGFRAU of <c>rows × columns</c> modules (a 4M is 4 × 2) whose modules send UDP packets to
/// the receivers' <c>jungfrau_udp</c> channels. It states the detector (det_info, with the assembled image's size)
/// and checks the det block Lima2's clients send (<c>gain_mode</c>, <c>packet_fifo_depth</c>,
/// <c>auto_comparator_disable</c>). The stand-in detector (<c>lima2 stream --jungfrau</c>) takes no commands, so a
/// run needs none here; driving a real one (slsDetectorPackage's control port) is still to do.
/// </summary>
public sealed class JungfrauDetector(JungfrauGeometry geometry) : PassiveDetector
{
    /// <summary>Module gaps of a JUNGFRAU 4M (jungfrau_utils): 8 pixels between columns, 36 between rows.</summary>
    public const int GapX = 8, GapY = 36;

    private JungfrauDet _det = new();

    /// <summary>The <c>detector</c> property's <c>jungfrau</c> or <c>jungfrau:ROWSxCOLUMNS</c> (default 4x2, a 4M with its gaps).</summary>
    /// <exception cref="ArgumentException">not a layout of modules.</exception>
    public static JungfrauDetector FromProperty(string detector)
    {
        var layout = detector.Split(':', 2) is [_, var l] ? l : "4x2";
        if (layout.Split('x') is not [var r, var c] || !int.TryParse(r, NumberStyles.None, CultureInfo.InvariantCulture, out var rows)
            || !int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out var columns) || rows is < 1 or > 16 || columns is < 1 or > 16)
            throw new ArgumentException($"property detector: '{detector}' is not jungfrau:ROWSxCOLUMNS (modules, 1 to 16 each, e.g. jungfrau:4x2)");
        return new JungfrauDetector(JungfrauGeometry.Grid(rows, columns, GapX, GapY, doublePixelGaps: true));
    }

    public override DetectorPlugin Plugin => DetectorPlugin.Jungfrau;

    public override string Version => "jungfrau-1.0.0";

    public JungfrauGeometry Geometry => geometry;

    public override string Info(IAcqParams acq)
    {
        var modules = geometry.Modules.Count;
        var model = modules % 2 == 0 ? $"JUNGFRAU {modules / 2}M" : $"JUNGFRAU {modules} modules";
        return DetectorJson.Info("Jungfrau", model, "stand-in", JungfrauModule.PixelSize, JungfrauModule.PixelSize, geometry.Width, geometry.Height, "gray16");
    }

    /// <summary>Takes the det block; the stand-in has nothing to configure.</summary>
    public override void Prepare(IAcqParams acq) =>
        _det = acq.Det as JungfrauDet ?? throw new ArgumentException($"the Jungfrau plugin reads a JUNGFRAU det block, not {acq.Det.GetType().Name}");

    /// <summary>The det block of the last Prepare.</summary>
    public JungfrauDet Det => _det;
}
