namespace Switchboard.Storage;

/// <summary>
/// A JSON text passed as a parameter: stored as <c>jsonb</c> on PostgreSQL, as text on SQLite.
/// </summary>
public readonly record struct Json(string? Text);
