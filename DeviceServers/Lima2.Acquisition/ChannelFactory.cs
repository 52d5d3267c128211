using Lima2.Acquisition.Jungfrau;
using Lima2.Acquisition.Processing;
using Lima2.Acquisition.Saving;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Dectris;
using Lima2.Detectors.Simulator;
using Lima2.Hdf5;

namespace Lima2.Acquisition;

/// <summary>Makes a receiver's detector channel from its configuration: one case per <see cref="ChannelKind"/>.</summary>
public static class ChannelFactory
{
    /// <exception cref="ParamsException">the receiver configuration is wrong.</exception>
    public static IDetectorChannel Create(ReceiverSettings settings)
    {
        ParamsValidator.ThrowIfAny(settings.Receiver.Validate());
        return settings.Receiver.Channel.Kind switch
        {
            ChannelKind.Simulator => Simulator(settings),
            ChannelKind.DectrisV1 => new DectrisChannel(DectrisOptions(settings, DectrisStreamVersion.V1)),
            ChannelKind.DectrisV2 => new DectrisChannel(DectrisOptions(settings, DectrisStreamVersion.V2)),
            ChannelKind.MaxIv => new DectrisChannel(DectrisOptions(settings, DectrisStreamVersion.MaxIv)),
            ChannelKind.JungfrauUdp => JungfrauChannelFactory.Create(settings),
            var kind => throw new NotSupportedException($"receiver channel kind {kind} has no channel"),
        };
    }

    /// <summary>The settings the graph runs with, less what the channel applies itself (a JUNGFRAU run's correction).</summary>
    public static ReceiverSettings ForGraph(ReceiverSettings settings) =>
        settings.Receiver.Channel.Kind == ChannelKind.JungfrauUdp ? JungfrauRun.ForGraph(settings) : settings;

    /// <summary>The detector plugin whose acq_params a receiver of channel <paramref name="kind"/> reads.</summary>
    public static DetectorPlugin PluginOf(ChannelKind kind) => kind switch
    {
        ChannelKind.Simulator => DetectorPlugin.Simulator,
        ChannelKind.JungfrauUdp => DetectorPlugin.Jungfrau,
        _ => DetectorPlugin.Dectris,
    };

    private static SimulatorChannel Simulator(ReceiverSettings settings)
    {
        var config = settings.Receiver;
        var det = settings.AcqParams.Det as SimulatorDet
                  ?? throw new ArgumentException("a simulator receiver needs the simulator's acq_params (its det block says what to generate or load)");
        return new SimulatorChannel(settings.AcqParams.Acq, det, config.Rank, config.NbReceivers, loader =>
        {
            // the files are open once the source is made: the root is needed no longer
            using var root = new SavingRoot(config.ReferenceRoot);
            return Hdf5FrameSource.Open(loader, root);
        });
    }

    private static DectrisChannelOptions DectrisOptions(ReceiverSettings settings, DectrisStreamVersion version)
    {
        var config = settings.Receiver;
        var endpoint = config.Channel.Endpoints is [var single] ? single
            : throw new ArgumentException($"a {config.Channel.Kind} receiver reads one endpoint, the configuration names {config.Channel.Endpoints.Count}");
        return new DectrisChannelOptions(endpoint, version, config.Rank, config.NbReceivers,
            DecodeWorkers: settings.ProcParams.Fifo.NbThreads, Threshold: config.Channel.Threshold,
            // the compressed frame holds its message past decoding (a share of the cap): kept only when saving writes it as it came
            KeepEncoded: settings.ProcParams.DenseSavingChannels()
                .Any(c => c.Params is { Enabled: true, Compression: SavingCompression.BshufLz4 }),
            Policy: config.OverloadPolicy,
            // a raw frame's pixels stay in their message unless a consumer copies frames to an OpenCL device from the pool's memory
            HoldRawFrames: !PipelineConsumers.UsesKernels(settings.ProcParams) && PipelineConsumers.FrameMemory(settings.ProcParams, config) is null,
            RunFrames: settings.AcqParams.Acq.NbFrames, TimeoutMs: config.Channel.TimeoutMs,
            // the geometry comes with the header, after the connection is made; a header may carry per-pixel arrays
            // (flat field, pixel mask) several times a frame's size: only what could never fit the cap is dropped
            MaxMessageBytes: config.MemoryCapBytes);
    }
}
