//! Asks a running server for its version over plain TCP (std only): Redis answers
//! `INFO server`; MySQL/MariaDB send their version in the first handshake packet.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn connect(addr: &str) -> Option<TcpStream> {
    let addr: SocketAddr = addr.parse().ok()?;
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    Some(stream)
}

/// `redis_version` from `INFO server` of the Redis at `addr`.
pub fn redis_version(addr: &str) -> Option<String> {
    let mut stream = connect(addr)?;
    stream.write_all(b"INFO server\r\n").ok()?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&reply).contains("redis_version:") || !reply.ends_with(b"\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply)
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(|v| v.trim().to_owned())
}

/// The server version of the MySQL/MariaDB handshake at `addr` (a 4-byte packet
/// header, protocol version 10, then the version as a NUL-terminated string).
pub fn mysql_version(addr: &str) -> Option<String> {
    let mut stream = connect(addr)?;
    let mut header = [0u8; 4];
    stream.read_exact(&mut header).ok()?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut body = vec![0u8; len.min(1 << 16)];
    stream.read_exact(&mut body).ok()?;
    if body.first() != Some(&10) {
        return None;
    }
    let end = body[1..].iter().position(|&b| b == 0)? + 1;
    let version = String::from_utf8_lossy(&body[1..end]).into_owned();
    // MariaDB 10/11 prefix the version with "5.5.5-" for old clients.
    Some(
        version
            .strip_prefix("5.5.5-")
            .map(str::to_owned)
            .unwrap_or(version),
    )
}
