namespace Lima2.Hdf5.Native;

/// <summary>An HDF5 call failed; the message carries libhdf5's error stack, innermost cause first.</summary>
public sealed class Hdf5Exception(string message) : IOException(message);
