//! Repairs the HTTP/2 `:authority` that some etcd clients send.
//!
//! etcd's Go client 3.4 (`etcdctl endpoint status|health` with an `http://`
//! endpoint) sends the whole URL as `:authority`, and client 3.5.0 sends
//! `#initially=[…]`. grpc-go servers accept that; Rust's h2 refuses the
//! stream with PROTOCOL_ERROR. Mars serves those clients as etcd does: this
//! wrapper sits between the socket and h2, decodes every header block the
//! client sends (tracking the client's HPACK table), replaces an invalid
//! authority with its host:port part (or drops it: it is optional), and
//! re-encodes the block for h2. Server-to-client bytes pass untouched.
//!
//! A gRPC client uses one authority per connection, so the first header
//! block decides: when it needs no repair, the original bytes go on and the
//! connection becomes a plain pass-through, costing well-behaved clients
//! nothing after their first request.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The largest frame h2 accepts unless told otherwise (SETTINGS_MAX_FRAME_SIZE).
const MAX_FRAME: usize = 16_384;

/// A header block being collected across HEADERS and CONTINUATION frames.
struct PendingBlock {
    stream_id: u32,
    end_stream: bool,
    priority: Option<[u8; 5]>,
    fragment: Vec<u8>,
    /// The frames as received, forwarded as they are when nothing needs repair.
    original: Vec<u8>,
}

/// Rewrites client header blocks; pure, so it is tested without sockets.
pub struct HeaderRepair {
    raw: BytesMut,
    preface_seen: bool,
    /// Bytes go to h2 untouched: after a first header block that needed no
    /// repair, or after anything this cannot parse (h2 then reports it).
    passthrough: bool,
    /// The first header block needed repair: every block is re-encoded.
    rewriting: bool,
    pending: Option<PendingBlock>,
    decoder: loona_hpack::Decoder<'static>,
    encoder: loona_hpack::Encoder<'static>,
}

impl Default for HeaderRepair {
    fn default() -> Self {
        Self {
            raw: BytesMut::new(),
            preface_seen: false,
            passthrough: false,
            rewriting: false,
            pending: None,
            decoder: loona_hpack::Decoder::new(),
            encoder: loona_hpack::Encoder::new(),
        }
    }
}

