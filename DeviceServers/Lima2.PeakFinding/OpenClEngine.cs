using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.OpenCL;

namespace Lima2.PeakFinding;

/// <summary>
/// The algorithm on an OpenCL device. Constant arrays live on the device once. Each <see cref="Slot"/> has a compute
/// queue with its kernels and scratch buffers, a copy queue and a read-back queue; each of its <see cref="Stage"/>s
/// holds one frame in flight (its image and result buffers), so that the copy of frame n+1 runs while the kernels of
/// frame n do (the first command of a frame waits for its copy's event) and results come back on the slot's
/// completion thread. <see cref="Submit"/> waits while every stage is busy: frames in flight, and the memory they hold,
/// are bounded by slots × stages. On host-unified devices (CPUs) the frame is read in place unless copies are asked for.
/// </summary>
internal sealed unsafe class OpenClEngine : IPeakEngine
{
    private readonly PeakFinderModel _model;
    private readonly PixelType _type;
    private readonly ClContext _context;
    private readonly ClProgram _program;
    private readonly ClBuffer _binPixels, _binStart, _backgroundPosition;
    private readonly List<ClBuffer> _constants = new();
    private readonly BlockingCollection<Stage> _free;
    private readonly List<Slot> _slots = new();
    private readonly int _clipLocal;
    private int _disposed;

    /// <summary>The corrections per pixel (background) and per valid pixel in bin order (preprocess_sorted).</summary>
    private readonly PixelCorrections _corrections, _sortedCorrections;

    private readonly bool _profiling;

    /// <summary>Frames are copied into a device buffer (else the kernels read them in place: host-unified devices).</summary>
    private readonly bool _copyFrames;

    private readonly ConcurrentDictionary<string, (TimeSpan Total, long Count)> _profile = new();

    /// <param name="slots">queues, each running the kernels of one frame at a time</param>
    /// <param name="framesInFlight">frames each queue holds at once (copy, kernels, read-back)</param>
    public OpenClEngine(PeakFinderModel model, PixelType pixelType, ClDevice device, int slots, int framesInFlight,
        string? cacheDirectory, bool profiling, bool copyFrames)
    {
        _profiling = profiling;
        _copyFrames = copyFrames;
        if (model.Calibration.Jungfrau is not null && pixelType != PixelType.Gray16)
            throw new ArgumentException($"Jungfrau correction needs gray16 frames, not {pixelType.ToLimaName()}");
        _model = model;
        _type = pixelType;
        _context = ClRuntime.Context(device);
        _program = ClRuntime.Program(_context, KernelSource.PeakFinder, BuildOptions(pixelType, device), cacheDirectory);
        var calibration = model.Calibration;
        var parameters = model.Params;
        ClBuffer Upload<T>(T[]? data) where T : unmanaged
        {
            var buffer = _context.CreateBuffer<T>(data?.Length ?? 1, ClMemFlags.ReadOnly);
            if (data is not null)
                ClRuntime.Upload(_context, buffer, data);
            _constants.Add(buffer);
            return buffer;
        }
        _binPixels = Upload(model.BinPixels);
        _binStart = Upload(model.BinStart);
        _backgroundPosition = Upload(model.BackgroundPosition);
        var variance = parameters.ErrorModel == ErrorModel.Variance ? calibration.Variance : null;
        float[]? InBinOrder(float[]? values) => values is null ? null : Array.ConvertAll(model.BinPixels, p => values[p]);
        var gain = Upload(calibration.Jungfrau?.Gain);
        var pedestal = Upload(calibration.Jungfrau?.Pedestal);
        var invPhoton = calibration.Jungfrau is { PhotonEnergy: > 0 } jungfrau ? (float)(1 / jungfrau.PhotonEnergy) : 1f;
        var flags = Flags(model);
        _corrections = new PixelCorrections(Upload(model.Omega), Upload(calibration.Dark), Upload(calibration.DarkVariance),
            Upload(variance), gain, pedestal, invPhoton, (float)(parameters.Dummy ?? 0), (float)parameters.DeltaDummy, flags);
        _sortedCorrections = _corrections with
        {
            Omega = Upload(InBinOrder(model.Omega)),
            Dark = Upload(InBinOrder(calibration.Dark)),
            DarkVariance = Upload(InBinOrder(calibration.DarkVariance)),
            Variance = Upload(InBinOrder(variance)),
        };
        using (var clip = _program.CreateKernel("sigma_clip"))
            _clipLocal = device.IsCpu ? 1 : PowerOfTwoBelow(Math.Min(128, clip.MaxWorkGroupSize)); // CPUs: one bin per core, no barriers
        Device = device;
        FramesInFlight = Math.Max(1, framesInFlight);
        _free = new BlockingCollection<Stage>(new ConcurrentQueue<Stage>());
        for (var i = 0; i < Math.Max(1, slots); i++)
        {
            var slot = new Slot(this);
            _slots.Add(slot);
            for (var k = 0; k < FramesInFlight; k++)
                _free.Add(slot.AddStage());
        }
    }

