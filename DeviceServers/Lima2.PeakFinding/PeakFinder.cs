using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.OpenCL;

namespace Lima2.PeakFinding;

public sealed record PeakFinderOptions
{
    public PeakFinderBackend Backend { get; init; } = PeakFinderBackend.Auto;

    /// <summary>Lima2's <c>gpu</c> block: platform and device index, CPU fallback.</summary>
    public GpuParams Gpu { get; init; } = new();

    /// <summary>Frames whose kernels run at once on the OpenCL device (one queue each); 0 = 1 on CPUs, 3 on GPUs.</summary>
    public int Queues { get; init; }

    /// <summary>
    /// Frames each queue holds at once (its copy, kernels and read-back overlapping those of the others: double or
    /// triple buffering); 0 = 2 on CPUs, 3 on GPUs. Bounds the device and host memory in flight.
    /// </summary>
    public int FramesInFlight { get; init; }

    /// <summary>Where compiled OpenCL programs are kept; null = <see cref="ClProgram.DefaultCacheDirectory"/>.</summary>
    public string? ProgramCache { get; init; }

    /// <summary>Time every OpenCL command on the device (<see cref="PeakFinder.Profile"/>); costs a little.</summary>
    public bool Profiling { get; init; }

    /// <summary>
    /// Copy every frame into a device buffer even where the device could read host memory in place (CPU devices):
    /// the path a discrete GPU takes, so that it runs on PoCL in tests and in the bench.
    /// </summary>
    public bool CopyToDevice { get; init; }
}

/// <summary>
/// The Bragg-peak finder of one acquisition: set up once (geometry, mask, calibration, <c>fai</c> parameters,
/// device), then <see cref="Process"/> per frame gives the peaks, the hit decision and the sparse frame.
/// </summary>
/// <remarks>
/// Thread safety: <see cref="Process"/> may be called from several threads at once (the receiver's processing
/// threads), and <see cref="ProcessAsync"/> keeps several frames in flight from one thread; the OpenCL engine holds up to
/// <see cref="PeakFinderOptions.Queues"/> × <see cref="PeakFinderOptions.FramesInFlight"/> frames, the C# engine
/// computes as many as there are callers. Accumulated frames are published on the frame that completes each
/// acc_nb_frames_xfer period; with concurrent callers, a frame processed at the same time as the publishing one
/// counts in that period or the next, never twice and never lost.
/// </remarks>
public sealed class PeakFinder : IDisposable
{
    private readonly IPeakEngine _engine;
    private readonly object _accLock = new();
    private readonly float[]? _accCorrected, _accPeaks;
    private long _processed, _hits;
    private int _disposed;

    private PeakFinder(PeakFinderModel model, IPeakEngine engine, ClDevice? device)
    {
        Model = model;
        _engine = engine;
        Device = device;
        if (model.Params.AccNbFramesXfer > 0)
        {
            _accCorrected = new float[model.PixelCount];
            _accPeaks = new float[model.PixelCount];
        }
    }

    public PeakFinderModel Model { get; }

    /// <summary>The OpenCL device in use; null for the C# reference.</summary>
    public ClDevice? Device { get; }

    /// <summary>What runs the algorithm, for logs.</summary>
    public string Description => _engine.Description;

    public long FramesProcessed => Interlocked.Read(ref _processed);

    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Device time per OpenCL command (total, count) since creation, with <see cref="PeakFinderOptions.Profiling"/>.</summary>
    public IReadOnlyDictionary<string, (TimeSpan Total, long Count)> Profile =>
        (_engine as OpenClEngine)?.Profile ?? new Dictionary<string, (TimeSpan, long)>();

    /// <summary>Creates the finder for frames of <paramref name="pixelType"/>.</summary>
    /// <exception cref="OpenClException">OpenCL was required and no device could be used.</exception>
    public static PeakFinder Create(PeakFinderModel model, PixelType pixelType, PeakFinderOptions? options = null)
    {
        options ??= new PeakFinderOptions();
        if (SelectDevice(options) is not { } device)
            return new PeakFinder(model, new ReferenceEngine(model), null);
        var queues = options.Queues > 0 ? options.Queues : device.IsCpu ? 1 : 3;
        var inFlight = options.FramesInFlight > 0 ? options.FramesInFlight : device.IsCpu ? 2 : 3;
        var engine = new OpenClEngine(model, pixelType, device, queues, inFlight, options.ProgramCache ?? ClProgram.DefaultCacheDirectory,
            options.Profiling, CopiesFrames(device, options));
        return new PeakFinder(model, engine, device);
    }

