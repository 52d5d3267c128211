using Lima2.Core.Parameters;
using Tango.Client;

namespace Lima2.Server;

/// <summary>
/// The JSON schemas clients read from the Tango DB: <c>acq_params.schema</c> of LimaControl and LimaReceiver,
/// <c>proc_params.schema</c> and the class property <c>Version</c> of each processing class.
/// </summary>
public static class Schemas
{
    public static string AcqParams(DetectorPlugin plugin = DetectorPlugin.Simulator) => AcqParamsDocument.Schema(plugin).ToJsonString();

    public static string ProcParams(string className) => ProcParamsDocument.Schema(className).ToJsonString();

    /// <summary>
    /// The class attribute properties a process stores: the acq_params schema only of the classes it serves, with
    /// their devices' plugin (the schema is per class, as in Lima2 where each plugin's server publishes its own: a
    /// control process must not overwrite the receivers' schema with another plugin's), and every processing class's.
    /// </summary>
    public static IEnumerable<(string Class, string Attribute, string Schema)> Documents(
        IEnumerable<(string Class, DetectorPlugin Plugin)> served)
    {
        foreach (var (cls, plugin) in served.DistinctBy(s => s.Class))
            yield return (cls, "acq_params", AcqParams(plugin));
        foreach (var cls in ProcParamsDocument.ClassNames)
            yield return (cls, "proc_params", ProcParams(cls));
    }

    /// <summary>Writes the <see cref="Documents"/> into the database of TANGO_HOST; a failure is reported, not fatal.</summary>
    public static void Publish(IEnumerable<(string Class, DetectorPlugin Plugin)> served, TextWriter log)
    {
        try
        {
            using var db = new Database();
            foreach (var (cls, attribute, schema) in Documents(served))
                db.PutClassAttributeProperty(cls, new Dictionary<string, IReadOnlyDictionary<string, string[]>>
                {
                    [attribute] = new Dictionary<string, string[]> { ["schema"] = [schema] },
                });
            foreach (var cls in ProcParamsDocument.ClassNames)
                db.PutClassProperty(cls, new Dictionary<string, string[]> { ["Version"] = [Lima2Version.Processing] });
        }
        catch (Exception e)
        {
            log.WriteLine($"Lima2Server: the schemas could not be stored in the Tango DB: {e.Message}");
        }
    }
}
