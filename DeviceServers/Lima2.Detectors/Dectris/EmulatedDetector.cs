using Lima2.Core.Frames;

namespace Lima2.Detectors.Dectris;

/// <summary>
/// The detector the stream emulator (<see cref="StreamV1Writer"/>, <see cref="StreamV2Writer"/>) describes in its
/// series header, as a DECTRIS detector puts its configuration there: 75 µm pixels of 450 µm silicon, 0.2 m from the
/// sample, the beam at the frame's centre, photons of 8041 eV (Cu Kα, the SIMPLON stand-in's photon_energy).
/// </summary>
public static class EmulatedDetector
{
    public const double PhotonEnergy = 8041.0;

    public static DetectorMetadata Metadata(FrameInfo frame) => new()
    {
        XPixelSize = 75e-6,
        YPixelSize = 75e-6,
        Distance = 0.2,
        BeamCenterX = frame.Width / 2.0,
        BeamCenterY = frame.Height / 2.0,
        CountTime = 0.001,
        FrameTime = 0.001,
        SensorMaterial = "Si",
        SensorThickness = 450e-6,
        IncidentWavelength = DetectorMetadata.WavelengthOf(PhotonEnergy),
        BitDepthReadout = 8 * frame.PixelType.SizeOf(),
        Description = "Lima2.Tango DECTRIS stream emulator",
    };

    /// <summary>
    /// The emulated detector's pixel mask (NXmx bits), as a detector sends it with header detail all: a dead, a hot
    /// (over-responding) and a noisy pixel at the start of the second row (of the first, when there is one row).
    /// </summary>
    public static uint[] PixelMask(FrameInfo frame)
    {
        var mask = new uint[frame.Width * frame.Height];
        var row = Math.Min(1, frame.Height - 1) * frame.Width;
        PixelMaskBits[] bad = [PixelMaskBits.Dead, PixelMaskBits.OverResponding, PixelMaskBits.Noisy];
        for (var x = 0; x < Math.Min(bad.Length, frame.Width); x++)
            mask[row + x] = (uint)bad[x];
        return mask;
    }
}
