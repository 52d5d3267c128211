using System.Collections.Concurrent;
using Lima2.Core.Frames;

namespace Lima2.PeakFinding;

/// <summary>
/// The algorithm in plain C#: float32 per-pixel arithmetic in the same order as the OpenCL kernels (so the
/// decisions agree), float64 per-bin sums, Parallel.For over rows and bins. Port of the formulas of pyFAI's
/// peak finder (MIT, © ESRF, J. Kieffer) as written out in research/peakfinding.md.
/// </summary>
internal sealed class ReferenceEngine : IPeakEngine
{
    private const int Chunk = 64; // rows per parallel work item
    private readonly PeakFinderModel _m;
    private readonly ConcurrentBag<Workspace> _free = new();
    private readonly ConcurrentBag<Workspace> _all = new();

    public ReferenceEngine(PeakFinderModel model) => _m = model;

    public string Description => $"C# reference ({Environment.ProcessorCount} threads)";

    private sealed class Workspace
    {
        public Workspace(int n, int valid)
        {
            S = new float[n]; V = new float[n]; W = new float[n]; E = new float[n]; U = new float[n];
            Alive = new bool[valid];
        }

        public readonly float[] S, V, W, E, U;
        public readonly bool[] Alive;
        public float[]? AccCorrected, AccPeaks;
    }

    /// <summary>Runs the frame on the caller's thread.</summary>
    public Task<EngineOutput> Submit(Frame frame, bool accumulate) => Task.FromResult(Process(frame, accumulate));

    private EngineOutput Process(Frame frame, bool accumulate)
    {
        var m = _m;
        if (frame.Info.Width != m.Width || frame.Info.Height != m.Height || frame.Info.Channels != 1)
            throw new ArgumentException($"frame {frame.Index} is {frame.Info}, the peak finder was set up for {m.Width}x{m.Height}x1");
        if (!_free.TryTake(out var ws))
        {
            ws = new Workspace(m.PixelCount, m.BinPixels.Length);
            _all.Add(ws);
        }
        try
        {
            lock (ws) // only DrainAccumulated contends: it waits for the frame in flight
                return Run(frame, ws, accumulate);
        }
        finally
        {
            _free.Add(ws);
        }
    }