    /// <summary>Frames each queue holds at once.</summary>
    public int FramesInFlight { get; }

    public ClDevice Device { get; }

    public IReadOnlyDictionary<string, (TimeSpan Total, long Count)> Profile => _profile;

    private void Record(string name, TimeSpan duration) =>
        _profile.AddOrUpdate(name, (duration, 1), (_, t) => (t.Total + duration, t.Count + 1));

    public string Description => $"OpenCL {Device.Name} ({Device.Platform.Name}), {_slots.Count} queue(s) x {FramesInFlight} frames in flight, {(_copyFrames ? "copies frames to the device" : "reads frames in place")}{(_program.FromCache ? ", cached binary" : "")}";

    private static int PowerOfTwoBelow(long n)
    {
        var p = 1;
        while (p * 2 <= n) p *= 2;
        return p;
    }

    /// <summary>Compiler options: only what changes the code (pixel type, double sums); every
    /// parameter is a kernel argument so that changing one never recompiles.</summary>
    internal static string BuildOptions(PixelType type, ClDevice device)
    {
        var options = new List<string> { $"-DPIXEL_T={ClType(type, device)}", "-cl-fp32-correctly-rounded-divide-sqrt" };
        if (device.SupportsDouble) options.Add("-DACC_DOUBLE");
        return string.Join(' ', options);
    }

    /// <summary>The kernels' <c>flags</c> argument: FLAG_* in peakfinder.cl, same values.</summary>
    [Flags]
    private enum KernelFlags
    {
        None = 0,
        Dark = 1,
        DarkVariance = 2,
        Variance = 4,
        Dummy = 8,

        /// <summary>pyFAI 0.21.3 rules.</summary>
        Legacy = 16,
        Jungfrau = 32,
    }

    private static KernelFlags Flags(PeakFinderModel model)
    {
        var parameters = model.Params;
        var calibration = model.Calibration;
        var flags = KernelFlags.None;
        if (calibration.Dark is not null) flags |= KernelFlags.Dark;
        if (calibration.DarkVariance is not null) flags |= KernelFlags.DarkVariance;
        if (parameters.ErrorModel == ErrorModel.Variance) flags |= KernelFlags.Variance;
        if (parameters.Dummy is not null) flags |= KernelFlags.Dummy;
        if (parameters.Pyfai0213Compat) flags |= KernelFlags.Legacy;
        if (calibration.Jungfrau is not null) flags |= KernelFlags.Jungfrau;
        return flags;
    }

    /// <summary>The kernels' <c>model</c> argument of sigma_clip.</summary>
    private static int ModelCode(ErrorModel model) => model switch { ErrorModel.Azimuthal => 1, ErrorModel.Hybrid => 2, _ => 0 };

    private static string ClType(PixelType type, ClDevice device) => type switch
    {
        PixelType.Gray8 => "uchar",
        PixelType.Gray8s => "char",
        PixelType.Gray16 => "ushort",
        PixelType.Gray16s => "short",
        PixelType.Gray32 => "uint",
        PixelType.Gray32s => "int",
        PixelType.Gray32f => "float",
        PixelType.Gray64f when device.SupportsDouble => "double",
        _ => throw new NotSupportedException($"{type.ToLimaName()} frames on {device.Name}"),
    };

