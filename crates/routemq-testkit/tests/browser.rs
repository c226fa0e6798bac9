//! The testkit's browser: a headless Chromium opens a page served on loopback,
//! reads its text back and takes a screenshot.

use routemq_testkit::browser::Browser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn headless_chromium_renders_a_loopback_page() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let body = "<html><body><p id=\"greeting\">served on loopback</p></body></html>";
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    let browser = Browser::start().await.expect("a headless Chromium");
    browser
        .client
        .goto(&format!("http://{addr}/"))
        .await
        .unwrap();
    let text = browser
        .client
        .find(fantoccini::Locator::Id("greeting"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, "served on loopback");
    let png = browser.client.screenshot().await.unwrap();
    assert_eq!(&png[1..4], b"PNG", "a PNG screenshot");
    browser.close().await;
}
