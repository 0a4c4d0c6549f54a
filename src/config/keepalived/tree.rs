//! Logical lines -> a tree of statements and `{ }` blocks, as keepalived splits them:
//! every unquoted `{` or `}` ends a statement, and a `{` opens the block of the statement
//! just before it (on the same line or the next).
//!
//! The tree is stored flat in a [`Tree`] (words, and each block's statements side by side)
//! and read through [`Node`] views: building it allocates nothing once a `Tree`'s vectors
//! have grown, and a whole batch of statements is freed or reused at once.

use super::lines::Line;
use crate::config::diag::{Diagnostics, Loc};
use compact_str::CompactString;

#[derive(Clone, Debug)]
pub struct Word {
    /// Inline up to 24 bytes: most words cost no allocation.
    pub text: CompactString,
    pub loc: Loc,
}

/// A statement as stored: ranges into its [`Tree`]'s vectors.
#[derive(Clone, Copy, Debug)]
struct Rec {
    /// `Tree::words[words.0..words.1]`
    words: (u32, u32),
    /// `Tree::texts[r.0..r.1]`
    rest: Option<(u32, u32)>,
    loc: Loc,
    /// `Tree::nodes[b.0..b.1]`
    block: Option<(u32, u32)>,
}

/// Complete top-level statements (`roots`) with everything inside them.
#[derive(Debug, Default)]
pub struct Tree {
    words: Vec<Word>,
    /// Raw statement texts where quotes make them differ from the words.
    texts: String,
    /// The statements of every block, each block's side by side.
    nodes: Vec<Rec>,
    roots: Vec<Rec>,
}

impl Tree {
    /// The top-level statements, in order.
    pub fn roots(&self) -> Children<'_> {
        Children {
            tree: self,
            it: self.roots.iter(),
        }
    }

    /// Number of top-level statements.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Empty it, keeping its memory for the next statements.
    pub fn clear(&mut self) {
        self.words.clear();
        self.texts.clear();
        self.nodes.clear();
        self.roots.clear();
    }

    fn node(&self, r: &Rec) -> Node<'_> {
        Node {
            words: &self.words[r.words.0 as usize..r.words.1 as usize],
            rest: r.rest.map(|(a, b)| &self.texts[a as usize..b as usize]),
            loc: r.loc,
            block: r.block.map(|(a, b)| Block {
                tree: self,
                recs: &self.nodes[a as usize..b as usize],
            }),
            tree: self,
        }
    }
}

/// One statement: its words, and its block if it has one.
#[derive(Clone, Copy, Debug)]
pub struct Node<'t> {
    pub words: &'t [Word],
    /// The statement's text after the keyword as written, quotes kept (for script command
    /// lines), when quotes or escapes make it differ from the words.
    pub rest: Option<&'t str>,
    pub loc: Loc,
    pub block: Option<Block<'t>>,
    tree: &'t Tree,
}

/// The statements of a `{ }` block.
#[derive(Clone, Copy, Debug)]
pub struct Block<'t> {
    tree: &'t Tree,
    recs: &'t [Rec],
}

impl<'t> Block<'t> {
    pub fn len(&self) -> usize {
        self.recs.len()
    }
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }
    pub fn iter(&self) -> Children<'t> {
        Children {
            tree: self.tree,
            it: self.recs.iter(),
        }
    }
    pub fn get(&self, i: usize) -> Option<Node<'t>> {
        self.recs.get(i).map(|r| self.tree.node(r))
    }
}

impl<'t> IntoIterator for Block<'t> {
    type Item = Node<'t>;
    type IntoIter = Children<'t>;
    fn into_iter(self) -> Children<'t> {
        self.iter()
    }
}

/// The statements of a block (or a tree's top level), in order.
#[derive(Clone, Debug)]
pub struct Children<'t> {
    tree: &'t Tree,
    it: std::slice::Iter<'t, Rec>,
}

impl<'t> Iterator for Children<'t> {
    type Item = Node<'t>;
    fn next(&mut self) -> Option<Node<'t>> {
        self.it.next().map(|r| self.tree.node(r))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.it.size_hint()
    }
}

impl ExactSizeIterator for Children<'_> {}

