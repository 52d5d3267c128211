using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Hdf5;
using Lima2.PeakFinding;

namespace Lima2.Acquisition.Saving;

/// <summary>The three SMX saving channels the peak finder feeds, each used only when enabled.</summary>
public sealed record PeakSavingChannels(SavingParams Sparse, SavingParams AccumulationCorrected, SavingParams AccumulationPeak)
{
    /// <summary>The channels of an SMX proc_params for receiver <paramref name="rank"/> (its <c>filename_rank</c>).</summary>
    public static PeakSavingChannels Of(SmxProcParams proc, int rank) => new(
        proc.SavingSparse with { FilenameRank = rank },
        proc.SavingAccumulationCorrected with { FilenameRank = rank },
        proc.SavingAccumulationPeak with { FilenameRank = rank });
}

/// <summary>How the sparse files are laid out.</summary>
/// <param name="MaxPeaks">columns of the CXI peak tables (Cheetah's 2048); a frame's further peaks are not stored</param>
/// <param name="TableChunkRows">frames per chunk of the per-frame tables (background profiles, peak tables)</param>
/// <param name="PixelChunk">pixels per chunk of <c>index</c> and <c>intensity</c></param>
public sealed record PeakSavingOptions(int MaxPeaks = 2048, int TableChunkRows = 16, int PixelChunk = 65536);

/// <summary>
/// Saves the peak finder's results of one receiver in HDF5, as Lima2's SMX pipeline does:
/// <list type="bullet">
/// <item><c>saving_sparse</c>: files named and rolled over like dense files (receiver frame k in file
/// <c>start_number + k / nb_frames_per_file</c>), each holding the frames it got in pyFAI's sparse layout — NXdata
/// <c>/{entry}/sparse_frames</c> with <c>frame_ptr</c> (CSR over the file's frames), <c>index</c>, <c>intensity</c>,
/// <c>background_avg</c>/<c>background_std</c> (frames × bins), <c>radius</c>, <c>mask</c> (the radius of each pixel,
/// NaN where masked), <c>dummy</c> and <c>frame_idx</c> (global frame index of each row) — and the CXI peak tables in
/// NXdata <c>/{entry}/peaks</c>: <c>nPeaks</c>, <c>peakTotalIntensity</c>, <c>peakXPosRaw</c>, <c>peakYPosRaw</c>,
/// <c>peakSNR</c> (frames × max peaks, zero-padded).</item>
/// <item><c>saving_accumulation_corrected</c> / <c>saving_accumulation_peak</c>: the accumulated frames (float32) as
/// dense frame files through <see cref="Hdf5FrameSink"/>, accumulation k at row k.</item>
/// </list>
/// Every frame is written when it comes (memory stays bounded by one frame and HDF5's chunk cache). Failures
/// (existing file with policy abort, a path outside the saving root, a full disk) are thrown.
/// </summary>
public sealed class Hdf5PeakResultWriter : IPeakResultWriter
{
    private readonly PeakSavingChannels _channels;
    private readonly SavingRoot _root;
    private readonly PeakSavingOptions _options;
    private readonly List<string> _files = [];
    private SparseLayout? _layout;
    private SparseFile? _file;
    private long _fileIndex = -1;
    private Hdf5FrameSink? _accCorrected, _accPeaks;
    private long _accumulations;
    private long _framesWritten;

