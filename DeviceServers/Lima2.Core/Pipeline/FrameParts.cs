namespace Lima2.Core.Pipeline;

/// <summary>A rectangle of a receiver's frame and where it lies in the detector's frame.</summary>
public readonly record struct FramePart(int SourceX, int SourceY, int Width, int Height, int DetectorX, int DetectorY);

/// <summary>One receiver's frames under partial-frame dispatch: their size, and the rectangles of them the detector's image shows.</summary>
public sealed record ReceiverFrameParts(int Width, int Height, IReadOnlyList<FramePart> Parts);

/// <summary>
/// Partial-frame dispatch: every receiver takes every frame of the acquisition, each a part of the detector's image
/// (a JUNGFRAU receiver its modules); the master file assembles the parts of all receivers into whole frames.
/// </summary>
/// <param name="Width">the detector's image</param>
/// <param name="Height">the detector's image</param>
/// <param name="PerReceiver">each receiver's frames, by rank; a pixel of the detector's image no part covers (gaps) reads 0</param>
public sealed record FrameParts(int Width, int Height, IReadOnlyList<ReceiverFrameParts> PerReceiver);
