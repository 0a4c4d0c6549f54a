//! Diagnostics: every message names file, line and column, and says what was expected.

use rustc_hash::FxHashSet;
use serde::Serialize;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A configuration file read so far (an index into [`Diagnostics`]' file table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FileId(pub u32);

/// A place in a configuration file (1-based line and column). Small and `Copy`: readers
/// record one for every block and keyword.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Loc {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub fn new(file: FileId, line: u32, col: u32) -> Loc {
        Loc { file, line, col }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
    pub message: String,
    #[serde(skip)]
    pub loc: Loc,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, sev, self.message
        )
    }
}

struct SourceFile {
    name: Arc<str>,
    /// Kept as read (an `Arc<str>` would copy a large file once more).
    text: Arc<String>,
}

/// Collected diagnostics, and the name and text of every file read (to show the line).
#[derive(Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    files: Vec<SourceFile>,
    seen: FxHashSet<(Loc, u64)>,
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostics")
            .field("items", &self.items)
            .finish()
    }
}

impl Diagnostics {
    /// Register a file (its name as shown in messages, and its text).
    pub fn add_file(&mut self, name: &str, text: Arc<String>) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile {
            name: Arc::from(name),
            text,
        });
        id
    }

    /// Set the text of a file registered before it was read.
    pub fn set_text(&mut self, id: FileId, text: Arc<String>) {
        if let Some(f) = self.files.get_mut(id.0 as usize) {
            f.text = text;
        }
    }

    /// Names of the files registered from the `from`th on.
    pub fn file_names_from(&self, from: usize) -> Vec<Arc<str>> {
        self.files
            .get(from..)
            .map_or_else(Vec::new, |f| f.iter().map(|f| f.name.clone()).collect())
    }

    /// Take over another collection's messages (its locations in this file table).
    pub fn absorb(&mut self, other: Diagnostics) {
        for d in other.items {
            self.push(d.severity, &d.loc, d.message);
        }
    }

    pub fn file_name(&self, id: FileId) -> Arc<str> {
        self.files
            .get(id.0 as usize)
            .map_or_else(|| Arc::from("<config>"), |f| f.name.clone())
    }

    /// `FILE:LINE:COL` of a location, for messages that point at a second place.
    pub fn describe(&self, loc: &Loc) -> String {
        format!("{}:{}:{}", self.file_name(loc.file), loc.line, loc.col)
    }

    pub fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Error, loc, message.into());
    }

    pub fn warning(&mut self, loc: &Loc, message: impl Into<String>) {
        self.push(Severity::Warning, loc, message.into());
    }

    fn push(&mut self, severity: Severity, loc: &Loc, message: String) {
        // The same message at the same place (a file included twice, a ~SEQ line) once.
        let mut h = rustc_hash::FxHasher::default();
        message.hash(&mut h);
        severity.hash(&mut h);
        if !self.seen.insert((*loc, h.finish())) {
            return;
        }
        self.items.push(Diagnostic {
            severity,
            file: self.file_name(loc.file),
            line: loc.line,
            col: loc.col,
            message,
            loc: *loc,
        });
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
        items.sort_by_key(|d| d.loc);
        let mut out = String::new();
        for d in items {
            out.push_str(&d.to_string());
            out.push('\n');
            if let Some(line) = self
                .files
                .get(d.loc.file.0 as usize)
                .and_then(|f| f.text.lines().nth(d.line.saturating_sub(1) as usize))
            {
                let shown: String = line
                    .chars()
                    .map(|c| if c == '\t' { ' ' } else { c })
                    .collect();
                let width = shown.chars().count();
                let col = (d.col.max(1) as usize - 1).min(width);
                out.push_str(&format!("    {shown}\n    {}^\n", " ".repeat(col)));
            }
        }
        out
    }
}
