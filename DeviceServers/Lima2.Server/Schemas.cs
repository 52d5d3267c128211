using Lima2.Core.Parameters;
using Tango.Client;

namespace Lima2.Server;

/// <summary>
/// The JSON schemas clients read from the Tango DB: <c>acq_params.schema</c> of LimaControl and LimaReceiver,
/// <c>proc_params.schema</c> and the class property <c>Version</c> of each processing class.
/// </summary>
public static class Schemas
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DetectorPlugin> Plugins = new();

    public static string AcqParams(DetectorPlugin plugin = DetectorPlugin.Simulator) => AcqParamsDocument.Schema(plugin).ToJsonString();

    /// <summary>
    /// The plugin whose acq_params schema <see cref="Publish"/> stores for <paramref name="cls"/>: devices say it at
    /// init (the schema is per class, as in Lima2 where each plugin's server publishes its own; the simulator's by default).
    /// </summary>
    public static void UsePlugin(string cls, DetectorPlugin plugin) => Plugins[cls] = plugin;

    public static string ProcParams(string className) => ProcParamsDocument.Schema(className).ToJsonString();

    /// <summary>Writes every schema into the database of TANGO_HOST; a failure is reported, not fatal.</summary>
    public static void Publish(TextWriter log)
    {
        try
        {
            using var db = new Database();
            foreach (var cls in new[] { "LimaControl", "LimaReceiver" })
                db.PutClassAttributeProperty(cls, Property("acq_params", AcqParams(Plugins.GetValueOrDefault(cls))));
            foreach (var cls in ProcParamsDocument.ClassNames)
            {
                db.PutClassAttributeProperty(cls, Property("proc_params", ProcParams(cls)));
                db.PutClassProperty(cls, new Dictionary<string, string[]> { ["Version"] = [Lima2Version.Processing] });
            }
        }
        catch (Exception e)
        {
            log.WriteLine($"Lima2Server: the schemas could not be stored in the Tango DB: {e.Message}");
        }
    }

    private static Dictionary<string, IReadOnlyDictionary<string, string[]>> Property(string attribute, string schema) =>
        new() { [attribute] = new Dictionary<string, string[]> { ["schema"] = [schema] } };
}
