//! Where each value came from: a key-path → span index built from the YAML events of the
//! original text, so that a rule firing on `sites[0].hosts[2].address` can point at (and
//! underline) that value, not only the parser's own errors; and which spans hold secrets,
//! so that excerpts of the file can mask exactly those.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A 1-based line and column (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Where a value starts and ends. `end` is the position just past its last character (as
/// SARIF's `endColumn`): a value on one line has `end.line == start.line` and
/// `end.column - start.column` characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// The first character.
    pub start: Position,
    /// Just past the last character.
    pub end: Position,
}

#[derive(Debug, Clone)]
struct Entry {
    /// The value's span (a mapping or sequence: its key's span, where it is reported).
    span: Span,
    /// Whether the value is a scalar (not a mapping, sequence or alias).
    scalar: bool,
    /// Whether the value is an empty scalar (`""`, `''` or nothing).
    empty: bool,
    /// The anchor the value defines (`&a`), when it does.
    anchor: Option<usize>,
    /// The anchor the value refers to (`*a`), when it is an alias.
    alias: Option<usize>,
}

/// Key path → span of the value at that path.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    entries: HashMap<String, Entry>,
    /// The span of every scalar, keys included, in text order.
    scalars: Vec<Span>,
    /// Key path → position of its key (mapping entries only).
    keys: HashMap<String, Position>,
    /// Keys given twice in one mapping: the path and the position of the second key.
    duplicates: Vec<(String, Position)>,
    /// How many values the aliases add when expanded (each alias counts its anchor's values).
    alias_values: u64,
}

impl SourceMap {
    /// An empty map (input that did not come from text, e.g. a Python dict).
    #[must_use]
    pub fn empty() -> Self {
        SourceMap::default()
    }

    /// Index `text`. A scan error yields the positions collected so far plus the error.
    ///
    /// # Errors
    /// Returns the YAML scanner's message and its position when the text is not YAML.
    pub fn build(text: &str) -> Result<Self, (String, Position)> {
        match Self::build_partial(text) {
            (map, None) => Ok(map),
            (_, Some(e)) => Err(e),
        }
    }

    /// Index `text` as far as it is YAML: the map of everything before a scan error, and
    /// the error (its message and position) when there is one.
    #[must_use]
    pub fn build_partial(text: &str) -> (Self, Option<(String, Position)>) {
        // The YAML reader recurses per level: text nested past the parser's limit is not
        // read at all (the parser refuses it before it gets here).
        if let Some(line) = nesting_past(text, crate::parse::MAX_DEPTH) {
            let msg = format!("the document nests deeper than {}", crate::parse::MAX_DEPTH);
            return (SourceMap::empty(), Some((msg, Position { line, column: 1 })));
        }
        let mut b = Builder::new(text);
        let mut parser = Parser::new_from_str(text);
        let err = parser
            .load(&mut b, false)
            .err()
            .map(|e| (e.info().to_string(), Position { line: e.marker().line(), column: e.marker().col() + 1 }));
        let alias_values = b.values.saturating_sub(b.written);
        (
            SourceMap { entries: b.entries, scalars: b.scalars, keys: b.keys, duplicates: b.duplicates, alias_values },
            err,
        )
    }

    /// The position of `path`, or of its nearest ancestor that exists in the file
    /// (a missing key is reported at the mapping that should hold it).
    #[must_use]
    pub fn lookup(&self, path: &str) -> Option<Position> {
        self.lookup_span(path).map(|s| s.start)
    }