impl HeaderRepair {
    /// Feeds bytes from the client; appends what h2 should read to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        self.raw.extend_from_slice(input);
        if !self.preface_seen {
            let n = self.raw.len().min(PREFACE.len());
            if self.raw[..n] != PREFACE[..n] {
                self.passthrough = true;
            } else if self.raw.len() >= PREFACE.len() {
                out.extend_from_slice(&self.raw.split_to(PREFACE.len()));
                self.preface_seen = true;
            } else {
                return;
            }
        }
        while !self.passthrough && self.raw.len() >= FRAME_HEADER {
            let len = (usize::from(self.raw[0]) << 16)
                | (usize::from(self.raw[1]) << 8)
                | usize::from(self.raw[2]);
            if self.raw.len() < FRAME_HEADER + len {
                return;
            }
            let frame = self.raw.split_to(FRAME_HEADER + len);
            let kind = frame[3];
            if kind == HEADERS || kind == CONTINUATION || self.pending.is_some() {
                self.header_frame(&frame, out);
            } else {
                out.extend_from_slice(&frame);
            }
        }
        if self.passthrough {
            if let Some(pending) = self.pending.take() {
                out.extend_from_slice(&pending.original);
            }
            out.extend_from_slice(&self.raw.split());
        }
    }

    /// Handles one HEADERS or CONTINUATION frame. Whatever it cannot parse
    /// goes to h2 as received (with any block held back), and the connection
    /// becomes a pass-through: our HPACK state no longer matches.
    fn header_frame(&mut self, frame: &[u8], out: &mut BytesMut) {
        if self.collect(frame).is_none() {
            if let Some(pending) = self.pending.take() {
                out.extend_from_slice(&pending.original);
            }
            out.extend_from_slice(frame);
            self.passthrough = true;
            return;
        }
        if frame[4] & END_HEADERS == 0 {
            return;
        }
        let Some(pending) = self.pending.take() else {
            return;
        };
        let Ok(headers) = self.decoder.decode(&pending.fragment) else {
            out.extend_from_slice(&pending.original);
            self.passthrough = true;
            return;
        };
        let needs_repair = headers.iter().any(|(name, value)| {
            name == b":authority" && repair_authority(value).as_deref() != Some(value)
        });
        if !self.rewriting && !needs_repair {
            // h2's HPACK table now matches the client's: step aside.
            out.extend_from_slice(&pending.original);
            self.passthrough = true;
            return;
        }
        self.rewriting = true;
        let repaired: Vec<(Vec<u8>, Vec<u8>)> = headers
            .into_iter()
            .filter_map(|(name, value)| {
                if name == b":authority" {
                    repair_authority(&value).map(|v| (name, v))
                } else {
                    Some((name, value))
                }
            })
            .collect();
        let block = self
            .encoder
            .encode(repaired.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
        write_block(out, &pending, &block);
    }

    /// Adds a frame to the pending block; `None` if it is malformed or out
    /// of place (in which case the frame is not added).
    fn collect(&mut self, frame: &[u8]) -> Option<()> {
        let (kind, flags) = (frame[3], frame[4]);
        let stream_id = u32::from_be_bytes([frame[5], frame[6], frame[7], frame[8]]) & 0x7fff_ffff;
        let mut payload = &frame[FRAME_HEADER..];
        match (kind, &mut self.pending) {
            (HEADERS, None) => {
                let mut pad = 0;
                if flags & PADDED != 0 {
                    pad = usize::from(*payload.first()?);
                    payload = &payload[1..];
                }
                let mut priority = None;
                if flags & PRIORITY != 0 {
                    priority = Some(payload.get(..5)?.try_into().ok()?);
                    payload = &payload[5..];
                }
                let fragment = payload.get(..payload.len().checked_sub(pad)?)?;
                self.pending = Some(PendingBlock {
                    stream_id,
                    end_stream: flags & END_STREAM != 0,
                    priority,
                    fragment: fragment.to_vec(),
                    original: frame.to_vec(),
                });
                Some(())
            }
            (CONTINUATION, Some(pending)) if pending.stream_id == stream_id => {
                pending.fragment.extend_from_slice(payload);
                pending.original.extend_from_slice(frame);
                Some(())
            }
            _ => None,
        }
    }
}

/// Writes a header block as HEADERS plus as many CONTINUATION frames as needed.
fn write_block(out: &mut BytesMut, pending: &PendingBlock, block: &[u8]) {
    let priority_len = if pending.priority.is_some() { 5 } else { 0 };
    let first = block.len().min(MAX_FRAME - priority_len);
    let (head, mut rest) = block.split_at(first);
    let mut flags = if pending.end_stream { END_STREAM } else { 0 };
    if pending.priority.is_some() {
        flags |= PRIORITY;
    }
    if rest.is_empty() {
        flags |= END_HEADERS;
    }
    put_frame_header(
        out,
        head.len() + priority_len,
        HEADERS,
        flags,
        pending.stream_id,
    );
    if let Some(priority) = pending.priority {
        out.put_slice(&priority);
    }
    out.put_slice(head);
    while !rest.is_empty() {
        let n = rest.len().min(MAX_FRAME);
        let flags = if n == rest.len() { END_HEADERS } else { 0 };
        put_frame_header(out, n, CONTINUATION, flags, pending.stream_id);
        out.put_slice(&rest[..n]);
        rest.advance(n);
    }
}

fn put_frame_header(out: &mut BytesMut, len: usize, kind: u8, flags: u8, stream_id: u32) {
    out.put_uint(len as u64, 3);
    out.put_u8(kind);
    out.put_u8(flags);
    out.put_u32(stream_id);
}

