//! The README's command lines are ones this CLI accepts: every `ferry …`
//! line of its `sh` blocks parses, so an example cannot name a flag that was
//! renamed, or stand for several commands at once (`list|show`,
//! `[--limit N]`), and still be pasted. (Running them is the business of
//! `tests/readme.rs`, against a real server.)

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::Cli;

/// The README, as the tests see it.
const README: &str = include_str!("../../../README.md");

/// The lines of the README's ```` ```sh ```` blocks, a line continued with
/// `\` joined to the next.
fn shell_lines(markdown: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in markdown.lines() {
        let fence = line.trim_start();
        if !in_block {
            in_block = fence == "```sh";
            continue;
        }
        if fence.starts_with("```") {
            in_block = false;
            continue;
        }
        // As in `sh`, a line goes on only when its very last character is
        // a backslash: one before a comment does not continue it.
        match line.strip_suffix('\\') {
            Some(start) => {
                pending.push_str(start);
                pending.push(' ');
            }
            None => {
                pending.push_str(without_comment(line));
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    lines
}

/// `line` without a `#` comment (one outside quotes, after a space or at
/// the start).
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (index, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), c) if c == open => quote = None,
            (None, '#') if previous.is_whitespace() => return &line[..index],
            _ => {}
        }
        previous = c;
    }
    line
}

/// The words of one shell command, as `sh` would pass them (quotes removed,
/// `$(…)` and variables left as written), for each command of a pipeline;
/// redirections are dropped.
fn commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word: Option<String> = None;
    let mut quote = None;
    let mut redirect = false;
    let end_word =
        |word: &mut Option<String>, commands: &mut Vec<Vec<String>>, redirect: &mut bool| {
            if let Some(done) = word.take() {
                if *redirect {
                    *redirect = false;
                } else if let Some(last) = commands.last_mut() {
                    last.push(done);
                }
            }
        };
    for c in line.chars() {
        match (quote, c) {
            (Some(open), c) if c == open => quote = None,
            (Some(_), c) => word.get_or_insert_with(String::new).push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => end_word(&mut word, &mut commands, &mut redirect),
            (None, '|' | ';') => {
                end_word(&mut word, &mut commands, &mut redirect);
                commands.push(Vec::new());
            }
            (None, '<' | '>') => {
                end_word(&mut word, &mut commands, &mut redirect);
                redirect = true;
            }
            (None, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    end_word(&mut word, &mut commands, &mut redirect);
    commands.retain(|command| !command.is_empty());
    commands
}

#[test]
fn words_are_split_as_a_shell_splits_them() {
    assert_eq!(
        commands(r#"ferry login --token "$(cat ~/x)" | tar xz ; ferry a < in.txt > out"#),
        [
            vec!["ferry", "login", "--token", "$(cat ~/x)"],
            vec!["tar", "xz"],
            vec!["ferry", "a"],
        ]
    );
    assert_eq!(
        shell_lines(
            "```sh\nferry a \\\n  --b c   # note\nferry d \\   # not continued\n```\n```toml\nx = 1\n```\n"
        ),
        ["ferry a    --b c   ", "ferry d \\   "]
    );
}

#[test]
fn every_command_line_of_the_readme_parses() {
    let mut refused = Vec::new();
    let mut parsed = 0;
    for line in shell_lines(README) {
        for words in commands(&line) {
            if words[0] != "ferry" {
                continue;
            }
            parsed += 1;
            match Cli::try_parse_from(&words).and_then(Cli::checked) {
                Ok(_) => {}
                // `--help` and `--version` answer without running anything.
                Err(error)
                    if matches!(
                        error.kind(),
                        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
                    ) => {}
                Err(error) => {
                    let first = error
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    refused.push(format!("{line}\n    {first}"));
                }
            }
        }
    }
    assert!(
        parsed > 50,
        "the README's examples were not found ({parsed})"
    );
    assert!(
        refused.is_empty(),
        "README command lines this CLI refuses:\n{}",
        refused.join("\n")
    );
}
