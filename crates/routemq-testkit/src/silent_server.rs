//! [`SilentServer`]: a TCP server that accepts connections and never answers.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A listener on `127.0.0.1` (a free port) that accepts every connection and
/// holds it open without sending a byte: a hung host, or a firewall that drops
/// traffic after the TCP handshake. Tests point a client at it to check that
/// connecting gives up within its timeout instead of hanging.
///
/// Connections are held until the server is dropped; dropping it stops the
/// accept thread and closes them. Works from sync tests and from any Tokio
/// runtime (the accepting runs on its own thread).
///
/// ```
/// let server = routemq_testkit::SilentServer::start().unwrap();
/// let conn = std::net::TcpStream::connect(server.addr()).unwrap();
/// conn.set_read_timeout(Some(std::time::Duration::from_millis(50))).unwrap();
/// let mut buf = [0u8; 1];
/// // Nothing ever arrives.
/// assert!(std::io::Read::read(&mut &conn, &mut buf).is_err());
/// ```
#[derive(Debug)]
pub struct SilentServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentServer {
    /// Binds `127.0.0.1:0` and starts accepting.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("silent-server-{}", addr.port()))
            .spawn(move || {
                let mut held: Vec<TcpStream> = Vec::new();
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        held.push(conn);
                    }
                }
            })?;
        Ok(SilentServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag and exits.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::Duration;

    use super::SilentServer;

    #[test]
    fn accepts_holds_and_never_answers() {
        let server = SilentServer::start().unwrap();
        let mut conns: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(server.addr()).unwrap())
            .collect();
        for conn in &mut conns {
            conn.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let mut buf = [0u8; 8];
            let err = conn.read(&mut buf).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "{err}"
            );
        }
        let addr = server.addr();
        drop(server);
        // Held connections are closed when the server goes away.
        let mut buf = [0u8; 8];
        conns[0]
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        assert_eq!(conns[0].read(&mut buf).unwrap_or(0), 0);
        assert!(std::net::TcpStream::connect(addr).is_err());
    }
}
