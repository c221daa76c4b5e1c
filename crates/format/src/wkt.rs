//! Well-known text of a MySQL GEOMETRY value (4-byte SRID + WKB), for Maxwell, which
//! writes geometries as JTS's `toText()` does: `POINT (1 2)`, `LINESTRING (0 0, 1 1)`,
//! `MULTIPOINT ((1 2), (3 4))`, coordinates without exponent and without a trailing
//! `.0`, `EMPTY` for empty parts.
//!
//! Hand-written: the WKB subset MySQL stores (2-D, seven types) is about 80 lines, and
//! the geo crates that parse it bring a geometry model this crate has no use for.

use std::io::Write as _;

/// Appends the WKT of `value` (SRID prefix + WKB). False when the bytes are not a
/// complete 2-D WKB geometry; `out` may then hold a partial text.
pub(crate) fn write(out: &mut Vec<u8>, value: &[u8]) -> bool {
    let Some(wkb) = value.get(4..) else {
        return false;
    };
    let mut r = Reader { bytes: wkb, at: 0 };
    geometry(out, &mut r, true).is_some() && r.at == wkb.len()
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.bytes.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(b)
    }

    fn u32(&mut self, little: bool) -> Option<u32> {
        let b = self.take::<4>()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, little: bool) -> Option<f64> {
        let b = self.take::<8>()?;
        Some(if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }
}

/// One geometry with its byte-order and type header; `tagged` writes the type name
/// (members of a MULTI* are written without it).
fn geometry(out: &mut Vec<u8>, r: &mut Reader<'_>, tagged: bool) -> Option<()> {
    let little = r.take::<1>()?[0] == 1;
    let kind = r.u32(little)?;
    let name: &[u8] = match kind {
        1 => b"POINT",
        2 => b"LINESTRING",
        3 => b"POLYGON",
        4 => b"MULTIPOINT",
        5 => b"MULTILINESTRING",
        6 => b"MULTIPOLYGON",
        7 => b"GEOMETRYCOLLECTION",
        _ => return None,
    };
    if tagged {
        out.extend_from_slice(name);
        out.push(b' ');
    }
    match kind {
        1 => {
            let (x, y) = (r.f64(little)?, r.f64(little)?);
            if x.is_nan() && y.is_nan() {
                out.extend_from_slice(b"EMPTY");
            } else {
                out.push(b'(');
                coord(out, x, y);
                out.push(b')');
            }
        }
        2 => points(out, r, little)?,
        3 => list(out, r, little, |out, r| points(out, r, little))?,
        4..=6 => list(out, r, little, |out, r| geometry(out, r, false))?,
        _ => list(out, r, little, |out, r| geometry(out, r, true))?,
    }
    Some(())
}

