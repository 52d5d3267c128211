using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lima2.Core.Parameters;

/// <summary>A JUNGFRAU's gain switching (slsDetectorPackage <c>gainmode</c>).</summary>
public enum JungfrauGainMode
{
    /// <summary>Each pixel switches G0 → G1 → G2 as its charge grows.</summary>
    Dynamic,
    [JsonStringEnumMemberName("forceswitchg1")] ForceSwitchG1,
    [JsonStringEnumMemberName("forceswitchg2")] ForceSwitchG2,
    [JsonStringEnumMemberName("fixg1")] FixG1,
    [JsonStringEnumMemberName("fixg2")] FixG2,

    /// <summary>Fixed high gain G0 (the "HG0" mode; needs the fourth gain map).</summary>
    [JsonStringEnumMemberName("fixg0")] FixG0,
}

/// <summary>
/// The <c>det</c> block of the Jungfrau plugin, with the keys Lima2's clients send (<c>gain_mode</c>,
/// <c>packet_fifo_depth</c>, <c>auto_comparator_disable</c>), and what the receivers do with this run's frames:
/// a pedestal run (<c>pedestal_run</c>), a corrected run (<c>jfrau</c>, the block SMX's proc_params carries, for the
/// pipelines that have none), or raw frames (neither). The receivers' ports, modules and geometry are their own
/// configuration (<see cref="JungfrauChannelConfig"/>).
/// </summary>
public sealed record JungfrauDet
{
    [Description("gain switching: dynamic, forceswitchg1, forceswitchg2, fixg1, fixg2 or fixg0")]
    public JungfrauGainMode GainMode { get; init; } = JungfrauGainMode.Dynamic;

    [Description("depth in packets of each receiver's packet fifo")]
    [Minimum(1)] [Maximum(1_000_000)] public int PacketFifoDepth { get; init; } = 2500;

    [Description("disable the comparator for the last part of the exposure (sls autocompdisable)")]
    public bool AutoComparatorDisable { get; init; }

    [Description("a pedestal run: each receiver saves the mean ADC of the complete dark frames, per pixel and gain stage " +
                 "of its modules, to this HDF5 file under its saving_root ({filename_rank} in the name: the receiver's " +
                 "rank); empty: not a pedestal run")]
    public string PedestalRun { get; init; } = "";

    [OpenObject("Lima2.PeakFinding.JungfrauParams, Lima2.PeakFinding")]
    [Description("the receivers correct the frames: gain_path and pedestal_path are HDF5 files under reference_root " +
                 "(/gain, /pedestal of shape (3, 512 x modules, 1024); {filename_rank}: the receiver's rank), photon_energy in keV gives photons (int32), 0 " +
                 "energies in keV (float32); SMX's proc_params jfrau says the same for an SMX run")]
    public JsonElement Jfrau { get; init; } = EmptyObject;

    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();
}

/// <summary>
/// The JUNGFRAU plugin's <c>acq_params</c>: <c>acq</c>, its <c>det</c> and, as Lima2's plugins that save raw frames
/// (plugin_saves_raws), a <c>saving</c> block for the raw words (uint16, gain bits and ADC) each receiver saves.
/// </summary>
public sealed record JungfrauAcqParams : IAcqParams
{
    public Acquisition Acq { get; init; } = new();
    public JungfrauDet Det { get; init; } = new();

    [Description("the raw words (uint16 with the gain bits) each receiver saves: beside the corrected frames of a corrected run " +
                 "(their own files and master file), as the run's frames otherwise (then in the pipeline's dense channel)")]
    public SavingParams Saving { get; init; } = new();

    object IAcqParams.Det => Det;
}
