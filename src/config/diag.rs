//! Diagnostics: every message names file, line and column, and says what was expected.

use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A place in a configuration file (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Loc {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub fn new(file: &Arc<str>, line: u32, col: u32) -> Loc {
        Loc {
            file: file.clone(),
            line,
            col,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub loc: Loc,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {}: {}", self.loc, sev, self.message)
    }
}

/// Collected diagnostics, and the text of every file read (to show the line in reports).
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    sources: HashMap<Arc<str>, Arc<str>>,
}

impl Diagnostics {
    pub fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Error, loc, message.into());
    }

    pub fn warning(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Warning, loc, message.into());
    }

    fn push(&mut self, severity: Severity, loc: &Loc, message: String) {
        let d = Diagnostic {
            severity,
            loc: loc.clone(),
            message,
        };
        // The same message at the same place (a file included twice, a ~SEQ line) once.
        if !self.items.contains(&d) {
            self.items.push(d);
        }
    }

    pub fn add_source(&mut self, file: &Arc<str>, text: &Arc<str>) {
        self.sources.insert(file.clone(), text.clone());
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    pub fn error_count(&self) -> usize {
        self.errors().count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    /// Diagnostics in file order, each with its source line and a caret under the column.
    pub fn render(&self) -> String {
        let mut items: Vec<&Diagnostic> = self.items.iter().collect();
        items.sort_by(|a, b| a.loc.cmp(&b.loc));
        let mut out = String::new();
        for d in items {
            out.push_str(&d.to_string());
            out.push('\n');
            if let Some(line) = self
                .sources
                .get(&d.loc.file)
                .and_then(|t| t.lines().nth(d.loc.line.saturating_sub(1) as usize))
            {
                let shown: String = line
                    .chars()
                    .map(|c| if c == '\t' { ' ' } else { c })
                    .collect();
                let width = shown.chars().count();
                let col = (d.loc.col.max(1) as usize - 1).min(width);
                out.push_str(&format!("    {shown}\n    {}^\n", " ".repeat(col)));
            }
        }
        out
    }
}
