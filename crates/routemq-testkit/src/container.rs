//! Containers started through the `testcontainers` crate, on the host network.
//!
//! Host networking publishes no ports, so every server is told its port (one from
//! [`free_port`](fn@crate::free_port)) and to listen on 127.0.0.1 only. The
//! testcontainers calls run on a runtime of their own (one thread, kept for the
//! process): a container outlives the test runtime that asked for it when it is
//! shared by the tests of a process. A container is removed when its handle drops;
//! one that is never dropped (kept in a static) is removed by a watchdog once the
//! test process exits.

use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, GenericImage, ImageExt};

/// A running container; removed when dropped.
#[derive(Debug)]
pub(crate) struct Container {
    id: String,
    /// Boxed: the handle is large and lives in enums beside small variants.
    inner: Option<Box<ContainerAsync<GenericImage>>>,
}

fn runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("routemq-testkit-containers")
            .enable_all()
            .build()
            .map_err(|e| format!("a runtime for testcontainers: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Why no Docker engine can be used, or `Ok` when one answers on `DOCKER_HOST`
/// (default `unix:///var/run/docker.sock`). Only checks that something accepts
/// connections there; testcontainers reports anything else.
pub fn docker_engine() -> Result<(), String> {
    let host = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    if let Some(path) = host.strip_prefix("unix://") {
        #[cfg(unix)]
        return std::os::unix::net::UnixStream::connect(path)
            .map(drop)
            .map_err(|e| format!("no Docker engine: cannot connect to {path}: {e}"));
        #[cfg(not(unix))]
        return Err(format!("no Docker engine: {host} needs a Unix system"));
    }
    if let Some(addr) = host
        .strip_prefix("tcp://")
        .or_else(|| host.strip_prefix("http://"))
    {
        use std::net::ToSocketAddrs;
        let addr = addr.trim_end_matches('/');
        let reachable = addr.to_socket_addrs().ok().and_then(|mut a| {
            a.find_map(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
        });
        return reachable
            .map(drop)
            .ok_or_else(|| format!("no Docker engine answers at DOCKER_HOST={host}"));
    }
    // https, npipe: leave it to testcontainers.
    Ok(())
}

/// `name[:tag]` split at the tag's colon (a registry's `host:port/` is kept in the
/// name); the tag defaults to `latest`.
pub(crate) fn split_image(image: &str) -> (String, String) {
    let slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[slash..].rfind(':') {
        Some(i) => (
            image[..slash + i].to_owned(),
            image[slash + i + 1..].to_owned(),
        ),
        None => (image.to_owned(), "latest".to_owned()),
    }
}

/// A request for `image` on the host network, ready when `ready` is logged.
pub(crate) fn request(
    image: &str,
    ready: WaitFor,
    timeout: Duration,
) -> ContainerRequest<GenericImage> {
    let (name, tag) = split_image(image);
    GenericImage::new(name, tag)
        .with_wait_for(ready)
        .with_network("host")
        .with_startup_timeout(timeout)
}

async fn start_here(request: ContainerRequest<GenericImage>) -> Result<Container, String> {
    let container = request.start().await.map_err(|e| e.to_string())?;
    let id = container.id().to_owned();
    crate::redis_server::watchdog(&format!("docker rm -f {id}"));
    Ok(Container {
        id,
        inner: Some(Box::new(container)),
    })
}

/// Starts the container on the testkit's container runtime (from async code).
pub(crate) async fn start(request: ContainerRequest<GenericImage>) -> Result<Container, String> {
    docker_engine()?;
    runtime()?
        .spawn(start_here(request))
        .await
        .map_err(|e| format!("starting the container: {e}"))?
}

/// Starts the container on the testkit's container runtime (from blocking code).
pub(crate) fn start_blocking(request: ContainerRequest<GenericImage>) -> Result<Container, String> {
    docker_engine()?;
    let (tx, rx) = mpsc::channel();
    runtime()?.spawn(async move {
        let _ = tx.send(start_here(request).await);
    });
    rx.recv()
        .map_err(|_| "the container runtime stopped".to_owned())?
}

impl Container {
    /// The container's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let Ok(rt) = runtime() else {
            return;
        };
        let (tx, rx) = mpsc::channel();
        rt.spawn(async move {
            let _ = tx.send((*inner).rm().await);
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(id = %self.id, "could not remove the container: {e}"),
            Err(_) => tracing::warn!(id = %self.id, "removing the container timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn images_split_at_the_tag() {
        let s = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(split_image("redis:5.0"), s("redis", "5.0"));
        assert_eq!(
            split_image("routemq-local/mysql:9.7"),
            s("routemq-local/mysql", "9.7")
        );
        assert_eq!(
            split_image("localhost:5000/redis"),
            s("localhost:5000/redis", "latest")
        );
        assert_eq!(
            split_image("localhost:5000/redis:7"),
            s("localhost:5000/redis", "7")
        );
    }
}
