namespace Switchboard.Catalog;

/// <summary>What a client sends to a deal.</summary>
public static class DealInputs
{
    /// <summary>
    /// The inputs of these items, in order of first use: every variable of an item that runs on
    /// the deal's inputs (<c>pipeline: none</c>), and a pipeline item's variables except
    /// <c>input</c>, which is the data passed to it.
    /// </summary>
    public static IReadOnlyList<string> Of(IEnumerable<(DealItem Item, OfferEntry Offer)> items)
    {
        var names = new List<string>();
        foreach (var (item, offer) in items)
        {
            foreach (var variable in offer.Template.Variables)
            {
                if ((!item.Waits || variable != Pipeline.InputVariable) && !names.Contains(variable))
                {
                    names.Add(variable);
                }
            }
        }
        return names;
    }
}
