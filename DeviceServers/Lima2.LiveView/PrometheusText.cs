using System.Globalization;
using System.Text;

namespace Lima2.LiveView;

/// <summary>
/// A device's counters in Prometheus' text exposition format (version 0.0.4): counters for frames and bytes, gauges
/// for rates, and acq_state as one series per state (1 for the current one), labelled with the device name.
/// </summary>
public static class PrometheusText
{
    /// <summary>The states a series is written for, so that a dashboard sees each go to 0 as well as to 1.</summary>
    public static readonly string[] States = ["idle", "prepared", "running", "fault"];

    public static string Write(string device, LiveSample sample)
    {
        var c = sample.Counters;
        var label = $"device=\"{Escape(device)}\"";
        var text = new StringBuilder();
        Metric(text, "lima2_frames_received_total", "counter", "Frames received in the current run.", label, c.Received);
        Metric(text, "lima2_frames_processed_total", "counter", "Frames processed in the current run.", label, c.Processed);
        Metric(text, "lima2_frames_saved_total", "counter", "Frames saved in the current run.", label, c.Saved);
        Metric(text, "lima2_frames_dropped_total", "counter", "Frames dropped (overload or loss) in the current run.", label, c.Dropped);
        Metric(text, "lima2_saved_bytes_total", "counter", "Bytes written to frame files in the current run.", label, c.SavedBytes);
        Metric(text, "lima2_hits_total", "counter", "Frames with at least min_nb_peaks peaks in the current run (SMX).", label, c.Hits);
        Metric(text, "lima2_hit_rate", "gauge", "Hits per frame searched in the current run (SMX).", label, c.HitRate);
        Metric(text, "lima2_frame_rate", "gauge", "Frames processed per second over the last sampling period.", label, sample.FrameRate);
        Metric(text, "lima2_last_frame_index", "gauge", "Global index of the newest frame kept, -1 before the first.", label, c.LastFrame);
        text.Append("# HELP lima2_acq_state The acquisition state: 1 for the current one.\n# TYPE lima2_acq_state gauge\n");
        foreach (var state in States)
            text.Append(CultureInfo.InvariantCulture, $"lima2_acq_state{{{label},state=\"{state}\"}} {(state == c.State ? 1 : 0)}\n");
        return text.ToString();
    }

    private static void Metric(StringBuilder text, string name, string type, string help, string label, double value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name}{{{label}}} {value}\n");

    /// <summary>A label value: backslash, double quote and line feed escaped.</summary>
    private static string Escape(string value) => value.Replace(@"\", @"\\").Replace("\"", "\\\"").Replace("\n", @"\n");
}
