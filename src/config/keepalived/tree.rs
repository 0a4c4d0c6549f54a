//! Logical lines -> a tree of statements and `{ }` blocks, as keepalived splits them:
//! every unquoted `{` or `}` ends a statement, and a `{` opens the block of the statement
//! just before it (on the same line or the next).

use super::lines::Line;
use crate::config::diag::{Diagnostics, Loc};
use compact_str::CompactString;
use smallvec::SmallVec;

#[derive(Clone, Debug)]
pub struct Word {
    /// Inline up to 24 bytes: most words cost no allocation.
    pub text: CompactString,
    pub loc: Loc,
}

#[derive(Clone, Debug)]
pub struct Node {
    /// Most statements have three words or fewer: kept inline, no allocation.
    pub words: SmallVec<[Word; 3]>,
    /// The statement's text after the keyword as written, quotes kept (for script command
    /// lines), when quotes or escapes make it differ from the words.
    pub rest: Option<String>,
    pub loc: Loc,
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The text after the keyword as written (quotes and escapes kept).
    pub fn raw_rest(&self) -> String {
        match &self.rest {
            Some(r) => r.clone(),
            None => self
                .args()
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    pub fn keyword(&self) -> &str {
        self.words.first().map_or("", |w| w.text.as_str())
    }
    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or(&[])
    }
    /// Location of argument `i` (0 = first after the keyword), or of the keyword.
    pub fn arg_loc(&self, i: usize) -> &Loc {
        self.words.get(i + 1).map_or(&self.loc, |w| &w.loc)
    }
    /// Where a missing value would go: just after the last word.
    pub fn end_loc(&self) -> Loc {
        let last = self.words.last().map_or(&self.loc, |w| &w.loc);
        let len = self.words.last().map_or(0, |w| w.text.chars().count());
        Loc {
            col: last.col + len as u32 + 1,
            ..*last
        }
    }
}

/// Column of byte offset `off` in `text`, whose first character is at column `first`.
fn col_of(text: &str, ascii: bool, first: u32, off: usize) -> u32 {
    if ascii {
        first + off as u32
    } else {
        first + text[..off].chars().count() as u32
    }
}

/// Split a statement into words as keepalived does: blanks separate, `"..."` groups (quotes
/// removed, backslashes kept).
fn words(text: &str, loc: &Loc, diags: &mut Diagnostics) -> SmallVec<[Word; 3]> {
    let mut out = SmallVec::new();
    let b = text.as_bytes();
    let mut i = 0;
    // columns count characters; track them alongside byte offsets
    let mut col = loc.col;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
            col += 1;
        }
        if i >= b.len() {
            break;
        }
        let start_col = col;
        let start = i;
        let mut quoted = false;
        let mut quote = false;
        while i < b.len() {
            let c = b[i];
            if !quote && c.is_ascii_whitespace() {
                break;
            }
            if c == b'"' {
                quote = !quote;
                quoted = true;
            } else if c == b'\\' && quote && i + 1 < b.len() {
                i += 1;
                col += 1;
            }
            i += 1;
            if !(0x80..0xc0).contains(&c) {
                col += 1;
            }
        }
        let raw = &text[start..i];
        let wtext = if quoted {
            CompactString::from(unquote(raw))
        } else {
            CompactString::from(raw)
        };
        let wloc = Loc {
            col: start_col,
            ..*loc
        };
        if quote {
            diags.error(&wloc, "missing closing '\"'");
        }
        out.push(Word {
            text: wtext,
            loc: wloc,
        });
    }
    out
}

/// Remove the double quotes of a word, keeping what they enclose (and escapes) as written.
fn unquote(raw: &str) -> String {
    let mut w = String::with_capacity(raw.len());
    let mut quote = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quote = !quote,
            '\\' if quote => {
                w.push(c);
                if let Some(n) = chars.next() {
                    w.push(n);
                }
            }
            _ => w.push(c),
        }
    }
    w
}

struct Open {
    owner: Node,
    children: Vec<Node>,
    /// Column of the first word of the line that opened the block.
    indent: u32,
}

/// Builds the statement tree line by line and hands over each top-level statement as soon
/// as it is complete, so a large configuration is never held as a whole tree.
#[derive(Default)]
pub struct Builder {
    stack: Vec<Open>,
    /// A top-level statement that may still get a block from a '{' on a later line.
    pending: Option<Node>,
    can_open: bool,
    /// (opener, keyword, closer) of blocks whose '}' is less indented than their opener.
    suspicious: Vec<(Loc, String, Loc)>,
}

