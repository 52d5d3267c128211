namespace Lima2.Server.Tests;

/// <summary>
/// The acq_params schemas in the Tango DB are per class, and a system of another detector plugin stores its own over
/// the simulator's: the tests that read them and the tests that start DECTRIS or JUNGFRAU systems run one at a time.
/// </summary>
[CollectionDefinition(nameof(ClassSchemasCollection))]
public sealed class ClassSchemasCollection;
