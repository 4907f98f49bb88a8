//! A tiny HTTP/1.1 server for tests (thread per connection, `Connection: close`), with raw access to
//! the socket so a handler can misbehave: stall, or drop the connection halfway through a body.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

pub struct Request {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub headers: HashMap<String, String>,
    pub reader: BufReader<TcpStream>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
    pub fn content_length(&self) -> usize {
        self.header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
    /// Reads the whole body (Content-Length or chunked).
    pub fn body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        if self
            .header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
        {
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).unwrap();
                let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else {
            body.resize(self.content_length(), 0);
            self.reader.read_exact(&mut body).unwrap();
        }
        body
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Response {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Response {
        self.body = b.into();
        self
    }
    pub fn json(self, v: serde_json::Value) -> Response {
        self.header("Content-Type", "application/json")
            .body(serde_json::to_vec(&v).unwrap())
    }
    pub fn write(&self, stream: &mut TcpStream, head_only: bool) {
        let mut out = format!(
            "HTTP/1.1 {} X\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.status,
            self.body.len()
        );
        for (k, v) in &self.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let _ = stream.write_all(out.as_bytes());
        if !head_only {
            let _ = stream.write_all(&self.body);
        }
        let _ = stream.flush();
    }
}

/// What a handler does with a request.
pub enum Reply {
    Send(Response),
    /// Close the socket without answering (after reading whatever the handler read).
    Drop,
    /// Announce the whole body, send only its first `n` bytes, then close the connection.
    Truncate(Response, usize),
}

pub type Handler = Arc<dyn Fn(&mut Request) -> Reply + Send + Sync>;

/// Query parameters; a repeated key's values are joined with spaces (e.g. several `scope`s).
fn parse_query(q: &str) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for p in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        out.entry(decode(k))
            .and_modify(|e| *e = format!("{e} {}", decode(v)))
            .or_insert_with(|| decode(v));
    }
    out
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Serves on a free loopback port until the process ends; returns the address.
pub fn serve(handler: Handler) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let handler = handler.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let target = parts.next().unwrap_or("/").to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let mut req = Request {
                    method: method.clone(),
                    path: path.to_string(),
                    query: parse_query(query),
                    headers,
                    reader,
                };
                let mut stream = stream;
                match handler(&mut req) {
                    Reply::Send(resp) => resp.write(&mut stream, method == "HEAD"),
                    Reply::Drop => {
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                    }
                    Reply::Truncate(mut resp, n) => {
                        let full = resp.body.len();
                        resp.body.truncate(n);
                        let mut head = format!(
                            "HTTP/1.1 {} X\r\nConnection: close\r\nContent-Length: {full}\r\n\r\n",
                            resp.status
                        )
                        .into_bytes();
                        head.extend_from_slice(&resp.body);
                        let _ = stream.write_all(&head);
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                    }
                }
            });
        }
    });
    addr
}
