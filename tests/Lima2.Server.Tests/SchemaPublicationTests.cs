using Lima2.Core.Parameters;
using Tango.Client;

namespace Lima2.Server.Tests;

/// <summary>
/// A client that connects as soon as a server says it is ready builds its documents from the schemas in the DB:
/// the server stores its classes' schemas before it says so.
/// </summary>
[Collection(nameof(ClassSchemasCollection))]
public sealed class SchemaPublicationTests
{
    [Fact]
    public void Each_server_has_stored_the_acq_params_schema_of_its_class_when_it_says_it_is_ready()
    {
        using var system = new Lima2System(receivers: 1, start: false);
        using var db = new Database();
        foreach (var cls in new[] { "LimaControl", "LimaReceiver" })
            db.DeleteClassAttributeProperty(cls, "acq_params", "schema");

        system.StartServer(system.Instances[0]);
        Assert.Equal(Schemas.AcqParams(DetectorPlugin.Simulator), Schema(db, "LimaControl"));
        system.StartServer(system.Instances[1]);
        Assert.Equal(Schemas.AcqParams(DetectorPlugin.Simulator), Schema(db, "LimaReceiver"));
    }

    private static string? Schema(Database db, string cls) =>
        db.GetClassAttributeProperty(cls, "acq_params")["acq_params"].GetValueOrDefault("schema")?.Single();
}
