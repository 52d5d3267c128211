using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Lima2.Core.Frames;
using Lima2.OpenCL;

namespace Lima2.PeakFinding;

/// <summary>
/// The algorithm on an OpenCL device. Constant arrays live on the device once; each <see cref="Slot"/> (queue,
/// kernels, per-frame buffers) runs one frame at a time, so concurrent callers overlap the host-to-device copy
/// of one frame with the kernels of another. On host-unified devices (CPUs) the frame is read in place.
/// </summary>
internal sealed unsafe class OpenClEngine : IPeakEngine
{
    private readonly PeakFinderModel _model;
    private readonly PixelType _type;
    private readonly ClContext _context;
    private readonly ClProgram _program;
    private readonly ClBuffer _binPixels, _binStart, _backgroundPosition;
    private readonly List<ClBuffer> _constants = new();
    private readonly BlockingCollection<Slot> _free;
    private readonly List<Slot> _slots = new();
    private readonly int _clipLocal;

    /// <summary>The corrections per pixel (background) and per valid pixel in bin order (preprocess_sorted).</summary>
    private readonly PixelCorrections _corrections, _sortedCorrections;

    private readonly bool _profiling;

    /// <summary>Frames are copied into a device buffer (else the kernels read them in place: host-unified devices).</summary>
    private readonly bool _copyFrames;
    private readonly ConcurrentDictionary<string, (TimeSpan Total, long Count)> _profile = new();

