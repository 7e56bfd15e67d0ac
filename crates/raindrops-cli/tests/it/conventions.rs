//! CLI conventions: `--version` with the git revision, `completions bash|zsh|fish` and
//! `man`, each checked by the program that reads it where it is installed.

use std::process::Command;
use std::time::Duration;

use raindrops_test_support::external::{FISH, MAN, ZSH};
use raindrops_test_support::require_external;

use crate::util::raindrops;

/// Runs `raindrops ARGS`, requires success and returns stdout.
fn stdout_of(args: &[&str]) -> String {
    let output = raindrops().args(args).output().expect("run raindrops");
    assert!(output.status.success(), "raindrops {args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Every subcommand (but `help`), as clap lists them under `Commands:` in `raindrops --help`:
/// the shells must offer each and the man page must have a section for each, and a new one
/// joins these checks by itself.
fn subcommands() -> Vec<String> {
    let help = stdout_of(&["--help"]);
    let (_, commands) = help.split_once("\nCommands:\n").expect("a Commands: section");
    let names: Vec<String> = commands
        .lines()
        .take_while(|line| !line.trim().is_empty())
        // `  NAME  description`; a wrapped description's lines are indented further.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    for known in ["stats", "watch", "recycle", "completions", "man"] {
        assert!(names.iter().any(|n| n == known), "{known} not in {names:?}: {help}");
    }
    names
}

#[test]
fn version_names_the_git_revision() {
    let version = stdout_of(&["--version"]);
    let package = env!("CARGO_PKG_VERSION");
    // The revision this test was built from, as build.rs read it (a tarball has none).
    let rev = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    let expected = match rev {
        Some(rev) => format!("raindrops {package} ({rev})\n"),
        None => format!("raindrops {package}\n"),
    };
    assert_eq!(version, expected);
}

#[test]
fn bash_completion_loads_and_completes_subcommands() {
    let script = stdout_of(&["completions", "bash"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raindrops.bash");
    std::fs::write(&path, &script).expect("write the script");
    // Source it in a real bash, ask it to complete `raindrops ` and `raindrops watch --`.
    let probe = r#"source "$1" || exit 9
complete -p raindrops || exit 8
complete_words() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=(); _raindrops raindrops "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
  printf '%s\n' "${COMPREPLY[@]}"
}
echo '--- subcommands'; complete_words raindrops ''
echo '--- watch'; complete_words raindrops watch --"#;
    let out =
        Command::new("bash").args(["-c", probe, "probe"]).arg(&path).output().expect("run bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bash: {out:?}");
    let (offered, watch) = text.split_once("--- watch").expect("both sections");
    for word in subcommands() {
        assert!(offered.lines().any(|line| line == word), "no {word} in {offered}");
    }
    for flag in ["--listen", "--delay", "--unix", "--max-addresses"] {
        assert!(watch.lines().any(|line| line == flag), "no {flag} in {watch}");
    }
}

#[test]
fn zsh_and_fish_completions_name_every_subcommand() {
    let zsh = stdout_of(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef raindrops\n"), "{zsh}");
    let fish = stdout_of(&["completions", "fish"]);
    assert!(fish.contains("complete -c raindrops"), "{fish}");
    for word in subcommands() {
        assert!(zsh.contains(&format!("'{word}:")), "zsh lacks {word}");
        assert!(fish.contains(&format!("-a \"{word}\"")), "fish lacks {word}");
    }
}

/// How long one shell run may take on a busy machine before the test fails.
const SHELL_DEADLINE: Duration = Duration::from_secs(60);

/// The words of `lines` before each tab (fish prints `WORD<TAB>DESCRIPTION`).
fn first_words(lines: &str) -> Vec<&str> {
    lines.lines().map(|l| l.split('\t').next().unwrap_or(l)).collect()
}

#[test]
fn fish_completes_subcommands_flags_and_values_from_the_script() {
    let fish = require_external!(FISH);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raindrops.fish");
    let script = stdout_of(&["completions", "fish"]);
    std::fs::write(&path, &script).expect("write the script");
    let parsed = Command::new(&fish).args(["--no-execute", "-c", &script]).output();
    assert!(parsed.as_ref().is_ok_and(|out| out.status.success()), "fish: {parsed:?}");
    // A real fish, without the user's configuration, sources the script and is asked what it
    // would complete on each line, as when Tab is pressed there.
    let probe = r#"source $argv[1]; or exit 9
for line in "raindrops " "raindrops st" "raindrops stats --" "raindrops stats --format "
  echo "--- $line"; complete -C "$line"
end"#;
    let out = assert_cmd::Command::new(&fish)
        .args(["--no-config", "-c", probe])
        .arg(&path)
        .env("HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .timeout(SHELL_DEADLINE)
        .output()
        .expect("run fish");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "fish: {out:?}");
    let sections: Vec<&str> = text.split("--- ").skip(1).collect();
    let [all, st, flags, formats] = sections[..] else { panic!("4 sections: {text}") };
    let all = first_words(all);
    for word in subcommands() {
        assert!(all.contains(&word.as_str()), "no {word} after `raindrops `: {all:?}");
    }
    assert_eq!(first_words(st)[1..], ["stats"], "{st}");
    for flag in ["--format", "--delay", "--unix", "--queued-only"] {
        assert!(first_words(flags).contains(&flag), "no {flag} in {flags}");
    }
    assert!(!first_words(flags).contains(&"--listen"), "watch's flag offered to stats: {flags}");
    assert_eq!(first_words(formats)[1..], ["json", "prometheus", "text"], "{formats}");
}

/// Drives zsh's completion system for real: an interactive `zsh -f -i` in a pseudo-terminal
/// (the `zsh/zpty` module) loads compinit with `_raindrops` on `$fpath`, as installed, and gets
/// `LINE` and a Tab. The `_raindrops` function then runs inside a real completion widget;
/// a wrapper around the `compadd` builtin prints each word it would offer (matched against
/// what is typed, with `compadd -O`) after `zsh-offers:`, and a post-completion hook prints
/// `zsh-completion-done` and exits.
const ZSH_DRIVER: &str = r#"zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "source ${(q)1}/setup.zsh ${(q)1}"
local line
while zpty -r z line; do [[ $line == *"setup done"* ]] && break; done
zpty -w z "$2"$'\t'
while zpty -r z line; do print -rn -- "$line"; [[ $line == *zsh-completion-done* ]] && break; done
zpty -d z
"#;

/// What `ZSH_DRIVER`'s inner shell sources first (`$1`: the directory holding `_raindrops`).
const ZSH_SETUP: &str = r#"PROMPT= RPROMPT=
fpath=($1 $fpath)
autoload -U compinit && compinit -u -D
bindkey '^I' complete-word
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a offered
  builtin compadd -O offered "$@"
  (( $#offered )) && print -rl -- "zsh-offers:"${^offered}
  builtin compadd "$@"
}
finish() { print -r -- zsh-completion-done; exit }
comppostfuncs=(finish)
print -r -- "setup done"
"#;

/// The words zsh offers when Tab is pressed after `line` (see [`ZSH_DRIVER`]).
fn zsh_offers(zsh: &std::path::Path, dir: &std::path::Path, line: &str) -> Vec<String> {
    let out = assert_cmd::Command::new(zsh)
        .args(["-f", "-c", ZSH_DRIVER, "driver"])
        .arg(dir)
        .arg(line)
        .env("HOME", dir)
        .timeout(SHELL_DEADLINE)
        .output()
        .expect("run zsh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("zsh-completion-done"), "zsh: {out:?}");
    // The terminal's escape sequences may precede a line: keep what follows the marker.
    text.split(['\r', '\n'])
        .filter_map(|l| l.rsplit_once("zsh-offers:").map(|(_, word)| word.to_owned()))
        .collect()
}

#[test]
fn zsh_completes_subcommands_flags_and_values_through_compsys() {
    let zsh = require_external!(ZSH);
    let script = stdout_of(&["completions", "zsh"]);
    let parsed = Command::new(&zsh).args(["-n", "-c", &script]).output();
    assert!(parsed.as_ref().is_ok_and(|out| out.status.success()), "zsh -n: {parsed:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("_raindrops"), script).expect("write _raindrops");
    std::fs::write(dir.path().join("setup.zsh"), ZSH_SETUP).expect("write setup.zsh");
    let all = zsh_offers(&zsh, dir.path(), "raindrops ");
    for word in subcommands() {
        assert!(all.contains(&word), "no {word} after `raindrops `: {all:?}");
    }
    assert_eq!(zsh_offers(&zsh, dir.path(), "raindrops st"), ["stats"]);
    let flags = zsh_offers(&zsh, dir.path(), "raindrops stats --");
    for flag in ["--format", "--delay", "--unix", "--queued-only"] {
        assert!(flags.iter().any(|w| w == flag), "no {flag} in {flags:?}");
    }
    assert!(!flags.iter().any(|w| w == "--listen"), "watch's flag offered to stats: {flags:?}");
    let mut formats = zsh_offers(&zsh, dir.path(), "raindrops stats --format ");
    formats.sort();
    assert_eq!(formats, ["json", "prometheus", "text"]);
}

#[test]
fn man_page_renders_with_every_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(page.starts_with(".ie \\n(.g .ds Aq \\(aq"), "{page}");
    assert!(page.contains(".TH raindrops 1"), "{page}");
    for word in subcommands() {
        let heading = format!(".SH \"RAINDROPS {}\"", word.to_uppercase());
        assert!(page.contains(&heading), "man page lacks {heading}: {page}");
    }
    // Rendered by the real man (groff), as a reader would see it.
    let man = require_external!(MAN);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raindrops.1");
    std::fs::write(&path, &page).expect("write the page");
    let out = Command::new(man)
        .arg("-l")
        .arg(&path)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .output()
        .expect("run man");
    assert!(out.status.success(), "man -l failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "no version in {text}");
    // Every subcommand's flags are on the one page, and the exit codes.
    for flag in ["--max-addresses", "--forget-after", "--max-memory", "--format", "--master"] {
        assert!(text.contains(flag), "man page lacks {flag}: {text}");
    }
    assert!(text.contains("130"), "no exit codes in {text}");
}
