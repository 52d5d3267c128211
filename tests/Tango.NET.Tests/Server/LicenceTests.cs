using System.Xml.Linq;
using Lima2.TestSupport;
using Tango.Server;
using TangoNetTest;

namespace Tango.NET.Tests.Server;

/// <summary>One licence, LGPL-3.0-or-later (docs/LICENSING.md): LICENSE, COPYING and every Pogo file agree.</summary>
public sealed class LicenceTests
{
    [Fact]
    public void LICENSE_holds_the_LGPL_3_and_COPYING_the_GPL_3_it_builds_on()
    {
        Assert.Equal(["GNU LESSER GENERAL PUBLIC LICENSE", "Version 3, 29 June 2007"], Heading("LICENSE"));
        Assert.Equal(["GNU GENERAL PUBLIC LICENSE", "Version 3, 29 June 2007"], Heading("COPYING"));
    }

    [Fact]
    public void Every_Pogo_file_and_what_PogoXmi_writes_say_LGPL_and_name_no_one_else_as_contact()
    {
        var files = Directory.GetFiles(Path.Combine(RepoPaths.Root, "pogo"), "*.xmi")
            .Select(f => (Name: Path.GetFileName(f), Xmi: File.ReadAllText(f)))
            .Append((Name: "PogoXmi.Generate", Xmi: PogoXmi.Generate(typeof(TangoNetTestDevice))));
        Assert.All(files, file =>
        {
            var description = XDocument.Parse(file.Xmi).Root!.Element("classes")!.Element("description")!;
            var identification = description.Element("identification")!;
            Assert.Equal((file.Name, "LGPL", "", ""), (file.Name, (string?)description.Attribute("license"),
                (string?)identification.Attribute("contact"), (string?)identification.Attribute("emailDomain")));
        });
    }

    private static string[] Heading(string file) =>
        File.ReadLines(Path.Combine(RepoPaths.Root, file)).Select(l => l.Trim()).Where(l => l.Length > 0).Take(2).ToArray();
}
