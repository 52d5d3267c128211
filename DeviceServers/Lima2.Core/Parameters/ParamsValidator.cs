using Lima2.Core.Frames;

namespace Lima2.Core.Parameters;

/// <summary>
/// Checks that need more than the schema: consistency between fields (<c>Graph.GeometryValidator</c> checks against
/// the frame geometry). Each error has a
/// path and a reason, e.g. <c>proc.statistics.rect_rois[2].dimensions.x: ROI exceeds the 2048-pixel frame width</c>.
/// </summary>
public static class ParamsValidator
{
    public static IReadOnlyList<ParamsError> Validate(Acquisition acq, string path = "acq")
    {
        var errors = new List<ParamsError>();
        if (acq.NbFrames > 0 && acq.NbFramesPerTrigger > acq.NbFrames)
            errors.Add(new(ParamsPath.Field(path, "nb_frames_per_trigger"),
                $"must not exceed nb_frames ({acq.NbFrames})"));
        if (acq.NbFrames > 0 && acq.TriggerMode is TriggerMode.External or TriggerMode.Software
                             && acq.NbFrames % acq.NbFramesPerTrigger != 0)
            errors.Add(new(ParamsPath.Field(path, "nb_frames"),
                $"must be a multiple of nb_frames_per_trigger ({acq.NbFramesPerTrigger}) with {ParamsJson.EnumName(acq.TriggerMode)} triggers"));
        return errors;
    }

    public static IReadOnlyList<ParamsError> Validate(SimulatorDet det, string path = "det")
    {
        var errors = new List<ParamsError>();
        var generator = det.Generator;
        var gpath = ParamsPath.Field(path, "generator");
        if ((long)generator.Width * generator.Height * generator.PixelType.SizeOf() > int.MaxValue)
            errors.Add(new(ParamsPath.Field(gpath, "width"),
                $"a {generator.Width}x{generator.Height} {generator.PixelType.ToLimaName()} frame exceeds 2 GiB"));
        var diffraction = generator.Diffraction;
        if (diffraction.BraggIntensityMax < diffraction.BraggIntensityMin)
            errors.Add(new(ParamsPath.Field(ParamsPath.Field(gpath, "diffraction"), "bragg_intensity_max"),
                $"must be >= bragg_intensity_min ({diffraction.BraggIntensityMin})"));
        if (det.ImageSource == ImageSource.Loader && string.IsNullOrWhiteSpace(det.Loader.BasePath))
            errors.Add(new(ParamsPath.Field(ParamsPath.Field(path, "loader"), "base_path"), "required when image_source is loader"));
        return errors;
    }

    public static IReadOnlyList<ParamsError> Validate<TDet>(AcqParams<TDet> document) where TDet : class, new()
    {
        var errors = new List<ParamsError>(Validate(document.Acq));
        if (document.Det is SimulatorDet det)
            errors.AddRange(Validate(det));
        return errors;
    }

    /// <summary>Lima2 fields this server reads but does not implement: refused when they ask for something.</summary>
    public static IReadOnlyList<ParamsError> ValidateSupported(ProcParams proc, string root = ProcParamsDocument.Root) =>
        proc is LegacyProcParams { MaxCountrateProtection.Enabled: true }
            ? [new($"{root}.max_countrate_protection.enabled", "count-rate protection is not supported by this server: set it false")]
            : [];

    /// <summary>
    /// The checks of a proc_params that need no frame geometry; <c>Graph.GeometryValidator</c> adds those against
    /// the frames the receiver gets.
    /// </summary>
    public static IReadOnlyList<ParamsError> Validate(ProcParams proc, string root = ProcParamsDocument.Root)
    {
        var errors = new List<ParamsError>();
        foreach (var (name, image) in proc.Corrections()?.ByName ?? [])
            if (image.Enabled && string.IsNullOrWhiteSpace(image.Path))
                errors.Add(new($"{root}.{name}.path", $"required when {name} is enabled"));

        var profiles = proc.Profiles;
        if (profiles.Directions.Count != profiles.Rois.Count)
            errors.Add(new($"{root}.profiles.directions",
                $"{profiles.Directions.Count} directions for {profiles.Rois.Count} ROIs (one per ROI)"));

        foreach (var (name, saving) in proc.SavingChannels())
            if (saving.Enabled)
                CheckSaving(saving, $"{root}.{name}", errors);
        return errors;
    }

    /// <summary>
    /// Every enabled saving channel's base_path must lie under <paramref name="savingRoot"/> (the receiver's
    /// configured root); relative paths are taken from the root. Symbolic links are not followed: check the
    /// resolved path again where files are opened.
    /// </summary>
    public static IReadOnlyList<ParamsError> ValidateSavingRoot(ProcParams proc, string savingRoot, string root = ProcParamsDocument.Root)
    {
        var errors = new List<ParamsError>();
        foreach (var (name, saving) in proc.SavingChannels())
            if (saving.Enabled && ResolveUnder(savingRoot, saving.BasePath) is null)
                errors.Add(new($"{root}.{name}.base_path", $"'{saving.BasePath}' is outside the saving root {savingRoot}"));
        return errors;
    }

    /// <summary>The full path of <paramref name="path"/> taken from <paramref name="savingRoot"/>, or null if it leaves the root.</summary>
    public static string? ResolveUnder(string savingRoot, string path)
    {
        var rootFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(savingRoot));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path, rootFull));
        return full == rootFull || full.StartsWith(rootFull + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? full : null;
    }

    /// <summary>Throws <see cref="ParamsException"/> when <paramref name="errors"/> is not empty.</summary>
    public static void ThrowIfAny(IReadOnlyList<ParamsError> errors)
    {
        if (errors.Count > 0)
            throw new ParamsException(errors);
    }

    /// <summary>Checks one saving channel (e.g. the Dectris plugin's acq_params <c>saving</c>).</summary>
    public static IReadOnlyList<ParamsError> Validate(SavingParams saving, string path)
    {
        var errors = new List<ParamsError>();
        if (saving.Enabled)
            CheckSaving(saving, path, errors);
        return errors;
    }

    private static void CheckSaving(SavingParams saving, string path, List<ParamsError> errors)
    {
        if (string.IsNullOrWhiteSpace(saving.BasePath))
            errors.Add(new($"{path}.base_path", "required when saving is enabled"));
        foreach (var problem in FilenameFormat.Check(saving.FilenameFormat))
            errors.Add(new($"{path}.filename_format", problem));
        if (saving.NbFramesPerChunk > saving.NbFramesPerFile)
            errors.Add(new($"{path}.nb_frames_per_chunk", $"must not exceed nb_frames_per_file ({saving.NbFramesPerFile})"));
    }
}
