namespace Tango;

/// <summary>A <c>DevEncoded</c> value: a format name (e.g. "JPEG", "LIMA_IMAGE") and its bytes.</summary>
public sealed record DevEncoded(string Format, byte[] Data);

/// <summary>A <c>DevVarLongStringArray</c>: DevLong numbers and strings side by side.</summary>
public sealed record LongStringArray(int[] Longs, string[] Strings);

/// <summary>A <c>DevVarDoubleStringArray</c>: doubles and strings side by side.</summary>
public sealed record DoubleStringArray(double[] Doubles, string[] Strings);