/// A valid authority as is; `http://host:port/…` or `#initially=[http://host:port;…]`
/// reduced to `host:port`; `None` (drop it) when nothing valid remains.
pub fn repair_authority(value: &[u8]) -> Option<Vec<u8>> {
    let valid = |v: &[u8]| !v.is_empty() && http::uri::Authority::try_from(v).is_ok();
    if valid(value) {
        return Some(value.to_vec());
    }
    let text = std::str::from_utf8(value).ok()?;
    let text = text.trim_start_matches("#initially=[");
    let text = text.split_once("://").map_or(text, |(_, rest)| rest);
    let end = text.find(['/', ';', ']', '#']).unwrap_or(text.len());
    let candidate = &text.as_bytes()[..end];
    valid(candidate).then(|| candidate.to_vec())
}

/// A client connection whose header blocks pass through [`HeaderRepair`].
pub struct RepairedStream<S> {
    inner: S,
    repair: HeaderRepair,
    ready: BytesMut,
    eof: bool,
}

impl<S> RepairedStream<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            repair: HeaderRepair::default(),
            ready: BytesMut::new(),
            eof: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for RepairedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.repair.passthrough && this.ready.is_empty() && !this.eof {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if !this.ready.is_empty() {
                let n = this.ready.len().min(buf.remaining());
                buf.put_slice(&this.ready.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // Whatever is left unparsed goes to h2, which will judge it.
                this.eof = true;
                this.repair.passthrough = true;
            }
            this.repair.feed(read.filled(), &mut this.ready);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for RepairedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl tonic::transport::server::Connected for RepairedStream<tokio::net::TcpStream> {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        put_frame_header(&mut out, payload.len(), kind, flags, stream);
        out.put_slice(payload);
        out.to_vec()
    }

    /// Decodes every header block h2 would receive.
    fn blocks_seen_by_h2(bytes: &[u8]) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut decoder = loona_hpack::Decoder::new();
        let mut rest = &bytes[PREFACE.len()..];
        let mut blocks = Vec::new();
        let mut block = Vec::new();
        while rest.len() >= FRAME_HEADER {
            let len =
                (usize::from(rest[0]) << 16) | (usize::from(rest[1]) << 8) | usize::from(rest[2]);
            let (kind, flags) = (rest[3], rest[4]);
            let mut payload = &rest[FRAME_HEADER..FRAME_HEADER + len];
            if kind == HEADERS && flags & PRIORITY != 0 {
                payload = &payload[5..];
            }
            if kind == HEADERS || kind == CONTINUATION {
                block.extend_from_slice(payload);
                if flags & END_HEADERS != 0 {
                    blocks.push(decoder.decode(&block).unwrap());
                    block.clear();
                }
            }
            rest = &rest[FRAME_HEADER + len..];
        }
        blocks
    }

    fn authority_of(block: &[(Vec<u8>, Vec<u8>)]) -> Option<String> {
        block
            .iter()
            .find(|(n, _)| n == b":authority")
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    #[test]
    fn authorities_are_repaired_or_dropped() {
        let fix = |v: &str| repair_authority(v.as_bytes()).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(fix("127.0.0.1:2379").as_deref(), Some("127.0.0.1:2379"));
        assert_eq!(
            fix("http://127.0.0.1:2379").as_deref(),
            Some("127.0.0.1:2379")
        );
        assert_eq!(
            fix("https://etcd.example:2379/x").as_deref(),
            Some("etcd.example:2379")
        );
        assert_eq!(
            fix("#initially=[http://10.0.0.1:2379;http://10.0.0.2:2379]").as_deref(),
            Some("10.0.0.1:2379")
        );
        assert_eq!(fix("%%%"), None);
    }

    #[test]
    fn client_blocks_reach_h2_repaired_across_split_reads_and_continuations() {
        let mut client = loona_hpack::Encoder::new();
        let request = |authority: &str, path: &str| -> Vec<(Vec<u8>, Vec<u8>)> {
            vec![
                (b":method".to_vec(), b"POST".to_vec()),
                (b":scheme".to_vec(), b"http".to_vec()),
                (b":path".to_vec(), path.as_bytes().to_vec()),
                (b":authority".to_vec(), authority.as_bytes().to_vec()),
                (b"te".to_vec(), b"trailers".to_vec()),
            ]
        };
        let encode = |client: &mut loona_hpack::Encoder<'_>, headers: &[(Vec<u8>, Vec<u8>)]| {
            client.encode(headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice())))
        };
        let first = encode(
            &mut client,
            &request("http://127.0.0.1:2379", "/etcdserverpb.KV/Range"),
        );
        // The second block refers back to dynamic-table entries of the first.
        let second = encode(
            &mut client,
            &request("http://127.0.0.1:2379", "/etcdserverpb.KV/Put"),
        );

        let mut wire = PREFACE.to_vec();
        wire.extend(frame(0x4, 0, 0, &[])); // SETTINGS
        let (a, b) = first.split_at(first.len() / 2);
        wire.extend(frame(
            HEADERS,
            PADDED,
            1,
            &[&[3u8][..], a, &[0, 0, 0]].concat(),
        ));
        wire.extend(frame(CONTINUATION, END_HEADERS, 1, b));
        wire.extend(frame(0x0, END_STREAM, 1, b"data"));
        wire.extend(frame(
            HEADERS,
            END_HEADERS | END_STREAM | PRIORITY,
            3,
            &[&[0, 0, 0, 0, 16][..], &second].concat(),
        ));

        let mut repair = HeaderRepair::default();
        let mut out = BytesMut::new();
        for chunk in wire.chunks(7) {
            repair.feed(chunk, &mut out);
        }
        assert!(!repair.passthrough);
        let blocks = blocks_seen_by_h2(&out);
        assert_eq!(blocks.len(), 2);
        for block in &blocks {
            assert_eq!(authority_of(block).as_deref(), Some("127.0.0.1:2379"));
        }
        assert_eq!(blocks[1][2].1, b"/etcdserverpb.KV/Put");
        // The DATA frame is forwarded unchanged.
        assert!(out.windows(4).any(|w| w == b"data"));
    }

    #[test]
    fn a_valid_first_block_turns_the_connection_into_a_pass_through() {
        let mut client = loona_hpack::Encoder::new();
        let headers: [(&[u8], &[u8]); 3] = [
            (b":method", b"POST"),
            (b":authority", b"127.0.0.1:2379"),
            (b":path", b"/x"),
        ];
        let block = client.encode(headers);
        let mut wire = PREFACE.to_vec();
        wire.extend(frame(HEADERS, END_HEADERS, 1, &block));
        wire.extend(frame(HEADERS, END_HEADERS, 3, &client.encode(headers)));
        let mut repair = HeaderRepair::default();
        let mut out = BytesMut::new();
        for chunk in wire.chunks(5) {
            repair.feed(chunk, &mut out);
        }
        assert!(repair.passthrough);
        assert_eq!(&out[..], &wire[..]);
    }

    #[test]
    fn an_undecodable_block_reaches_h2_exactly_once_as_sent() {
        let mut wire = PREFACE.to_vec();
        // Indexed header 126: no such entry in an empty dynamic table.
        wire.extend(frame(HEADERS, 0, 1, &[0xfe]));
        wire.extend(frame(CONTINUATION, END_HEADERS, 1, &[0x82]));
        wire.extend(frame(0x0, END_STREAM, 1, b"data"));
        let mut repair = HeaderRepair::default();
        let mut out = BytesMut::new();
        repair.feed(&wire, &mut out);
        assert!(repair.passthrough);
        assert_eq!(&out[..], &wire[..]);
    }

    #[test]
    fn garbage_passes_through_for_h2_to_reject() {
        let mut repair = HeaderRepair::default();
        let mut out = BytesMut::new();
        repair.feed(b"GET / HTTP/1.1\r\n\r\n", &mut out);
        assert_eq!(&out[..], b"GET / HTTP/1.1\r\n\r\n");
    }
}
