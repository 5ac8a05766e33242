//! A minimal JSON writer for `--json` output: a value tree and its
//! serialisation, nothing more (no parsing, no serde).

use std::fmt::{self, Write};

/// A JSON value. Objects keep their fields in the order given, so output
/// is stable and reads in the order a person expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(u64),
    /// A number already written out: signed, wider than 64 bits, or
    /// floating-point.
    Literal(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// An object from `(key, value)` pairs, in order.
    pub fn object<K: Into<String>>(fields: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// An array of whatever converts into values.
    pub fn array<T: Into<Json>>(items: impl IntoIterator<Item = T>) -> Json {
        Json::Array(items.into_iter().map(Into::into).collect())
    }

    /// Adds a field to an object (ignored for other values).
    pub fn push(&mut self, key: &str, value: impl Into<Json>) {
        if let Json::Object(fields) = self {
            fields.push((key.to_owned(), value.into()));
        }
    }
}

impl From<bool> for Json {
    fn from(v: bool) -> Json {
        Json::Bool(v)
    }
}

impl From<u32> for Json {
    fn from(v: u32) -> Json {
        Json::Number(v.into())
    }
}

impl From<u64> for Json {
    fn from(v: u64) -> Json {
        Json::Number(v)
    }
}

impl From<usize> for Json {
    fn from(v: usize) -> Json {
        // usize is at most 64 bits on every target Rust supports.
        Json::Number(v as u64)
    }
}

impl From<&str> for Json {
    fn from(v: &str) -> Json {
        Json::String(v.to_owned())
    }
}

impl From<String> for Json {
    fn from(v: String) -> Json {
        Json::String(v)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}

/// Writes `s` as a JSON string literal: quotes, backslashes and control
/// characters escaped (RFC 8259 section 7).
fn write_string(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Compact JSON, one line.
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number(n) => write!(f, "{n}"),
            Json::Literal(text) => f.write_str(text),
            Json::String(s) => write_string(f, s),
            Json::Array(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            Json::Object(fields) => {
                f.write_char('{')?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    write_string(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_char('}')
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars() {
        assert_eq!(Json::Null.to_string(), "null");
        assert_eq!(Json::from(true).to_string(), "true");
        assert_eq!(Json::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Json::from(None::<u32>).to_string(), "null");
        assert_eq!(Json::from(Some(7u32)).to_string(), "7");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(Json::from("plain").to_string(), r#""plain""#);
        assert_eq!(
            Json::from("a\"b\\c\nd\te\r\u{1}\u{1f}").to_string(),
            r#""a\"b\\c\nd\te\r\u0001\u001f""#
        );
        // Non-ASCII passes through as UTF-8, which JSON allows.
        assert_eq!(Json::from("é→").to_string(), "\"é→\"");
    }

    #[test]
    fn nesting_keeps_order() {
        let mut value = Json::object([
            ("z", Json::from(1u32)),
            ("a", Json::array(["x", "y"])),
            ("m", Json::object([("k\"", Json::Null)])),
        ]);
        value.push("empty", Json::array(Vec::<Json>::new()));
        assert_eq!(
            value.to_string(),
            r#"{"z":1,"a":["x","y"],"m":{"k\"":null},"empty":[]}"#
        );
        // push on a non-object does nothing.
        let mut n = Json::Null;
        n.push("k", 1u32);
        assert_eq!(n, Json::Null);
    }
}
