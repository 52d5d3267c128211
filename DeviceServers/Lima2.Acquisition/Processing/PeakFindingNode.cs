using System.Text.Json;
using Lima2.Acquisition.Saving;
using Lima2.Core.Frames;
using Lima2.Core.IO;
using Lima2.Core.Parameters;
using Lima2.Core.Pipeline;
using Lima2.Detectors.Simulator;
using Lima2.Hdf5;
using Lima2.PeakFinding;
using Lima2.Protocol;

namespace Lima2.Acquisition.Processing;

/// <summary>
/// The SMX branch of a receiver's graph: Bragg peaks of every frame (pyFAI's sigma clipping and peakfinder8 via
/// <see cref="PeakFinder"/>), peak counters for <c>popPeakCounters</c>, the last sparse frames for
/// <c>getSparseFrame</c>, the latest accumulated corrected and peak frames, and their saving channels
/// (<c>saving_sparse</c>, <c>saving_accumulation_corrected</c>, <c>saving_accumulation_peak</c>).
/// </summary>
/// <remarks>
/// Compute only starts a frame on the finder (<see cref="PeakFinder.ProcessAsync"/>, which waits while the device holds
/// as many frames as it may) and the ordered commit waits for its results, so the frames between the two are the
/// device's frames in flight. On a device the finder copies frames to, the graph keeps frames in that device's
/// driver-pinned memory (<see cref="FrameMemory"/>).
/// </remarks>
public sealed class PeakFindingNode : FrameConsumer<Task<PeakFrameResult>>, IDisposable
{
    private readonly PeakFinder _finder;
    private readonly Hdf5PeakResultWriter _writer;
    private readonly int _parallelism;
    private readonly Queue<SparseFrame> _sparse = new();
    private readonly int _sparseCapacity;
    private readonly Lock _lock = new();
    private long _frames;
    private long _hits;
    private long _peaks;
    private int _lastPeaks;
    private (long FrameIndex, Peak[] Peaks) _latestPeaks = (-1, []);
    private PeakFrameResult? _lastAccumulation;

    private PeakFindingNode(PeakFinder finder, Hdf5PeakResultWriter writer, int sparseFrames, int peakCounterFrames, int parallelism)
        : base("peak_finding")
    {
        _finder = finder;
        _writer = writer;
        _sparseCapacity = Math.Max(1, sparseFrames);
        _parallelism = Math.Max(1, parallelism);
        Counters = new ReducedDataBuffer<PeakCounterRecord>(Math.Max(1, peakCounterFrames));
    }

    /// <summary>The finder's mask file (<c>fai.mask_path</c>, 1 = masked), or null.</summary>
    public static string? MaskPath(SmxProcParams proc) => ParseBlock<FaiParams>(proc.Fai, "fai", FaiParams.Json).MaskPath;

    /// <summary>The finder for an SMX proc_params on frames of <paramref name="frame"/>'s geometry.</summary>
    /// <param name="config">the receiver's <c>peak_finder</c> backend (auto: OpenCL if a device is found, else C#)
    /// and <c>peak_finder_copies_frames</c></param>
    /// <param name="root">saving root of the receiver; the sparse and accumulation files go under it</param>
    /// <param name="images">the reader of the fai and jfrau arrays (under the receiver's reference root)</param>
    /// <param name="rank">this receiver's index, the files' <c>filename_rank</c></param>
    /// <param name="metadata">the channel's detector facts: distance, pixel size and beam centre give the geometry
    /// when <c>fai.radius2d_path</c> does not (SMX has no step that moves pixels, so they hold for the finder's frames)</param>
    public static PeakFindingNode Create(SmxProcParams proc, FrameInfo frame, ReceiverConfig config, SavingRoot root,
        ReferenceImages images, int rank, DetectorMetadata? metadata = null)
    {
        var fai = ParseBlock<FaiParams>(proc.Fai, "fai", FaiParams.Json).Validated();
        var jungfrau = ParseBlock<JungfrauParams>(proc.Jfrau, "jfrau", FaiParams.Json);
        var model = PeakFinderModel.Load(frame.Width, frame.Height, fai,
            Geometry.FromMetadata(metadata) ?? SimulatorGeometry(frame), jungfrau,
            images: images);
        var finder = PeakFinder.Create(model, frame.PixelType, FinderOptions(proc, config));
        // Begin creates the first file of each enabled channel: a bad path or an existing file fails at Prepare.
        var writer = new Hdf5PeakResultWriter(PeakSavingChannels.Of(proc, rank), root);
        try
        {
            writer.Begin(SparseLayout.Of(model));
        }
        catch
        {
            writer.Dispose();
            finder.Dispose();
            throw;
        }
        return new PeakFindingNode(finder, writer, proc.Buffers.NbSparseFramesBuffer, proc.Buffers.NbPeakCountersBuffer,
            proc.Fifo.NbThreads);
    }

    /// <summary>
    /// Where the graph should keep frames for this finder: its OpenCL device's driver-pinned memory when it copies
    /// frames there (a GPU), else null (the pinned managed heap).
    /// </summary>
    public static IBufferMemory? FrameMemory(SmxProcParams proc, ReceiverConfig config) =>
        PeakFinder.FrameMemory(FinderOptions(proc, config));

    private static PeakFinderOptions FinderOptions(SmxProcParams proc, ReceiverConfig config) => new()
    {
        Backend = config.PeakFinder,
        Gpu = ParseBlock<GpuParams>(proc.Gpu, "gpu", FaiParams.Json),
        CopyToDevice = config.PeakFinderCopiesFrames,
    };

