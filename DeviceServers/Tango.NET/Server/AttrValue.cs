namespace Tango.Server;

/// <summary>What the read path needs from an <see cref="AttrValue{T}"/> without knowing T.</summary>
internal interface IAttrValue
{
    object? Boxed { get; }
    AttrQuality Quality { get; }
    DateTimeOffset? Time { get; }
}

/// <summary>
/// A read value with its quality and, optionally, the time it was acquired (default: when it was read). Return it
/// from a read-only attribute's getter, e.g. <c>AttrValue&lt;double&gt; Temperature => new(t, AttrQuality.Changing)</c>.
/// </summary>
public readonly record struct AttrValue<T>(T Value, AttrQuality Quality = AttrQuality.Valid, DateTimeOffset? Time = null)
    : IAttrValue
{
    object? IAttrValue.Boxed => Value;
}

internal static class AttrTime
{
    /// <summary>Microseconds since the Unix epoch, as the shim's set_date takes them.</summary>
    public static long UnixMicroseconds(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
}
