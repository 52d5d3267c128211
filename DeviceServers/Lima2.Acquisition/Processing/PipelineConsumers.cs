using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Hdf5;

namespace Lima2.Acquisition.Processing;

/// <summary>What a run gives a pipeline kind to make its own consumers.</summary>
/// <param name="Frame">the frames the consumers take (after the graph's corrections and reshaping)</param>
/// <param name="Receiver">the receiver: its rank and peak finder backend</param>
/// <param name="Root">the receiver's saving root, for the files the consumers write</param>
/// <param name="References">the reference arrays under the receiver's reference root</param>
/// <param name="Metadata">the channel's detector facts (distance, pixel size, beam centre), when it has them</param>
/// <param name="ReducedData">the run serves reduced data (pops, sparse frames) to clients</param>
public sealed record PipelineContext(FrameInfo Frame, ReceiverConfig Receiver, SavingRoot Root, ReferenceImages References,
    DetectorMetadata? Metadata, bool ReducedData);

/// <summary>
/// What a pipeline kind adds to its graph beside what every kind's params describe (corrections, ROI statistics,
/// saving: GraphBuilder's): its own consumers (SMX's peak finder, XPCS's sparse frames) and where the graph should keep
/// frames for them (SMX on a GPU: the device's driver-pinned memory). Their nodes live here, above Lima2.Core, so the
/// params cannot make them; each kind is registered here once, and a run asks for its params' kind without knowing
/// the kinds.
/// </summary>
public static class PipelineConsumers
{
    private sealed record Kind(
        Func<ProcParams, PipelineContext, IEnumerable<FrameConsumer>> Consumers,
        Func<ProcParams, ReceiverConfig, IBufferMemory?> FrameMemory);

    private static readonly Dictionary<Type, Kind> Kinds = [];

    static PipelineConsumers()
    {
        Register<SmxProcParams>(
            (smx, c) => [PeakFindingNode.Create(smx, c.Frame, c.Receiver, c.Root, c.References, c.Receiver.Rank, c.Metadata)],
            PeakFindingNode.FrameMemory);
        Register<XpcsProcParams>((xpcs, c) => c.ReducedData
            ? [new XpcsSparseNode(c.Frame, xpcs.Buffers.NbSparseFramesBuffer, xpcs.Buffers.NbFramesBuffer, xpcs.Fifo.NbThreads)]
            : []);
    }

    /// <summary>The consumers of <paramref name="proc"/>'s kind; none for a kind that has no consumers of its own.</summary>
    public static IReadOnlyList<FrameConsumer> For(ProcParams proc, PipelineContext context) =>
        KindOf(proc) is { } kind ? [.. kind.Consumers(proc, context)] : [];

    /// <summary>Where the graph keeps frames for <paramref name="proc"/>'s consumers; null: the pinned managed heap.</summary>
    public static IBufferMemory? FrameMemory(ProcParams proc, ReceiverConfig receiver) => KindOf(proc)?.FrameMemory(proc, receiver);

    /// <summary>The kind registered for <paramref name="proc"/>'s type or the nearest type it derives from.</summary>
    private static Kind? KindOf(ProcParams proc)
    {
        for (var type = proc.GetType(); type is not null; type = type.BaseType)
            if (Kinds.TryGetValue(type, out var kind))
                return kind;
        return null;
    }

    private static void Register<TProc>(Func<TProc, PipelineContext, IEnumerable<FrameConsumer>> consumers,
        Func<TProc, ReceiverConfig, IBufferMemory?>? frameMemory = null) where TProc : ProcParams =>
        Kinds.Add(typeof(TProc), new Kind((proc, context) => consumers((TProc)proc, context),
            (proc, receiver) => frameMemory?.Invoke((TProc)proc, receiver)));
}
