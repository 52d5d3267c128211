using System.ComponentModel;
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
/// <c>packet_fifo_depth</c>, <c>auto_comparator_disable</c>). The receivers read their ports, modules and corrections
/// from their own configuration (<see cref="JungfrauChannelConfig"/>), not from here.
/// </summary>
public sealed record JungfrauDet
{
    [Description("gain switching: dynamic, forceswitchg1, forceswitchg2, fixg1, fixg2 or fixg0")]
    public JungfrauGainMode GainMode { get; init; } = JungfrauGainMode.Dynamic;

    [Description("depth in packets of each receiver's packet fifo")]
    [Minimum(1)] [Maximum(1_000_000)] public int PacketFifoDepth { get; init; } = 2500;

    [Description("disable the comparator for the last part of the exposure (sls autocompdisable)")]
    public bool AutoComparatorDisable { get; init; }
}
