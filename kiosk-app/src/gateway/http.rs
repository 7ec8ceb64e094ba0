//! The sliver of HTTP/1.1 the demo gateway and its client speak.
//!
//! One request per connection (`Connection: close`), bodies framed by `Content-Length` only,
//! no chunked encoding, no keep-alive, no TLS. Parsing and serialising are pure functions over
//! bytes; [`read_message`] is generic over [`Read`] so tests can feed it byte slices.
//! Everything is bounded ([`MAX_HEAD`], [`MAX_BODY`]) so a peer cannot make either side
//! allocate without limit.

use std::fmt::Write as _;
use std::io::{self, Read};

/// Largest accepted request or status line plus headers.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest accepted body. A submission is a few hundred bytes; 1 MiB leaves room for
/// scanned document attachments (not built yet) while keeping the demo's memory bounded.
pub const MAX_BODY: usize = 1024 * 1024;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Not HTTP/1.1 as we speak it.
    #[error("malformed HTTP message: {0}")]
    Malformed(&'static str),
    /// Head longer than [`MAX_HEAD`].
    #[error("HTTP head longer than {MAX_HEAD} bytes")]
    HeadTooLarge,
    /// Body longer than [`MAX_BODY`].
    #[error("HTTP body of {0} bytes is longer than {MAX_BODY}")]
    BodyTooLarge(usize),
    /// `Transfer-Encoding` used: we only frame by `Content-Length`.
    #[error("Transfer-Encoding is not supported; send Content-Length")]
    LengthRequired,
    /// The socket failed or timed out.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// The head of a message: a request line or a status line, then headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Request: method. Response: protocol version.
    pub first: String,
    /// Request: target (path and query). Response: status code.
    pub second: String,
    /// Header names (as sent) and values (trimmed).
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The declared body length: 0 when absent (a request without one has no body).
    ///
    /// # Errors
    ///
    /// [`HttpError::LengthRequired`] with `Transfer-Encoding`, [`HttpError::Malformed`] for
    /// an unparseable or repeated length, [`HttpError::BodyTooLarge`] above [`MAX_BODY`].
    pub fn content_length(&self) -> Result<usize, HttpError> {
        if self.header("transfer-encoding").is_some() {
            return Err(HttpError::LengthRequired);
        }
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"));
        let Some((_, first)) = values.next() else {
            return Ok(0);
        };
        // Two lengths are the classic request-smuggling shape: refuse rather than pick one.
        if values.next().is_some() {
            return Err(HttpError::Malformed("repeated Content-Length"));
        }
        if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HttpError::Malformed("Content-Length is not a number"));
        }
        match first.parse::<usize>() {
            Ok(n) if n <= MAX_BODY => Ok(n),
            Ok(n) => Err(HttpError::BodyTooLarge(n)),
            Err(_) => Err(HttpError::BodyTooLarge(usize::MAX)),
        }
    }
}

/// Parses a head (without the final empty line).
///
/// # Errors
///
/// [`HttpError::Malformed`] unless it is ASCII text of the shape `A B C\r\n(Name: value\r\n)*`.
pub fn parse_head(bytes: &[u8]) -> Result<Head, HttpError> {
    let text = std::str::from_utf8(bytes).map_err(|_| HttpError::Malformed("head is not text"))?;
    if !text.is_ascii() {
        return Err(HttpError::Malformed("head is not ASCII"));
    }
    let mut lines = text.split("\r\n");
    let start = lines.next().unwrap_or_default();
    let mut parts = start.splitn(3, ' ');
    let (Some(first), Some(second), Some(third)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::Malformed("first line needs three parts"));
    };
    if first.is_empty() || second.is_empty() || start.bytes().any(|b| b.is_ascii_control()) {
        return Err(HttpError::Malformed("bad first line"));
    }
    // A request line ends in the version; a status line starts with it.
    if !(third == "HTTP/1.1" || third == "HTTP/1.0" || first.starts_with("HTTP/1.")) {
        return Err(HttpError::Malformed("not HTTP/1.x"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HttpError::Malformed("header line without ':'"));
        };
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(HttpError::Malformed("bad header name"));
        }
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(HttpError::Malformed("control character in header value"));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(Head {
        first: first.to_owned(),
        second: second.to_owned(),
        headers,
    })
}

