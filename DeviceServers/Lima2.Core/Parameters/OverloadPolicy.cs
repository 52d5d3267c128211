namespace Lima2.Core.Parameters;

/// <summary>What a graph does when frames arrive faster than it processes them.</summary>
public enum OverloadPolicy
{
    /// <summary>Wait: the channel slows down (buffers in the detector or the network fill up).</summary>
    BackPressure,

    /// <summary>Drop the new frame and count it.</summary>
    Drop,
}