impl Builder {
    fn siblings<'a>(
        stack: &'a mut [Open],
        pending: &mut Option<Node>,
        done: &mut Vec<Node>,
    ) -> Option<&'a mut Vec<Node>> {
        match stack.last_mut() {
            Some(o) => Some(&mut o.children),
            None => {
                done.extend(pending.take());
                None
            }
        }
    }

    /// Add one logical line; completed top-level statements are pushed onto `done`.
    /// Every unquoted `{` or `}` ends the statement before it.
    pub fn feed(&mut self, text: &str, at: Loc, diags: &mut Diagnostics, done: &mut Vec<Node>) {
        let ascii = text.is_ascii();
        let b = text.as_bytes();
        let mut seg = 0;
        let mut quote = false;
        let mut before = false; // anything on this line before the current position
        let mut i = 0;
        // jump from one brace or quote to the next; inside quotes, to the closing quote
        // (skipping escaped characters)
        loop {
            let next = if quote {
                memchr::memchr2(b'"', b'\\', &b[i..])
            } else {
                memchr::memchr3(b'{', b'}', b'"', &b[i..])
            };
            let Some(off) = next else { break };
            i += off;
            match b[i] {
                b'"' => quote = !quote,
                b'\\' => i += 1,
                c => {
                    let stmt_col = col_of(text, ascii, at.col, seg);
                    before |= self.statement(&text[seg..i], stmt_col, at, diags, done);
                    let loc = Loc {
                        col: col_of(text, ascii, at.col, i),
                        ..at
                    };
                    if c == b'{' {
                        self.open(loc, diags, done);
                    } else {
                        self.close(loc, !before, diags, done);
                    }
                    before = true;
                    seg = i + 1;
                }
            }
            i += 1;
            if i >= b.len() {
                break;
            }
        }
        let stmt_col = col_of(text, ascii, at.col, seg.min(text.len()));
        self.statement(&text[seg.min(text.len())..], stmt_col, at, diags, done);
    }

    /// A statement (the text between braces); false when it is blank.
    fn statement(
        &mut self,
        text: &str,
        col: u32,
        at: Loc,
        diags: &mut Diagnostics,
        done: &mut Vec<Node>,
    ) -> bool {
        // blanks as words() sees them (ASCII), so a non-blank statement has a word
        let trimmed = text.trim_ascii_start();
        let lead = (text.len() - trimmed.len()) as u32;
        let t = trimmed.trim_ascii_end();
        if t.is_empty() {
            return false;
        }
        let loc = Loc {
            col: col + lead,
            ..at
        };
        let ws = words(t, &loc, diags);
        // the raw text is kept only where quotes or escapes make it differ
        let rest = if t.bytes().any(|b| matches!(b, b'"' | b'\\' | b'\'')) {
            t.split_once(char::is_whitespace)
                .map(|x| x.1.trim().to_string())
        } else {
            None
        };
        let node = Node {
            words: ws,
            rest,
            loc,
            block: None,
        };
        match Self::siblings(&mut self.stack, &mut self.pending, done) {
            Some(sib) => sib.push(node),
            None => self.pending = Some(node),
        }
        self.can_open = true;
        true
    }

    fn open(&mut self, loc: Loc, diags: &mut Diagnostics, done: &mut Vec<Node>) {
        let owner = if self.can_open {
            match self.stack.last_mut() {
                Some(o) => o.children.pop(),
                None => self.pending.take(),
            }
        } else {
            None
        };
        let owner = owner.unwrap_or_else(|| {
            diags.error(&loc, "unexpected '{': a block must follow a keyword");
            Node {
                words: SmallVec::new(),
                rest: None,
                loc,
                block: None,
            }
        });
        if self.stack.is_empty() {
            done.extend(self.pending.take());
        }
        let indent = owner.loc.col;
        self.stack.push(Open {
            owner,
            children: Vec::new(),
            indent,
        });
        self.can_open = false;
    }

    fn close(
        &mut self,
        loc: Loc,
        first_on_line: bool,
        diags: &mut Diagnostics,
        done: &mut Vec<Node>,
    ) {
        self.can_open = false;
        let Some(open) = self.stack.pop() else {
            done.extend(self.pending.take());
            diags.error(&loc, "extra '}': no block is open here");
            return;
        };
        if first_on_line && loc.col < open.indent && open.owner.loc.file == loc.file {
            self.suspicious
                .push((open.owner.loc, open.owner.keyword().to_string(), loc));
        }
        self.attach(open, done);
    }

    /// A closed block becomes its keyword's child of the enclosing block (or a finished
    /// top-level statement). The anonymous block of a stray '{' is dropped: every node has
    /// a keyword.
    fn attach(&mut self, open: Open, done: &mut Vec<Node>) {
        let mut node = open.owner;
        node.block = Some(open.children);
        if node.words.is_empty() {
            return;
        }
        match self.stack.last_mut() {
            Some(o) => o.children.push(node),
            None => done.push(node),
        }
    }

    /// End of input: report blocks left open and hand over what remains.
    pub fn finish(mut self, diags: &mut Diagnostics, done: &mut Vec<Node>) {
        done.extend(self.pending.take());
        if !self.stack.is_empty() {
            if let Some((opener, kw, closer)) = self.suspicious.first() {
                diags.error(
                    opener,
                    format!(
                        "block '{kw}' is probably missing its '}}': the '}}' at line {} is indented like an enclosing block",
                        closer.line
                    ),
                );
            }
        }
        while let Some(open) = self.stack.pop() {
            diags.error(
                &open.owner.loc,
                format!(
                    "block '{}' is never closed: expected '}}' before the end of the configuration",
                    open.owner.keyword()
                ),
            );
            self.attach(open, done);
        }
    }
}

