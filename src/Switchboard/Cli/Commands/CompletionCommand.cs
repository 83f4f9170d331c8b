using System.CommandLine;

namespace Switchboard.Cli.Commands;

/// <summary>
/// <c>completion bash|zsh</c>: a shell script that completes switchboard's commands and options
/// by asking the binary itself through System.CommandLine's <c>[suggest:POSITION]</c> directive,
/// so completion always matches the binary (no list kept by hand).
/// </summary>
public sealed class CompletionCommand : Command
{
    public const string Bash = """
        # switchboard completion for bash: eval "$(switchboard completion bash)" (e.g. in ~/.bashrc)
        _switchboard_complete()
        {
            local IFS=$'\n'
            local candidates
            candidates=$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)
            COMPREPLY=( $(compgen -W "${candidates}" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _switchboard_complete switchboard
        """;

    public const string Zsh = """
        # switchboard completion for zsh: eval "$(switchboard completion zsh)" (e.g. in ~/.zshrc, after compinit)
        _switchboard() {
          local -a candidates
          candidates=("${(@f)$(${words[1]} "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)}")
          compadd -a candidates
        }
        compdef _switchboard switchboard
        """;

    public CompletionCommand(CliContext context) : base("completion", "Prints a shell completion script: eval \"$(switchboard completion bash)\"")
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" }.AcceptOnlyFromAmong("bash", "zsh");
        Add(shell);
        SetAction(parse =>
        {
            context.Output.WriteLine(parse.GetValue(shell) == "zsh" ? Zsh : Bash);
            return CommandLine.Ok;
        });
    }
}
