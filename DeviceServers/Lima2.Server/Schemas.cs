using Lima2.Core.Parameters;
using Tango.Client;

namespace Lima2.Server;

/// <summary>
/// The JSON schemas clients read from the Tango DB: <c>acq_params.schema</c> of LimaControl and LimaReceiver,
/// <c>proc_params.schema</c> and the class property <c>Version</c> of each processing class.
/// </summary>
public static class Schemas
{
    public static string AcqParams() => ParamsDocument.Schema<AcqParams<SimulatorDet>>("acq_params").ToJsonString();

    public static string ProcParams(string className) => ProcParamsDocument.Schema(className).ToJsonString();

    /// <summary>Writes every schema into the database of TANGO_HOST; a failure is reported, not fatal.</summary>
    public static void Publish(TextWriter log)
    {
        try
        {
            using var db = new Database();
            foreach (var cls in new[] { "LimaControl", "LimaReceiver" })
                db.PutClassAttributeProperty(cls, Property("acq_params", AcqParams()));
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