    /// The span of `path`, or of its nearest ancestor that exists in the file.
    #[must_use]
    pub fn lookup_span(&self, path: &str) -> Option<Span> {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.get(p) {
                return Some(e.span);
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }

    /// The position of a value known to exist at `path`. A value that a YAML merge key
    /// brought in (`<<: *anchor` or `<<: [*a, *b]`) is not written at its path: it is
    /// reported at the nearest `<<` key that merged it (the alias), else like [`Self::lookup`].
    #[must_use]
    pub fn lookup_value(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.get(p) {
                return Some(e.span.start);
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
            let merge = if p.is_empty() { "<<".to_string() } else { format!("{p}.<<") };
            if let Some(e) = self.entries.get(&merge) {
                return Some(e.span.start);
            }
        }
    }

    /// The position of the key of the mapping entry at `path` (`adress` in `adress: …`),
    /// else [`Self::lookup_value`]'s: where an unknown key is reported.
    #[must_use]
    pub fn lookup_key(&self, path: &str) -> Option<Position> {
        self.keys.get(path).copied().or_else(|| self.lookup_value(path))
    }

    /// The keys given twice in one mapping (YAML refuses them): each repeated key's path and
    /// the position of the repetition, in file order.
    #[must_use]
    pub fn duplicates(&self) -> &[(String, Position)] {
        &self.duplicates
    }

    /// How many values the file's aliases add once expanded: a reader that builds the value
    /// tree builds that many more values than the file writes (a "billion laughs" file
    /// writes a few hundred and expands to billions).
    #[must_use]
    pub fn alias_values(&self) -> u64 {
        self.alias_values
    }

    /// The span of the value that starts at `pos`, when one does (the end of a position
    /// that came from elsewhere, e.g. the parser's own errors).
    #[must_use]
    pub fn span_at(&self, pos: Position) -> Option<Span> {
        let i = self.scalars.partition_point(|s| s.start < pos);
        self.scalars.get(i).filter(|s| s.start == pos).copied()
    }

    /// The spans of the literal secrets in the file: every scalar at a key path whose type
    /// in the topology format is a secret ([`crate::schema::secret_paths`]), also when it
    /// gets there through an alias or a `<<` merge (then the anchored value is masked).
    /// `{env: VAR}` and `{file: PATH}` references are mappings, not scalars: not listed.
    #[must_use]
    pub fn secret_spans(&self) -> Vec<Span> {
        let patterns = crate::schema::secret_paths();
        // Every path a scalar is reachable at: its own, and (through aliases and merges)
        // the paths where an alias of an enclosing anchor stands.
        let anchors: HashMap<usize, &str> =
            self.entries.iter().filter_map(|(p, e)| e.anchor.map(|a| (a, p.as_str()))).collect();
        let mut aliases: Vec<(&str, String)> = Vec::new(); // (anchor's path, where it is used)
        for (p, e) in &self.entries {
            if let Some(at) = e.alias.and_then(|a| anchors.get(&a)) {
                let used = p.strip_suffix(".<<").or_else(|| p.strip_suffix("<<")).unwrap_or(p);
                aliases.push((at, used.to_string()));
            }
        }
        let mut out = Vec::new();
        for (p, e) in &self.entries {
            if !e.scalar || e.empty {
                continue;
            }
            let mut reach = vec![p.clone()];
            // Aliases of aliases: a few rounds reach every chain a real file has.
            for _ in 0..4 {
                let mut more = Vec::new();
                for r in &reach {
                    for (at, used) in &aliases {
                        if let Some(rest) = r.strip_prefix(at) {
                            if at.is_empty() || rest.is_empty() || rest.starts_with(['.', '[']) {
                                let v = if used.is_empty() {
                                    rest.trim_start_matches('.').to_string()
                                } else {
                                    format!("{used}{rest}")
                                };
                                if !reach.contains(&v) && !more.contains(&v) {
                                    more.push(v);
                                }
                            }
                        }
                    }
                }
                if more.is_empty() {
                    break;
                }
                reach.extend(more);
            }
            if reach.iter().any(|r| patterns.iter().any(|pat| path_matches(pat, r))) {
                out.push(e.span);
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// The spans an excerpt of `text` must mask: the literal secrets of [`SourceMap::secret_spans`].
/// Where `text` stops being YAML its structure is unknown, so from the line after the last
/// value read (or the error's line, when earlier) every value of a key named as a secret
/// field of the schema (`password`, `secretkey`, …: the last keys of
/// [`crate::schema::secret_paths`]) is masked: to the end of the line or, in a flow mapping,
/// to the next `,` or `}` outside quotes, and the more indented lines after a key with no
/// value on its line.
#[must_use]
pub fn mask_spans(text: &str) -> Vec<Span> {
    let (map, err) = SourceMap::build_partial(text);
    let mut spans = map.secret_spans();
    let Some((_, pos)) = err else {
        return spans;
    };
    let names: Vec<String> =
        crate::schema::secret_paths().iter().filter_map(|p| p.rsplit(['.', ']']).next().map(str::to_string)).collect();
    let read = map.entries.values().map(|e| e.span.end.line).max().map_or(1, |l| l + 1);
    let from = read.min(pos.line).max(1);
    let lines: Vec<&str> = text.split('\n').collect();
    let col = |line: &str, b: usize| line[..b].chars().count() + 1;
    let mut i = from - 1;
    while i < lines.len() {
        let line = lines[i];
        let mut continued = None;
        for (k, _) in line.match_indices(':') {
            let head = &line[..k];
            let key_at = head.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |j| j + 1);
            let key = head[key_at..].trim_matches(['"', '\'']);
            if !names.iter().any(|n| n == key) {
                continue;
            }
            let rest = &line[k + 1..];
            let v = k + 1 + (rest.len() - rest.trim_start().len());
            let value = &line[v..];
            if value.trim().is_empty() || value.starts_with('#') {
                continued = Some(line.len() - line.trim_start().len());
                continue;
            }
            if value.starts_with('{') {
                continue; // {env: VAR} or {file: PATH}: not secret
            }
            let in_flow = head.matches('{').count() > head.matches('}').count();
            let end = match value.chars().next() {
                Some(q @ ('"' | '\'')) => value[1..].find(q).map_or(value.len(), |e| e + 2),
                _ if in_flow => value.find([',', '}']).unwrap_or(value.len()),
                _ => value.len(),
            };
            let end = v + value[..end].trim_end().len();
            if end > v {
                let at = Position { line: i + 1, column: col(line, v) };
                spans.push(Span { start: at, end: Position { line: i + 1, column: col(line, end) } });
            }
        }
        i += 1;
        // A key whose value starts on the next lines: those more indented than the key.
        if let Some(indent) = continued {
            while i < lines.len() && {
                let l = lines[i];
                l.trim().is_empty() || l.len() - l.trim_start().len() > indent
            } {
                let l = lines[i];
                let lead = l.len() - l.trim_start().len();
                let body = l.trim_end();
                if body.len() > lead {
                    spans.push(Span {
                        start: Position { line: i + 1, column: col(l, lead) },
                        end: Position { line: i + 1, column: col(l, body.len()) },
                    });
                }
                i += 1;
            }
        }
    }
    spans
}

impl SourceMap {
    /// Give `d` the span of its key path, and each of its related labels theirs, when the
    /// paths are in this map.
    pub fn locate(&self, d: &mut crate::diag::Diagnostic) {
        if let Some(span) = self.lookup_span(&d.path) {
            d.set_span(span);
        }
        for l in &mut d.related {
            if let Some(span) = self.lookup_span(&l.path) {
                l.set_span(span);
            }
        }
    }
}

/// The first line where block indentation or flow brackets pass `limit` levels (a cheap,
/// conservative bound, as the parser's own).
fn nesting_past(text: &str, limit: usize) -> Option<usize> {
    let mut flow: usize = 0;
    for (i, line) in text.lines().enumerate() {
        if line.len() - line.trim_start_matches([' ', '-']).len() > limit * 2 {
            return Some(i + 1);
        }
        for b in line.bytes() {
            match b {
                b'[' | b'{' => flow += 1,
                b']' | b'}' => flow = flow.saturating_sub(1),
                _ => {}
            }
            if flow > limit {
                return Some(i + 1);
            }
        }
    }
    None
}

/// Whether the key path `path` (`sites[0].database.password`) is one `pattern` describes
/// (`sites[*].database.password`; `*` after a dot: any key).
fn path_matches(pattern: &str, path: &str) -> bool {
    let seg = |s: &str| -> Vec<String> {
        s.replace('[', ".[").split('.').filter(|x| !x.is_empty()).map(str::to_string).collect::<Vec<_>>()
    };
    let (a, b) = (seg(pattern), seg(path));
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(p, s)| p == s || (p == "[*]" && s.starts_with('[')) || (p == "*" && !s.starts_with('[')))
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → ``.
fn parent_path(p: &str) -> &str {
    let cut = p.rfind(['.', '[']).unwrap_or(0);
    &p[..cut]
}

enum Frame {
    Map { path: String, key: Option<(String, Span)> },
    Seq { path: String, index: usize },
}

struct Builder<'t> {
    text: &'t str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    /// Where the last conversion ended (byte offset, 1-based line, 0-based character
    /// column): events come in text order, so converting from here keeps indexing linear.
    cursor: (usize, usize, usize),
    stack: Vec<Frame>,
    entries: HashMap<String, Entry>,
    scalars: Vec<Span>,
    keys: HashMap<String, Position>,
    duplicates: Vec<(String, Position)>,
    /// Values written in the file, and values once aliases are expanded.
    written: u64,
    values: u64,
    /// Anchor id → its values once expanded; open containers: their anchor and `values` at
    /// their start.
    anchor_values: HashMap<usize, u64>,
    open: Vec<(usize, u64)>,
}

impl<'t> Builder<'t> {
    fn new(text: &'t str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Builder {
            text,
            line_starts,
            cursor: (0, 1, 0),
            stack: Vec::new(),
            entries: HashMap::new(),
            scalars: Vec::new(),
            keys: HashMap::new(),
            duplicates: Vec::new(),
            written: 0,
            values: 0,
            anchor_values: HashMap::new(),
            open: Vec::new(),
        }
    }

    /// Move the cursor one character on.
    fn step(&mut self) -> bool {
        let (b, l, c) = self.cursor;
        match self.text[b..].chars().next() {
            Some('\n') => self.cursor = (b + 1, l + 1, 0),
            Some(ch) => self.cursor = (b + ch.len_utf8(), l, c + 1),
            None => return false,
        }
        true
    }

    /// Put the cursor at the start of 1-based `line` (for a conversion backwards).
    fn rewind(&mut self, line: usize) {
        let line = line.clamp(1, self.line_starts.len());
        self.cursor = (self.line_starts[line - 1], line, 0);
    }

    /// The byte offset of a marker (its line and character column).
    fn offset(&mut self, mark: Marker) -> usize {
        let want = (mark.line(), mark.col());
        if want < (self.cursor.1, self.cursor.2) {
            self.rewind(mark.line());
        }
        while (self.cursor.1, self.cursor.2) < want && self.step() {}
        self.cursor.0
    }

    /// The line and column of a byte offset.
    fn position(&mut self, offset: usize) -> Position {
        if offset < self.cursor.0 {
            self.rewind(self.line_starts.partition_point(|&s| s <= offset));
        }
        while self.cursor.0 < offset && self.step() {}
        Position { line: self.cursor.1, column: self.cursor.2 + 1 }
    }

    /// The span of a scalar (or alias) that starts at `mark`: found in the text after its
    /// style, so that the whole value is underlined and masked, over several lines too.
    fn scalar_span(&mut self, mark: Marker, value: &str, style: Option<TScalarStyle>) -> Span {
        let from = self.offset(mark);
        let end = scalar_end(self.text, from, value, style).unwrap_or(from);
        Span { start: self.position(from), end: self.position(end.max(from)) }
    }

    /// The path for the next value and the span of its key (mapping values only),
    /// advancing the enclosing container; `None` when the event is a mapping key.
    fn next_value_path(&mut self, key: Option<(&str, Span)>) -> Option<(String, Option<Span>)> {
        match self.stack.last_mut() {
            None => Some((String::new(), None)),
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                Some((p, None))
            }
            Some(Frame::Map { path, key: k }) => match k.take() {
                None => {
                    let none = Position { line: 0, column: 0 };
                    let (text, span) = key.unwrap_or(("?", Span { start: none, end: none }));
                    *k = Some((text.to_string(), span));
                    None
                }
                Some((k, kspan)) => Some((if path.is_empty() { k } else { format!("{path}.{k}") }, Some(kspan))),
            },
        }
    }

    /// Count the values of `ev` (an alias: its anchor's, expanded).
    fn count(&mut self, ev: &Event) {
        match ev {
            Event::Scalar(_, _, anchor, _) => {
                self.written += 1;
                self.values = self.values.saturating_add(1);
                if *anchor > 0 {
                    self.anchor_values.insert(*anchor, 1);
                }
            }
            Event::Alias(id) => {
                self.written += 1;
                let n = self.anchor_values.get(id).copied().unwrap_or(1);
                self.values = self.values.saturating_add(n);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                self.written += 1;
                self.values = self.values.saturating_add(1);
                self.open.push((*anchor, self.values - 1));
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some((anchor, start)) = self.open.pop() {
                    if anchor > 0 {
                        self.anchor_values.insert(anchor, self.values.saturating_sub(start));
                    }
                }
            }
            _ => {}
        }
    }

    /// Remember where the key of the mapping entry at `path` is; a key seen before in the
    /// same mapping is a duplicate (complex keys' placeholder paths aside).
    fn record_key(&mut self, path: &str, key: Option<Span>) {
        if let Some(k) = key {
            match self.keys.entry(path.to_string()) {
                std::collections::hash_map::Entry::Occupied(_) if !path.contains('?') => {
                    self.duplicates.push((path.to_string(), k.start));
                }
                std::collections::hash_map::Entry::Occupied(_) => {}
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(k.start);
                }
            }
        }
    }

