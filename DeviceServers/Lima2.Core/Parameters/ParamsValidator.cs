using Lima2.Core.Frames;
using Lima2.Core.Processing;

namespace Lima2.Core.Parameters;

/// <summary>
/// Checks that need more than the schema: consistency between fields and with the frame geometry. Each error has a
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

    /// <summary>Checks a proc_params against the geometry of the frames the receiver gets.</summary>
    public static IReadOnlyList<ParamsError> Validate(ProcParams proc, FrameInfo input, string root = ProcParamsDocument.Root)
    {
        var errors = new List<ParamsError>();
        var frame = input;
        foreach (var (name, image) in proc.Corrections()?.ByName ?? [])
            if (image.Enabled && string.IsNullOrWhiteSpace(image.Path))
                errors.Add(new($"{root}.{name}.path", $"required when {name} is enabled"));

        if (proc.FrameReshaping() is { Enabled: true } reshaping)
            frame = CheckGeometry(reshaping, input, $"{root}.roi_flip_rot", errors) ?? input;

        var statistics = proc.Statistics;
        for (var i = 0; i < statistics.RectRois.Count; i++)
            CheckRect(statistics.RectRois[i], frame, $"{root}.statistics.rect_rois[{i}]", errors);
        for (var i = 0; i < statistics.ArcRois.Count; i++)
            CheckArc(statistics.ArcRois[i], frame, $"{root}.statistics.arc_rois[{i}]", errors);

        var profiles = proc.Profiles;
        for (var i = 0; i < profiles.Rois.Count; i++)
            CheckRect(profiles.Rois[i], frame, $"{root}.profiles.rois[{i}]", errors);
        if (profiles.Directions.Count != profiles.Rois.Count)
            errors.Add(new($"{root}.profiles.directions",
                $"{profiles.Directions.Count} directions for {profiles.Rois.Count} ROIs (one per ROI)"));

        foreach (var channel in proc.SavingChannels())
            if (channel.Params.Enabled)
                CheckSaving(channel.Params, $"{root}.{channel.Name}", errors);
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

    private static FrameInfo? CheckGeometry(RoiFlipRot geometry, FrameInfo input, string path, List<ParamsError> errors)
    {
        var binnedWidth = input.Width / geometry.Binning.X;
        var binnedHeight = input.Height / geometry.Binning.Y;
        if (binnedWidth == 0)
            errors.Add(new($"{path}.binning.x", $"exceeds the {input.Width}-pixel frame width"));
        if (binnedHeight == 0)
            errors.Add(new($"{path}.binning.y", $"exceeds the {input.Height}-pixel frame height"));
        if (binnedWidth == 0 || binnedHeight == 0)
            return null;
        var roi = geometry.Roi;
        var before = errors.Count;
        CheckSpan(roi.Topleft.X, roi.Dimensions.X == 0 ? binnedWidth - roi.Topleft.X : roi.Dimensions.X, binnedWidth,
            $"{path}.roi", "x", "binned frame width", "crop", errors);
        CheckSpan(roi.Topleft.Y, roi.Dimensions.Y == 0 ? binnedHeight - roi.Topleft.Y : roi.Dimensions.Y, binnedHeight,
            $"{path}.roi", "y", "binned frame height", "crop", errors);
        return errors.Count == before ? RoiFlipRotTransform.OutputInfo(input, geometry) : null;
    }

    private static void CheckRect(RectRoi roi, FrameInfo frame, string path, List<ParamsError> errors)
    {
        CheckSpan(roi.Topleft.X, roi.Dimensions.X, frame.Width, path, "x", "frame width", "ROI", errors);
        CheckSpan(roi.Topleft.Y, roi.Dimensions.Y, frame.Height, path, "y", "frame height", "ROI", errors);
    }

    private static void CheckSpan(int start, int length, int limit, string path, string axis, string what, string shape,
        List<ParamsError> errors)
    {
        if (start >= limit)
            errors.Add(new($"{path}.topleft.{axis}", $"{shape} starts outside the {limit}-pixel {what}"));
        else if (length <= 0)
            errors.Add(new($"{path}.dimensions.{axis}", $"{shape} is empty"));
        else if ((long)start + length > limit)
            errors.Add(new($"{path}.dimensions.{axis}", $"{shape} exceeds the {limit}-pixel {what}"));
    }

    private static void CheckArc(ArcRoi arc, FrameInfo frame, string path, List<ParamsError> errors)
    {
        if (arc.R2 <= arc.R1)
            errors.Add(new($"{path}.r2", $"must be greater than r1 ({arc.R1})"));
        if (arc.A2 <= arc.A1)
            errors.Add(new($"{path}.a2", $"must be greater than a1 ({arc.A1})"));
        else if (arc.R2 > arc.R1 && PixelRegion.Arc(arc, frame.Width, frame.Height).Count == 0)
            errors.Add(new(path, $"the arc covers no pixel of the {frame.Width}x{frame.Height} frame"));
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
