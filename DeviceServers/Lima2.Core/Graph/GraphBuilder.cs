using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Core.Processing;

namespace Lima2.Core.Graph;

/// <summary>What a graph built from proc_params needs from outside the core.</summary>
public sealed record GraphParts
{
    /// <summary>
    /// Makes the sink of an enabled saving channel (e.g. the HDF5 writer): channel name (<c>saving</c>,
    /// <c>saving_dense</c>), its parameters, and the geometry of the frames it will get; the sink carries the channel
    /// name, under which the graph counts the frames it saved. Null: saving channels are left out.
    /// </summary>
    public Func<string, SavingParams, FrameInfo, FrameConsumer>? SinkFactory { get; init; }

    /// <summary>More branches (peak finding, live view, ...), given the geometry of the processed frames.</summary>
    public Func<FrameInfo, IReadOnlyList<FrameConsumer>>? ExtraConsumers { get; init; }

    /// <summary>
    /// Readers of the mask, flat-field and background files (.npy built in; Lima2.Hdf5's
    /// <c>Hdf5ReferenceImageReader.Images</c> adds HDF5 datasets).
    /// </summary>
    public ReferenceImages ReferenceImages { get; init; } = ReferenceImages.Default;

    /// <summary>
    /// Keep the last proc_params buffers.nb_frames_buffer processed frames for getters (<see cref="FrameHistory"/>),
    /// at most a quarter of the frame pool.
    /// </summary>
    public bool KeepFrames { get; init; }

    /// <summary>
    /// Keep the last proc_params buffers.nb_input_frames_buffer input frames, as they were before the steps that change
    /// them (<see cref="InputFrameHistory"/>), at most a quarter of the frame pool. Nothing is kept when no step changes
    /// the frames: the processed frames are the input frames then.
    /// </summary>
    public bool KeepInputFrames { get; init; }

    /// <summary>An input pool shared with the channel; null = the graph makes one within its memory cap.</summary>
    public FramePool? InputPool { get; init; }

    /// <summary>
    /// Where the pools the graph makes keep frames (input and re-shaped): the memory a consumer's device copies from
    /// fastest, e.g. a GPU peak finder's driver-pinned memory; null = the pinned managed heap.
    /// </summary>
    public IBufferMemory? FrameMemory { get; init; }
}

/// <summary>
/// Builds a receiver's <see cref="FrameGraph"/> from its proc_params: the graph's shape is data. Steps, in order:
/// checkpoint <c>input</c> → input frame history (if asked) → background → flatfield → mask → roi_flip_rot; branches: roi_statistics, roi_profiles,
/// accumulation, frame history (if asked), one sink per enabled dense saving channel, then the extra consumers.
/// </summary>
public static class GraphBuilder
{
    /// <summary>Share of the memory cap given to re-shaped frames when roi_flip_rot is on.</summary>
    private const double ReshapedShare = 1.0 / 3;