impl<'t> Node<'t> {
    /// The text after the keyword as written (quotes and escapes kept).
    pub fn raw_rest(&self) -> String {
        match self.rest {
            Some(r) => r.to_string(),
            None => self
                .args()
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    pub fn keyword(&self) -> &'t str {
        self.words.first().map_or("", |w| w.text.as_str())
    }
    pub fn args(&self) -> &'t [Word] {
        self.words.get(1..).unwrap_or(&[])
    }
    /// The block's statements (none when it has no block).
    pub fn children(&self) -> Children<'t> {
        match self.block {
            Some(b) => b.iter(),
            None => Children {
                tree: self.tree,
                it: [].iter(),
            },
        }
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
/// removed, backslashes kept). The words go to the end of `out`.
fn words(text: &str, loc: &Loc, diags: &mut Diagnostics, out: &mut Vec<Word>) {
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
    owner: Rec,
    /// Column of the first word of the line that opened the block.
    indent: u32,
}

/// Builds the statement tree line by line; each top-level statement lands in the [`Tree`]
/// as soon as it is complete, so a large configuration is never held as a whole tree.
#[derive(Default)]
pub struct Builder {
    stack: Vec<Open>,
    /// `levels[d]`: the statements read so far inside `stack[d]` (kept for reuse).
    levels: Vec<Vec<Rec>>,
    /// A top-level statement that may still get a block from a '{' on a later line.
    pending: Option<Rec>,
    can_open: bool,
    /// (opener, keyword, closer) of blocks whose '}' is less indented than their opener.
    suspicious: Vec<(Loc, String, Loc)>,
}

impl Builder {
    /// Nothing half-built: every statement so far is in the tree's top level, which can be
    /// handed over (and the next statements go to another tree).
    pub fn idle(&self) -> bool {
        self.stack.is_empty() && self.pending.is_none()
    }

    /// A finished statement: a sibling in the open block, or the new pending top-level one.
    fn place(&mut self, rec: Rec, out: &mut Tree) {
        match self.stack.len() {
            0 => {
                out.roots.extend(self.pending.take());
                self.pending = Some(rec);
            }
            d => self.levels[d - 1].push(rec),
        }
    }