/// Reads one message: the head, then exactly `Content-Length` bytes of body, or (for a
/// response without a length, `until_eof`) everything until the peer closes.
///
/// # Errors
///
/// Any [`HttpError`]; a peer closing before the head is complete is
/// [`HttpError::Malformed`]. [`HttpError::BodyTooLarge`] is returned as soon as the head
/// declares it, before any of the body is read, so the caller can answer 413 at once.
pub fn read_message(r: &mut impl Read, until_eof: bool) -> Result<(Head, Vec<u8>), HttpError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        }
        let n = read_some(r, &mut chunk)?;
        if n == 0 {
            return Err(HttpError::Malformed(
                "connection closed before the end of the head",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    if head_end > MAX_HEAD {
        return Err(HttpError::HeadTooLarge);
    }
    let head = parse_head(&buf[..head_end])?;
    let mut body = buf.split_off(head_end + 4);
    let declared = head.header("content-length").is_some();
    let len = head.content_length()?;
    if until_eof && !declared {
        loop {
            let n = read_some(r, &mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
            if body.len() > MAX_BODY {
                return Err(HttpError::BodyTooLarge(body.len()));
            }
        }
        return Ok((head, body));
    }
    while body.len() < len {
        let want = (len - body.len()).min(chunk.len());
        let n = read_some(r, &mut chunk[..want])?;
        if n == 0 {
            return Err(HttpError::Malformed(
                "connection closed before the end of the body",
            ));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    // A pipelined second request is not served (one request per connection): drop extra bytes.
    body.truncate(len);
    Ok((head, body))
}

fn read_some(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, HttpError> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(HttpError::Io),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Serialises a request with `Connection: close` and a `Content-Length`.
pub fn write_request(
    method: &str,
    target: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
    finish(&mut head, headers, body)
}

/// Serialises a response with `Connection: close` and a `Content-Length`.
pub fn write_response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    finish(&mut head, headers, body)
}

fn finish(head: &mut String, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    for (name, value) in headers {
        // Writing to a String cannot fail.
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = write!(
        head,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = head.clone().into_bytes();
    out.extend_from_slice(body);
    out
}

/// The reason phrase of the status codes the gateway uses.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<(Head, Vec<u8>), HttpError> {
        read_message(&mut &bytes[..], false)
    }

    #[test]
    fn reads_a_request() {
        let (head, body) =
            read(b"POST /v1/x HTTP/1.1\r\nHost: a\r\ncontent-length: 3\r\n\r\nabcdef").expect("ok");
        assert_eq!(head.first, "POST");
        assert_eq!(head.second, "/v1/x");
        assert_eq!(head.header("Content-Length"), Some("3"));
        assert_eq!(body, b"abc");
        let (_, body) = read(b"GET / HTTP/1.1\r\n\r\n").expect("ok");
        assert!(body.is_empty());
    }

    #[test]
    fn reads_a_response_until_eof() {
        let bytes = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello";
        let (head, body) = read_message(&mut &bytes[..], true).expect("ok");
        assert_eq!(
            (head.first.as_str(), head.second.as_str()),
            ("HTTP/1.1", "200")
        );
        assert_eq!(body, b"hello");
    }

    #[test]
    fn refuses_what_it_does_not_speak() {
        let malformed = |bytes: &[u8]| matches!(read(bytes), Err(HttpError::Malformed(_)));
        assert!(malformed(b"\x00\x01\x02\r\n\r\n"));
        assert!(malformed(b"GET /\r\n\r\n"));
        assert!(malformed(b"GET / SPDY/3\r\n\r\n"));
        assert!(malformed(b"GET / HTTP/1.1\r\nNo colon\r\n\r\n"));
        assert!(malformed(b"GET / HTTP/1.1\r\nBad name: x\r\n\r\n"));
        assert!(malformed(b"GET / HTTP/1.1\r\nHost: x")); // EOF inside the head
        assert!(malformed(
            b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nshort"
        ));
        assert!(malformed(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"));
        assert!(malformed(
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"
        ));
        assert!(malformed("GET /đ HTTP/1.1\r\n\r\n".as_bytes()));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n"),
            Err(HttpError::BodyTooLarge(_))
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(HttpError::LengthRequired)
        ));
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(matches!(
            read(long.as_bytes()),
            Err(HttpError::HeadTooLarge)
        ));
    }

    #[test]
    fn writes_messages() {
        let out = write_response(201, &[("Content-Type", "application/json")], b"{}");
        let (head, body) = read(&out).expect("own output parses");
        assert_eq!(head.second, "201");
        assert_eq!(head.header("connection"), Some("close"));
        assert_eq!(body, b"{}");
        let out = write_request("GET", "/healthz", "127.0.0.1:1", &[], b"");
        assert!(out.starts_with(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:1\r\n"));
    }
}