/// Build the whole statement tree. Unbalanced braces are reported; the tree is still returned.
pub fn build(lines: &[Line], diags: &mut Diagnostics) -> Vec<Node> {
    let mut b = Builder::default();
    let mut out = Vec::new();
    for line in lines {
        b.feed(&line.text, line.loc, diags, &mut out);
    }
    b.finish(diags, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keepalived::lines::{collect_str, Options};

    fn tree(text: &str) -> (Vec<Node>, Diagnostics) {
        let mut d = Diagnostics::default();
        let l = collect_str("t.conf", text, &Options::default(), &mut d);
        let t = build(&l, &mut d);
        (t, d)
    }

    #[test]
    fn block_forms() {
        let (t, d) = tree("a x {\n b 1\n}\nc\n{\n d }\ne { f 1 } g\n");
        assert!(!d.has_errors(), "{}", d.render());
        let kws: Vec<&str> = t.iter().map(Node::keyword).collect();
        assert_eq!(kws, vec!["a", "c", "e", "g"]);
        assert_eq!(t[0].block.as_ref().unwrap()[0].keyword(), "b");
        assert_eq!(t[1].block.as_ref().unwrap()[0].keyword(), "d");
        assert_eq!(t[2].block.as_ref().unwrap()[0].words.len(), 2);
    }

    #[test]
    fn quotes_and_columns() {
        let (t, _) = tree("  notify \"/bin/x {a}\" root\n");
        assert_eq!(t[0].words[1].text, "/bin/x {a}");
        assert_eq!(t[0].words[1].loc.col, 10);
        assert_eq!(t[0].words[2].loc.col, 23);
        assert_eq!(t[0].raw_rest(), "\"/bin/x {a}\" root");
    }

    #[test]
    fn unbalanced() {
        let (_, d) = tree("a {\n b {\n c 1\n}\n");
        let r = d.render();
        assert!(
            r.contains("t.conf:1:1: error: block 'a' is never closed"),
            "{r}"
        );
        let (_, d) = tree("a {\n}\n}\n");
        assert!(d.render().contains("t.conf:3:1: error: extra '}'"));
        let (_, d) = tree("{\n}\n");
        assert!(d.render().contains("unexpected '{'"));
    }

    #[test]
    fn every_node_has_a_keyword() {
        // found by the fuzzer: a stray '{' left open until the end
        fn check(nodes: &[Node]) {
            for n in nodes {
                assert!(!n.words.is_empty());
                check(n.block.as_deref().unwrap_or(&[]));
            }
        }
        for text in ["vrrp_instance C{track_file{{", "a {\n{\n{ b }\n", "{{{"] {
            let (t, d) = tree(text);
            assert!(d.has_errors());
            check(&t);
        }
    }

    #[test]
    fn missing_brace_is_located() {
        let text = "vs {\n    rs {\n        w 1\n}\nvs2 {\n}\n";
        let (_, d) = tree(text);
        let r = d.render();
        assert!(
            r.contains("t.conf:2:5: error: block 'rs' is probably missing"),
            "{r}"
        );
        assert!(
            r.contains("t.conf:1:1: error: block 'vs' is never closed"),
            "{r}"
        );
    }
}
