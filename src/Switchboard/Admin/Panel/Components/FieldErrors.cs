using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace Switchboard.Admin.Panel.Components;

/// <summary>
/// A form's errors by field, for <c>Field</c>, <c>FieldError</c> and <c>FormErrors</c>: from a
/// form model's data annotations (<see cref="Validate"/>) or from the messages the shared
/// validators write (<see cref="From"/>). Field names are the form's input names.
/// </summary>
public sealed partial class FieldErrors
{
    private readonly Dictionary<string, List<string>> _byField = new(StringComparer.Ordinal);

    /// <summary>The errors that name no field of the form.</summary>
    public IReadOnlyList<string>? General => _byField.GetValueOrDefault("");

    public bool Any => _byField.Count > 0;

    public IReadOnlyList<string>? For(string field) => _byField.GetValueOrDefault(field);

    public FieldErrors Add(string field, string message)
    {
        if (!_byField.TryGetValue(field, out var list))
        {
            _byField[field] = list = [];
        }
        list.Add(message);
        return this;
    }

    /// <summary>
    /// Checks <paramref name="model"/>'s data annotations; each error goes under its member's name
    /// in snake_case (the input's name: <c>MaxAttempts</c> is <c>max_attempts</c>). Null when valid.
    /// </summary>
    public static FieldErrors? Validate(object model)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(model, new ValidationContext(model), results, validateAllProperties: true))
        {
            return null;
        }
        var errors = new FieldErrors();
        foreach (var result in results)
        {
            var member = result.MemberNames.FirstOrDefault();
            errors.Add(member is null ? "" : System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(member), result.ErrorMessage ?? "is not valid");
        }
        return errors;
    }

    /// <summary>
    /// Errors by field from the messages the shared validators write (<c>catalog apply</c>'s
    /// "offers[0] (svc/act): price must be >= 0", or plain "price must be >= 0"): the first word
    /// after the place names the field when it is one of <paramref name="fields"/>; other messages
    /// go under "" whole. Null when there are none.
    /// </summary>
    public static FieldErrors? From(IEnumerable<string> messages, IReadOnlyCollection<string> fields)
    {
        var errors = new FieldErrors();
        foreach (var message in messages)
        {
            var text = Place().Replace(message, "");
            var key = text.Split(' ', 2)[0];
            if (fields.Contains(key))
            {
                errors.Add(key, text[Math.Min(text.Length, key.Length + 1)..]);
            }
            else
            {
                errors.Add("", text);
            }
        }
        return errors.Any ? errors : null;
    }

    [GeneratedRegex(@"^\w+\[\d+\](?: \([^)]*\))?: ")]
    private static partial Regex Place();
}
