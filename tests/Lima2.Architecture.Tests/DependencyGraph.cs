using System.Reflection;
using System.Reflection.Emit;

namespace Lima2.Architecture.Tests;

/// <summary>
/// Which namespace of an assembly uses which: from every type's signatures (base type, interfaces, fields,
/// properties, events, method parameters and results, locals) and from the method bodies' IL (calls, field
/// accesses, type tokens), so that a use hidden inside a method counts too. Nested and compiler-generated types
/// (lambdas, async state machines) count for the namespace of the type that declares them.
/// </summary>
public sealed class DependencyGraph
{
    private readonly Dictionary<string, Dictionary<string, string>> _edges = new(StringComparer.Ordinal);

    /// <summary>The namespaces (nodes); every namespace under <c>scope</c> that has a type, even without edges.</summary>
    public IReadOnlyCollection<string> Namespaces => _edges.Keys;

    /// <summary>A graph from explicit edges (<c>from -> to</c>), for checking the checker.</summary>
    public static DependencyGraph Of(params (string From, string To)[] edges)
    {
        var graph = new DependencyGraph();
        foreach (var (from, to) in edges)
        {
            graph.Node(from);
            graph.Node(to);
            graph.Add(from, to, $"{from} -> {to}");
        }
        return graph;
    }

    /// <summary>
    /// The namespaces of <paramref name="assembly"/> under <paramref name="scope"/> (the namespace itself and those
    /// below it) and their uses of each other.
    /// </summary>
    public static DependencyGraph OfNamespaces(Assembly assembly, string scope)
    {
        var graph = new DependencyGraph();
        foreach (var type in assembly.GetTypes())
        {
            var from = type.Namespace;
            if (!InScope(from, scope))
                continue;
            graph.Node(from!);
            foreach (var used in TypeUses.Of(type))
                if (InScope(used.Type.Namespace, scope) && used.Type.Namespace != from)
                    graph.Add(from!, used.Type.Namespace!, $"{type.FullName} uses {used.Type.FullName} ({used.Where})");
        }
        return graph;
    }

    /// <summary>One example of a use of <paramref name="to"/> by <paramref name="from"/>, or null if there is none.</summary>
    public string? Use(string from, string to) =>
        _edges.TryGetValue(from, out var targets) && targets.TryGetValue(to, out var example) ? example : null;

    /// <summary>Every use that leaves <paramref name="from"/> for one of the namespaces <paramref name="forbidden"/> says.</summary>
    public IEnumerable<string> Uses(string from, Func<string, bool> forbidden) =>
        _edges.TryGetValue(from, out var targets) ? targets.Where(t => forbidden(t.Key)).Select(t => t.Value) : [];

    /// <summary>
    /// The loops: each group of namespaces that reach each other (a strongly connected component of two or more),
    /// with one use on each arrow inside it.
    /// </summary>
    public IReadOnlyList<Loop> Loops()
    {
        // Tarjan's algorithm
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var loops = new List<Loop>();
        var next = 0;

        void Visit(string node)
        {
            index[node] = low[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var target in _edges[node].Keys)
            {
                if (!index.ContainsKey(target))
                {
                    Visit(target);
                    low[node] = Math.Min(low[node], low[target]);
                }
                else if (onStack.Contains(target))
                    low[node] = Math.Min(low[node], index[target]);
            }
            if (low[node] != index[node])
                return;
            var members = new List<string>();
            string member;
            do
            {
                member = stack.Pop();
                onStack.Remove(member);
                members.Add(member);
            } while (member != node);
            if (members.Count > 1)
            {
                members.Sort(StringComparer.Ordinal);
                var uses = members.SelectMany(from => _edges[from].Where(e => members.Contains(e.Key)).Select(e => e.Value)).ToList();
                loops.Add(new Loop(members, uses));
            }
        }

        foreach (var node in _edges.Keys.Order(StringComparer.Ordinal).ToList())
            if (!index.ContainsKey(node))
                Visit(node);
        return loops;
    }

    /// <summary>
    /// The uses that go against <paramref name="layers"/> (lowest first): a namespace may use only namespaces of its
    /// own layer or below. A namespace belongs to the layer whose name it is or lies under.
    /// </summary>
    public IReadOnlyList<string> UsesUpward(IReadOnlyList<string> layers)
    {
        int? Layer(string ns)
        {
            for (var i = 0; i < layers.Count; i++)
                if (InScope(ns, layers[i]))
                    return i;
            return null;
        }

        var upward = new List<string>();
        foreach (var (from, targets) in _edges)
            foreach (var (to, example) in targets)
                if (Layer(from) is { } low && Layer(to) is { } high && high > low)
                    upward.Add(example);
        return upward;
    }

