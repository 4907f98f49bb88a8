//! YAML as a tree that remembers where each value came from (file and line), for messages that
//! point at the line to fix. Tags are kept, not interpreted: CloudFormation's short forms (`!Ref`,
//! `!Sub`, `!GetAtt`, …) parse as the tagged scalar, sequence or mapping they are. Anchors,
//! aliases and merge keys (`<<: *defaults`) are expanded. Only the first document of a stream is
//! read. Scalars stay text (with whether they were plain), since every consumer here wants text.
//! This module knows nothing of Serverless variables (see `vars`).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
#[error("{}:{line}:{col}: {message}", file.display())]
pub struct YamlError {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub file: Arc<Path>,
    /// 1-based line of the value's first character.
    pub line: usize,
    /// The tag as written (`!Ref`, `!!str`), if any.
    pub tag: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Scalar { text: String, plain: bool },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    /// 1-based line of the key.
    pub line: usize,
    pub value: Node,
}

impl Node {
    pub fn new(value: Value, file: Arc<Path>, line: usize) -> Node {
        Node {
            value,
            file,
            line,
            tag: None,
        }
    }

    /// `file:line`, for messages.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// `true`/`false` as YAML or CloudFormation writes them (`true`, `"true"`, `True`).
    pub fn as_bool(&self) -> Option<bool> {
        match self.as_str()?.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries().iter().find(|e| e.key == key)
    }

    /// What kind of value this is, for messages ("a mapping", "a list", …).
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "empty",
            Value::Scalar { .. } => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

fn tag_text(t: &saphyr_parser::Tag) -> String {
    match t.handle.strip_prefix("tag:yaml.org,2002:") {
        Some(_) => format!("!!{}", t.suffix),
        None => format!("{}{}", t.handle, t.suffix),
    }
}

/// Aliases are expanded by copying; past this many bytes of values (about 500 times a large
/// serverless.yml) the file is refused as an alias bomb ("billion laughs") rather than filling
/// memory.
const MAX_EXPANDED: usize = 32 << 20;
/// Deeper nesting than any real service file; the tree is dropped and walked recursively.
const MAX_NESTING: usize = 128;
/// What one value costs, roughly, in bytes (its children are counted on their own).
const NODE_COST: usize = 64;

enum Frame {
    Seq(Node, Vec<Node>, usize),
    Map(Node, Vec<Entry>, Option<(String, usize)>, usize),
}

/// Parses `text` (read from `file`) into a tree; an empty document is `Null`.
pub fn parse(text: &str, file: &Path) -> Result<Node, YamlError> {
    let file: Arc<Path> = Arc::from(file);
    let err = |line: usize, col: usize, message: String| YamlError {
        file: file.to_path_buf(),
        line,
        col,
        message,
    };
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // Each anchor with the bytes its value expands to; the same for each open frame so far.
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut weights: Vec<usize> = Vec::new();
    let mut expanded = 0usize;
    let mut root: Option<Node> = None;
    let mut docs = 0;
    while let Some(ev) = parser.next_event() {
        let (ev, span): (Event, Span) = ev.map_err(|e| {
            err(
                e.marker().line(),
                e.marker().col() + 1,
                e.info().to_string(),
            )
        })?;
        let line = span.start.line();
        let mut weight = NODE_COST;
        let end = matches!(ev, Event::SequenceEnd | Event::MappingEnd);
        if matches!(ev, Event::SequenceStart(..) | Event::MappingStart(..))
            && stack.len() >= MAX_NESTING
        {
            let message = format!("values are nested more than {MAX_NESTING} levels deep");
            return Err(err(line, span.start.col() + 1, message));
        }
        let done: Option<(Node, usize)> = match ev {
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    break;
                }
                None
            }
            Event::StreamEnd => break,
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| tag_text(&t));
                let plain = style == ScalarStyle::Plain;
                weight += text.len();
                let value = if plain
                    && tag.is_none()
                    && matches!(&*text, "" | "~" | "null" | "Null" | "NULL")
                {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                let mut n = Node::new(value, file.clone(), line);
                n.tag = tag;
                Some((n, anchor))
            }
            Event::Alias(id) => {
                let (n, w) = anchors.get(&id).cloned().ok_or_else(|| {
                    err(
                        line,
                        span.start.col() + 1,
                        "alias of an unknown anchor".into(),
                    )
                })?;
                weight = w;
                Some((n, 0))
            }
            Event::SequenceStart(anchor, tag) => {
                let mut n = Node::new(Value::Null, file.clone(), line);
                n.tag = tag.map(|t| tag_text(&t));
                stack.push(Frame::Seq(n, Vec::new(), anchor));
                weights.push(NODE_COST);
                None
            }
            Event::MappingStart(anchor, tag) => {
                let mut n = Node::new(Value::Null, file.clone(), line);
                n.tag = tag.map(|t| tag_text(&t));
                stack.push(Frame::Map(n, Vec::new(), None, anchor));
                weights.push(NODE_COST);
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(mut n, items, anchor)) => {
                    n.value = Value::Seq(items);
                    Some((n, anchor))
                }
                _ => return Err(err(line, 1, "unbalanced sequence".into())),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(mut n, entries, _, anchor)) => {
                    n.value = Value::Map(merge_keys(entries));
                    Some((n, anchor))
                }
                _ => return Err(err(line, 1, "unbalanced mapping".into())),
            },
            _ => None,
        };
        let Some((node, anchor)) = done else { continue };
        if end {
            // A container: its children were counted as they came; their sum is its weight.
            weight = weights.pop().unwrap_or(NODE_COST);
            expanded = expanded.saturating_add(NODE_COST);
        } else {
            // A scalar, or an alias: the whole copy of what it names.
            expanded = expanded.saturating_add(weight);
        }
        if expanded > MAX_EXPANDED {
            let message = format!(
                "its aliases expand to more than {} MiB of values (an alias bomb?)",
                MAX_EXPANDED >> 20
            );
            return Err(err(line, span.start.col() + 1, message));
        }
        if let Some(w) = weights.last_mut() {
            *w = w.saturating_add(weight);
        }
        if anchor > 0 {
            anchors.insert(anchor, (node.clone(), weight));
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(_, items, _)) => items.push(node),
            Some(Frame::Map(_, entries, pending, _)) => match pending.take() {
                None => {
                    let key = match &node.value {
                        Value::Scalar { text, .. } => text.clone(),
                        Value::Null => String::new(),
                        _ => {
                            return Err(err(
                                node.line,
                                1,
                                "a mapping key must be a plain value, not a list or mapping".into(),
                            ))
                        }
                    };
                    if key != "<<" && entries.iter().any(|e| e.key == key) {
                        return Err(err(node.line, 1, format!("duplicated mapping key '{key}'")));
                    }
                    *pending = Some((key, node.line));
                }
                Some((key, kline)) => entries.push(Entry {
                    key,
                    line: kline,
                    value: node,
                }),
            },
        }
    }
    Ok(root.unwrap_or_else(|| Node::new(Value::Null, file.clone(), 1)))
}

