//! The relay that stands for a consumer's connection: severing it is a
//! crash, so what the client wrote before must still arrive (an automatic
//! PUBACK, say), nothing after it, and the client must not get back in.

use std::time::Duration;

use conformance::broker::link::Link;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn bytes_written_before_the_sever_arrive_then_the_engine_sees_the_close() {
    let engine = TcpListener::bind("127.0.0.1:0").await.expect("a listener");
    let engine_port = engine.local_addr().expect("its address").port();
    let link = Link::to(engine_port).await.expect("a link");
    let mut client = TcpStream::connect(("127.0.0.1", link.port()))
        .await
        .expect("the client connects through the link");
    let (mut engine_side, _) = engine.accept().await.expect("the relay connects upstream");

    // Written, and at once the process "dies": no await in between that
    // would let the relay forward the bytes the ordinary way.
    client
        .write_all(b"PUBACK")
        .await
        .expect("the client writes");
    link.sever().await;

    let mut received = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(5),
        engine_side.read_to_end(&mut received),
    )
    .await
    .expect("the engine sees the connection close")
    .expect("reading to the end");
    assert_eq!(
        received, b"PUBACK",
        "what the client wrote before the sever"
    );

    let mut buffer = [0_u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buffer))
        .await
        .expect("the client sees its connection close");
    assert!(matches!(read, Ok(0) | Err(_)), "the client got {read:?}");
    assert!(
        TcpStream::connect(("127.0.0.1", link.port()))
            .await
            .is_err(),
        "a severed link must not accept a reconnection"
    );
}
