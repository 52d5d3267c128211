using System.Text.Json;
using Lima2.Acquisition.Processing;
using Lima2.Core.Frames;
using Lima2.Core.Processing;
using Lima2.PeakFinding;

namespace Lima2.Acquisition.Publishing;

/// <summary>
/// The per-frame results a re-published frame carries: the ROI statistics of each ROI (as <c>popRoiStatistics</c>
/// gives them) and the SMX peak finder's peaks and hit flag, each when the run makes them.
/// </summary>
/// <remarks>
/// They go inside the frame's own message, never in one of their own: MAX IV's image header gets a <c>results</c>
/// key, DECTRIS V2's image its <c>user_data</c> (JSON text <c>{"results": …}</c>), two places a plain frame consumer
/// skips (MAX IV readers take the keys they know, the V2 reference parser skips unknown keys and user_data is V2's
/// own). A message of a new htype would break readers that only know header, image and series_end, and on a PUSH
/// socket would reach another worker than its frame. So a frame's results always name their frame, and are dropped,
/// counted and filled from the files with it.
/// </remarks>
public sealed class PublishedResults
{
    private readonly RoiStatisticsNode? _rois;
    private readonly PeakFindingNode? _peaks;

    /// <param name="rois">the run's ROI statistics branch, or null</param>
    /// <param name="peaks">the run's peak-finding branch, or null</param>
    public PublishedResults(RoiStatisticsNode? rois, PeakFindingNode? peaks)
    {
        _rois = rois;
        _peaks = peaks;
        Sources = (rois is null ? 0 : 1) + (peaks is null ? 0 : 1);
    }

    /// <summary>Branches whose results every frame waits for before it is sent.</summary>
    public int Sources { get; }

    /// <summary>Calls <paramref name="report"/> at each frame's commit in every branch.</summary>
    public void Subscribe(Action<Frame, Results> report)
    {
        if (_rois is not null)
            _rois.Committed += (frame, rows) => report(frame, new Results { Rois = rows });
        if (_peaks is not null)
            _peaks.Committed += (frame, result) => report(frame, new Results { Peaks = result });
    }

    /// <summary>One frame's results, gathered from the branches as they commit it.</summary>
    public sealed class Results
    {
        /// <summary>The frame's index among this receiver's frames: popRoiStatistics' and popPeakCounters' recv_idx.</summary>
        public long ReceiverIndex { get; set; }

        public RoiStatRow[]? Rois { get; set; }

        public PeakFrameResult? Peaks { get; set; }

        public void Add(Results other)
        {
            Rois ??= other.Rois;
            Peaks ??= other.Peaks;
        }

        /// <summary>
        /// <c>"results": {"recv_idx": k, "roi_statistics": [{min, max, avg, std, sum}, …], "peaks": {nb_peaks, hit, x, y, intensity, snr}}</c>:
        /// recv_idx as Lima2's reduced-data rows give it beside the frame's global index (the message's own);
        /// ROIs in popRoiStatistics' order (rectangles, then arcs); peaks as the sparse file's CXI tables (x = column,
        /// y = row of the centroid, snr null where sigma is 0).
        /// </summary>
        public void Write(Utf8JsonWriter w)
        {
            w.WriteStartObject("results");
            w.WriteNumber("recv_idx", ReceiverIndex);
            if (Rois is { } rows)
            {
                w.WriteStartArray("roi_statistics");
                foreach (var row in rows)
                {
                    w.WriteStartObject();
                    w.WriteNumber("min", row.Min);
                    w.WriteNumber("max", row.Max);
                    w.WriteNumber("avg", row.Avg);
                    w.WriteNumber("std", row.Std);
                    w.WriteNumber("sum", row.Sum);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (Peaks is { } peaks)
            {
                w.WriteStartObject("peaks");
                w.WriteNumber("nb_peaks", peaks.NbPeaks);
                w.WriteBoolean("hit", peaks.IsHit);
                Column(w, "x", peaks.Peaks, p => p.Pos1);
                Column(w, "y", peaks.Peaks, p => p.Pos0);
                Column(w, "intensity", peaks.Peaks, p => p.Intensity);
                Column(w, "snr", peaks.Peaks, p => p.Snr);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }

        private static void Column(Utf8JsonWriter w, string name, Peak[] peaks, Func<Peak, float> value)
        {
            w.WriteStartArray(name);
            foreach (var peak in peaks)
            {
                var v = value(peak);
                if (float.IsFinite(v))
                    w.WriteNumberValue(v);
                else
                    w.WriteNullValue();
            }
            w.WriteEndArray();
        }
    }

    /// <summary>
    /// What a consumer needs at the end to make the results of the frames it missed: each ROI's pixels as row runs
    /// <c>[y, x, length]</c> (rasterised, masked pixels taken out: statistics over the saved frame's pixels there are
    /// the receiver's), and the sparse files whose <c>peaks</c> tables hold every frame's peaks (row of
    /// <c>peaks/frame_idx</c>) with min_nb_peaks for the hit flag, and dense_skip_nohits: the dense files left the
    /// frames that are no hit out (their rows read 0), so the sparse files say which frames the dense files lack.
    /// </summary>
    public void WriteEnd(Utf8JsonWriter w)
    {
        w.WriteStartObject("results");
        if (_rois is not null)
        {
            w.WriteStartObject("roi_statistics");
            w.WriteStartArray("regions");
            foreach (var region in _rois.Regions)
            {
                w.WriteStartArray();
                foreach (var run in region.Runs)
                {
                    w.WriteStartArray();
                    w.WriteNumberValue(run.Y);
                    w.WriteNumberValue(run.X);
                    w.WriteNumberValue(run.Length);
                    w.WriteEndArray();
                }
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        if (_peaks is not null)
        {
            w.WriteStartObject("peaks");
            w.WriteStartArray("files");
            foreach (var file in _peaks.SparseFiles)
                w.WriteStringValue(file);
            w.WriteEndArray();
            w.WriteNumber("min_nb_peaks", _peaks.MinNbPeaks);
            w.WriteBoolean("dense_skip_nohits", _peaks.DenseSkipNohits);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