    /// <param name="proc">a validated proc_params (see <see cref="ProcParamsValidator"/>)</param>
    /// <param name="input">geometry of the channel's frames</param>
    /// <param name="policy">overload policy of the run</param>
    /// <param name="memoryCapBytes">most bytes of frames the graph holds</param>
    /// <param name="parts">sinks and extra consumers</param>
    /// <exception cref="ParamsException">a mask, flat field or background cannot be read or has the wrong shape.</exception>
    public static FrameGraph Build(ProcParams proc, FrameInfo input, OverloadPolicy policy, long memoryCapBytes,
        GraphParts? parts = null)
    {
        parts ??= new GraphParts();
        var options = new GraphOptions
        {
            Policy = policy,
            MemoryCapBytes = memoryCapBytes,
            EntryCapacity = proc.Fifo.NbFifoFrames,
            Parallelism = proc.Fifo.NbThreads,
            FrameMemory = parts.FrameMemory,
        };
        var threads = proc.Fifo.NbThreads;
        var transforms = new List<IFrameTransform> { new CheckpointTransform("input", input) };
        var consumers = new List<FrameConsumer>();
        FramePool? reshapedPool = null;
        var frame = input;
        byte[]? mask = null;

        if (proc.Corrections() is { } corrections)
        {
            if (corrections.Background.Enabled)
                transforms.Add(new BackgroundTransform(frame, Load(parts, corrections.Background, "background", frame)));
            if (corrections.Flatfield.Enabled)
                transforms.Add(new FlatfieldTransform(frame, Load(parts, corrections.Flatfield, "flatfield", frame)));
            if (corrections.Mask.Enabled)
            {
                mask = Load(parts, corrections.Mask, "mask", frame).Select(v => v != 0 ? (byte)1 : (byte)0).ToArray();
                transforms.Add(new MaskTransform(frame, mask));
            }
        }
        if (proc.FrameReshaping() is { Enabled: true } reshaping)
        {
            var share = (long)(memoryCapBytes * ReshapedShare);
            var reshaped = RoiFlipRotTransform.OutputInfo(frame, reshaping);
            reshapedPool = new FramePool(reshaped.ByteSize, Math.Max(share, reshaped.ByteSize), parts.FrameMemory);
            options = options with { MemoryCapBytes = Math.Max(memoryCapBytes - share, input.ByteSize) };
            var geometry = new RoiFlipRotTransform(frame, reshaping, reshapedPool);
            transforms.Add(geometry);
            if (mask is not null)
                mask = geometry.MapMask(mask);
            frame = geometry.Output;
        }
        if (proc is FailingProcParams)
            transforms.Add(new FailingTransform(frame));
        if (parts.KeepInputFrames && transforms.Count > 1)
        {
            var capacity = Math.Min(proc.Buffers.NbInputFramesBuffer,
                Math.Max(1, (int)Math.Min(int.MaxValue, options.MemoryCapBytes / input.ByteSize / 4)));
            var share = InputFrameHistory.BufferBytes(input, capacity);
            options = options with { MemoryCapBytes = Math.Max(options.MemoryCapBytes - share, input.ByteSize) };
            transforms.Insert(1, new InputFrameHistory(input, capacity)); // right after the input checkpoint, before any step changes the frame
        }

        if (proc.Statistics is { Enabled: true } statistics && statistics.RectRois.Count + statistics.ArcRois.Count > 0)
            consumers.Add(RoiStatisticsNode.FromParams(statistics, frame, mask, proc.Buffers.NbRoiStatisticsBuffer, threads));
        if (proc.Profiles is { Enabled: true } profiles && profiles.Rois.Count > 0)
            consumers.Add(new RoiProfilesNode(profiles.Rois, profiles.Directions, frame, mask,
                proc.Buffers.NbRoiProfilesBuffer, threads));
        if (proc.FrameAccumulation() is { Enabled: true } accumulation)
            consumers.Add(new AccumulationNode(frame, accumulation.NbFrames));
        if (parts.KeepFrames)
        {
            var poolCapacity = reshapedPool?.Capacity
                               ?? parts.InputPool?.Capacity
                               ?? (int)Math.Min(int.MaxValue, options.MemoryCapBytes / input.ByteSize);
            consumers.Add(new FrameHistory(Math.Min(proc.Buffers.NbFramesBuffer, Math.Max(1, poolCapacity / 4))));
        }
        if (parts.SinkFactory is { } makeSink)
            foreach (var channel in proc.DenseSavingChannels())
                if (channel.Params.Enabled)
                    consumers.Add(makeSink(channel.Name, channel.Params, frame));
        if (parts.ExtraConsumers is { } extras)
            consumers.AddRange(extras(frame));

        var graph = new FrameGraph(input, transforms, consumers, options, parts.InputPool);
        if (reshapedPool is not null)
            graph.AddPool(reshapedPool);
        return graph;
    }

    /// <summary>Reads a correction image; what is wrong with it becomes an error on its <c>path</c> field.</summary>
    private static double[] Load(GraphParts parts, ReferenceImage image, string what, FrameInfo frame)
    {
        try
        {
            return parts.ReferenceImages.Read(image.Path, what, frame.Width, frame.Height);
        }
        catch (ReferenceImageException e)
        {
            throw new ParamsException([new ParamsError($"{ProcParamsDocument.Root}.{what}.path", e.Reason)]);
        }
    }
}
