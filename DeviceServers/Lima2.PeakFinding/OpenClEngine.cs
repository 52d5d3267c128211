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
    private readonly PeakFinderModel _m;
    private readonly PixelType _type;
    private readonly ClContext _ctx;
    private readonly ClProgram _program;
    private readonly ClBuffer _pixels, _binStart, _omega, _bgPos, _dark, _darkVariance, _variance, _gain, _pedestal;
    private readonly ClBuffer _omegaSorted, _darkSorted, _darkVarianceSorted, _varianceSorted;
    private readonly List<ClBuffer> _constants = new();
    private readonly BlockingCollection<Slot> _free;
    private readonly List<Slot> _slots = new();
    private readonly int _clipLocal;
    private readonly float _invPhoton;

    private readonly bool _profiling;
    private readonly ConcurrentDictionary<string, (TimeSpan Total, long Count)> _profile = new();

    public OpenClEngine(PeakFinderModel model, PixelType pixelType, ClDevice device, int slots, string? cacheDirectory, bool profiling = false)
    {
        _profiling = profiling;
        if (model.Calibration.Jungfrau is not null && pixelType != PixelType.Gray16)
            throw new ArgumentException($"Jungfrau correction needs gray16 frames, not {pixelType.ToLimaName()}");
        _m = model;
        _type = pixelType;
        _ctx = ClRuntime.Context(device);
        _program = ClRuntime.Program(_ctx, KernelSource.PeakFinder, BuildOptions(pixelType, device), cacheDirectory);
        var c = model.Calibration;
        ClBuffer Upload<T>(T[]? data) where T : unmanaged
        {
            var buffer = _ctx.CreateBuffer<T>(data?.Length ?? 1, ClMemFlags.ReadOnly);
            if (data is not null)
                ClRuntime.Upload(_ctx, buffer, data);
            _constants.Add(buffer);
            return buffer;
        }
        _pixels = Upload(model.BinPixels);
        _binStart = Upload(model.BinStart);
        _omega = Upload(model.Omega);
        _bgPos = Upload(model.BackgroundPosition);
        _dark = Upload(c.Dark);
        _darkVariance = Upload(c.DarkVariance);
        _variance = Upload(model.Params.ErrorModel == ErrorModel.Variance ? c.Variance : null);
        float[]? Sorted(float[]? a) => a is null ? null : Array.ConvertAll(model.BinPixels, p => a[p]);
        _omegaSorted = Upload(Sorted(model.Omega));
        _darkSorted = Upload(Sorted(c.Dark));
        _darkVarianceSorted = Upload(Sorted(c.DarkVariance));
        _varianceSorted = Upload(Sorted(model.Params.ErrorModel == ErrorModel.Variance ? c.Variance : null));
        _gain = Upload(c.Jungfrau?.Gain);
        _pedestal = Upload(c.Jungfrau?.Pedestal);
        _invPhoton = c.Jungfrau is { PhotonEnergy: > 0 } jf ? (float)(1 / jf.PhotonEnergy) : 1f;
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
            var d = evt.Duration;
            _profile.AddOrUpdate(name, (d, 1), (_, t) => (t.Total + d, t.Count + 1));
        }
    }

    public string Description => $"OpenCL {Device.Name} ({Device.Platform.Name}), {_slots.Count} queue(s){(_program.FromCache ? ", cached binary" : "")}";

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
        var o = new List<string> { $"-DPIXEL_T={ClType(type, device)}", "-cl-fp32-correctly-rounded-divide-sqrt" };
        if (device.SupportsDouble) o.Add("-DACC_DOUBLE");
        return string.Join(' ', o);
    }

    /// <summary>The kernels' <c>flags</c> argument (FLAG_* in peakfinder.cl).</summary>
    private static int Flags(PeakFinderModel m)
    {
        var p = m.Params;
        var c = m.Calibration;
        return (c.Dark is not null ? 1 : 0) | (c.DarkVariance is not null ? 2 : 0) | (p.ErrorModel == ErrorModel.Variance ? 4 : 0)
            | (p.Dummy is not null ? 8 : 0) | (p.Pyfai0213Compat ? 16 : 0) | (c.Jungfrau is not null ? 32 : 0);
    }

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
        if (frame.Info.Width != _m.Width || frame.Info.Height != _m.Height || frame.Info.Channels != 1)
            throw new ArgumentException($"frame {frame.Index} is {frame.Info}, the peak finder was set up for {_m.Width}x{_m.Height}x1");
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

    /// <summary>One queue with its kernels and per-frame buffers; used by one caller at a time.</summary>
    private sealed class Slot : IDisposable
    {
        private readonly OpenClEngine _e;
        private readonly ClQueue _queue;
        private readonly ClKernel _preprocess, _clip, _background, _pick;
        private readonly ClBuffer<float> _s, _v, _w, _avg, _std, _eBuf, _uBuf;
        private readonly ClBuffer<int> _counters;
        private readonly ClBuffer? _image;
        private ClBuffer<int> _sparseIndex, _peakIndex;
        private ClBuffer<float> _sparseSignal;
        private ClBuffer<Float4> _peaks;
        private ClBuffer<float>? _accCorrected, _accPeaks;
        private readonly List<(string, ClEvent?)> _events = new();

        public Slot(OpenClEngine e)
        {
            _e = e;
            var m = e._m;
            var ctx = e._ctx;
            _queue = ctx.CreateQueue(profiling: e._profiling);
            _preprocess = e._program.CreateKernel("preprocess_sorted");
            _clip = e._program.CreateKernel("sigma_clip");
            _background = e._program.CreateKernel("background");
            _pick = e._program.CreateKernel("pick");
            var valid = Math.Max(1, m.BinPixels.Length);
            _s = ctx.CreateBuffer<float>(valid);
            _v = ctx.CreateBuffer<float>(valid);
            _w = ctx.CreateBuffer<float>(valid);
            _avg = ctx.CreateBuffer<float>(m.NbBins);
            _std = ctx.CreateBuffer<float>(m.NbBins);
            _eBuf = ctx.CreateBuffer<float>(m.PixelCount);
            _uBuf = ctx.CreateBuffer<float>(m.PixelCount);
            _counters = ctx.CreateBuffer<int>(2);
            if (!e.Device.HostUnifiedMemory)
                _image = ctx.CreateBuffer((long)m.PixelCount * e._type.SizeOf(), ClMemFlags.ReadOnly);
            var sparseCapacity = Math.Max(4096, m.PixelCount / 32);
            _sparseIndex = ctx.CreateBuffer<int>(sparseCapacity);
            _sparseSignal = ctx.CreateBuffer<float>(sparseCapacity);
            _peakIndex = ctx.CreateBuffer<int>(8192);
            _peaks = ctx.CreateBuffer<Float4>(8192);
        }

        public EngineOutput Run(Frame frame, bool accumulate)
        {
            var e = _e;
            var m = e._m;
            var p = m.Params;
            using var pin = frame.Data.Pin();
            var bytes = (long)m.PixelCount * e._type.SizeOf();
            ClBuffer? hostView = null;
            try
            {
                ClBuffer image;
                if (_image is null)
                {
                    hostView = e._ctx.CreateBufferOver(pin.Pointer, bytes);
                    image = hostView;
                }
                else
                {
                    _events.Add(("write image", _queue.Write(_image, new ReadOnlySpan<byte>(pin.Pointer, (int)bytes), blocking: false, wantEvent: e._profiling)));
                    image = _image;
                }
                if (accumulate && _accCorrected is null)
                {
                    _accCorrected = e._ctx.CreateBuffer<float>(m.PixelCount);
                    _accPeaks = e._ctx.CreateBuffer<float>(m.PixelCount);
                    _queue.Fill(_accCorrected, 0f);
                    _queue.Fill(_accPeaks!, 0f);
                }
                _queue.Fill(_counters, 0);
                var dummy = (float)(p.Dummy ?? 0);
                var dd = (float)p.DeltaDummy;
                var valid = m.BinPixels.Length;
                if (valid > 0)
                {
                    _preprocess.Arg(0, image).Arg(1, e._pixels).Arg(2, valid).Arg(3, m.PixelCount).Arg(4, e._omegaSorted).Arg(5, e._darkSorted)
                        .Arg(6, e._darkVarianceSorted).Arg(7, e._varianceSorted).Arg(8, e._gain).Arg(9, e._pedestal).Arg(10, e._invPhoton)
                        .Arg(11, dummy).Arg(12, dd).Arg(13, Flags(m)).Arg(14, _s).Arg(15, _v).Arg(16, _w);
                    _events.Add((_preprocess.Name, _queue.Run(_preprocess, [valid], wantEvent: e._profiling)));
                }
                var local = e._clipLocal;
                var accSize = e.Device.SupportsDouble ? 8 : 4;
                _clip.Arg(0, _s).Arg(1, _v).Arg(2, _w).Arg(3, e._binStart).Arg(4, p.Cycle).Arg(5, (float)p.CutoffClip)
                    .Arg(6, ModelCode(p.ErrorModel)).Arg(7, Flags(m)).Arg(8, _avg).Arg(9, _std)
                    .LocalArg(10, 7L * local * accSize).LocalArg(11, 4L * local);
                _events.Add((_clip.Name, _queue.Run(_clip, [(long)m.NbBins * local], [local], wantEvent: e._profiling)));
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
            var e = _e;
            var m = e._m;
            var p = m.Params;
            while (true)
            {
                var accumulateNow = accumulate ? 1 : 0;
                _background.Arg(0, image).Arg(1, m.PixelCount).Arg(2, e._omega).Arg(3, e._dark).Arg(4, e._darkVariance)
                    .Arg(5, e._variance).Arg(6, e._gain).Arg(7, e._pedestal).Arg(8, e._invPhoton).Arg(9, (float)(p.Dummy ?? 0))
                    .Arg(10, (float)p.DeltaDummy).Arg(11, Flags(m)).Arg(12, e._bgPos).Arg(13, _avg).Arg(14, _std).Arg(15, m.NbBins)
                    .Arg(16, (float)p.Noise).Arg(17, (float)p.CutoffPick).Arg(18, _eBuf).Arg(19, _uBuf).Arg(20, _counters)
                    .Arg(21, (int)_sparseIndex.Length).Arg(22, _sparseIndex).Arg(23, _sparseSignal).Arg(24, accumulateNow)
                    .Arg(25, _accCorrected ?? _eBuf).Arg(26, _accPeaks ?? _eBuf);
                _events.Add((_background.Name, _queue.Run(_background, [m.PixelCount], wantEvent: e._profiling)));
                _pick.Arg(0, _eBuf).Arg(1, _uBuf).Arg(2, m.Height).Arg(3, m.Width).Arg(4, (float)p.CutoffPick)
                    .Arg(5, p.PatchSize / 2).Arg(6, p.Connected).Arg(7, Flags(m)).Arg(8, _counters)
                    .Arg(9, (int)_peakIndex.Length).Arg(10, _peakIndex).Arg(11, _peaks);
                _events.Add((_pick.Name, _queue.Run(_pick, [m.Width, m.Height], wantEvent: e._profiling)));
                Span<int> counts = stackalloc int[2];
                _queue.Read(_counters, counts);
                foreach (var (name, evt) in _events)
                    e.Record(name, evt);
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
                var avg = new float[m.NbBins];
                var std = new float[m.NbBins];
                _queue.Read(_avg, avg.AsSpan());
                _queue.Read(_std, std.AsSpan());
                Array.Sort(sparseIndex, sparseSignal);
                var list = new Peak[counts[1]];
                for (var i = 0; i < list.Length; i++)
                {
                    var q = peaks[i];
                    list[i] = new Peak(peakIndex[i], peakIndex[i] / m.Width, peakIndex[i] % m.Width, q.X, q.Y, q.Z, q.W);
                }
                Array.Sort(list, (a, b) => a.Index.CompareTo(b.Index));
                return new EngineOutput(list, list.Length, sparseIndex, sparseSignal, avg, std);
            }
        }

        private void Grow(int sparse, int peaks)
        {
            var ctx = _e._ctx;
            if (sparse > _sparseIndex.Length)
            {
                _sparseIndex.Dispose();
                _sparseSignal.Dispose();
                _sparseIndex = ctx.CreateBuffer<int>(sparse * 2L);
                _sparseSignal = ctx.CreateBuffer<float>(sparse * 2L);
            }
            if (peaks > _peakIndex.Length)
            {
                _peakIndex.Dispose();
                _peaks.Dispose();
                _peakIndex = ctx.CreateBuffer<int>(peaks * 2L);
                _peaks = ctx.CreateBuffer<Float4>(peaks * 2L);
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
            foreach (var d in new IDisposable?[] { _preprocess, _clip, _background, _pick, _s, _v, _w, _avg, _std, _eBuf, _uBuf,
                         _counters, _image, _sparseIndex, _sparseSignal, _peakIndex, _peaks, _accCorrected, _accPeaks, _queue })
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
