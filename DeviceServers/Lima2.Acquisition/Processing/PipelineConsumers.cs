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
/// What each pipeline kind brings beside what every kind's params describe (corrections, ROI statistics, saving:
/// GraphBuilder's): its own consumers (SMX's peak finder, XPCS's sparse frames), where its frames live, its mask file,
/// the checks of its own blocks, and whether it runs on the OpenCL kernels the receiver builds at its start. Their
/// code lives here, above Lima2.Core, so the params cannot hold it; each kind is registered here once, and a run or a
/// device asks for what its params' kind needs without knowing the kinds.
/// </summary>
public static class PipelineConsumers
{
    /// <summary>One kind's parts; a kind that is not registered (Legacy) has none.</summary>
    private sealed record Kind(
        Func<ProcParams, PipelineContext, IEnumerable<FrameConsumer>> Consumers,
        Func<ProcParams, ReceiverConfig, IBufferMemory?>? FrameMemory = null,
        Func<ProcParams, MaskFile?>? MaskFile = null,
        Action<ProcParams>? Validate = null,
        bool UsesKernels = false);

    private static readonly Dictionary<Type, Kind> Kinds = [];

    static PipelineConsumers()
    {
        Register<SmxProcParams>((smx, c) =>
                [PeakFindingNode.Create(smx, c.Frame, c.Receiver, c.Root, c.References, c.Receiver.Rank, c.Metadata)],
            frameMemory: PeakFindingNode.FrameMemory,
            maskFile: smx => PeakFindingNode.MaskPath(smx) is { } path ? new MaskFile(path, "fai.mask_path") : null,
            validate: PeakFindingNode.Validate, usesKernels: true);
        Register<XpcsProcParams>((xpcs, c) => c.ReducedData
            ? [new XpcsSparseNode(c.Frame, xpcs.Buffers.NbSparseFramesBuffer, xpcs.Buffers.NbFramesBuffer, xpcs.Fifo.NbThreads)]
            : []);
    }

    /// <summary>
    /// The mask file the processing of <paramref name="proc"/> uses (nonzero = masked): its kind's own (SMX
    /// <c>fai.mask_path</c>), else the corrections' <c>mask</c> when enabled; null when none.
    /// </summary>
    public static MaskFile? MaskFileOf(ProcParams proc) =>
        Nearest(proc)?.MaskFile is { } maskFile ? maskFile(proc)
        : proc.Corrections() is { Mask: { Enabled: true } mask } ? new MaskFile(mask.Path, "mask") : null;

    /// <summary>The consumers of <paramref name="proc"/>'s kind (or the nearest kind it derives from); none for a
    /// kind that has no consumers of its own.</summary>
    public static IReadOnlyList<FrameConsumer> For(ProcParams proc, PipelineContext context) =>
        Nearest(proc) is { } kind ? [.. kind.Consumers(proc, context)] : [];

    /// <summary>Where the graph's frame pools live for <paramref name="proc"/>'s kind: the peak finder's driver-pinned
    /// memory when it copies frames to a device; null: the pinned heap.</summary>
    public static IBufferMemory? FrameMemory(ProcParams proc, ReceiverConfig receiver) =>
        Nearest(proc)?.FrameMemory?.Invoke(proc, receiver);

    /// <summary>Checks the blocks of <paramref name="proc"/>'s kind that the proc_params schema leaves open (SMX's
    /// fai, gpu and jfrau), so that a wrong one is refused when it is written, not at Prepare.</summary>
    /// <exception cref="ParamsException">a block cannot be read as its kind's; the error names its field.</exception>
    /// <exception cref="ArgumentException">a value is out of range; the message names its field.</exception>
    public static void Validate(ProcParams proc) => Nearest(proc)?.Validate?.Invoke(proc);

    /// <summary>The kind runs on the OpenCL kernels the receiver builds at its start (SMX's peak finder): a Prepare
    /// waits for them.</summary>
    public static bool UsesKernels(ProcParams proc) => Nearest(proc)?.UsesKernels ?? false;

    private static Kind? Nearest(ProcParams proc)
    {
        for (var kind = proc.GetType(); kind is not null; kind = kind.BaseType)
            if (Kinds.TryGetValue(kind, out var value))
                return value;
        return null;
    }

    private static void Register<TProc>(Func<TProc, PipelineContext, IEnumerable<FrameConsumer>> consumers,
        Func<TProc, ReceiverConfig, IBufferMemory?>? frameMemory = null, Func<TProc, MaskFile?>? maskFile = null,
        Action<TProc>? validate = null, bool usesKernels = false)
        where TProc : ProcParams =>
        Kinds.Add(typeof(TProc), new Kind(
            (proc, context) => consumers((TProc)proc, context),
            frameMemory is null ? null : (proc, receiver) => frameMemory((TProc)proc, receiver),
            maskFile is null ? null : proc => maskFile((TProc)proc),
            validate is null ? null : proc => validate((TProc)proc),
            usesKernels));
}
