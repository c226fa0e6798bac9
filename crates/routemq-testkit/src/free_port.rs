//! Free loopback ports for servers the testkit starts.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read the
/// port, close). Callers start their server on it right away and retry on a clash.
pub fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn gives_a_bindable_port() {
        let port = super::free_port().unwrap();
        assert!(port > 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}
