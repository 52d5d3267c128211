using System.Numerics;

namespace Lima2.Core.Frames;

/// <summary>Pixel arithmetic shared by the transforms that compute new pixel values.</summary>
internal static class PixelMath
{
    /// <summary>Rounds to the nearest integer for integer types and clamps to the type's range.</summary>
    internal static T Saturate<T>(double value) where T : unmanaged, INumber<T>, IMinMaxValue<T> =>
        typeof(T) == typeof(float) || typeof(T) == typeof(double)
            ? T.CreateTruncating(value)
            : T.CreateSaturating(Math.Round(value, MidpointRounding.AwayFromZero));
}
