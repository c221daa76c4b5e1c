//! Compact JSON written straight into a byte buffer.
//!
//! Hand-written rather than serde_json for two reasons: the Default serializer has a
//! budget of about one microsecond per row (no intermediate `Value` tree, no per-row
//! allocation), and the OMS formats need exact control over key order and over which
//! values are strings. serde_json is the test oracle that parses everything written here.
//!
//! Escaping follows the reference's recommendation (fastjson-like): only `"`, `\` and
//! control characters are escaped (`\n \t \r \b \f`, `\u00XX` for the rest); `/` and
//! non-ASCII text are written as raw UTF-8.

/// Per byte: 0 = copy as is, `u` = `\u00XX`, anything else = backslash + that byte.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` escaped for the inside of a JSON string (no quotes).
///
/// Text is most of a record's bytes and rarely needs escaping, so runs of 8 bytes are
/// tested at once (SWAR) and copied in bulk; only a word with a hit is walked bytewise.
pub(crate) fn escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        if word_needs_escape(u64::from_le_bytes(word)) {
            for (j, &b) in bytes.iter().enumerate().skip(i).take(8) {
                escape_byte(out, bytes, &mut start, j, b);
            }
        }
        i += 8;
    }
    for (j, &b) in bytes.iter().enumerate().skip(i) {
        escape_byte(out, bytes, &mut start, j, b);
    }
    out.extend_from_slice(&bytes[start..]);
}

#[inline(always)]
fn escape_byte(out: &mut Vec<u8>, bytes: &[u8], start: &mut usize, j: usize, b: u8) {
    let e = ESCAPE[b as usize];
    if e != 0 {
        out.extend_from_slice(&bytes[*start..j]);
        push_escape(out, b, e);
        *start = j + 1;
    }
}

/// Whether any byte of `w` is < 0x20, `"` or `\` (exact: the classic has-zero-byte
/// tests; bytes >= 0x80 never match).
#[inline(always)]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    below_space | has_zero(w ^ (ONES * b'"' as u64)) | has_zero(w ^ (ONES * b'\\' as u64)) != 0
}

fn push_escape(out: &mut Vec<u8>, b: u8, e: u8) {
    if e == b'u' {
        out.extend_from_slice(b"\\u00");
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    } else {
        out.push(b'\\');
        out.push(e);
    }
}

/// Appends bytes as a JSON string of ISO-8859-1 characters (one char per byte), the way
/// Canal carries BLOB/BINARY values. Bytes >= 0x80 are written as `\u00XX` escapes, as
/// Canal's JSON shows them, so the output stays ASCII.
pub(crate) fn latin1_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        let e = ESCAPE[b as usize];
        if b >= 0x80 {
            push_escape(out, b, b'u');
        } else if e != 0 {
            push_escape(out, b, e);
        } else {
            out.push(b);
        }
    }
    out.push(b'"');
}

/// Appends a quoted, escaped JSON string.
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escaped(out, s);
    out.push(b'"');
}

/// Appends `"name":`.
pub(crate) fn key(out: &mut Vec<u8>, name: &str) {
    string(out, name);
    out.push(b':');
}

/// Appends `"name":"value"`.
pub(crate) fn field_str(out: &mut Vec<u8>, name: &str, value: &str) {
    key(out, name);
    string(out, value);
}

/// Appends `"name":` followed by a JSON number.
pub(crate) fn field_u64(out: &mut Vec<u8>, name: &str, value: u64) {
    key(out, name);
    uint(out, value);
}

/// Appends `"name":"<decimal>"` (a number carried as a string, as OMS metadata is).
pub(crate) fn field_u64_str(out: &mut Vec<u8>, name: &str, value: u64) {
    key(out, name);
    out.push(b'"');
    uint(out, value);
    out.push(b'"');
}

pub(crate) fn uint(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

pub(crate) fn int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Re-indents compact JSON written by this crate (key order kept), for documentation.
pub fn pretty(compact: &[u8]) -> String {
    let mut out = String::with_capacity(compact.len() * 2);
    let text = String::from_utf8_lossy(compact);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escape = false;
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escape {
                escape = false;
            } else if c == '\\' {
                escape = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    out.push(chars.next().unwrap_or(c));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_only_quote_backslash_and_controls() {
        let mut out = Vec::new();
        string(&mut out, "a\"b\\c\n\t\r\u{8}\u{c}\u{1}/é😀");
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001/é😀\""
        );
    }

    #[test]
    fn word_scan_finds_every_byte_that_needs_escaping() {
        for b in 0u8..=255 {
            for pos in 0..8 {
                let mut w = *b"abcdefgh";
                w[pos] = b;
                let expect = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(
                    word_needs_escape(u64::from_le_bytes(w)),
                    expect,
                    "{b} at {pos}"
                );
            }
        }
        let mut out = Vec::new();
        escaped(&mut out, "0123456789\"abcdef\n0123456789é");
        assert_eq!(out, b"0123456789\\\"abcdef\\n0123456789\xc3\xa9");
    }

    #[test]
    fn latin1_strings_escape_high_bytes() {
        let mut out = Vec::new();
        latin1_string(&mut out, &[0, b'a', 0x80, 0xff, b'"']);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "\"\\u0000a\\u0080\\u00ff\\\"\""
        );
    }

    #[test]
    fn pretty_keeps_order_and_strings() {
        assert_eq!(
            pretty(br#"{"b":[1,{"x":"{,}"}],"a":{}}"#),
            "{\n  \"b\": [\n    1,\n    {\n      \"x\": \"{,}\"\n    }\n  ],\n  \"a\": {}\n}"
        );
    }
}
