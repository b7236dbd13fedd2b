//! Just enough HTTP/1.1 to serve a static book to a browser on this machine.
//!
//! One thread per connection, one request per connection (`Connection:
//! close`). Why not a crate: `tiny_http` 0.12 can leave a new connection
//! queued behind its pool's busy keep-alive threads, and Chromium, which
//! opens six connections at once, then waits forever for a stylesheet; an
//! async stack (axum, tokio) would cost the learner's first build more than
//! this file does. On loopback, a connection per request costs nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// The longest request head we read; a browser's is well under 8 KiB.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A client that opens a connection and says nothing must not keep a
/// thread forever.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What the server needs to know about a request.
pub struct Request {
    pub method: String,
    /// The path, without query or fragment: `/welcome/index.html`.
    pub path: String,
}

/// What to send back.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Accepts connections forever, answering each on its own thread.
pub fn serve(
    listener: TcpListener,
    handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
) {
    let handler = std::sync::Arc::new(handler);
    for connection in listener.incoming() {
        let Ok(stream) = connection else {
            // A connection reset before accept; nothing to answer.
            continue;
        };
        let handler = std::sync::Arc::clone(&handler);
        std::thread::spawn(move || answer(stream, &*handler));
    }
}

fn answer(mut stream: TcpStream, handler: &dyn Fn(&Request) -> Response) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let response = match read_request(&stream) {
        Ok(Some(request)) if request.method == "GET" || request.method == "HEAD" => {
            let mut response = handler(&request);
            if request.method == "HEAD" {
                // Same headers, no body; Content-Length still says its size.
                let length = response.body.len();
                response.body.clear();
                let _ = write_response(&mut stream, &response, length);
                return;
            }
            response
        }
        Ok(Some(_)) => Response {
            status: 405,
            content_type: "text/plain; charset=utf-8",
            body: b"Only GET and HEAD: this server only shows the book.\n".to_vec(),
        },
        // The client went away (or never spoke): nothing to answer.
        Ok(None) => return,
        Err(problem) => Response {
            status: 400,
            content_type: "text/plain; charset=utf-8",
            body: format!("{problem}\n").into_bytes(),
        },
    };
    let length = response.body.len();
    let _ = write_response(&mut stream, &response, length);
}

/// Reads the request line and the headers; `Ok(None)` on a silent client.
fn read_request(stream: &TcpStream) -> Result<Option<Request>, String> {
    let mut reader = BufReader::new(stream).take(MAX_HEAD_BYTES as u64);
    let mut request_line = String::new();
    match reader.read_line(&mut request_line) {
        Ok(0) | Err(_) => return Ok(None),
        Ok(_) => {}
    }
    // Skip the headers: nothing in them changes what a static book sends.
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) => return Err("the request head is too long or cut short".into()),
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
            Err(_) => return Ok(None),
        }
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!(
            "malformed request line: {:?}",
            request_line.trim_end()
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("unsupported HTTP version {version}"));
    }
    let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
    Ok(Some(Request {
        method: method.to_string(),
        path,
    }))
}

fn write_response(
    stream: &mut TcpStream,
    response: &Response,
    length: usize,
) -> std::io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "",
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\n\
         Content-Type: {}\r\n\
         Content-Length: {length}\r\n\
         Cache-Control: no-cache\r\n\
         Connection: close\r\n\r\n",
        response.status, response.content_type
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(raw_request: &str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            serve(listener, |request| Response {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: format!("you asked for {}", request.path).into_bytes(),
            })
        });
        let mut client = TcpStream::connect(address).expect("connect");
        client.write_all(raw_request.as_bytes()).expect("send");
        let mut answer = String::new();
        client
            .read_to_string(&mut answer)
            .expect("read until close");
        answer
    }

    #[test]
    fn a_get_is_answered_and_the_connection_closed() {
        let answer = exchange("GET /welcome/index.html?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("Content-Length: 33\r\n"), "{answer}");
        assert!(
            answer.ends_with("\r\n\r\nyou asked for /welcome/index.html"),
            "{answer}"
        );
    }

    #[test]
    fn a_head_has_the_length_but_no_body() {
        let answer = exchange("HEAD / HTTP/1.1\r\n\r\n");
        assert!(answer.contains("Content-Length: 15\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\n"), "{answer}");
    }

    #[test]
    fn other_methods_and_garbage_get_an_error_status() {
        assert!(exchange("POST / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        assert!(exchange("nonsense\r\n\r\n").starts_with("HTTP/1.1 400"));
    }
}
