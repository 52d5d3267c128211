using System.Net;
using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
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
        var partial = jungfrau.Dispatch == JungfrauDispatch.Modules;
        var moduleIds = partial ? jungfrau.ModulesOf(config.Rank, config.NbReceivers) : jungfrau.ModuleIdList;
        var modules = moduleIds.Count;
        var bind = IPAddress.Parse(jungfrau.Bind);
        var grid = jungfrau.Geometry;
        var detectorModules = partial ? grid.Rows * grid.Columns : modules;
        IJungfrauCorrector? correction = null;
        if (jungfrau.Output != JungfrauOutputKind.Raw)
        {
            using var references = new SavingRoot(config.ReferenceRoot);
            var pedestalMaps = JungfrauCalibrationFile.ReadModules(references, jungfrau.PedestalFile!, JungfrauCalibrationFile.Pedestal, moduleIds, detectorModules);
            var gainMaps = JungfrauCalibrationFile.ReadModules(references, jungfrau.GainFile!, JungfrauCalibrationFile.Gain, moduleIds, detectorModules);
            correction = jungfrau.Correction == JungfrauCorrectionEngine.OpenCl
                ? new JungfrauOpenClCorrection(pedestalMaps, gainMaps, ClDevice.Select(jungfrau.OpenclPlatform, jungfrau.OpenclDevice, cpuFallback: true),
                    ClProgram.DefaultCacheDirectory)
                : new JungfrauCorrection(pedestalMaps, gainMaps);
        }
        var detector = grid.Rows > 0 ? JungfrauGeometry.Grid(grid.Rows, grid.Columns, grid.GapX, grid.GapY, grid.DoublePixelGaps) : null;
        var acq = settings.AcqParams.Acq;
        var pedestal = jungfrau.PedestalRun is null ? null : new PedestalAccumulator(modules * JungfrauModule.Pixels);
        var options = new JungfrauChannelOptions
        {
            Ports = [.. jungfrau.Ports.Select((port, i) => new JungfrauPort(new IPEndPoint(bind, port), [moduleIds[i / jungfrau.PortsPerModule]])
            {
                Interface = i % jungfrau.PortsPerModule,
            })],
            Interfaces = jungfrau.PortsPerModule,
            // a partial-frame receiver stacks its modules; the master file places them
            Geometry = partial ? JungfrauGeometry.Grid(modules, 1, 0, 0, grid.DoublePixelGaps)
                : detector ?? JungfrauGeometry.Grid(modules, 1, grid.GapX, grid.GapY, grid.DoublePixelGaps),
            Parts = partial ? Parts(jungfrau, detector!, config.NbReceivers) : null,
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
            Tracking = jungfrau.TracksPedestal
                ? new PedestalTracking { DarkEvery = jungfrau.TrackDarkEvery, G0BandKeV = jungfrau.TrackG0Band, Window = jungfrau.TrackWindow }
                : null,
            TrackingDone = jungfrau.TrackedPedestalFile is not { } tracked ? null : maps =>
            {
                using var root = new SavingRoot(config.SavingRoot);
                JungfrauCalibrationFile.WritePedestal(root, tracked, maps);
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

    /// <summary>Where each receiver's stacked modules go in the detector's image under modules dispatch.</summary>
    private static FrameParts Parts(JungfrauChannelConfig jungfrau, JungfrauGeometry detector, int receivers) =>
        new(detector.Width, detector.Height, [.. Enumerable.Range(0, receivers).Select(rank =>
        {
            var share = jungfrau.ModulesOf(rank, receivers);
            return new ReceiverFrameParts(detector.ModuleWidth, share.Count * detector.ModuleHeight, [.. share.Select((module, i) =>
                new FramePart(0, i * detector.ModuleHeight, detector.ModuleWidth, detector.ModuleHeight, detector.Modules[module].X, detector.Modules[module].Y))]);
        })]);
}