    private void Node(string ns)
    {
        if (!_edges.ContainsKey(ns))
            _edges[ns] = new(StringComparer.Ordinal);
    }

    private void Add(string from, string to, string example)
    {
        Node(to);
        _edges[from].TryAdd(to, example);
    }

    /// <summary>True when <paramref name="ns"/> is <paramref name="scope"/> or lies under it (not <c>Lima2.CoreX</c>).</summary>
    public static bool InScope(string? ns, string scope) =>
        ns is not null && (ns == scope || ns.StartsWith(scope + ".", StringComparison.Ordinal));
}

/// <summary>Namespaces that reach each other, and one use on each arrow among them.</summary>
public sealed record Loop(IReadOnlyList<string> Namespaces, IReadOnlyList<string> Uses)
{
    public override string ToString() => $"{string.Join(" <-> ", Namespaces)}:\n  {string.Join("\n  ", Uses)}";
}

/// <summary>The types a type uses, with where (member name) for the failure message.</summary>
public static class TypeUses
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance
                                          | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    public static IEnumerable<(Type Type, string Where)> Of(Type type)
    {
        var uses = new List<(Type, string)>();
        void Use(Type? used, string where)
        {
            foreach (var t in Expand(used))
                uses.Add((t, where));
        }

        Use(type.BaseType, "base type");
        foreach (var i in type.GetInterfaces())
            Use(i, "interface");
        foreach (var a in type.GetCustomAttributesData())
            Use(a.AttributeType, "attribute");
        foreach (var field in type.GetFields(Declared))
            Use(field.FieldType, field.Name);
        foreach (var property in type.GetProperties(Declared))
            Use(property.PropertyType, property.Name);
        foreach (var evt in type.GetEvents(Declared))
            Use(evt.EventHandlerType, evt.Name);
        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (method is MethodInfo info)
                Use(info.ReturnType, method.Name);
            foreach (var parameter in method.GetParameters())
                Use(parameter.ParameterType, method.Name);
            var body = method.GetMethodBody();
            if (body is null)
                continue;
            foreach (var local in body.LocalVariables)
                Use(local.LocalType, method.Name);
            foreach (var member in BodyTokens(method, body))
                switch (member)
                {
                    case Type t:
                        Use(t, method.Name);
                        break;
                    case MethodBase m:
                        Use(m.DeclaringType, method.Name);
                        if (m is MethodInfo { IsGenericMethod: true } generic)
                            foreach (var argument in generic.GetGenericArguments())
                                Use(argument, method.Name);
                        break;
                    case FieldInfo f:
                        Use(f.DeclaringType, method.Name);
                        break;
                }
        }
        return uses;
    }

    /// <summary>The types, methods and fields the IL of <paramref name="method"/> names.</summary>
    private static IEnumerable<MemberInfo> BodyTokens(MethodBase method, MethodBody body)
    {
        var il = body.GetILAsByteArray();
        if (il is null)
            yield break;
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var position = 0;
        while (position < il.Length)
        {
            short value = il[position++];
            if (value == 0xFE)
                value = (short)(0xFE00 | il[position++]);
            var opCode = OpCodesByValue[value];
            switch (opCode.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, position);
                    position += 4;
                    MemberInfo? member;
                    try
                    {
                        member = method.Module.ResolveMember(token, typeArguments, methodArguments);
                    }
                    catch (Exception e) when (e is ArgumentException or TypeLoadException or FileNotFoundException)
                    {
                        member = null; // a member of an assembly that is not loaded here is not one of ours
                    }
                    if (member is not null)
                        yield return member;
                    break;
                case OperandType.InlineSwitch:
                    var targets = BitConverter.ToInt32(il, position);
                    position += 4 + 4 * targets;
                    break;
                default:
                    position += OperandSize(opCode.OperandType);
                    break;
            }
        }
    }

    private static int OperandSize(OperandType operand) => operand switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        _ => 4,
    };

    /// <summary>The type itself and every type inside it (array elements, generic arguments, pointer targets).</summary>
    private static IEnumerable<Type> Expand(Type? type)
    {
        if (type is null || type.IsGenericParameter)
            yield break;
        if (type.HasElementType)
        {
            foreach (var t in Expand(type.GetElementType()))
                yield return t;
            yield break;
        }
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
        {
            yield return type.GetGenericTypeDefinition();
            foreach (var argument in type.GetGenericArguments())
                foreach (var t in Expand(argument))
                    yield return t;
            yield break;
        }
        yield return type;
    }
}