    private EngineOutput Run(Frame frame, Workspace ws, bool accumulate)
    {
        var m = _m;
        var p = m.Params;
        int width = m.Width, height = m.Height, n = m.PixelCount;
        var legacy = p.Pyfai0213Compat;
        var data = frame.Data;
        var type = frame.Info.PixelType;

        // 1. preprocessing: (s, v, ω) per pixel, zero where invalid
        Parallel.For(0, (height + Chunk - 1) / Chunk, chunk =>
        {
            var start = chunk * Chunk * width;
            var count = Math.Min(Chunk * width, n - start);
            Preprocess(data.Span, type, start, count, ws);
        });

        // 2. sigma clipping per radial bin
        var bins = m.NbBins;
        var avg = new float[bins];
        var std = new float[bins];
        var model = p.ErrorModel;
        var cutoff = (float)p.CutoffClip;
        Parallel.For(0, bins, new ParallelOptions(), k =>
        {
            int b0 = m.BinStart[k], b1 = m.BinStart[k + 1];
            var sums = new BinSums();
            for (var i = b0; i < b1; i++)
            {
                var px = m.BinPixels[i];
                var alive = ws.W[px] != 0;
                ws.Alive[i] = alive;
                if (alive) sums.Add(ws.S[px], ws.V[px], ws.W[px]);
            }
            var (mean, clipStd, outStd) = sums.Stats(model, legacy);
            var nbpix = Math.Max(3, b1 - b0);
            for (var c = 0; c < p.Cycle; c++)
            {
                if (!(float.IsFinite(mean) && float.IsFinite(clipStd)))
                    break;
                var threshold = clipStd * BinSums.Chauvenet(cutoff, nbpix);
                var rejected = 0;
                sums = new BinSums();
                for (var i = b0; i < b1; i++)
                {
                    if (!ws.Alive[i]) continue;
                    var px = m.BinPixels[i];
                    var x = ws.S[px] / ws.W[px];
                    if (MathF.Abs(x - mean) > threshold)
                    {
                        ws.Alive[i] = false;
                        rejected++;
                    }
                    else
                    {
                        sums.Add(ws.S[px], ws.V[px], ws.W[px]);
                    }
                }
                if (rejected == 0)
                    break;
                nbpix = Math.Max(3, nbpix - rejected);
                (mean, clipStd, outStd) = sums.Stats(model, legacy);
            }
            avg[k] = float.IsFinite(mean) ? mean : 0f;
            std[k] = float.IsFinite(outStd) ? outStd : 0f;
        });

        // 3. background, excess e and uncertainty U per pixel; sparsify; accumulation
        if (accumulate)
        {
            ws.AccCorrected ??= new float[n];
            ws.AccPeaks ??= new float[n];
        }
        var noise = (float)p.Noise;
        var pick = (float)p.CutoffPick;
        var chunks = (height + Chunk - 1) / Chunk;
        var sparse = new List<(int, float)>[chunks];
        Parallel.For(0, chunks, chunk =>
        {
            var list = new List<(int, float)>();
            var end = Math.Min(n, (chunk + 1) * Chunk * width);
            for (var i = chunk * Chunk * width; i < end; i++)
            {
                var pos = m.BackgroundPosition[i];
                float bg = float.PositiveInfinity, sb = 0f;
                if (!float.IsNaN(pos))
                {
                    if (!legacy) pos = MathF.Min(pos, bins - 1);
                    var j = Math.Min((int)pos, bins - 1);
                    var f = pos - j;
                    if (j + 1 < bins)
                    {
                        bg = avg[j] * (1.0f - f) + avg[j + 1] * f;
                        sb = std[j] * (1.0f - f) + std[j + 1] * f;
                    }
                    else
                    {
                        bg = avg[j];
                        sb = std[j];
                    }
                }
                var u = MathF.Sqrt(sb * sb + noise * noise);
                var w = ws.W[i];
                var x = w > 0 ? ws.S[i] / w : 0f;
                var e = w > 0 ? x - bg : 0f;
                ws.E[i] = e;
                ws.U[i] = u;
                var kept = e > MathF.Max(noise, pick * u);
                if (kept) list.Add((i, ws.S[i]));
                if (accumulate)
                {
                    ws.AccCorrected![i] += x;
                    if (kept) ws.AccPeaks![i] += x;
                }
            }
            sparse[chunk] = list;
        });
        var nSparse = sparse.Sum(l => l.Count);
        var sparseIndex = new int[nSparse];
        var sparseIntensity = new float[nSparse];
        var at = 0;
        foreach (var list in sparse)
            foreach (var (i, s) in list)
            {
                sparseIndex[at] = i;
                sparseIntensity[at++] = s;
            }

        // 4. peakfinder8-style picking on (e, U)
        var h = p.PatchSize / 2;
        var connected = p.Connected;
        var peaks = new List<Peak>[height];
        Parallel.For(0, height, row =>
        {
            List<Peak>? found = null;
            for (var col = 0; col < width; col++)
            {
                var i = row * width + col;
                var ec = ws.E[i];
                if (!(ec >= pick * ws.U[i]) || (!legacy && !(ec > 0)))
                    continue;
                int active = 0;
                float localMax = 0f, sumInt = 0f, sumVar = 0f, som0 = 0f, som1 = 0f;
                var voided = false;
                for (var di = -h; di <= h; di++)
                {
                    for (var dj = -h; dj <= h; dj++)
                    {
                        int r = row + di, c = col + dj;
                        float e = -1f, u = 0f;
                        if (r >= 0 && r < height && c >= 0 && c < width)
                        {
                            e = ws.E[r * width + c];
                            u = ws.U[r * width + c];
                        }
                        if (legacy)
                        {
                            if (e >= pick * u) active++;
                        }
                        else
                        {
                            if (e <= 0 && u <= 0) voided = true;
                            if (e > 0 && e >= pick * u) active++;
                        }
                        localMax = MathF.Max(localMax, e);
                        if (e > 0f)
                        {
                            som0 += di * e;
                            som1 += dj * e;
                            sumInt += e;
                            sumVar += u * u;
                        }
                    }
                }
                if (!voided && ec == localMax && active >= connected)
                {
                    (found ??= new List<Peak>()).Add(new Peak(i, row, col, som0 / sumInt + row, som1 / sumInt + col, sumInt, MathF.Sqrt(sumVar)));
                }
            }
            peaks[row] = found!;
        });
        var peakList = peaks.Where(l => l is not null).SelectMany(l => l).ToArray();
        return new EngineOutput(peakList, peakList.Length, sparseIndex, sparseIntensity, avg, std);
    }

    private void Preprocess(ReadOnlySpan<byte> data, PixelType type, int start, int count, Workspace ws)
    {
        var m = _m;
        var p = m.Params;
        var c = m.Calibration;
        var raw = ws.E.AsSpan(start, count); // E is free until step 3: use it as the float copy of the pixels
        PixelReader.Read(data, type, start, raw, c.Jungfrau, m.PixelCount);
        var doDummy = p.Dummy is not null;
        var dummy = (float)(p.Dummy ?? 0);
        var dd = (float)p.DeltaDummy;
        var variance = p.ErrorModel == ErrorModel.Variance ? c.Variance : null;
        for (var k = 0; k < count; k++)
        {
            var i = start + k;
            var w = m.Omega[i];
            var value = raw[k];
            float s = 0, v = 0;
            if (w != 0 && (!doDummy || (dd != 0 ? MathF.Abs(value - dummy) > dd : value != dummy)))
            {
                s = value;
                v = variance is null ? MathF.Max(value, 1.0f) : variance[i];
                if (c.Dark is { } dark) s -= dark[i];
                if (c.DarkVariance is { } dv) v += dv[i];
                // NaN or ±Inf (a Jungfrau gain of 0) is no measurement: an Inf would make its bin's mean Inf and
                // every pixel of the ring a peak
                if (!float.IsFinite(s) || !float.IsFinite(v))
                    (s, v, w) = (0, 0, 0);
            }
            else
            {
                w = 0;
            }
            ws.S[i] = s;
            ws.V[i] = v;
            ws.W[i] = w;
        }
    }

    public void DrainAccumulated(float[] corrected, float[] peaks)
    {
        foreach (var ws in _all)
        {
            lock (ws)
            {
                if (ws.AccCorrected is null) continue;
                for (var i = 0; i < corrected.Length; i++)
                {
                    corrected[i] += ws.AccCorrected[i];
                    peaks[i] += ws.AccPeaks![i];
                }
                Array.Clear(ws.AccCorrected);
                Array.Clear(ws.AccPeaks!);
            }
        }
    }

    public void Dispose()
    {
    }
}