    public Task<EngineOutput> Submit(Frame frame, bool accumulate)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (frame.Info.Width != _model.Width || frame.Info.Height != _model.Height || frame.Info.Channels != 1)
            throw new ArgumentException($"frame {frame.Index} is {frame.Info}, the peak finder was set up for {_model.Width}x{_model.Height}x1");
        if (frame.Info.PixelType != _type)
            throw new ArgumentException($"frame {frame.Index} is {frame.Info.PixelType.ToLimaName()}, the peak finder was built for {_type.ToLimaName()}");
        var stage = _free.Take(); // back-pressure: every stage holds a frame in flight
        try
        {
            return stage.Slot.Enqueue(stage, frame, accumulate);
        }
        catch
        {
            _free.Add(stage);
            throw;
        }
    }

    public void DrainAccumulated(float[] corrected, float[] peaks)
    {
        var tmp = new float[corrected.Length];
        foreach (var slot in _slots)
            slot.Drain(corrected, peaks, tmp);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        foreach (var slot in _slots)
            slot.Dispose(); // waits for the frames still in flight
        foreach (var b in _constants)
            b.Dispose();
        _free.Dispose();
    }

    /// <summary>
    /// How a raw pixel becomes a corrected one: the arguments preprocess_sorted and background share, in their
    /// order (<c>omega</c> to <c>flags</c>); the arrays are per pixel or, for preprocess_sorted, per valid pixel
    /// in bin order (gain and pedestal always per pixel: they are read with the raw pixel).
    /// </summary>
    private sealed record PixelCorrections(ClBuffer Omega, ClBuffer Dark, ClBuffer DarkVariance, ClBuffer Variance,
        ClBuffer Gain, ClBuffer Pedestal, float InvPhoton, float Dummy, float DeltaDummy, KernelFlags Flags)
    {
        public ClKernelArgs AddTo(ClKernelArgs args) => args.Add(Omega).Add(Dark).Add(DarkVariance).Add(Variance)
            .Add(Gain).Add(Pedestal).Add(InvPhoton).Add(Dummy).Add(DeltaDummy).Add((int)Flags);
    }

    /// <summary>preprocess_sorted: signal, variance and normalisation of each valid pixel, in bin order.</summary>
    private readonly record struct PreprocessArgs(ClBuffer Image, ClBuffer BinPixels, int NbValid, int NbPixels,
        PixelCorrections Corrections, ClBuffer Signal, ClBuffer Variance, ClBuffer Normalization)
    {
        public void SetOn(ClKernel kernel) =>
            Corrections.AddTo(kernel.Args().Add(Image).Add(BinPixels).Add(NbValid).Add(NbPixels))
                .Add(Signal).Add(Variance).Add(Normalization).Done();
    }

    /// <summary>sigma_clip: one work-group per radial bin, clipped mean and std of the bin.</summary>
    private readonly record struct SigmaClipArgs(ClBuffer Signal, ClBuffer Variance, ClBuffer Normalization, ClBuffer BinStart,
        int Cycles, float Cutoff, ErrorModel Model, KernelFlags Flags, ClBuffer Average, ClBuffer Std, int LocalSize, int SumBytes)
    {
        private const int Sums = 7; // NSUMS in peakfinder.cl

        public void SetOn(ClKernel kernel) =>
            kernel.Args().Add(Signal).Add(Variance).Add(Normalization).Add(BinStart).Add(Cycles).Add(Cutoff)
                .Add(ModelCode(Model)).Add((int)Flags).Add(Average).Add(Std)
                .Local((long)Sums * LocalSize * SumBytes).Local(sizeof(int) * (long)LocalSize).Done();
    }

    /// <summary>background: excess signal and its uncertainty per pixel, the sparse pixels and the accumulation.</summary>
    private readonly record struct BackgroundArgs(ClBuffer Image, int NbPixels, PixelCorrections Corrections,
        ClBuffer BackgroundPosition, ClBuffer Average, ClBuffer Std, int NbBins, float Noise, float CutoffPick,
        ClBuffer Excess, ClBuffer Uncertainty, ClBuffer Counters, ClBuffer<int> SparseIndex, ClBuffer SparseSignal,
        bool Accumulate, ClBuffer AccumulatedCorrected, ClBuffer AccumulatedPeaks)
    {
        public void SetOn(ClKernel kernel) =>
            Corrections.AddTo(kernel.Args().Add(Image).Add(NbPixels))
                .Add(BackgroundPosition).Add(Average).Add(Std).Add(NbBins).Add(Noise).Add(CutoffPick)
                .Add(Excess).Add(Uncertainty).Add(Counters).Add((int)SparseIndex.Length).Add(SparseIndex).Add(SparseSignal)
                .Add(Accumulate ? 1 : 0).Add(AccumulatedCorrected).Add(AccumulatedPeaks).Done();
    }

    /// <summary>pick: the local maxima above the cutoff and their centroid, intensity and sigma over the patch.</summary>
    private readonly record struct PickArgs(ClBuffer Excess, ClBuffer Uncertainty, int Height, int Width, float CutoffPick,
        int HalfPatch, int Connected, KernelFlags Flags, ClBuffer Counters, ClBuffer<int> PeakIndex, ClBuffer Peaks)
    {
        public void SetOn(ClKernel kernel) =>
            kernel.Args().Add(Excess).Add(Uncertainty).Add(Height).Add(Width).Add(CutoffPick).Add(HalfPatch).Add(Connected)
                .Add((int)Flags).Add(Counters).Add((int)PeakIndex.Length).Add(PeakIndex).Add(Peaks).Done();
    }

    /// <summary>
    /// One compute queue with its kernels and scratch buffers (used by one frame at a time: the queue is in order), a
    /// copy queue, a read-back queue and the thread that completes its frames in the order they were enqueued.
    /// </summary>
    private sealed class Slot : IDisposable
    {
        private readonly OpenClEngine _engine;
        private readonly ClQueue _queue, _readQueue;
        private readonly ClQueue? _copyQueue;
        private readonly ClKernel _preprocess, _clip, _background, _pick;

        /// <summary>Held while a frame's commands are enqueued, so that two frames' kernel sequences never interleave.</summary>
        private readonly Lock _enqueue = new();

        /// <summary>Per valid pixel in bin order: the preprocessed signal, its variance and normalisation.</summary>
        private readonly ClBuffer<float> _signal, _variance, _normalization;

        /// <summary>Per pixel: the signal above the background and its uncertainty.</summary>
        private readonly ClBuffer<float> _excess, _uncertainty;

        private ClBuffer<float>? _accCorrected, _accPeaks;
        private readonly List<Stage> _stages = new();
        private readonly BlockingCollection<Stage> _enqueued = new(new ConcurrentQueue<Stage>());
        private readonly Thread _completion;

        public Slot(OpenClEngine engine)
        {
            _engine = engine;
            var model = engine._model;
            var context = engine._context;
            _queue = context.CreateQueue(profiling: engine._profiling);
            _readQueue = context.CreateQueue(profiling: engine._profiling);
            if (engine._copyFrames)
                _copyQueue = context.CreateQueue(profiling: engine._profiling);
            _preprocess = engine._program.CreateKernel("preprocess_sorted");
            _clip = engine._program.CreateKernel("sigma_clip");
            _background = engine._program.CreateKernel("background");
            _pick = engine._program.CreateKernel("pick");
            var valid = Math.Max(1, model.BinPixels.Length);
            _signal = context.CreateBuffer<float>(valid);
            _variance = context.CreateBuffer<float>(valid);
            _normalization = context.CreateBuffer<float>(valid);
            _excess = context.CreateBuffer<float>(model.PixelCount);
            _uncertainty = context.CreateBuffer<float>(model.PixelCount);
            _completion = new Thread(CompleteInOrder) { IsBackground = true, Name = "peak finder read-back" };
            _completion.Start();
        }

        public Stage AddStage()
        {
            var stage = new Stage(this, _engine);
            _stages.Add(stage);
            return stage;
        }

        /// <summary>Enqueues the copy, the kernels and the read of the counters of one frame; the task ends when its results are back.</summary>
        public Task<EngineOutput> Enqueue(Stage stage, Frame frame, bool accumulate)
        {
            var engine = _engine;
            var model = engine._model;
            var parameters = model.Params;
            var profiling = engine._profiling;
            stage.Begin(frame.Retain()); // the device reads the frame until its copy (or its kernels) are done
            var result = stage.Completion.Task;
            try
            {
                lock (_enqueue)
                {
                    var pointer = stage.Pin.Pointer;
                    var bytes = (long)model.PixelCount * engine._type.SizeOf();
                    ClEvent? copied = null;
                    ClBuffer image;
                    if (_copyQueue is not null)
                    {
                        copied = _copyQueue.Write(stage.Image!, pointer, bytes, blocking: false, wantEvent: true);
                        _copyQueue.Flush();
                        stage.Events.Add(("write image", copied));
                        image = stage.Image!;
                    }
                    else
                        image = stage.HostView = engine._context.CreateBufferOver(pointer, bytes);
                    if (accumulate && _accCorrected is null)
                    {
                        _accCorrected = engine._context.CreateBuffer<float>(model.PixelCount);
                        _accPeaks = engine._context.CreateBuffer<float>(model.PixelCount);
                        _queue.Fill(_accCorrected, 0f);
                        _queue.Fill(_accPeaks!, 0f);
                    }
                    _queue.Fill(stage.Counters, 0, after: [copied]); // every later command of the in-order queue waits for the copy
                    var valid = model.BinPixels.Length;
                    if (valid > 0)
                    {
                        new PreprocessArgs(image, engine._binPixels, valid, model.PixelCount, engine._sortedCorrections,
                            _signal, _variance, _normalization).SetOn(_preprocess);
                        stage.Events.Add((_preprocess.Name, _queue.Run(_preprocess, [valid], wantEvent: profiling)));
                    }
                    var local = engine._clipLocal;
                    new SigmaClipArgs(_signal, _variance, _normalization, engine._binStart, parameters.Cycle, (float)parameters.CutoffClip,
                        parameters.ErrorModel, engine._corrections.Flags, stage.Average, stage.Std, local,
                        SumBytes: engine.Device.SupportsDouble ? sizeof(double) : sizeof(float)).SetOn(_clip);
                    stage.Events.Add((_clip.Name, _queue.Run(_clip, [(long)model.NbBins * local], [local], wantEvent: profiling)));
                    EnqueuePick(stage, image, accumulate);
                    stage.CountsRead = _queue.Read(stage.Counters, stage.Counts, 2 * sizeof(int), blocking: false, wantEvent: true);
                    _queue.Flush();
                    _enqueued.Add(stage);
                }
            }
            catch
            {
                Settle();
                stage.End();
                throw;
            }
            return result;
        }

        /// <summary>After a failed enqueue: waits for what was enqueued, so that nothing reads the frame once it is let go.
        /// Errors are left out: the enqueue's own error is the one thrown.</summary>
        private void Settle()
        {
            try
            {
                _copyQueue?.Finish();
                _queue.Finish();
            }
            catch (OpenClException)
            {
            }
        }

        private void EnqueuePick(Stage stage, ClBuffer image, bool accumulate)
        {
            var engine = _engine;
            var model = engine._model;
            var parameters = model.Params;
            new BackgroundArgs(image, model.PixelCount, engine._corrections, engine._backgroundPosition, stage.Average, stage.Std,
                model.NbBins, (float)parameters.Noise, (float)parameters.CutoffPick, _excess, _uncertainty, stage.Counters,
                stage.SparseIndex, stage.SparseSignal, accumulate, _accCorrected ?? _excess, _accPeaks ?? _excess).SetOn(_background);
            stage.Events.Add((_background.Name, _queue.Run(_background, [model.PixelCount], wantEvent: engine._profiling)));
            new PickArgs(_excess, _uncertainty, model.Height, model.Width, (float)parameters.CutoffPick, parameters.PatchSize / 2,
                parameters.Connected, engine._corrections.Flags, stage.Counters, stage.PeakIndex, stage.Peaks).SetOn(_pick);
            stage.Events.Add((_pick.Name, _queue.Run(_pick, [model.Width, model.Height], wantEvent: engine._profiling)));
        }

        /// <summary>The completion thread: waits for each frame's counters, reads its results back, frees its stage.</summary>
        private void CompleteInOrder()
        {
            foreach (var stage in _enqueued.GetConsumingEnumerable())
            {
                EngineOutput? output = null;
                Exception? error = null;
                try
                {
                    output = ReadBack(stage);
                }
                catch (Exception e)
                {
                    error = e;
                }
                var completion = stage.Completion;
                stage.End();
                if (error is null)
                    completion.SetResult(output!);
                else
                    completion.SetException(error);
                _engine._free.Add(stage); // after the result: frames in flight never exceed the stages
            }
        }

        private EngineOutput ReadBack(Stage stage)
        {
            var engine = _engine;
            var model = engine._model;
            stage.CountsRead!.Wait();
            var counts = stage.Counts;
            if (counts[0] > stage.SparseIndex.Length || counts[1] > stage.PeakIndex.Length)
            {
                // more than the lists hold: grow them and redo the two passes (not accumulating twice); the stage
                // still holds the frame's image and background
                lock (_enqueue)
                {
                    stage.Grow(counts[0], counts[1]);
                    _queue.Fill(stage.Counters, 0);
                    EnqueuePick(stage, stage.HostView ?? stage.Image!, accumulate: false);
                    _queue.Read(stage.Counters, counts, 2 * sizeof(int), blocking: true);
                }
            }
            var profiling = engine._profiling;
            var reads = new List<ClEvent?>();
            var sparseIndex = new int[counts[0]];
            var sparseSignal = new float[counts[0]];
            var peakIndex = new int[counts[1]];
            var peaks = new Float4[counts[1]];
            var average = new float[model.NbBins];
            var std = new float[model.NbBins];
            fixed (void* si = sparseIndex, ss = sparseSignal, pi = peakIndex, pk = peaks, av = average, sd = std)
            {
                if (counts[0] > 0)
                {
                    reads.Add(_readQueue.Read(stage.SparseIndex, si, counts[0] * sizeof(int), blocking: false, wantEvent: profiling));
                    reads.Add(_readQueue.Read(stage.SparseSignal, ss, counts[0] * sizeof(float), blocking: false, wantEvent: profiling));
                }
                if (counts[1] > 0)
                {
                    reads.Add(_readQueue.Read(stage.PeakIndex, pi, counts[1] * sizeof(int), blocking: false, wantEvent: profiling));
                    reads.Add(_readQueue.Read(stage.Peaks, pk, counts[1] * sizeof(Float4), blocking: false, wantEvent: profiling));
                }
                reads.Add(_readQueue.Read(stage.Average, av, model.NbBins * sizeof(float), blocking: false, wantEvent: profiling));
                reads.Add(_readQueue.Read(stage.Std, sd, model.NbBins * sizeof(float), blocking: false, wantEvent: profiling));
                _readQueue.Finish();
            }
            if (profiling)
                RecordProfile(stage, reads);
            else
                foreach (var e in reads)
                    e?.Dispose();
            Array.Sort(sparseIndex, sparseSignal);
            var list = new Peak[counts[1]];
            for (var i = 0; i < list.Length; i++)
            {
                var peak = peaks[i];
                list[i] = new Peak(peakIndex[i], peakIndex[i] / model.Width, peakIndex[i] % model.Width, peak.X, peak.Y, peak.Z, peak.W);
            }
            Array.Sort(list, (a, b) => a.Index.CompareTo(b.Index));
            return new EngineOutput(list, list.Length, sparseIndex, sparseSignal, average, std);
        }

        /// <summary>Device time per command of the frame; the read-back as one figure per frame.</summary>
        private void RecordProfile(Stage stage, List<ClEvent?> reads)
        {
            foreach (var (name, evt) in stage.Events)
                if (evt is not null)
                    _engine.Record(name, evt.Duration);
            var readBack = TimeSpan.Zero;
            foreach (var e in reads)
            {
                if (e is null)
                    continue;
                readBack += e.Duration;
                e.Dispose();
            }
            _engine.Record("read back", readBack);
        }

        public void Drain(float[] corrected, float[] peaks, float[] tmp)
        {
            lock (_enqueue) // after every frame enqueued so far (the queue is in order), before any later one
            {
                if (_accCorrected is null)
                    return;
                _queue.Read(_accCorrected, tmp.AsSpan());
                for (var i = 0; i < tmp.Length; i++) corrected[i] += tmp[i];
                _queue.Read(_accPeaks!, tmp.AsSpan());
                for (var i = 0; i < tmp.Length; i++) peaks[i] += tmp[i];
                _queue.Fill(_accCorrected, 0f);
                _queue.Fill(_accPeaks!, 0f);
                _queue.Finish();
            }
        }

        public void Dispose()
        {
            _enqueued.CompleteAdding();
            _completion.Join(); // the frames in flight complete first
            _queue.Finish();
            foreach (var stage in _stages)
                stage.Dispose();
            foreach (var d in new IDisposable?[] { _preprocess, _clip, _background, _pick, _signal, _variance, _normalization,
                         _excess, _uncertainty, _accCorrected, _accPeaks, _queue, _readQueue, _copyQueue, _enqueued })
                d?.Dispose();
        }
    }

    /// <summary>
    /// One frame in flight on a slot: its image on the device (when frames are copied), its counters, sparse and peak
    /// lists and background profile, and what the frame holds until its results are back.
    /// </summary>
    private sealed class Stage : IDisposable
    {
        private readonly OpenClEngine _engine;
        private readonly int[] _counts = GC.AllocateArray<int>(2, pinned: true); // read without blocking: must not move
        private Frame? _frame;

        public Stage(Slot slot, OpenClEngine engine)
        {
            Slot = slot;
            _engine = engine;
            var model = engine._model;
            var context = engine._context;
            if (engine._copyFrames)
                Image = context.CreateBuffer((long)model.PixelCount * engine._type.SizeOf(), ClMemFlags.ReadOnly);
            Counters = context.CreateBuffer<int>(2);
            Average = context.CreateBuffer<float>(model.NbBins);
            Std = context.CreateBuffer<float>(model.NbBins);
            var sparseCapacity = Math.Max(4096, model.PixelCount / 32);
            SparseIndex = context.CreateBuffer<int>(sparseCapacity);
            SparseSignal = context.CreateBuffer<float>(sparseCapacity);
            PeakIndex = context.CreateBuffer<int>(8192);
            Peaks = context.CreateBuffer<Float4>(8192);
        }

        public Slot Slot { get; }

        public ClBuffer? Image { get; }

        /// <summary>Sparse pixels and peaks found (the kernels count atomically).</summary>
        public ClBuffer<int> Counters { get; }

        /// <summary>Per bin: the clipped mean and std.</summary>
        public ClBuffer<float> Average { get; }

        public ClBuffer<float> Std { get; }

        public ClBuffer<int> SparseIndex { get; private set; }

        public ClBuffer<float> SparseSignal { get; private set; }

        public ClBuffer<int> PeakIndex { get; private set; }

        public ClBuffer<Float4> Peaks { get; private set; }

        /// <summary>The counters as read back (pinned).</summary>
        public int* Counts => (int*)Unsafe.AsPointer(ref _counts[0]);

        public ClEvent? CountsRead { get; set; }

        /// <summary>On host-unified devices: the frame's own memory seen as a device buffer.</summary>
        public ClBuffer? HostView { get; set; }

        public MemoryHandle Pin { get; private set; }

        public List<(string Name, ClEvent? Event)> Events { get; } = new();

        /// <summary>The results of the frame in flight. Continuations run on the completion thread before the stage is
        /// free again: only the finder's own bookkeeping continues from it.</summary>
        public TaskCompletionSource<EngineOutput> Completion { get; private set; } = new();

        public void Begin(Frame frame)
        {
            _frame = frame;
            Pin = frame.Data.Pin();
            Completion = new TaskCompletionSource<EngineOutput>();
        }

        /// <summary>Lets the frame go and frees what the frame used on the device.</summary>
        public void End()
        {
            Pin.Dispose();
            HostView?.Dispose();
            HostView = null;
            CountsRead?.Dispose();
            CountsRead = null;
            foreach (var (_, evt) in Events)
                evt?.Dispose();
            Events.Clear();
            _frame?.Dispose();
            _frame = null;
        }

        public void Grow(int sparse, int peaks)
        {
            var context = _engine._context;
            if (sparse > SparseIndex.Length)
            {
                SparseIndex.Dispose();
                SparseSignal.Dispose();
                SparseIndex = context.CreateBuffer<int>(sparse * 2L);
                SparseSignal = context.CreateBuffer<float>(sparse * 2L);
            }
            if (peaks > PeakIndex.Length)
            {
                PeakIndex.Dispose();
                Peaks.Dispose();
                PeakIndex = context.CreateBuffer<int>(peaks * 2L);
                Peaks = context.CreateBuffer<Float4>(peaks * 2L);
            }
        }

        public void Dispose()
        {
            foreach (var d in new IDisposable?[] { Image, Counters, Average, Std, SparseIndex, SparseSignal, PeakIndex, Peaks })
                d?.Dispose();
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Float4(float X, float Y, float Z, float W);
}

/// <summary>The embedded .cl sources.</summary>
internal static class KernelSource
{
    public static string PeakFinder { get; } = Load("peakfinder.cl");

    private static string Load(string name)
    {
        using var stream = typeof(KernelSource).Assembly.GetManifestResourceStream($"Lima2.PeakFinding.Kernels.{name}")
            ?? throw new InvalidOperationException($"kernel source {name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
