//! `ldirector assets DIR` (hidden; the packages' build runs it): the man pages and shell
//! completions, generated from the command line itself and from docs/config.md, so they
//! never disagree with the binary they ship with.
//!
//! - `DIR/man/ldirector.8` and `ldirector-<command>.8` (clap_mangen);
//! - `DIR/man/ldirector.toml.5`: docs/config.md turned into roff (the subset of Markdown
//!   that file uses: headings, paragraphs, lists, code blocks, inline code, links);
//! - `DIR/completions/ldirector.bash`, `_ldirector` (zsh), `ldirector.fish`.

use clap::{Args, CommandFactory};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct AssetsArgs {
    /// Where to write man/ and completions/
    pub out: PathBuf,
}

const CONFIG_MD: &str = include_str!("../../docs/config.md");

pub fn run(a: &AssetsArgs) -> i32 {
    match write_all(&a.out) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            0
        }
        Err(e) => {
            eprintln!("ldirector assets: {e}");
            1
        }
    }
}

fn write(path: PathBuf, bytes: &[u8], files: &mut Vec<PathBuf>) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    files.push(path);
    Ok(())
}

fn write_all(out: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut cmd = super::Cli::command();
    cmd.build();
    let man = out.join("man");
    let page = |c: clap::Command| -> Result<Vec<u8>, String> {
        let mut page = Vec::new();
        clap_mangen::Man::new(c)
            .section("8")
            .manual("System Administration")
            .render(&mut page)
            .map_err(|e| e.to_string())?;
        Ok(page)
    };
    // ldirector.8, then one page per command
    write(man.join("ldirector.8"), &page(cmd.clone())?, &mut files)?;
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = format!("ldirector-{}", sub.get_name());
        let text = page(sub.clone().name(name.clone()))?;
        write(man.join(format!("{name}.8")), &text, &mut files)?;
    }
    write(
        man.join("ldirector.toml.5"),
        config_page(env!("CARGO_PKG_VERSION")).as_bytes(),
        &mut files,
    )?;
    let comp = out.join("completions");
    for (shell, file) in [
        (clap_complete::Shell::Bash, "ldirector.bash"),
        (clap_complete::Shell::Zsh, "_ldirector"),
        (clap_complete::Shell::Fish, "ldirector.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "ldirector", &mut buf);
        write(comp.join(file), &buf, &mut files)?;
    }
    Ok(files)
}

/// roff-escape text: backslashes, and dashes as minus signs (options, ranges).
fn escape(s: &str) -> String {
    s.replace('\\', "\\e").replace('-', "\\-")
}

/// Inline Markdown: `code` and **strong** in bold, [text](link) as its text.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(['`', '[', '*']) {
        out.push_str(&escape(&rest[..i]));
        let tail = &rest[i..];
        if let Some(strong) = tail.strip_prefix("**") {
            if let Some(end) = strong.find("**") {
                out.push_str(&format!("\\fB{}\\fR", inline(&strong[..end])));
                rest = &strong[end + 2..];
                continue;
            }
        } else if let Some(code) = tail.strip_prefix('`') {
            if let Some(end) = code.find('`') {
                out.push_str(&format!("\\fB{}\\fR", escape(&code[..end])));
                rest = &code[end + 1..];
                continue;
            }
        } else if let Some(close) = tail.find("](") {
            if let Some(end) = tail[close..].find(')') {
                out.push_str(&inline(&tail[1..close]));
                rest = &tail[close + end + 1..];
                continue;
            }
        }
        out.push_str(&escape(&tail[..1]));
        rest = &tail[1..];
    }
    out.push_str(&escape(rest));
    out
}

/// A roff line must not start with a control character.
fn line(s: String) -> String {
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

/// ldirector.toml(5) from docs/config.md.
pub fn config_page(version: &str) -> String {
    let mut o = format!(
        ".TH LDIRECTOR.TOML 5 \"\" \"ldirector {version}\" \"File Formats\"\n.SH NAME\nldirector.toml \\- ldirector's configuration file (and how it reads keepalived.conf)\n.SH SYNOPSIS\n/etc/ldirector/ldirector.toml\n.br\n/etc/keepalived/keepalived.conf\n.SH DESCRIPTION\n"
    );
    let mut code = false;
    // the paragraph or list item being gathered (inline code may span lines)
    let mut text: Option<(bool, String)> = None;
    let flush = |o: &mut String, text: &mut Option<(bool, String)>| {
        if let Some((item, t)) = text.take() {
            if item {
                o.push_str(".IP \\(bu 2\n");
            }
            o.push_str(&line(inline(&t)));
            o.push('\n');
        }
    };
    for l in CONFIG_MD.lines() {
        if l.starts_with("```") {
            flush(&mut o, &mut text);
            o.push_str(if code { ".fi\n.RE\n" } else { ".RS 2\n.nf\n" });
            code = !code;
            continue;
        }
        if code {
            o.push_str(&line(escape(l)));
            o.push('\n');
            continue;
        }
        let t = l.trim_start();
        if l.starts_with("# ") {
            // the page's own title
        } else if let Some(h) = l.strip_prefix("## ") {
            flush(&mut o, &mut text);
            o.push_str(&format!(".SH \"{}\"\n", escape(&h.to_uppercase())));
        } else if let Some(h) = l.strip_prefix("### ") {
            flush(&mut o, &mut text);
            o.push_str(&format!(".SS \"{}\"\n", escape(h)));
        } else if let Some(item) = t.strip_prefix("- ") {
            flush(&mut o, &mut text);
            text = Some((true, item.to_string()));
        } else if t.is_empty() {
            flush(&mut o, &mut text);
            o.push_str(".PP\n");
        } else {
            match &mut text {
                Some((_, s)) => {
                    s.push(' ');
                    s.push_str(t);
                }
                None => text = Some((false, t.to_string())),
            }
        }
    }
    flush(&mut o, &mut text);
    o.push_str(
        ".SH FILES\n/etc/ldirector/ldirector.toml, /etc/keepalived/keepalived.conf (read when the first is absent)\n.SH \"SEE ALSO\"\n\\fBldirector\\fR(8), \\fBkeepalived.conf\\fR(5)\n",
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_roff() {
        assert_eq!(
            inline("use `lvs_drain_timeout` (see [config](config.md)) -- ok"),
            "use \\fBlvs_drain_timeout\\fR (see config) \\-\\- ok"
        );
        assert_eq!(line(".x".into()), "\\&.x");
        let p = config_page("1.2.3");
        assert!(p.starts_with(".TH LDIRECTOR.TOML 5"));
        assert!(p.contains(".SH \"DIFFERENCES FROM KEEPALIVED\""));
        assert!(p.contains(".nf\n"));
        assert_eq!(p.matches(".nf\n").count(), p.matches(".fi\n").count());
        assert!(!p.contains("```"));
        assert!(!p.contains("**"));
        assert_eq!(
            inline("**TOML** (`a.toml`)"),
            "\\fBTOML\\fR (\\fBa.toml\\fR)"
        );
    }
}