    /// <summary>
    /// Where the frames of a finder made with <paramref name="options"/> are best kept: the device's driver-pinned
    /// memory when the finder copies frames to it (a GPU, or <see cref="PeakFinderOptions.CopyToDevice"/>), else
    /// null (the pinned managed heap: a CPU device reads frames in place, the C# reference reads them directly).
    /// </summary>
    /// <exception cref="OpenClException">OpenCL was required and no device could be used.</exception>
    public static DevicePinnedMemory? FrameMemory(PeakFinderOptions options) =>
        SelectDevice(options) is { } device && CopiesFrames(device, options) ? DevicePinnedMemory.For(device) : null;

    /// <summary>The OpenCL device the options select; null for the C# reference.</summary>
    private static ClDevice? SelectDevice(PeakFinderOptions options)
    {
        if (options.Backend == PeakFinderBackend.Reference)
            return null;
        try
        {
            return ClDevice.Select(options.Gpu.PlatformIdx, options.Gpu.DeviceIdx, options.Gpu.OclCpuFallbackEnabled);
        }
        catch (OpenClException) when (options.Backend == PeakFinderBackend.Auto)
        {
            return null;
        }
    }

    private static bool CopiesFrames(ClDevice device, PeakFinderOptions options) => options.CopyToDevice || !device.HostUnifiedMemory;

    /// <summary>
    /// Builds the OpenCL program for frames of each pixel type on <paramref name="device"/>, or loads it from the
    /// binary cache, and keeps it for the process: a later <see cref="Create"/> for those types on that device
    /// finds it built. Seconds from source on PoCL, milliseconds from the cache.
    /// </summary>
    /// <exception cref="OpenClException">the device could not build the program.</exception>
    public static void WarmUp(ClDevice device, IEnumerable<PixelType> pixelTypes, string? programCache = null)
    {
        var context = ClRuntime.Context(device);
        foreach (var type in pixelTypes)
            ClRuntime.Program(context, KernelSource.PeakFinder, OpenClEngine.BuildOptions(type, device),
                programCache ?? ClProgram.DefaultCacheDirectory);
    }

    /// <summary>Finds the peaks of one frame and waits for them. The frame stays owned by the caller.</summary>
    /// <exception cref="ArgumentException">the frame's shape or pixel type is not the one set up.</exception>
    public PeakFrameResult Process(Frame frame) => ProcessAsync(frame).GetAwaiter().GetResult();

    /// <summary>
    /// Starts one frame: returns once the frame is queued on the device (waiting while
    /// <see cref="PeakFinderOptions.Queues"/> × <see cref="PeakFinderOptions.FramesInFlight"/> frames are in flight),
    /// with a task that ends when its results are back. The caller keeps its frame: the finder holds a reference of
    /// its own until then. The C# reference computes the frame before returning.
    /// </summary>
    /// <exception cref="ArgumentException">the frame's shape or pixel type is not the one set up.</exception>
    public Task<PeakFrameResult> ProcessAsync(Frame frame)
    {
        var accumulate = _accCorrected is not null;
        var (index, receiverIndex) = (frame.Index, frame.ReceiverIndex);
        // the caller's continuations run on the thread pool, never on the engine's read-back thread
        var result = new TaskCompletionSource<PeakFrameResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _engine.Submit(frame, accumulate).ContinueWith(engine =>
        {
            try
            {
                result.SetResult(Finish(engine.GetAwaiter().GetResult(), index, receiverIndex, accumulate));
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return result.Task;
    }

    /// <summary>The hit decision and the accumulation of one frame whose engine results are back.</summary>
    private PeakFrameResult Finish(EngineOutput o, long frameIndex, long receiverIndex, bool accumulate)
    {
        var p = Model.Params;
        var hit = o.NbPeaks >= p.MinNbPeaks;
        var n = Interlocked.Increment(ref _processed);
        if (hit) Interlocked.Increment(ref _hits);
        float[]? accCorrected = null, accPeaks = null;
        if (accumulate && n % p.AccNbFramesXfer == 0)
        {
            lock (_accLock)
            {
                _engine.DrainAccumulated(_accCorrected!, _accPeaks!);
                accCorrected = (float[])_accCorrected!.Clone();
                accPeaks = (float[])_accPeaks!.Clone();
                if (p.AccNbFramesReset > 0 && n % p.AccNbFramesReset == 0)
                {
                    Array.Clear(_accCorrected!);
                    Array.Clear(_accPeaks!);
                }
            }
        }
        return new PeakFrameResult
        {
            FrameIndex = frameIndex,
            ReceiverIndex = receiverIndex,
            Peaks = o.Peaks,
            NbPeaks = o.NbPeaks,
            IsHit = hit,
            KeepDense = hit || !p.DenseSkipNohits,
            Sparse = new SparseFrame(Model.Width, Model.Height, frameIndex, o.SparseIndex, o.SparseIntensity, o.BackgroundAvg, o.BackgroundStd),
            AccumulatedCorrected = accCorrected,
            AccumulatedPeaks = accPeaks,
        };
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            _engine.Dispose();
    }
}
