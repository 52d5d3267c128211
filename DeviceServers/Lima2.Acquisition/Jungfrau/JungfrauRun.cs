using System.Text.Json;
using Lima2.Core.Parameters;
using Lima2.PeakFinding;

namespace Lima2.Acquisition.Jungfrau;

/// <summary>
/// What one run of a <c>jungfrau_udp</c> receiver does with its frames, from the run's params as Lima2's clients send
/// them: corrected frames (SMX proc_params <c>jfrau{gain_path, pedestal_path, photon_energy}</c>, or the same block in
/// the JUNGFRAU <c>det</c> for a pipeline that has none), a pedestal run (<c>det.pedestal_run</c>), or raw words
/// (neither). The receiver's <c>jungfrau</c> block keeps what the hardware is: ports, modules, geometry, dispatch,
/// the correction engine.
/// </summary>
public sealed record JungfrauRun
{
    /// <summary>Replaced in the pedestal run's file and the correction's paths by the receiver's rank, as in Lima2's filename_format.</summary>
    public const string RankField = "{filename_rank}";

    public JungfrauOutputKind Output { get; init; }

    /// <summary>The pedestal file this run writes under the saving root (rank replaced), or null.</summary>
    public string? PedestalRun { get; init; }

    /// <summary>The pedestal maps (under the reference root) a corrected run reads, and the field that named them.</summary>
    public (string Path, string Field)? Pedestal { get; init; }

    /// <summary>The gain maps (under the reference root) a corrected run reads, and the field that named them.</summary>
    public (string Path, string Field)? Gain { get; init; }

    /// <summary>keV per photon of a photons run.</summary>
    public float PhotonEnergy { get; init; }

    /// <summary>Where a corrected run saves its raw words beside the corrected frames (acq_params saving), or null.</summary>
    public SavingParams? RawSaving { get; init; }

    private const string Det = "acq_params.det";

    /// <exception cref="ParamsException">the params ask for two things at once, or a correction is incomplete.</exception>
    public static JungfrauRun Of(ReceiverSettings settings)
    {
        var det = settings.AcqParams.Det as JungfrauDet ?? new JungfrauDet();
        var fromProc = settings.ProcParams is SmxProcParams smx ? Correction(smx.Jfrau, $"{ProcParamsDocument.Root}.jfrau") : null;
        var fromDet = Correction(det.Jfrau, $"{Det}.jfrau");
        if (fromProc is not null && fromDet is not null)
            throw Refused($"{Det}.jfrau", "this SMX run's proc_params jfrau already says how to correct: give it once");
        var correction = fromProc ?? fromDet;
        var pedestalRun = string.IsNullOrEmpty(det.PedestalRun) ? null : det.PedestalRun;
        if (pedestalRun is not null && correction is not null)
            throw Refused($"{Det}.pedestal_run", $"a pedestal run takes raw dark frames: leave {correction.Value.Field} out");
        if (pedestalRun is not null && settings.Receiver.NbReceivers > 1 && !pedestalRun.Contains(RankField))
            throw Refused($"{Det}.pedestal_run", $"each of the {settings.Receiver.NbReceivers} receivers writes its own modules' maps: put {RankField} in the file name");
        if (correction is not null && det.GainMode == JungfrauGainMode.FixG0)
            throw Refused($"{Det}.gain_mode", "fixg0 needs the high-gain G0 map, which the correction does not have");
        var rawSaving = settings.AcqParams is JungfrauAcqParams { Saving.Enabled: true } acq ? acq.Saving : null;
        var dense = settings.ProcParams.DenseSavingChannels().FirstOrDefault(c => c.Params.Enabled);
        if (rawSaving is not null && dense is not null && correction is null)
            throw Refused($"{ProcParamsDocument.Root}.{dense.Name}", "acq_params saving saves this raw run's frames already: enable one of them");
        if (rawSaving is not null && dense is not null && SameFiles(rawSaving, dense.Params))
            throw Refused("acq_params.saving", $"the raw frames need a base_path or filename_prefix of their own: proc_params {dense.Name} saves the corrected frames there");
        string Ranked(string path) => path.Replace(RankField, $"{settings.Receiver.Rank}", StringComparison.Ordinal);
        if (correction is not { } c)
            return new JungfrauRun { Output = JungfrauOutputKind.Raw, PedestalRun = pedestalRun is null ? null : Ranked(pedestalRun) };
        return new JungfrauRun
        {
            Output = c.Block.PhotonEnergy > 0 ? JungfrauOutputKind.Photons : JungfrauOutputKind.Energy,
            Pedestal = (Ranked(c.Block.PedestalPath!), $"{c.Field}.pedestal_path"),
            Gain = (Ranked(c.Block.GainPath!), $"{c.Field}.gain_path"),
            PhotonEnergy = (float)c.Block.PhotonEnergy,
            RawSaving = rawSaving,
        };
    }

    private static bool SameFiles(SavingParams a, SavingParams b) =>
        Path.TrimEndingDirectorySeparator(a.BasePath) == Path.TrimEndingDirectorySeparator(b.BasePath)
        && a.FilenamePrefix == b.FilenamePrefix && a.FilenameSuffix == b.FilenameSuffix;

    /// <summary>
    /// The settings the receiver's graph runs with: an SMX run's <c>jfrau</c> is the channel's to apply, so the peak
    /// finder gets corrected frames and no second correction; a raw run's acq_params saving is its dense channel.
    /// </summary>
    /// <exception cref="ParamsException">as <see cref="Of"/>.</exception>
    public static ReceiverSettings ForGraph(ReceiverSettings settings)
    {
        var proc = settings.ProcParams;
        if (proc is SmxProcParams { Jfrau.ValueKind: JsonValueKind.Object } smx && smx.Jfrau.EnumerateObject().Any())
            proc = smx with { Jfrau = JsonDocument.Parse("{}").RootElement.Clone() };
        if (Of(settings).Output == JungfrauOutputKind.Raw && settings.AcqParams is JungfrauAcqParams { Saving.Enabled: true } acq)
            proc = proc.WithDenseSaving(acq.Saving);
        return ReferenceEquals(proc, settings.ProcParams) ? settings : settings with { ProcParams = proc };
    }

    /// <summary>The correction a <c>jfrau</c> block asks for, or null when it asks for none.</summary>
    private static (JungfrauParams Block, string Field)? Correction(JsonElement block, string field)
    {
        JungfrauParams jfrau;
        try
        {
            jfrau = block.ValueKind == JsonValueKind.Object ? block.Deserialize<JungfrauParams>(FaiParams.Json) ?? new() : new();
        }
        catch (JsonException e)
        {
            throw Refused(field, e.Message);
        }
        if (jfrau.GainPath is null && jfrau.PedestalPath is null && jfrau.PhotonEnergy == 0)
            return null;
        if (string.IsNullOrEmpty(jfrau.GainPath) || string.IsNullOrEmpty(jfrau.PedestalPath))
            throw Refused(field, "gain_path and pedestal_path go together");
        if (!(jfrau.PhotonEnergy >= 0) || jfrau.PhotonEnergy > float.MaxValue)
            throw Refused($"{field}.photon_energy", "keV per photon: > 0 for photon counts, 0 for energies in keV");
        return (jfrau, field);
    }

    private static ParamsException Refused(string path, string reason) => new([new ParamsError(path, reason)]);
}
