using System.Net;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Detectors.Jungfrau;
using Lima2.Hdf5;
using Lima2.OpenCL;

namespace Lima2.Acquisition.Jungfrau;

/// <summary>Makes a receiver's <c>jungfrau_udp</c> channel from its settings: ports bound, calibration files read.</summary>
public static class JungfrauChannelFactory
{
    public static JungfrauChannel Create(ReceiverSettings settings)
    {
        var config = settings.Receiver;
        var jungfrau = config.Channel.Jungfrau ?? throw new ArgumentException("a jungfrau_udp channel needs its channel.jungfrau block");
        var moduleIds = jungfrau.ModuleIdList;
        var modules = moduleIds.Count;
        var bind = IPAddress.Parse(jungfrau.Bind);
        var grid = jungfrau.Geometry;
        IJungfrauCorrector? correction = null;
        if (jungfrau.Output != JungfrauOutputKind.Raw)
        {
            using var references = new SavingRoot(config.ReferenceRoot);
            var pedestalMaps = JungfrauCalibrationFile.Read(references, jungfrau.PedestalFile!, JungfrauCalibrationFile.Pedestal, modules);
            var gainMaps = JungfrauCalibrationFile.Read(references, jungfrau.GainFile!, JungfrauCalibrationFile.Gain, modules);
            correction = jungfrau.Correction == JungfrauCorrectionEngine.OpenCl
                ? new JungfrauOpenClCorrection(pedestalMaps, gainMaps, ClDevice.Select(jungfrau.OpenclPlatform, jungfrau.OpenclDevice, cpuFallback: true),
                    ClProgram.DefaultCacheDirectory)
                : new JungfrauCorrection(pedestalMaps, gainMaps);
        }
        var acq = settings.AcqParams.Acq;
        var pedestal = jungfrau.PedestalRun is null ? null : new PedestalAccumulator(modules * JungfrauModule.Pixels);
        var options = new JungfrauChannelOptions
        {
            Ports = [.. jungfrau.Ports.Select((port, i) => new JungfrauPort(new IPEndPoint(bind, port), [moduleIds[i / jungfrau.PortsPerModule]])
            {
                Interface = i % jungfrau.PortsPerModule,
            })],
            Interfaces = jungfrau.PortsPerModule,
            Geometry = JungfrauGeometry.Grid(grid.Rows > 0 ? grid.Rows : modules, grid.Rows > 0 ? grid.Columns : 1, grid.GapX, grid.GapY,
                grid.DoublePixelGaps),
            Frames = acq.NbFrames > 0 ? acq.NbFrames : null,
            FirstFrameNumber = jungfrau.FirstFrameNumber,
            Window = jungfrau.Window,
            FrameTimeout = TimeSpan.FromMilliseconds(jungfrau.FrameTimeoutMs),
            IdleTimeout = TimeSpan.FromMilliseconds(config.Channel.TimeoutMs),
            ReceiveBufferBytes = (int)ReceiverConfig.ParseBytes(jungfrau.ReceiveBuffer)!.Value,
            Output = jungfrau.Output switch
            {
                JungfrauOutputKind.Energy => JungfrauOutput.Energy,
                JungfrauOutputKind.Photons => JungfrauOutput.Photons,
                _ => JungfrauOutput.Raw,
            },
            Correction = correction,
            PhotonEnergyKeV = jungfrau.PhotonEnergy,
            ThresholdKeV = jungfrau.Threshold < 0 ? jungfrau.PhotonEnergy / 2 : jungfrau.Threshold,
            Pedestal = pedestal,
            PedestalDone = pedestal is null ? null : dark =>
            {
                using var root = new SavingRoot(config.SavingRoot);
                JungfrauCalibrationFile.WritePedestal(root, jungfrau.PedestalRun!, dark);
            },
            Metadata = new DetectorMetadata
            {
                CountTime = acq.ExpoTime * 1e-6,
                FrameTime = (acq.ExpoTime + acq.LatencyTime) * 1e-6,
                XPixelSize = JungfrauModule.PixelSize,
                YPixelSize = JungfrauModule.PixelSize,
                SensorMaterial = "Si",
            },
        };
        try
        {
            return new JungfrauChannel(options);
        }
        catch
        {
            (correction as IDisposable)?.Dispose(); // the channel owns it once made
            throw;
        }
    }
}
