using Captum.Forward;

namespace Captum.Concept;

/// <summary>
/// The base of concept-based interpreters: a model, and <see cref="Interpret"/>, which scores how its predictions
/// for some inputs depend on the concepts of each experimental set, per layer.
/// </summary>
/// <remarks>
/// Python: <c>captum.concept.ConceptInterpreter(model)</c>, whose abstract <c>interpret</c> <see cref="TCAV"/>
/// implements. A new concept method derives from it so that code written against the contract (a report, a batch
/// job) takes it unchanged.
/// </remarks>
public abstract class ConceptInterpreter
{
    /// <summary>Creates the interpreter of a model.</summary>
    /// <param name="forwardFunc">The model. Python: <c>model</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="forwardFunc"/> is null.</exception>
    protected ConceptInterpreter(ForwardFunction forwardFunc)
    {
        ArgumentNullException.ThrowIfNull(forwardFunc);
        Model = forwardFunc;
    }

    /// <summary>The model interpreted. Python: <c>model</c>.</summary>
    public ForwardFunction Model { get; }

    /// <summary>The scores of <paramref name="inputs"/> for every experimental set of concepts and layer.</summary>
    /// <param name="inputs">The inputs whose predictions are explained, batch first. Not modified.</param>
    /// <param name="experimentalSets">Lists of at least two concepts each.</param>
    /// <param name="options">Target and the method's arguments; its defaults when null.</param>
    /// <param name="cancellationToken">Checked between units of work.</param>
    /// <returns>Per set and layer, a score per concept of the set; plain numbers, nothing to dispose.</returns>
    /// <remarks>Python: <c>ConceptInterpreter.interpret(inputs, experimental_sets, **kwargs)</c>.</remarks>
    public abstract TCAVResult Interpret(
        Inputs inputs,
        IReadOnlyList<IReadOnlyList<Concept>> experimentalSets,
        TCAVOptions? options = null,
        CancellationToken cancellationToken = default);
}
