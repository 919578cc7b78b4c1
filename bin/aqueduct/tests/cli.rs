//! The CLI as a user meets it before anything runs (issue 16, item 14): every flag described,
//! flags accepted after the subcommand, bad keys and amounts refused by name, user errors in
//! one line with the detail behind `-v`.

mod common;

use std::process::Command;

fn aqueduct(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aqueduct"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .env_remove("AQUEDUCT_LOG")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// Subcommands listed under "Commands:" in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Options whose help says nothing but their env var or default.
fn undescribed(help: &str) -> Vec<String> {
    let lines: Vec<&str> = help.lines().collect();
    let mut bare = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        // A flag line ("--name", "-v, --verbose"), not a possible value ("- verifier: …").
        if !(t.starts_with("--") || t.starts_with('-') && t.chars().nth(1).is_some_and(|c| c.is_ascii_alphabetic())) {
            continue;
        }
        let flag = t.split_whitespace().find(|w| w.starts_with("--")).unwrap_or(t).to_string();
        // The description: the rest of the line after the flag and its value, then indented lines.
        let head = t.split("  ").skip(1).collect::<Vec<_>>().join(" ");
        let mut desc = head;
        for next in &lines[i + 1..] {
            if next.starts_with("          ") && !next.trim_start().starts_with("--") {
                desc.push_str(next);
            } else {
                break;
            }
        }
        let mut words = String::new();
        let mut depth = 0;
        for ch in desc.chars() {
            match ch {
                '[' => depth += 1,
                ']' => depth -= 1,
                c if depth == 0 => words.push(c),
                _ => {}
            }
        }
        if words.trim().is_empty() {
            bare.push(flag);
        }
    }
    bare
}

#[test]
fn every_flag_of_every_command_is_described() {
    let mut todo = vec![Vec::<String>::new()];
    let mut missing = Vec::new();
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (ok, help, err) = aqueduct(&args);
        assert!(ok, "{args:?}: {err}");
        seen += 1;
        missing.extend(undescribed(&help).into_iter().map(|f| format!("{} {f}", path.join(" "))));
        todo.extend(subcommands(&help).into_iter().map(|c| [path.clone(), vec![c]].concat()));
    }
    assert!(seen > 30, "walked only {seen} commands");
    assert!(missing.is_empty(), "flags without a description:\n{}", missing.join("\n"));
    // A private key's default is named, not printed.
    let (_, help, _) = aqueduct(&["bridge", "deposit", "--help"]);
    assert!(help.contains("[default: dev account 0]") && !help.contains("0xac0974"), "{help}");
}

#[test]
fn user_errors_are_one_line_and_detailed_with_v() {
    let missing = std::env::temp_dir().join("aqueduct-no-such-dir");
    let dir = missing.to_str().unwrap();
    // Flags after the subcommand, as zk and channel take them; the spec found from --data-dir.
    let (ok, _, err) = aqueduct(&["bridge", "status", "--tx", &format!("0x{}", "11".repeat(32)), "--data-dir", dir]);
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "one line:\n{err}");
    assert!(err.starts_with("Error: reading the rollup's spec: start `aqueduct devnet` first"), "{err}");
    assert!(err.contains(&format!("{dir}/rollup/rollup.json")), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "a cause is not repeated: {err}");
    let (_, _, err) =
        aqueduct(&["bridge", "status", "--tx", &format!("0x{}", "11".repeat(32)), "--data-dir", dir, "-v"]);
    assert!(err.contains("Caused by") && err.contains("Location:"), "-v shows the detail:\n{err}");
    let (ok, _, err) = aqueduct(&["bridge", "withdraw", "--amount", "1", "--rollup", "/nonexistent/rollup.json"]);
    assert!(!ok && err.contains("/nonexistent/rollup.json"), "--rollup after the subcommand: {err}");
}

#[test]
fn bad_keys_and_amounts_are_refused_by_name() {
    for args in [
        vec!["bridge", "--key", "0x1234", "deposit", "--amount", "1"],
        vec!["zk", "deposit", "--key", "nothex", "--amount", "1"],
        vec!["devnet", "--deployer-key", "0x00"],
    ] {
        let (ok, _, err) = aqueduct(&args);
        assert!(!ok && err.contains("a key is 32 bytes of hex"), "{args:?}: {err}");
    }
    let zero = "0x0000000000000000000000000000000000000000000000000000000000000000";
    let (_, _, err) = aqueduct(&["bridge", "--key", zero, "deposit", "--amount", "1"]);
    assert!(err.contains("not a valid secp256k1 key"), "{err}");
    // Zero moves nothing: refused alike in every family, before anything is sent.
    for args in [
        vec!["bridge", "deposit", "--amount", "0"],
        vec!["bridge", "withdraw", "--amount", "0.0"],
        vec!["zk", "deposit", "--amount", "0"],
        vec!["zk", "withdraw", "--zk-key", "0x01", "--from", "0", "--amount", "0"],
        vec!["channel", "pay", "--to", "0x000000000000000000000000000000000000dEaD", "--amount", "0"],
        vec!["channel", "invoice", "--amount", "0"],
    ] {
        let (ok, _, err) = aqueduct(&args);
        assert!(!ok && err.contains("amount must be above zero"), "{args:?}: {err}");
    }
    let (ok, _, err) = aqueduct(&["zk", "deposit", "--amount", "1", "--zk-key", "0x01"]);
    assert!(!ok && err.contains("unexpected argument '--zk-key'"), "a deposit does not take an L2 key: {err}");
}
