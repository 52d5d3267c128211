using Lima2.Core.Frames;
using Lima2.Core.Parameters;
using Lima2.Core.Processing;

namespace Lima2.Core.Graph;

/// <summary>
/// Checks a proc_params against the geometry of the frames the receiver gets (ROIs inside the frame that
/// roi_flip_rot makes, arcs that cover pixels), after <see cref="ParamsValidator"/>'s checks that need no geometry.
/// Each error has a path and a reason, e.g. <c>proc.statistics.rect_rois[2].dimensions.x: ROI exceeds the 2048-pixel frame width</c>.
/// </summary>
public static class GeometryValidator
{
    public static IReadOnlyList<ParamsError> Validate(ProcParams proc, FrameInfo input, string root = ProcParamsDocument.Root)
    {
        var errors = new List<ParamsError>(ParamsValidator.Validate(proc, root));
        var frame = input;
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
        return errors;
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
}
