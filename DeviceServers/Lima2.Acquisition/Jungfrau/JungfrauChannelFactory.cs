using System.Net;
using Lima2.Acquisition.Saving;
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
        // full-frame round robin: this receiver takes the frames k = rank (mod n), every module of each
        var (rank, receivers) = jungfrau.Dispatch == JungfrauDispatch.RoundRobin ? (config.Rank, config.NbReceivers) : (0, 1);
        var moduleIds = partial ? jungfrau.ModulesOf(config.Rank, config.NbReceivers) : jungfrau.ModuleIdList;
        var modules = moduleIds.Count;
        var bind = IPAddress.Parse(jungfrau.Bind);
        var grid = jungfrau.Geometry;
        var detectorModules = partial ? grid.Rows * grid.Columns : modules;
        var run = JungfrauRun.Of(settings);
        if (run.PedestalRun is { } pedestalFile)
        {
            // checked now (a bad name fails Prepare) and written at the end by a new walk from the root's descriptor:
            // a folder swapped for a link in between is refused then
            using var root = new SavingRoot(config.SavingRoot);
            var folder = Path.GetDirectoryName(pedestalFile) ?? "";
            Confined("acq_params.det.pedestal_run", () => root.ResolveDirectory(folder) + root.PathOf(folder, Path.GetFileName(pedestalFile)));
        }
        var correction = Corrector(run, jungfrau, config.ReferenceRoot, moduleIds, detectorModules);
        var detector = grid.Rows > 0 ? JungfrauGeometry.Grid(grid.Rows, grid.Columns, grid.GapX, grid.GapY, grid.DoublePixelGaps) : null;
        var acq = settings.AcqParams.Acq;
        var pedestal = run.PedestalRun is null ? null : new PedestalAccumulator(modules * JungfrauModule.Pixels);
        // a partial-frame receiver stacks its modules; the master file places them
        var placed = partial ? JungfrauGeometry.Grid(modules, 1, 0, 0, grid.DoublePixelGaps)
            : detector ?? JungfrauGeometry.Grid(modules, 1, grid.GapX, grid.GapY, grid.DoublePixelGaps);
        var parts = partial ? Parts(jungfrau, detector!, config.NbReceivers) : null;
        var frames = acq.NbFrames > 0 ? acq.NbFrames : (long?)null;
        var metadata = new DetectorMetadata
        {
            CountTime = acq.ExpoTime * 1e-6,
            FrameTime = (acq.ExpoTime + acq.LatencyTime) * 1e-6,
            XPixelSize = JungfrauModule.PixelSize,
            YPixelSize = JungfrauModule.PixelSize,
            SensorMaterial = "Si",
        };
        JungfrauRawSaving? rawSaving = null;
        try
        {
            var rawFrame = new FrameInfo(placed.Width, placed.Height, PixelType.Gray16);
            // as many frames wait for the disk as the ports may hold ahead of the channel
            var queueFrames = Math.Max(2, jungfrau.Window);
            // the buffers of the last run's queue serve this one's, within its queue; a run without raw words frees them
            var rawMemory = settings.KeptRawBuffers?.For(null, run.RawSaving is null ? 0 : (long)queueFrames * rawFrame.ByteSize);
            if (run.RawSaving is { } saving)
                rawSaving = new JungfrauRawSaving(saving, rawFrame, config.SavingRoot,
                    config.Rank, config.NbReceivers, frames, parts, new NxmxFacts(acq.Experiment.Over(metadata), DateTimeOffset.UtcNow,
                        acq.Experiment.SampleName, acq.Experiment.InstrumentName, acq.Experiment.SourceName),
                    config.OverloadPolicy, queueFrames, rawMemory);
        }
        catch
        {
            (correction as IDisposable)?.Dispose();
            throw;
        }
        var options = new JungfrauChannelOptions
        {
            Ports = [.. jungfrau.Ports.Select((port, i) => new JungfrauPort(new IPEndPoint(bind, port), [moduleIds[i / jungfrau.PortsPerModule]])
            {
                Interface = i % jungfrau.PortsPerModule,
            })],
            Interfaces = jungfrau.PortsPerModule,
            Geometry = placed,
            Parts = parts,
            Frames = frames,
            Rank = rank,
            Receivers = receivers,
            FirstFrameNumber = jungfrau.FirstFrameNumber,
            Window = jungfrau.Window,
            FrameTimeout = TimeSpan.FromMilliseconds(jungfrau.FrameTimeoutMs),
            IdleTimeout = TimeSpan.FromMilliseconds(config.Channel.TimeoutMs),
            ReceiveBufferBytes = (int)ReceiverConfig.ParseBytes(jungfrau.ReceiveBuffer)!.Value,
            Output = run.Output switch
            {
                JungfrauOutputKind.Energy => JungfrauOutput.Energy,
                JungfrauOutputKind.Photons => JungfrauOutput.Photons,
                _ => JungfrauOutput.Raw,
            },
            Correction = correction,
            PhotonEnergyKeV = run.PhotonEnergy,
            ThresholdKeV = jungfrau.Threshold < 0 ? run.PhotonEnergy / 2 : jungfrau.Threshold,
            Pedestal = pedestal,
            PedestalDone = pedestal is null ? null : dark =>
            {
                using var root = new SavingRoot(config.SavingRoot);
                JungfrauCalibrationFile.WritePedestal(root, run.PedestalRun!, dark);
            },
            // the tracking the receiver is set up for follows the pedestal of its corrected runs
            Tracking = jungfrau.TracksPedestal && run.Output != JungfrauOutputKind.Raw
                ? new PedestalTracking { DarkEvery = jungfrau.TrackDarkEvery, G0BandKeV = jungfrau.TrackG0Band, Window = jungfrau.TrackWindow }
                : null,
            TrackingDone = jungfrau.TrackedPedestalFile is not { } tracked || run.Output == JungfrauOutputKind.Raw ? null : maps =>
            {
                using var root = new SavingRoot(config.SavingRoot);
                JungfrauCalibrationFile.WritePedestal(root, tracked, maps);
            },
            RawSaving = rawSaving,
            Metadata = metadata,
        };
        try
        {
            return new JungfrauChannel(options);
        }
        catch
        {
            (correction as IDisposable)?.Dispose(); // the channel owns them once made
            rawSaving?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>The corrector of a corrected run, its maps read beneath the reference root; null for raw words.</summary>
    /// <exception cref="ParamsException">a map file is outside the reference root, reached through a link, missing, or of the wrong shape.</exception>
    private static IJungfrauCorrector? Corrector(JungfrauRun run, JungfrauChannelConfig jungfrau, string referenceRoot,
        IReadOnlyList<int> moduleIds, int detectorModules)
    {
        if (run is not { Pedestal: var (pedestalPath, pedestalField), Gain: var (gainPath, gainField) })
            return null;
        using var references = new SavingRoot(referenceRoot);
        var pedestalMaps = Confined(pedestalField, () =>
            JungfrauCalibrationFile.ReadModules(references, pedestalPath, JungfrauCalibrationFile.Pedestal, moduleIds, detectorModules));
        var gainMaps = Confined(gainField, () =>
            JungfrauCalibrationFile.ReadModules(references, gainPath, JungfrauCalibrationFile.Gain, moduleIds, detectorModules));
        return jungfrau.Correction == JungfrauCorrectionEngine.OpenCl
            ? new JungfrauOpenClCorrection(pedestalMaps, gainMaps, ClDevice.Select(jungfrau.OpenclPlatform, jungfrau.OpenclDevice, cpuFallback: true),
                ClProgram.DefaultCacheDirectory)
            : new JungfrauCorrection(pedestalMaps, gainMaps);
    }

    /// <summary>What <paramref name="use"/> of a client's path gives; its refusal named after <paramref name="field"/>.</summary>
    private static T Confined<T>(string field, Func<T> use)
    {
        try
        {
            return use();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException or ArgumentException)
        {
            throw new ParamsException([new ParamsError(field, e.Message)]);
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
