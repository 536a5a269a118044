//! Where each value came from: a key-path → line/column index built from the YAML events
//! of the original text, so that a rule firing on `sites[0].hosts[2].address` can point at
//! that value's line, not only the parser's own errors.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Key path → position of the value at that path.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    positions: HashMap<String, Position>,
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
        let mut b = Builder::default();
        let mut parser = Parser::new_from_str(text);
        match parser.load(&mut b, false) {
            Ok(()) => Ok(SourceMap {
                positions: b.positions,
                keys: b.keys,
                duplicates: b.duplicates,
                alias_values: b.values.saturating_sub(b.written),
            }),
            Err(e) => Err((e.info().to_string(), Position { line: e.marker().line(), column: e.marker().col() + 1 })),
        }
    }

    /// The position of `path`, or of its nearest ancestor that exists in the file
    /// (a missing key is reported at the mapping that should hold it).
    #[must_use]
    pub fn lookup(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
        }
    }
}

impl SourceMap {
    /// The position of a value known to exist at `path`. A value that a YAML merge key
    /// brought in (`<<: *anchor` or `<<: [*a, *b]`) is not written at its path: it is
    /// reported at the nearest `<<` key that merged it (the alias), else like [`Self::lookup`].
    #[must_use]
    pub fn lookup_value(&self, path: &str) -> Option<Position> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(p);
            let merge = if p.is_empty() { "<<".to_string() } else { format!("{p}.<<") };
            if let Some(pos) = self.positions.get(&merge) {
                return Some(*pos);
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

    /// Give `d` the position of its key path, when the path is in this map.
    pub fn locate(&self, d: &mut crate::diag::Diagnostic) {
        if let Some(pos) = self.lookup(&d.path) {
            d.line = Some(pos.line);
            d.column = Some(pos.column);
        }
    }
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → ``.
fn parent_path(p: &str) -> &str {
    let cut = p.rfind(['.', '[']).unwrap_or(0);
    &p[..cut]
}

enum Frame {
    Map { path: String, key: Option<(String, Marker)> },
    Seq { path: String, index: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    positions: HashMap<String, Position>,
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

impl Builder {
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

    /// The path for the next value and the position of its key (mapping values only),
    /// advancing the enclosing container; `None` when the event is a mapping key.
    fn next_value_path(&mut self, key_text: Option<&str>, mark: Marker) -> Option<(String, Option<Marker>)> {
        match self.stack.last_mut() {
            None => Some((String::new(), None)),
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                Some((p, None))
            }
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    *key = Some((key_text.unwrap_or("?").to_string(), mark));
                    None
                }
                Some((k, kmark)) => Some((if path.is_empty() { k } else { format!("{path}.{k}") }, Some(kmark))),
            },
        }
    }

    fn record_key(&mut self, path: &str, key_mark: Option<Marker>) {
        if let Some(m) = key_mark {
            let pos = Position { line: m.line(), column: m.col() + 1 };
            match self.keys.entry(path.to_string()) {
                std::collections::hash_map::Entry::Occupied(_) if !path.contains('?') => {
                    self.duplicates.push((path.to_string(), pos))
                }
                std::collections::hash_map::Entry::Occupied(_) => {}
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(pos);
                }
            }
        }
    }

    fn record(&mut self, path: &str, mark: Marker) {
        // The first occurrence wins: a duplicated key is a parse error anyway.
        self.positions.entry(path.to_string()).or_insert(Position { line: mark.line(), column: mark.col() + 1 });
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        self.count(&ev);
        match ev {
            Event::Scalar(text, ..) => {
                if let Some((p, key_mark)) = self.next_value_path(Some(&text), mark) {
                    self.record_key(&p, key_mark);
                    self.record(&p, mark);
                }
            }
            Event::Alias(_) => {
                if let Some((p, key_mark)) = self.next_value_path(Some("*alias"), mark) {
                    self.record_key(&p, key_mark);
                    self.record(&p, mark);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                // A container is reported at its key (`database:`), not at its first child.
                let path = match self.next_value_path(None, mark) {
                    Some((p, key_mark)) => {
                        self.record_key(&p, key_mark);
                        self.record(&p, key_mark.unwrap_or(mark));
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
}
