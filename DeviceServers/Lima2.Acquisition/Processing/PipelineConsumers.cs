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

/// <summary>A mask file of the processing and the parameter that names it (for error messages).</summary>
public sealed record MaskFile(string Path, string Field);

/// <summary>
/// The consumers a pipeline kind adds to its graph beside those every kind's params describe (corrections, ROI
/// statistics, saving: GraphBuilder's): SMX's peak finder, XPCS's sparse frames. Their nodes live here, above
/// Lima2.Core, so the params cannot make them; each kind's factory is registered here once, and a run asks for those
/// of its params' kind without knowing the kinds.
/// </summary>
public static class PipelineConsumers
{
    private static readonly Dictionary<Type, Func<ProcParams, PipelineContext, IEnumerable<FrameConsumer>>> Factories = [];
    private static readonly Dictionary<Type, Func<ProcParams, ReceiverConfig, IBufferMemory?>> Memories = [];
    private static readonly Dictionary<Type, Func<ProcParams, MaskFile?>> MaskFiles = [];

    static PipelineConsumers()
    {
        Register<SmxProcParams>((smx, c) =>
            [PeakFindingNode.Create(smx, c.Frame, c.Receiver, c.Root, c.References, c.Receiver.Rank, c.Metadata)]);
        Register<XpcsProcParams>((xpcs, c) => c.ReducedData
            ? [new XpcsSparseNode(c.Frame, xpcs.Buffers.NbSparseFramesBuffer, xpcs.Buffers.NbFramesBuffer, xpcs.Fifo.NbThreads)]
            : []);
        Memories.Add(typeof(SmxProcParams), (proc, receiver) => PeakFindingNode.FrameMemory((SmxProcParams)proc, receiver));
        MaskFiles.Add(typeof(SmxProcParams), proc => PeakFindingNode.MaskPath((SmxProcParams)proc) is { } path ? new MaskFile(path, "fai.mask_path") : null);
    }

    /// <summary>
    /// The mask file the processing of <paramref name="proc"/> uses (nonzero = masked): its kind's own (SMX
    /// <c>fai.mask_path</c>), else the corrections' <c>mask</c> when enabled; null when none.
    /// </summary>
    public static MaskFile? MaskFileOf(ProcParams proc) =>
        Nearest(MaskFiles, proc) is { } kind ? kind(proc)
        : proc.Corrections() is { Mask: { Enabled: true } mask } ? new MaskFile(mask.Path, "mask") : null;

    /// <summary>The consumers of <paramref name="proc"/>'s kind (or the nearest kind it derives from); none for a
    /// kind that has no consumers of its own.</summary>
    public static IReadOnlyList<FrameConsumer> For(ProcParams proc, PipelineContext context) =>
        Nearest(Factories, proc) is { } factory ? [.. factory(proc, context)] : [];

    /// <summary>Where the graph's frame pools live for <paramref name="proc"/>'s kind: the peak finder's driver-pinned
    /// memory when it copies frames to a device; null: the pinned heap.</summary>
    public static IBufferMemory? FrameMemory(ProcParams proc, ReceiverConfig receiver) =>
        Nearest(Memories, proc) is { } memory ? memory(proc, receiver) : null;

    private static T? Nearest<T>(Dictionary<Type, T> byKind, ProcParams proc) where T : class
    {
        for (var kind = proc.GetType(); kind is not null; kind = kind.BaseType)
            if (byKind.TryGetValue(kind, out var value))
                return value;
        return null;
    }

    private static void Register<TProc>(Func<TProc, PipelineContext, IEnumerable<FrameConsumer>> factory) where TProc : ProcParams =>
        Factories.Add(typeof(TProc), (proc, context) => factory((TProc)proc, context));
}