/// Applies `<<` merge keys: the merged mappings' entries are added where the mapping has no key
/// of that name (explicit keys win, as in YAML 1.1's merge).
fn merge_keys(entries: Vec<Entry>) -> Vec<Entry> {
    if !entries.iter().any(|e| e.key == "<<") {
        return entries;
    }
    let (merges, mut own): (Vec<Entry>, Vec<Entry>) =
        entries.into_iter().partition(|e| e.key == "<<");
    for m in merges {
        let sources: Vec<Node> = match m.value.value {
            Value::Seq(items) => items,
            _ => vec![m.value],
        };
        for s in sources {
            for e in s.entries() {
                if !own.iter().any(|o| o.key == e.key) {
                    own.push(e.clone());
                }
            }
        }
    }
    own
}

/// Reads and parses a YAML (or JSON) file; `shown` is how messages name it.
pub fn load(path: &Path, shown: &Path) -> Result<Node, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io {
        path: shown.to_path_buf(),
        source: e,
    })?;
    Ok(parse(&text, shown)?)
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Yaml(#[from] YamlError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Node {
        parse(s, Path::new("t.yml")).unwrap()
    }

    #[test]
    fn lines_tags_and_anchors() {
        let n = p("a: 1\nb:\n  - !Ref Foo\n  - !GetAtt [X, Arn]\nc: &d\n  k: v\ne:\n  <<: *d\n  z: 2\nf: ~\n");
        assert_eq!(n.get("a").unwrap().as_str(), Some("1"));
        assert_eq!(n.entry("b").unwrap().line, 2);
        let Value::Seq(items) = &n.get("b").unwrap().value else {
            panic!()
        };
        assert_eq!(items[0].tag.as_deref(), Some("!Ref"));
        assert_eq!(items[0].as_str(), Some("Foo"));
        assert_eq!(items[0].line, 3);
        assert_eq!(items[1].tag.as_deref(), Some("!GetAtt"));
        assert_eq!(n.get("e").unwrap().get("k").unwrap().as_str(), Some("v"));
        assert_eq!(n.get("e").unwrap().get("z").unwrap().as_str(), Some("2"));
        assert!(n.get("f").unwrap().is_null());
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("a: 1\nb: [unclosed\nc: 2\n", Path::new("s.yml")).unwrap_err();
        assert!(e.to_string().starts_with("s.yml:"), "{e}");
        let e = parse("a: 1\na: 2\n", Path::new("s.yml")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("duplicated mapping key 'a'"), "{e}");
        assert!(p("").is_null());
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_errors_not_exhaustion() {
        // The crash input kept in the fuzz corpus: "billion laughs", nine aliases of the level
        // below, nine levels.
        let bomb = include_str!("../../../../fuzz/corpus/serverless/crash-billion-laughs");
        let e = parse(bomb, Path::new("serverless.yml")).unwrap_err();
        assert!(
            e.to_string().contains("aliases expand to more than 32 MiB"),
            "{e}"
        );
        assert!(e.to_string().starts_with("serverless.yml:"), "{e}");
        // A long string aliased many times is just as big.
        let long = format!(
            "a: &a {}\nb: [{}]\n",
            "x".repeat(1 << 20),
            "*a, ".repeat(40)
        );
        assert!(parse(&long, Path::new("s.yml")).is_err());
        // Ordinary reuse is fine and still expands.
        let n = p("d: &d {k: v}\nl: [*d, *d, *d]\nm:\n  <<: *d\n");
        let Value::Seq(items) = &n.get("l").unwrap().value else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        // Nesting: 100 levels parse; 100,000 are refused with the line (flow collections by
        // the YAML parser's own limit, block ones by ours).
        let flow = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let block = |n: usize| {
            (0..n)
                .map(|i| format!("{}- \n", "  ".repeat(i)))
                .collect::<String>()
        };
        assert!(parse(&flow(100), Path::new("s.yml")).is_ok());
        assert!(parse(&block(100), Path::new("s.yml")).is_ok());
        let e = parse(&flow(100_000), Path::new("s.yml")).unwrap_err();
        assert!(e.to_string().starts_with("s.yml:1:"), "{e}");
        let e = parse(&block(20_000), Path::new("s.yml")).unwrap_err();
        assert!(e.to_string().contains("nested more than 128 levels"), "{e}");
    }
}
