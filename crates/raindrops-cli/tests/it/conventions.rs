//! CLI conventions: `--version` with the git revision, `completions bash|zsh|fish` and
//! `man`, each checked by the program that reads it where it is installed.

use std::process::Command;

use crate::util::raindrops;

/// Runs `raindrops ARGS`, requires success and returns stdout.
fn stdout_of(args: &[&str]) -> String {
    let output = raindrops().args(args).output().expect("run raindrops");
    assert!(output.status.success(), "raindrops {args:?}: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8 output")
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
    let (subcommands, watch) = text.split_once("--- watch").expect("both sections");
    for word in ["stats", "watch", "serve", "dump", "top", "completions", "man"] {
        assert!(subcommands.lines().any(|line| line == word), "no {word} in {subcommands}");
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
    for word in ["stats", "watch", "serve", "dump", "top", "completions", "man"] {
        assert!(zsh.contains(&format!("'{word}:")), "zsh lacks {word}");
        assert!(fish.contains(&format!("-a \"{word}\"")), "fish lacks {word}");
    }
    // Where the shells are installed, the scripts must at least parse.
    for (shell, script, check) in [("zsh", &zsh, "-n"), ("fish", &fish, "--no-execute")] {
        match Command::new(shell).args([check, "-c", script]).output() {
            Ok(out) => assert!(out.status.success(), "{shell} {check}: {out:?}"),
            Err(_) => eprintln!("skipping: {shell} is not installed (Debian package {shell})"),
        }
    }
}

#[test]
fn man_page_renders_with_every_subcommand() {
    let page = stdout_of(&["man"]);
    assert!(page.starts_with(".ie \\n(.g .ds Aq \\(aq"), "{page}");
    assert!(page.contains(".TH raindrops 1"), "{page}");
    for word in ["stats", "watch", "serve", "dump", "top", "completions", "man"] {
        let heading = format!(".SH \"RAINDROPS {}\"", word.to_uppercase());
        assert!(page.contains(&heading), "man page lacks {heading}: {page}");
    }
    // Rendered by the real man (groff), as a reader would see it.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("raindrops.1");
    std::fs::write(&path, &page).expect("write the page");
    match Command::new("man")
        .arg("-l")
        .arg(&path)
        .env("MANWIDTH", "80")
        .env("MANPAGER", "cat")
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("NAME") && text.contains("SYNOPSIS"), "{text}");
            assert!(text.contains(env!("CARGO_PKG_VERSION")), "no version in {text}");
            // Every subcommand's flags are on the one page, and the exit codes.
            for flag in ["--max-addresses", "--forget-after", "--max-memory", "--format"] {
                assert!(text.contains(flag), "man page lacks {flag}: {text}");
            }
            assert!(text.contains("130"), "no exit codes in {text}");
        }
        Ok(out) => panic!("man -l failed: {out:?}"),
        Err(_) => eprintln!("skipping the rendering: man is not installed (Debian package man-db)"),
    }
}