/// A counted list `(a, b, …)` or `EMPTY`.
fn list(
    out: &mut Vec<u8>,
    r: &mut Reader<'_>,
    little: bool,
    mut item: impl FnMut(&mut Vec<u8>, &mut Reader<'_>) -> Option<()>,
) -> Option<()> {
    let n = r.u32(little)?;
    if n == 0 {
        out.extend_from_slice(b"EMPTY");
        return Some(());
    }
    out.push(b'(');
    for i in 0..n {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        item(out, r)?;
    }
    out.push(b')');
    Some(())
}

fn points(out: &mut Vec<u8>, r: &mut Reader<'_>, little: bool) -> Option<()> {
    list(out, r, little, |out, r| {
        let (x, y) = (r.f64(little)?, r.f64(little)?);
        coord(out, x, y);
        Some(())
    })
}

fn coord(out: &mut Vec<u8>, x: f64, y: f64) {
    number(out, x);
    out.push(b' ');
    number(out, y);
}

/// JTS's ordinate text: plain notation, at most 16 fraction digits, no trailing zeros.
fn number(out: &mut Vec<u8>, v: f64) {
    let start = out.len();
    // Rust's `{}` for f64 is plain (never an exponent) and shortest round-trip.
    let _ = write!(out, "{v}");
    if let Some(dot) = out[start..].iter().position(|&b| b == b'.') {
        if out.len() - (start + dot + 1) > 16 {
            out.truncate(start);
            let _ = write!(out, "{v:.16}");
            while out.last() == Some(&b'0') {
                out.pop();
            }
            if out.last() == Some(&b'.') {
                out.pop();
            }
        }
    }
    if &out[start..] == b"-0" {
        out.truncate(start);
        out.push(b'0');
    }
}

/// Parses WKT written by [`write`] back to MySQL's value (SRID 0 + little-endian WKB),
/// for the Maxwell decoder. WKT has no SRID: a value with another SRID does not survive
/// Maxwell.
pub(crate) fn parse(text: &str) -> Option<Vec<u8>> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    let mut out = vec![0, 0, 0, 0];
    p.geometry(&mut out, None)?;
    p.ws();
    (p.at == p.s.len()).then_some(out)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.at) == Some(&b);
        self.at += hit as usize;
        hit
    }

    fn word(&mut self) -> &[u8] {
        self.ws();
        let start = self.at;
        while self.s.get(self.at).is_some_and(|b| b.is_ascii_alphabetic()) {
            self.at += 1;
        }
        &self.s[start..self.at]
    }

    fn number(&mut self) -> Option<f64> {
        self.ws();
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.s[start..self.at])
            .ok()?
            .parse()
            .ok()
    }

    /// One geometry; `kind` is given for the untagged members of a MULTI*.
    fn geometry(&mut self, out: &mut Vec<u8>, kind: Option<u32>) -> Option<()> {
        let kind = match kind {
            Some(k) => k,
            None => match self.word() {
                b"POINT" => 1,
                b"LINESTRING" => 2,
                b"POLYGON" => 3,
                b"MULTIPOINT" => 4,
                b"MULTILINESTRING" => 5,
                b"MULTIPOLYGON" => 6,
                b"GEOMETRYCOLLECTION" => 7,
                _ => return None,
            },
        };
        out.push(1);
        out.extend_from_slice(&kind.to_le_bytes());
        let save = self.at;
        if self.word() == b"EMPTY" {
            if kind == 1 {
                out.extend_from_slice(&f64::NAN.to_le_bytes());
                out.extend_from_slice(&f64::NAN.to_le_bytes());
            } else {
                out.extend_from_slice(&0u32.to_le_bytes());
            }
            return Some(());
        }
        self.at = save;
        match kind {
            1 => {
                if !self.eat(b'(') {
                    return None;
                }
                self.coord(out)?;
                self.eat(b')').then_some(())
            }
            2 => self.list(out, |p, out| p.coord(out)),
            3 => self.list(out, |p, out| p.list(out, |p, out| p.coord(out))),
            4..=6 => self.list(out, |p, out| p.geometry(out, Some(kind - 3))),
            _ => self.list(out, |p, out| p.geometry(out, None)),
        }
    }

    fn coord(&mut self, out: &mut Vec<u8>) -> Option<()> {
        for _ in 0..2 {
            out.extend_from_slice(&self.number()?.to_le_bytes());
        }
        Some(())
    }

    /// `(item, item, …)` with the WKB count written first.
    fn list(
        &mut self,
        out: &mut Vec<u8>,
        mut item: impl FnMut(&mut Self, &mut Vec<u8>) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b'(') {
            return None;
        }
        let count_at = out.len();
        out.extend_from_slice(&[0; 4]);
        let mut n = 0u32;
        loop {
            item(self, out)?;
            n += 1;
            if !self.eat(b',') {
                break;
            }
        }
        out[count_at..count_at + 4].copy_from_slice(&n.to_le_bytes());
        self.eat(b')').then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wkt(wkb: &[u8]) -> String {
        let mut v = vec![0, 0, 0, 0];
        v.extend_from_slice(wkb);
        let mut out = Vec::new();
        assert!(write(&mut out, &v));
        String::from_utf8(out).unwrap()
    }

    fn point(x: f64, y: f64) -> Vec<u8> {
        let mut b = vec![1, 1, 0, 0, 0];
        b.extend_from_slice(&x.to_le_bytes());
        b.extend_from_slice(&y.to_le_bytes());
        b
    }

    #[test]
    fn points_lines_and_collections() {
        assert_eq!(wkt(&point(1.0, 2.5)), "POINT (1 2.5)");
        let mut line = vec![1, 2, 0, 0, 0, 2, 0, 0, 0];
        for v in [0.0f64, 0.0, 1.0, -1.0] {
            line.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(wkt(&line), "LINESTRING (0 0, 1 -1)");
        let mut multi = vec![1, 4, 0, 0, 0, 2, 0, 0, 0];
        multi.extend(point(1.0, 2.0));
        multi.extend(point(3.0, 4.0));
        assert_eq!(wkt(&multi), "MULTIPOINT ((1 2), (3 4))");
        let mut coll = vec![1, 7, 0, 0, 0, 1, 0, 0, 0];
        coll.extend(point(1.0, 2.0));
        assert_eq!(wkt(&coll), "GEOMETRYCOLLECTION (POINT (1 2))");
        assert_eq!(
            wkt(&[1, 7, 0, 0, 0, 0, 0, 0, 0]),
            "GEOMETRYCOLLECTION EMPTY"
        );
    }

    #[test]
    fn text_parses_back_to_the_same_bytes() {
        let mut multi = vec![
            0, 0, 0, 0, 1, 6, 0, 0, 0, 1, 0, 0, 0, 1, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0,
        ];
        for v in [0.0f64, 0.0, 1.0, 0.0, 1.0, 1.5, 0.0, 0.0] {
            multi.extend_from_slice(&v.to_le_bytes());
        }
        let mut text = Vec::new();
        assert!(write(&mut text, &multi));
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text, "MULTIPOLYGON (((0 0, 1 0, 1 1.5, 0 0)))");
        assert_eq!(parse(&text).unwrap(), multi);
        let coll = wkt(&[1, 7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            parse(&coll).unwrap(),
            [0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn truncated_or_unknown_bytes_are_refused() {
        let mut out = Vec::new();
        assert!(!write(&mut out, &[0, 0, 0, 0, 1, 1, 0, 0, 0, 1]));
        assert!(!write(&mut out, &[0, 0, 0, 0, 1, 9, 0, 0, 0]));
        assert!(!write(&mut out, &[0, 0]));
    }
}