    /// <summary>Validates the SMX blocks a proc_params carries, naming the field at fault.</summary>
    public static void Validate(SmxProcParams proc)
    {
        ParseBlock<FaiParams>(proc.Fai, "fai", FaiParams.Json).Validated();
        ParseBlock<GpuParams>(proc.Gpu, "gpu", FaiParams.Json);
        ParseBlock<JungfrauParams>(proc.Jfrau, "jfrau", FaiParams.Json);
    }

    /// <summary>
    /// The geometry used when neither <c>fai.radius2d_path</c> nor the channel gives one: the simulator's set-up with
    /// the beam at the frame's centre, its default.
    /// </summary>
    private static Geometry SimulatorGeometry(FrameInfo frame)
    {
        const double pixel = FrameGenerator.PixelSize;
        return new Geometry(Distance: DiffractionGenerator.Distance, Poni1: frame.Height / 2.0 * pixel, Poni2: frame.Width / 2.0 * pixel,
            Rot1: 0, Rot2: 0, Rot3: 0, PixelSize1: pixel, PixelSize2: pixel);
    }

    private static T ParseBlock<T>(JsonElement block, string name, JsonSerializerOptions options) where T : new()
    {
        if (block.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            return new T();
        try
        {
            return block.Deserialize<T>(options) ?? new T();
        }
        catch (JsonException e)
        {
            throw new ParamsException([new ParamsError($"proc.{name}{(e.Path is { Length: > 1 } p ? p.TrimStart('$') : "")}",
                e.Message.Split(". ")[0])]);
        }
    }

    public string Description => _finder.Description;

    /// <summary>What stays fixed during the run: the radius map, mask and radial bins.</summary>
    public PeakFinderModel Model => _finder.Model;

    /// <summary>The sparse and accumulation files created so far.</summary>
    public IReadOnlyList<string> Files => _writer.Files;

    /// <summary>The sparse files (<c>saving_sparse</c>) created so far: each frame's peak table is in one of them.</summary>
    public IReadOnlyList<string> SparseFiles => _writer.SparseFiles;

    /// <summary>fai.min_nb_peaks: a frame with at least this many peaks is a hit.</summary>
    public int MinNbPeaks => _finder.Model.Params.MinNbPeaks;

    /// <summary>fai.dense_skip_nohits: the dense saving keeps the hits only (see <see cref="DenseHits"/>).</summary>
    public bool DenseSkipNohits => _finder.Model.Params.DenseSkipNohits;

    public ReducedDataBuffer<PeakCounterRecord> Counters { get; }

    public long Frames => Interlocked.Read(ref _frames);

    public long Hits => Interlocked.Read(ref _hits);

    public long TotalPeaks => Interlocked.Read(ref _peaks);

    public int LastPeaks => Volatile.Read(ref _lastPeaks);

    /// <summary>The peaks of the newest frame searched (the live view marks them), frame -1 before the first.</summary>
    public (long FrameIndex, Peak[] Peaks) LatestPeaks
    {
        get
        {
            lock (_lock)
                return _latestPeaks;
        }
    }

    public double HitRate => Frames == 0 ? 0 : (double)Hits / Frames;

    public override int MaxDegreeOfParallelism => _parallelism;

    public override Task<PeakFrameResult> Compute(Frame frame) => _finder.ProcessAsync(frame);

    /// <summary>Raised at each frame's commit, in receiver order, with its result (the re-publisher sends it with the frame).</summary>
    public event Action<Frame, PeakFrameResult>? Committed;

    public override async ValueTask CommitAsync(Frame frame, Task<PeakFrameResult> pending, CancellationToken cancellationToken)
    {
        var result = await pending.ConfigureAwait(false);
        Counters.Push([new PeakCounterRecord((int)frame.Index, (int)frame.ReceiverIndex, result.NbPeaks)]);
        lock (_lock)
        {
            _sparse.Enqueue(result.Sparse);
            if (_sparse.Count > _sparseCapacity)
                _sparse.Dequeue();
            if (result.AccumulatedCorrected is not null)
                _lastAccumulation = result;
            _latestPeaks = (frame.Index, result.Peaks);
        }
        Interlocked.Increment(ref _frames);
        Interlocked.Add(ref _peaks, result.NbPeaks);
        if (result.IsHit)
            Interlocked.Increment(ref _hits);
        Volatile.Write(ref _lastPeaks, result.NbPeaks);
        _writer.Write(result);
        Committed?.Invoke(frame, result);
    }

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        _writer.Complete();
        return default;
    }

    /// <summary>The sparse frame of global index <paramref name="index"/> (-1: the newest), if still kept.</summary>
    public SparseFrame? Sparse(long index)
    {
        lock (_lock)
            return index < 0 ? _sparse.LastOrDefault() : _sparse.FirstOrDefault(s => s.FrameIndex == index);
    }

    /// <summary>The latest accumulation (corrected and peaks frames) and the frame that ended it.</summary>
    public PeakFrameResult? LastAccumulation
    {
        get
        {
            lock (_lock)
                return _lastAccumulation;
        }
    }

    public int Width => _finder.Model.Width;

    public int Height => _finder.Model.Height;

    public void Dispose()
    {
        _writer.Dispose();
        _finder.Dispose();
    }
}