    public Hdf5PeakResultWriter(PeakSavingChannels channels, SavingRoot root, PeakSavingOptions? options = null)
    {
        _channels = channels;
        _root = root;
        _options = options ?? new PeakSavingOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxPeaks);
    }

    /// <summary>Sparse frames written so far.</summary>
    public long FramesWritten => Interlocked.Read(ref _framesWritten);

    /// <summary>Accumulated frame pairs written so far.</summary>
    public long AccumulationsWritten => Interlocked.Read(ref _accumulations);

    /// <summary>The files created so far, sparse files first then accumulation files.</summary>
    public IReadOnlyList<string> Files
    {
        get
        {
            var files = new List<string>(_files);
            foreach (var sink in new[] { _accCorrected, _accPeaks })
                if (sink is not null)
                    files.AddRange(Enumerable.Range(0, sink.FilesCreated).Select(i => sink.FilePath(i)));
            return files;
        }
    }

    /// <summary>The sparse files created so far, in order (their <c>peaks/frame_idx</c> says which frame each row is).</summary>
    public IReadOnlyList<string> SparseFiles => [.. _files];

    /// <summary>The path of sparse file <paramref name="fileIndex"/> (0 = the one numbered start_number).</summary>
    public string SparseFilePath(long fileIndex)
    {
        var saving = _channels.Sparse;
        return _root.PathOf(saving.BasePath, SparseFileName(fileIndex));
    }

    private string SparseFileName(long fileIndex) =>
        FilenameFormat.Render(_channels.Sparse, checked(_channels.Sparse.StartNumber + (int)fileIndex));

    /// <summary>Creates the first file of every enabled channel, so that a wrong path or an existing file (policy
    /// abort) stops the run before it starts.</summary>
    public void Begin(SparseLayout layout)
    {
        if (_layout is not null)
            throw new InvalidOperationException("Begin was already called");
        if (layout.PixelRadius is not { } radius || radius.Length != layout.Width * layout.Height)
            throw new ArgumentException("the sparse layout needs the radius of every pixel (SparseLayout.Of(model) gives it)");
        _layout = layout;
        if (_channels.Sparse.Enabled)
            OpenSparse(0);
        var frame = new FrameInfo(layout.Width, layout.Height, PixelType.Gray32f);
        var options = new SinkOptions(Parallelism: 1);
        if (_channels.AccumulationCorrected.Enabled)
            _accCorrected = new Hdf5FrameSink(_channels.AccumulationCorrected, frame, _root, options);
        if (_channels.AccumulationPeak.Enabled)
            _accPeaks = new Hdf5FrameSink(_channels.AccumulationPeak, frame, _root, options);
    }

    public void Write(PeakFrameResult result)
    {
        var layout = _layout ?? throw new InvalidOperationException("Begin must come before Write");
        if (_channels.Sparse.Enabled)
        {
            var fileIndex = result.ReceiverIndex / _channels.Sparse.NbFramesPerFile;
            if (fileIndex != _fileIndex)
            {
                if (fileIndex < _fileIndex)
                    throw new InvalidOperationException($"frame {result.FrameIndex} (receiver frame {result.ReceiverIndex}) came after sparse file {_fileIndex} was closed");
                CloseSparse();
                OpenSparse(fileIndex);
            }
            _file!.Append(result, layout, _options.MaxPeaks);
            Interlocked.Increment(ref _framesWritten);
        }
        if (result.AccumulatedCorrected is { } corrected)
        {
            var k = Interlocked.Read(ref _accumulations);
            WriteDense(_accCorrected, corrected, result.FrameIndex, k);
            if (result.AccumulatedPeaks is { } peaks)
                WriteDense(_accPeaks, peaks, result.FrameIndex, k);
            Interlocked.Increment(ref _accumulations);
        }
    }

    /// <summary>Closes every file; a failure to write what was buffered is thrown here.</summary>
    public void Complete()
    {
        CloseSparse();
        foreach (var sink in new[] { _accCorrected, _accPeaks })
            sink?.CompleteAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
        foreach (var sink in new[] { _accCorrected, _accPeaks })
            sink?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _accCorrected = _accPeaks = null;
    }

    private void WriteDense(Hdf5FrameSink? sink, float[] pixels, long frameIndex, long accumulation)
    {
        if (sink is null)
            return;
        var layout = _layout!;
        using var frame = Frame.FromArray(pixels, layout.Width, layout.Height, frameIndex, accumulation);
        // One frame at a time and uncompressed or compressed inline: the task is complete or finishes on the pool.
        sink.WriteAsync(frame, CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    private void OpenSparse(long fileIndex)
    {
        _file = SparseFile.Create(_root, SparseFileName(fileIndex), _channels.Sparse, _layout!, _options);
        _fileIndex = fileIndex;
        _files.Add(_file.Path);
    }

    private void CloseSparse()
    {
        var file = _file;
        _file = null;
        file?.Close();
    }

    /// <summary>One open sparse file and its growing datasets.</summary>
    private sealed class SparseFile : IDisposable
    {
        private readonly Hdf5File _file;
        private readonly Hdf5Series<uint> _framePtr, _index;
        private readonly Hdf5Series<float> _intensity, _avg, _std;
        private readonly Hdf5Series<long> _frameIdx;
        private readonly Hdf5Series<int> _nPeaks;
        private readonly Hdf5Series<float> _peakIntensity, _peakX, _peakY, _peakSnr;
        private readonly float[] _row;
        private long _pixels;

        public string Path => _file.Path;

        private SparseFile(Hdf5File file, SavingParams saving, SparseLayout layout, PeakSavingOptions options)
        {
            _file = file;
            var entry = $"/{saving.NxEntryName}";
            var sparse = $"{entry}/sparse_frames";
            var peaks = $"{entry}/peaks";
            NexusLayout.CreateEntry(file, saving, "sparse_frames");
            file.CreateGroup(sparse, "NXdata");
            file.SetAttribute(sparse, "signal", "background_avg");
            file.SetAttribute(sparse, "axes", [".", "radius"]);
            file.CreateGroup(peaks, "NXdata");
            file.SetAttribute(peaks, "signal", "nPeaks");

            var bins = layout.Radius.Length;
            var filter = saving.Compression switch
            {
                SavingCompression.Zip => ChunkFilter.Deflate,
                SavingCompression.BshufLz4 => ChunkFilter.BitshuffleLz4,
                _ => ChunkFilter.None,
            };
            var rows = options.TableChunkRows;
            file.WriteArray<float>($"{sparse}/radius", layout.Radius, bins);
            file.SetAttribute($"{sparse}/radius", "interpretation", "spectrum");
            file.SetAttribute($"{sparse}/radius", "units", "m");
            file.WriteArray<float>($"{sparse}/mask", layout.PixelRadius, layout.Height, layout.Width);
            file.SetAttribute($"{sparse}/mask", "interpretation", "image");
            file.WriteArray<float>($"{sparse}/dummy", [(float)(layout.Params.Dummy ?? double.NaN)]);
            _framePtr = file.CreateSeries<uint>($"{sparse}/frame_ptr", 0, 1024);
            _framePtr.Append([0u]);
            _index = file.CreateSeries<uint>($"{sparse}/index", 0, options.PixelChunk, filter);
            _intensity = file.CreateSeries<float>($"{sparse}/intensity", 0, options.PixelChunk, filter);
            _avg = file.CreateSeries<float>($"{sparse}/background_avg", bins, rows, filter);
            file.SetAttribute($"{sparse}/background_avg", "interpretation", "spectrum");
            _std = file.CreateSeries<float>($"{sparse}/background_std", bins, rows, filter);
            file.SetAttribute($"{sparse}/background_std", "interpretation", "spectrum");
            file.CreateSoftLink($"{sparse}/background_std", $"{sparse}/errors");
            _frameIdx = file.CreateSeries<long>($"{sparse}/frame_idx", 0, 1024);
            file.CreateSoftLink($"{sparse}/frame_idx", $"{peaks}/frame_idx");

            var max = options.MaxPeaks;
            _nPeaks = file.CreateSeries<int>($"{peaks}/nPeaks", 0, 1024);
            _peakIntensity = file.CreateSeries<float>($"{peaks}/peakTotalIntensity", max, rows, filter);
            _peakX = file.CreateSeries<float>($"{peaks}/peakXPosRaw", max, rows, filter);
            _peakY = file.CreateSeries<float>($"{peaks}/peakYPosRaw", max, rows, filter);
            _peakSnr = file.CreateSeries<float>($"{peaks}/peakSNR", max, rows, filter);
            _row = new float[max];
        }

        public static SparseFile Create(SavingRoot root, string fileName, SavingParams saving, SparseLayout layout, PeakSavingOptions options)
        {
            var file = Hdf5File.Create(root, saving.BasePath, fileName, saving.FileExistsPolicy == FileExistsPolicy.Overwrite);
            try
            {
                return new SparseFile(file, saving, layout, options);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        public void Append(PeakFrameResult result, SparseLayout layout, int maxPeaks)
        {
            var sparse = result.Sparse;
            if (sparse.BackgroundAvg.Length != layout.Radius.Length)
                throw new ArgumentException($"frame {result.FrameIndex} has {sparse.BackgroundAvg.Length} background bins, the layout {layout.Radius.Length}");
            _index.Append(System.Runtime.InteropServices.MemoryMarshal.Cast<int, uint>(sparse.Index));
            _intensity.Append(sparse.Intensity);
            _pixels += sparse.Index.Length;
            _framePtr.Append([checked((uint)_pixels)]);
            _avg.Append(sparse.BackgroundAvg);
            _std.Append(sparse.BackgroundStd);
            _frameIdx.Append([result.FrameIndex]);
            var n = Math.Min(result.Peaks.Length, maxPeaks);
            _nPeaks.Append([n]);
            Table(_peakIntensity, result.Peaks, n, p => p.Intensity);
            Table(_peakX, result.Peaks, n, p => p.Pos1);
            Table(_peakY, result.Peaks, n, p => p.Pos0);
            Table(_peakSnr, result.Peaks, n, p => p.Snr);
        }

        private void Table(Hdf5Series<float> series, Peak[] peaks, int n, Func<Peak, float> value)
        {
            Array.Clear(_row);
            for (var i = 0; i < n; i++)
                _row[i] = value(peaks[i]);
            series.Append(_row);
        }

        /// <summary>Closes the datasets and the file, reporting a failure to write what HDF5 buffered.</summary>
        public void Close()
        {
            DisposeDatasets();
            try
            {
                _file.Close();
            }
            finally
            {
                _file.Dispose();
            }
        }

        public void Dispose()
        {
            DisposeDatasets();
            _file.Dispose();
        }

        private void DisposeDatasets()
        {
            foreach (var series in new IDisposable[] { _framePtr, _index, _intensity, _avg, _std, _frameIdx, _nPeaks, _peakIntensity, _peakX, _peakY, _peakSnr })
                series.Dispose();
        }
    }
}
