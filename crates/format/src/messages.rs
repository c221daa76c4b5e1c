//! The Kafka records one change becomes. OMS formats write one record per change;
//! Debezium writes up to three (a key-changing UPDATE is a delete, its tombstone and a
//! create), with headers and, for tombstones, a null value. Everything lives in one
//! reused buffer, so a change costs no allocation once the buffers have grown.

use std::ops::Range;

/// Which row image a record's partition is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowImage {
    /// The image that identified the row before the change (`RowChange::key_image`).
    Before,
    /// The image after the change (a key-changing UPDATE's new key).
    After,
}

#[derive(Debug, Clone)]
struct Span {
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    headers: Range<usize>,
    image: RowImage,
}

#[derive(Debug, Clone)]
struct HeaderSpan {
    name: &'static str,
    value: Range<usize>,
}

/// The records of one change, in send order.
#[derive(Debug, Clone, Default)]
pub struct Messages {
    pub(crate) buf: Vec<u8>,
    spans: Vec<Span>,
    headers: Vec<HeaderSpan>,
    /// A serializer's scratch space, reused so that rows do not allocate.
    pub(crate) scratch: Vec<u8>,
}

/// One record: key and value (`None` = Kafka null), headers, partition image.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub image: RowImage,
    headers: &'a [HeaderSpan],
    buf: &'a [u8],
}

impl<'a> Message<'a> {
    /// The record's headers in order: name and value bytes.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&'static str, &'a [u8])> + 'a {
        let buf = self.buf;
        self.headers
            .iter()
            .map(move |h| (h.name, &buf[h.value.clone()]))
    }
}

impl Messages {
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(4096),
            spans: Vec::with_capacity(3),
            headers: Vec::with_capacity(8),
            scratch: Vec::with_capacity(64),
        }
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.spans.clear();
        self.headers.clear();
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<Message<'_>> {
        let s = self.spans.get(i)?;
        Some(Message {
            key: s.key.clone().map(|r| &self.buf[r]),
            value: s.value.clone().map(|r| &self.buf[r]),
            image: s.image,
            headers: &self.headers[s.headers.clone()],
            buf: &self.buf,
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Message<'_>> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Starts a record: what is written next (headers, then key, then value) is its.
    pub(crate) fn begin(&mut self, image: RowImage) {
        self.spans.push(Span {
            key: None,
            value: None,
            headers: self.headers.len()..self.headers.len(),
            image,
        });
    }

    fn span(&mut self) -> &mut Span {
        self.spans.last_mut().expect("begin() comes first")
    }

    /// Appends a header whose value `write` appends to the buffer.
    pub(crate) fn header(&mut self, name: &'static str, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.buf.len();
        write(&mut self.buf);
        self.headers.push(HeaderSpan {
            name,
            value: start..self.buf.len(),
        });
        let end = self.headers.len();
        self.span().headers.end = end;
    }

    /// Repeats an earlier record's header (the bytes are shared, not copied).
    pub(crate) fn repeat_header(&mut self, name: &'static str, value: Range<usize>) {
        self.headers.push(HeaderSpan { name, value });
        let end = self.headers.len();
        self.span().headers.end = end;
    }

    /// Where the next bytes go.
    pub(crate) fn mark(&self) -> usize {
        self.buf.len()
    }

    /// The key is the bytes written since `start`.
    pub(crate) fn set_key(&mut self, start: usize) {
        let end = self.buf.len();
        self.span().key = Some(start..end);
    }

    /// The value is the bytes written since `start`.
    pub(crate) fn set_value(&mut self, start: usize) {
        let end = self.buf.len();
        self.span().value = Some(start..end);
    }

    /// The current record's key range and headers range (to repeat them).
    pub(crate) fn current_key(&self) -> Option<Range<usize>> {
        self.spans.last().and_then(|s| s.key.clone())
    }

    pub(crate) fn current_headers(&self) -> Vec<(&'static str, Range<usize>)> {
        self.spans
            .last()
            .map(|s| {
                self.headers[s.headers.clone()]
                    .iter()
                    .map(|h| (h.name, h.value.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sets the current record's key to an earlier record's key bytes.
    pub(crate) fn repeat_key(&mut self, key: Option<Range<usize>>) {
        self.span().key = key;
    }
}