    public OpenClEngine(PeakFinderModel model, PixelType pixelType, ClDevice device, int slots, string? cacheDirectory, bool profiling,
        bool copyFrames)
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
        _free = new BlockingCollection<Slot>(Math.Max(1, slots));
        for (var i = 0; i < Math.Max(1, slots); i++)
        {
            var slot = new Slot(this);
            _slots.Add(slot);
            _free.Add(slot);
        }
    }

    public ClDevice Device { get; }

    public IReadOnlyDictionary<string, (TimeSpan Total, long Count)> Profile => _profile;

    private void Record(string name, ClEvent? evt)
    {
        if (evt is null)
            return;
        using (evt)
        {
            var duration = evt.Duration;
            _profile.AddOrUpdate(name, (duration, 1), (_, t) => (t.Total + duration, t.Count + 1));
        }
    }

    public string Description => $"OpenCL {Device.Name} ({Device.Platform.Name}), {_slots.Count} queue(s), {(_copyFrames ? "copies frames to the device" : "reads frames in place")}{(_program.FromCache ? ", cached binary" : "")}";

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

    public EngineOutput Process(Frame frame, bool accumulate)
    {
        if (frame.Info.Width != _model.Width || frame.Info.Height != _model.Height || frame.Info.Channels != 1)
            throw new ArgumentException($"frame {frame.Index} is {frame.Info}, the peak finder was set up for {_model.Width}x{_model.Height}x1");
        if (frame.Info.PixelType != _type)
            throw new ArgumentException($"frame {frame.Index} is {frame.Info.PixelType.ToLimaName()}, the peak finder was built for {_type.ToLimaName()}");
        var slot = _free.Take();
        try
        {
            lock (slot) // only DrainAccumulated contends: it waits for the frame in flight
                return slot.Run(frame, accumulate);
        }
        finally
        {
            _free.Add(slot);
        }
    }

    public void DrainAccumulated(float[] corrected, float[] peaks)
    {
        var tmp = new float[corrected.Length];
        foreach (var slot in _slots)
            lock (slot)
                slot.Drain(corrected, peaks, tmp);
    }

    public void Dispose()
    {
        foreach (var slot in _slots)
            slot.Dispose();
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

    /// <summary>One queue with its kernels and per-frame buffers; used by one caller at a time.</summary>
    private sealed class Slot : IDisposable
    {
        private readonly OpenClEngine _engine;
        private readonly ClQueue _queue;
        private readonly ClKernel _preprocess, _clip, _background, _pick;

        /// <summary>Per valid pixel in bin order: the preprocessed signal, its variance and normalisation.</summary>
        private readonly ClBuffer<float> _signal, _variance, _normalization;

        /// <summary>Per bin: the clipped mean and std.</summary>
        private readonly ClBuffer<float> _average, _std;

        /// <summary>Per pixel: the signal above the background and its uncertainty.</summary>
        private readonly ClBuffer<float> _excess, _uncertainty;

        /// <summary>Sparse pixels and peaks found (the kernels count atomically).</summary>
        private readonly ClBuffer<int> _counters;

        private readonly ClBuffer? _image;
        private ClBuffer<int> _sparseIndex, _peakIndex;
        private ClBuffer<float> _sparseSignal;
        private ClBuffer<Float4> _peaks;
        private ClBuffer<float>? _accCorrected, _accPeaks;
        private readonly List<(string, ClEvent?)> _events = new();

        public Slot(OpenClEngine engine)
        {
            _engine = engine;
            var model = engine._model;
            var context = engine._context;
            _queue = context.CreateQueue(profiling: engine._profiling);
            _preprocess = engine._program.CreateKernel("preprocess_sorted");
            _clip = engine._program.CreateKernel("sigma_clip");
            _background = engine._program.CreateKernel("background");
            _pick = engine._program.CreateKernel("pick");
            var valid = Math.Max(1, model.BinPixels.Length);
            _signal = context.CreateBuffer<float>(valid);
            _variance = context.CreateBuffer<float>(valid);
            _normalization = context.CreateBuffer<float>(valid);
            _average = context.CreateBuffer<float>(model.NbBins);
            _std = context.CreateBuffer<float>(model.NbBins);
            _excess = context.CreateBuffer<float>(model.PixelCount);
            _uncertainty = context.CreateBuffer<float>(model.PixelCount);
            _counters = context.CreateBuffer<int>(2);
            if (engine._copyFrames)
                _image = context.CreateBuffer((long)model.PixelCount * engine._type.SizeOf(), ClMemFlags.ReadOnly);
            var sparseCapacity = Math.Max(4096, model.PixelCount / 32);
            _sparseIndex = context.CreateBuffer<int>(sparseCapacity);
            _sparseSignal = context.CreateBuffer<float>(sparseCapacity);
            _peakIndex = context.CreateBuffer<int>(8192);
            _peaks = context.CreateBuffer<Float4>(8192);
        }

        public EngineOutput Run(Frame frame, bool accumulate)
        {
            var engine = _engine;
            var model = engine._model;
            var parameters = model.Params;
            using var pin = frame.Data.Pin();
            var bytes = (long)model.PixelCount * engine._type.SizeOf();
            ClBuffer? hostView = null;
            try
            {
                ClBuffer image;
                if (_image is null)
                {
                    hostView = engine._context.CreateBufferOver(pin.Pointer, bytes);
                    image = hostView;
                }
                else
                {
                    _events.Add(("write image", _queue.Write(_image, new ReadOnlySpan<byte>(pin.Pointer, (int)bytes), blocking: false, wantEvent: engine._profiling)));
                    image = _image;
                }
                if (accumulate && _accCorrected is null)
                {
                    _accCorrected = engine._context.CreateBuffer<float>(model.PixelCount);
                    _accPeaks = engine._context.CreateBuffer<float>(model.PixelCount);
                    _queue.Fill(_accCorrected, 0f);
                    _queue.Fill(_accPeaks!, 0f);
                }
                _queue.Fill(_counters, 0);
                var valid = model.BinPixels.Length;
                if (valid > 0)
                {
                    new PreprocessArgs(image, engine._binPixels, valid, model.PixelCount, engine._sortedCorrections,
                        _signal, _variance, _normalization).SetOn(_preprocess);
                    _events.Add((_preprocess.Name, _queue.Run(_preprocess, [valid], wantEvent: engine._profiling)));
                }
                var local = engine._clipLocal;
                new SigmaClipArgs(_signal, _variance, _normalization, engine._binStart, parameters.Cycle, (float)parameters.CutoffClip,
                    parameters.ErrorModel, engine._corrections.Flags, _average, _std, local,
                    SumBytes: engine.Device.SupportsDouble ? sizeof(double) : sizeof(float)).SetOn(_clip);
                _events.Add((_clip.Name, _queue.Run(_clip, [(long)model.NbBins * local], [local], wantEvent: engine._profiling)));
                return Pick(image, accumulate);
            }
            finally
            {
                if (hostView is not null)
                {
                    _queue.Finish();
                    hostView.Dispose();
                }
            }
        }

        private EngineOutput Pick(ClBuffer image, bool accumulate)
        {
            var engine = _engine;
            var model = engine._model;
            var parameters = model.Params;
            while (true)
            {
                new BackgroundArgs(image, model.PixelCount, engine._corrections, engine._backgroundPosition, _average, _std,
                    model.NbBins, (float)parameters.Noise, (float)parameters.CutoffPick, _excess, _uncertainty, _counters,
                    _sparseIndex, _sparseSignal, accumulate, _accCorrected ?? _excess, _accPeaks ?? _excess).SetOn(_background);
                _events.Add((_background.Name, _queue.Run(_background, [model.PixelCount], wantEvent: engine._profiling)));
                new PickArgs(_excess, _uncertainty, model.Height, model.Width, (float)parameters.CutoffPick, parameters.PatchSize / 2,
                    parameters.Connected, engine._corrections.Flags, _counters, _peakIndex, _peaks).SetOn(_pick);
                _events.Add((_pick.Name, _queue.Run(_pick, [model.Width, model.Height], wantEvent: engine._profiling)));
                Span<int> counts = stackalloc int[2];
                _queue.Read(_counters, counts);
                foreach (var (name, evt) in _events)
                    engine.Record(name, evt);
                _events.Clear();
                if (counts[0] > _sparseIndex.Length || counts[1] > _peakIndex.Length)
                {
                    // more than the lists hold: grow them and redo the two passes (not accumulating twice)
                    Grow(counts[0], counts[1]);
                    _queue.Fill(_counters, 0);
                    accumulate = false;
                    continue;
                }
                var sparseIndex = new int[counts[0]];
                var sparseSignal = new float[counts[0]];
                var peakIndex = new int[counts[1]];
                var peaks = new Float4[counts[1]];
                if (counts[0] > 0)
                {
                    _queue.Read(_sparseIndex, sparseIndex.AsSpan());
                    _queue.Read(_sparseSignal, sparseSignal.AsSpan());
                }
                if (counts[1] > 0)
                {
                    _queue.Read(_peakIndex, peakIndex.AsSpan());
                    _queue.Read(_peaks, peaks.AsSpan());
                }
                var average = new float[model.NbBins];
                var std = new float[model.NbBins];
                _queue.Read(_average, average.AsSpan());
                _queue.Read(_std, std.AsSpan());
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
        }

        private void Grow(int sparse, int peaks)
        {
            var context = _engine._context;
            if (sparse > _sparseIndex.Length)
            {
                _sparseIndex.Dispose();
                _sparseSignal.Dispose();
                _sparseIndex = context.CreateBuffer<int>(sparse * 2L);
                _sparseSignal = context.CreateBuffer<float>(sparse * 2L);
            }
            if (peaks > _peakIndex.Length)
            {
                _peakIndex.Dispose();
                _peaks.Dispose();
                _peakIndex = context.CreateBuffer<int>(peaks * 2L);
                _peaks = context.CreateBuffer<Float4>(peaks * 2L);
            }
        }

        public void Drain(float[] corrected, float[] peaks, float[] tmp)
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

        public void Dispose()
        {
            _queue.Finish();
            foreach (var d in new IDisposable?[] { _preprocess, _clip, _background, _pick, _signal, _variance, _normalization,
                         _average, _std, _excess, _uncertainty, _counters, _image, _sparseIndex, _sparseSignal, _peakIndex, _peaks,
                         _accCorrected, _accPeaks, _queue })
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
