namespace Switchboard.Errors;

/// <summary>What a string sent by a client or an admin may hold.</summary>
public static class InputText
{
    /// <summary>
    /// No control character but tab, line feed and carriage return (prompt templates and inputs
    /// have them): PostgreSQL refuses NUL in text, and the others only hide what a value is.
    /// Lone surrogates never get this far: System.Text.Json refuses to decode them.
    /// </summary>
    public static bool IsText(string s) => !s.Any(c => char.IsControl(c) && c is not ('\t' or '\n' or '\r'));
}