    /// Add one logical line; completed top-level statements go to `out`'s top level.
    /// Every unquoted `{` or `}` ends the statement before it.
    pub fn feed(&mut self, text: &str, at: Loc, diags: &mut Diagnostics, out: &mut Tree) {
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
                    before |= self.statement(&text[seg..i], stmt_col, at, diags, out);
                    let loc = Loc {
                        col: col_of(text, ascii, at.col, i),
                        ..at
                    };
                    if c == b'{' {
                        self.open(loc, diags, out);
                    } else {
                        self.close(loc, !before, diags, out);
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
        self.statement(&text[seg.min(text.len())..], stmt_col, at, diags, out);
    }

    /// A statement (the text between braces); false when it is blank.
    fn statement(
        &mut self,
        text: &str,
        col: u32,
        at: Loc,
        diags: &mut Diagnostics,
        out: &mut Tree,
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
        let first = out.words.len() as u32;
        words(t, &loc, diags, &mut out.words);
        // the raw text is kept only where quotes or escapes make it differ
        let rest = if t.bytes().any(|b| matches!(b, b'"' | b'\\' | b'\'')) {
            t.split_once(char::is_whitespace).map(|x| {
                let start = out.texts.len() as u32;
                out.texts.push_str(x.1.trim());
                (start, out.texts.len() as u32)
            })
        } else {
            None
        };
        let rec = Rec {
            words: (first, out.words.len() as u32),
            rest,
            loc,
            block: None,
        };
        self.place(rec, out);
        self.can_open = true;
        true
    }

    fn open(&mut self, loc: Loc, diags: &mut Diagnostics, out: &mut Tree) {
        let owner = if self.can_open {
            match self.stack.len() {
                0 => self.pending.take(),
                d => self.levels[d - 1].pop(),
            }
        } else {
            None
        };
        let owner = owner.unwrap_or_else(|| {
            diags.error(&loc, "unexpected '{': a block must follow a keyword");
            let at = out.words.len() as u32;
            Rec {
                words: (at, at),
                rest: None,
                loc,
                block: None,
            }
        });
        if self.stack.is_empty() {
            out.roots.extend(self.pending.take());
        }
        let indent = owner.loc.col;
        self.stack.push(Open { owner, indent });
        let depth = self.stack.len();
        if self.levels.len() < depth {
            self.levels.push(Vec::new());
        }
        self.levels[depth - 1].clear();
        self.can_open = false;
    }

    fn close(&mut self, loc: Loc, first_on_line: bool, diags: &mut Diagnostics, out: &mut Tree) {
        self.can_open = false;
        let Some(open) = self.stack.pop() else {
            out.roots.extend(self.pending.take());
            diags.error(&loc, "extra '}': no block is open here");
            return;
        };
        if first_on_line && loc.col < open.indent && open.owner.loc.file == loc.file {
            let kw = out.node(&open.owner).keyword().to_string();
            self.suspicious.push((open.owner.loc, kw, loc));
        }
        self.attach(open, out);
    }

    /// A closed block becomes its keyword's child of the enclosing block (or a finished
    /// top-level statement); its statements move to the tree side by side. The anonymous
    /// block of a stray '{' is dropped: every node has a keyword.
    fn attach(&mut self, open: Open, out: &mut Tree) {
        let depth = self.stack.len(); // the closed block's level is `depth`
        let start = out.nodes.len() as u32;
        out.nodes.append(&mut self.levels[depth]);
        let mut rec = open.owner;
        rec.block = Some((start, out.nodes.len() as u32));
        if rec.words.0 == rec.words.1 {
            return;
        }
        match depth {
            0 => out.roots.push(rec),
            d => self.levels[d - 1].push(rec),
        }
    }

    /// End of input: report blocks left open and hand over what remains.
    pub fn finish(mut self, diags: &mut Diagnostics, out: &mut Tree) {
        out.roots.extend(self.pending.take());
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
            let kw = out.node(&open.owner).keyword().to_string();
            diags.error(
                &open.owner.loc,
                format!(
                    "block '{kw}' is never closed: expected '}}' before the end of the configuration"
                ),
            );
            self.attach(open, out);
        }
    }
}

/// Build the whole statement tree. Unbalanced braces are reported; the tree is still returned.
pub fn build(lines: &[Line], diags: &mut Diagnostics) -> Tree {
    let mut b = Builder::default();
    let mut out = Tree::default();
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

    fn tree(text: &str) -> (Tree, Diagnostics) {
        let mut d = Diagnostics::default();
        let l = collect_str("t.conf", text, &Options::default(), &mut d);
        let t = build(&l, &mut d);
        (t, d)
    }

    #[test]
    fn block_forms() {
        let (t, d) = tree("a x {\n b 1\n}\nc\n{\n d }\ne { f 1 } g\n");
        assert!(!d.has_errors(), "{}", d.render());
        let t: Vec<Node> = t.roots().collect();
        let kws: Vec<&str> = t.iter().map(Node::keyword).collect();
        assert_eq!(kws, vec!["a", "c", "e", "g"]);
        fn first<'t>(n: &Node<'t>) -> &'t [Word] {
            n.children().next().unwrap().words
        }
        assert_eq!(first(&t[0])[0].text, "b");
        assert_eq!(first(&t[1])[0].text, "d");
        assert_eq!(first(&t[2]).len(), 2);
        assert!(t[3].block.is_none());
    }

    #[test]
    fn quotes_and_columns() {
        let (t, _) = tree("  notify \"/bin/x {a}\" root\n");
        let t: Vec<Node> = t.roots().collect();
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
        fn check(nodes: Children<'_>) {
            for n in nodes {
                assert!(!n.words.is_empty());
                check(n.children());
            }
        }
        for text in ["vrrp_instance C{track_file{{", "a {\n{\n{ b }\n", "{{{"] {
            let (t, d) = tree(text);
            assert!(d.has_errors());
            check(t.roots());
        }
    }

    #[test]
    fn nested_blocks_keep_their_own_statements() {
        let (t, d) = tree("a {\n b {\n  c 1\n  d { e }\n  f\n }\n g\n}\nh { i }\n");
        assert!(!d.has_errors(), "{}", d.render());
        fn show(n: Node<'_>) -> String {
            let kids: Vec<String> = n.children().map(show).collect();
            match n.block {
                Some(_) => format!("{}{{{}}}", n.keyword(), kids.join(",")),
                None => n.keyword().to_string(),
            }
        }
        let shown: Vec<String> = t.roots().map(show).collect();
        assert_eq!(shown, vec!["a{b{c,d{e},f},g}", "h{i}"]);
        assert_eq!(t.len(), 2);
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