    fn record(&mut self, path: &str, entry: Entry) {
        // The first occurrence wins: a duplicated key is a parse error anyway.
        self.entries.entry(path.to_string()).or_insert(entry);
    }
}

/// The byte offset just past the scalar that starts at `from`: the closing quote of a
/// quoted scalar; otherwise the last non-blank character of `value` (plain and block
/// scalars have no escapes: their text is the value's characters with the blanks folded).
fn scalar_end(text: &str, from: usize, value: &str, style: Option<TScalarStyle>) -> Option<usize> {
    let rest = text.get(from..)?;
    match style {
        Some(TScalarStyle::SingleQuoted) => {
            let mut it = rest.char_indices().skip(1).peekable();
            while let Some((i, c)) = it.next() {
                if c == '\'' {
                    if it.peek().is_some_and(|&(_, n)| n == '\'') {
                        it.next();
                    } else {
                        return Some(from + i + 1);
                    }
                }
            }
            None
        }
        Some(TScalarStyle::DoubleQuoted) => {
            let mut it = rest.char_indices().skip(1);
            while let Some((i, c)) = it.next() {
                match c {
                    '\\' => {
                        it.next();
                    }
                    '"' => return Some(from + i + 1),
                    _ => {}
                }
            }
            None
        }
        None => {
            // An alias: `*name`, up to a blank or a flow indicator.
            let n = rest.find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}')).unwrap_or(rest.len());
            Some(from + n)
        }
        Some(_) => {
            let mut src = rest.char_indices().peekable();
            // A block scalar's header (`|`, `>-`, `|2`): skip to the next line.
            if rest.starts_with(['|', '>']) {
                let nl = rest.find('\n')?;
                src = rest[nl..].char_indices().peekable();
                let base = nl;
                let mut end = None;
                for v in value.chars().filter(|c| !c.is_whitespace()) {
                    loop {
                        let (i, c) = src.next()?;
                        if c == v {
                            end = Some(from + base + i + c.len_utf8());
                            break;
                        }
                        if !c.is_whitespace() {
                            return None;
                        }
                    }
                }
                return end;
            }
            let mut end = None;
            for v in value.chars().filter(|c| !c.is_whitespace()) {
                loop {
                    let (i, c) = src.next()?;
                    if c == v {
                        end = Some(from + i + c.len_utf8());
                        break;
                    }
                    if !c.is_whitespace() {
                        return None;
                    }
                }
            }
            end
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        self.count(&ev);
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                let span = self.scalar_span(mark, &text, Some(style));
                self.scalars.push(span);
                if let Some((p, key)) = self.next_value_path(Some((&text, span))) {
                    self.record_key(&p, key);
                    let anchor = (anchor > 0).then_some(anchor);
                    // An empty value hides nothing: it is shown (`password: ""`), not masked.
                    self.record(&p, Entry { span, scalar: true, empty: text.is_empty(), anchor, alias: None });
                }
            }
            Event::Alias(id) => {
                let span = self.scalar_span(mark, "", None);
                if let Some((p, key)) = self.next_value_path(Some(("*alias", span))) {
                    self.record_key(&p, key);
                    self.record(&p, Entry { span, scalar: false, empty: false, anchor: None, alias: Some(id) });
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                let here = self.scalar_span(mark, "", None);
                // A container is reported at its key (`database:`), not at its first child.
                let path = match self.next_value_path(None) {
                    Some((p, key_span)) => {
                        self.record_key(&p, key_span);
                        let span = key_span.unwrap_or(Span { start: here.start, end: here.start });
                        let anchor = (anchor > 0).then_some(anchor);
                        self.record(&p, Entry { span, scalar: false, empty: false, anchor, alias: None });
                        p
                    }
                    // A complex (non-scalar) key: index its contents under a placeholder.
                    None => "?".to_string(),
                };
                self.stack.push(if is_map { Frame::Map { path, key: None } } else { Frame::Seq { path, index: 0 } });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_point_at_values() {
        let text = "version: 1\nsites:\n  - name: a\n    hosts:\n      - {name: h, address: 10.0.0.1}\n";
        let map = SourceMap::build(text).unwrap();
        assert_eq!(map.lookup("version"), Some(Position { line: 1, column: 10 }));
        // Expected columns computed from the text: 1-based column of the value's first byte.
        let col = |line: usize, needle: &str| text.lines().nth(line - 1).unwrap().find(needle).unwrap() + 1;
        assert_eq!(map.lookup("sites[0].name"), Some(Position { line: 3, column: col(3, ": a") + 2 }));
        let addr = map.lookup("sites[0].hosts[0].address").unwrap();
        assert_eq!((addr.line, addr.column), (5, col(5, "10.0.0.1")));
        // A missing key falls back to its mapping.
        assert_eq!(map.lookup("sites[0].hosts[0].roles"), map.lookup("sites[0].hosts[0]"));
    }

    #[test]
    fn scan_errors_have_positions() {
        let (_, pos) = SourceMap::build("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(pos.line >= 1);
    }

    /// The text a span covers (single- or multi-line), for checking spans against the text.
    fn covered(text: &str, s: Span) -> String {
        let lines: Vec<&str> = text.split('\n').collect();
        let byte = |p: Position| -> usize {
            let before: usize = lines[..p.line - 1].iter().map(|l| l.len() + 1).sum();
            before + lines[p.line - 1].char_indices().nth(p.column - 1).map_or(lines[p.line - 1].len(), |(i, _)| i)
        };
        text[byte(s.start)..byte(s.end)].to_string()
    }

    #[test]
    fn spans_cover_whole_values() {
        let text = "a: plain value # c\nb: 'it''s'\nc: \"x\\\"y\"\nd: [one, two]\ne: |\n  l1\n  l2\nf: folded\n  on two\ng: {k: v}\n";
        let map = SourceMap::build(text).unwrap();
        let at = |p: &str| covered(text, map.lookup_span(p).unwrap());
        assert_eq!(at("a"), "plain value");
        assert_eq!(at("b"), "'it''s'");
        assert_eq!(at("c"), "\"x\\\"y\"");
        assert_eq!(at("d[1]"), "two");
        assert_eq!(at("e"), "l1\n  l2");
        assert_eq!(at("f"), "folded\n  on two");
        // A container is reported at (and spans) its key.
        assert_eq!(at("g"), "g");
        assert_eq!(at("g.k"), "v");
    }

    #[test]
    fn secret_spans_follow_the_schema_not_key_names() {
        let text = "version: 1\nsites:\n  - name: a\n    database: {host: db, password: \"p:a#ss\", port: 5432}\n    tls: {key: /etc/ssl/key.pem}\n    redis:\n      password: {env: REDIS_PW}\n    harbor:\n      admin_password: >-\n        two\n        lines\n";
        let map = SourceMap::build(text).unwrap();
        let shown: Vec<String> = map.secret_spans().into_iter().map(|s| covered(text, s)).collect();
        assert_eq!(shown, ["\"p:a#ss\"", "two\n        lines"]);
        // An empty secret hides nothing (and a rule says it is empty): shown as written.
        let text = "sites:\n  - name: a\n    database: {password: \"\"}\n    redis: {password: ''}\n";
        assert!(SourceMap::build(text).unwrap().secret_spans().is_empty());
    }

    #[test]
    fn secrets_through_aliases_and_merges_are_masked_at_the_anchor() {
        let text = "x-pw: &pw hunter2\nx-db: &db {password: s3cret, host: db}\nsites:\n  - name: a\n    harbor: {admin_password: *pw}\n    database:\n      <<: *db\n";
        let map = SourceMap::build(text).unwrap();
        let shown: Vec<String> = map.secret_spans().into_iter().map(|s| covered(text, s)).collect();
        assert_eq!(shown, ["hunter2", "s3cret"]);
    }

    #[test]
    fn broken_yaml_masks_the_secret_fields_past_what_was_read() {
        let text = "sites:\n  - name: a\n    x: [1\n    - {name: h, address: 10.0.0.1}\n    database: {port: 1, password: \"o,o}ps\", host: db}\n    redis: {password: pl:ain, port: 2}\n    harbor:\n      admin_password:\n        next-line\n      install_dir: /opt\n    backup: {password: {env: B}}\n";
        let shown: Vec<String> = mask_spans(text).into_iter().map(|s| covered(text, s)).collect();
        assert_eq!(shown, ["\"o,o}ps\"", "pl:ain", "next-line"]);
    }
}
