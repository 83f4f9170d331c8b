using Microsoft.Playwright;

namespace Switchboard.Tests.Panel;

/// <summary>
/// Counts the dialogs (alert, confirm, prompt) a page opens, dismissing each so the page goes on:
/// a hostile value that ran as script instead of showing as text opens one.
/// </summary>
public sealed class ScriptDialogs
{
    private int _count;

    private ScriptDialogs()
    {
    }

    public int Count => Volatile.Read(ref _count);

    public static ScriptDialogs On(IPage page)
    {
        var dialogs = new ScriptDialogs();
        page.Dialog += (_, dialog) =>
        {
            Interlocked.Increment(ref dialogs._count);
            _ = dialog.DismissAsync();
        };
        return dialogs;
    }
}
