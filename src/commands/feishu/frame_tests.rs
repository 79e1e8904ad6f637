use super::*;

fn at(start: Instant, seconds: u64) -> Instant {
    start + Duration::from_secs(seconds)
}

#[test]
fn a_ping_is_the_control_frame_the_sdks_send_with_every_required_field_on_the_wire() {
    let bytes = Frame::ping(7).to_bytes();
    let mut expected = vec![0x08, 0, 0x10, 0, 0x18, 7, 0x20, 0, 0x2a, 12];
    expected.extend([0x0a, 4]);
    expected.extend(b"type");
    expected.extend([0x12, 4]);
    expected.extend(b"ping");
    assert_eq!(bytes, expected);
    let back = Frame::from_bytes(&bytes).expect("decodes");
    assert_eq!(back.method, METHOD_CONTROL);
    assert_eq!(back.service, 7);
    assert_eq!(back.kind(), "ping");
    assert_eq!(back.payload, None);
}

#[test]
fn a_data_frame_round_trips_and_its_ack_keeps_it_with_biz_rt_and_code_200() {
    let frame = Frame {
        seq_id: 3,
        log_id: 99,
        service: 12,
        method: METHOD_DATA,
        headers: vec![
            Header {
                key: "type".into(),
                value: "event".into(),
            },
            Header {
                key: "message_id".into(),
                value: "m-1".into(),
            },
        ],
        payload: Some(br#"{"schema":"2.0"}"#.to_vec()),
        log_id_new: Some("log-1".into()),
        ..Frame::default()
    };
    let back = Frame::from_bytes(&frame.to_bytes()).expect("decodes");
    assert_eq!(back, frame);
    assert_eq!(back.header("message_id"), Some("m-1"));
    assert_eq!(back.header("sum"), None);
    let ack = back.ack(Duration::from_millis(42));
    assert_eq!((ack.seq_id, ack.log_id, ack.service), (3, 99, 12));
    assert_eq!(ack.header("biz_rt"), Some("42"));
    assert_eq!(ack.header("message_id"), Some("m-1"));
    assert_eq!(ack.payload.as_deref(), Some(&br#"{"code":200}"#[..]));
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let cases: [&[u8]; 7] = [
        b"",
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        b"{\"type\":\"ping\"}",
        // A header whose length runs past the end.
        &[0x2a, 0x7f, 0x0a],
        // A payload claiming 2 GB.
        &[0x42, 0xff, 0xff, 0xff, 0xff, 0x07, 1, 2],
        // A key that is not UTF-8.
        &[0x2a, 0x04, 0x0a, 0x02, 0xff, 0xfe],
        // Wire type 7 does not exist.
        &[0x0f],
    ];
    for bytes in cases {
        // The empty message decodes (every field at its default); the rest fail.
        if let Ok(frame) = Frame::from_bytes(bytes) {
            assert!(bytes.is_empty(), "{bytes:?} → {frame:?}");
        }
    }
}

#[test]
fn the_client_config_gives_a_ping_interval_within_bounds() {
    let config: ClientConfig = serde_json::from_str(
        r#"{"ReconnectCount":-1,"ReconnectInterval":120,"ReconnectNonce":30,"PingInterval":90}"#,
    )
    .expect("parses");
    assert_eq!(config.ping_interval(), Some(Duration::from_secs(90)));
    assert_eq!(config.reconnect_count, -1);
    let cases = [
        (r#"{}"#, None),
        (r#"{"PingInterval":0}"#, None),
        (r#"{"PingInterval":-5}"#, None),
        (r#"{"PingInterval":86400}"#, Some(Duration::from_secs(600))),
    ];
    for (text, expected) in cases {
        let config: ClientConfig = serde_json::from_str(text).expect(text);
        assert_eq!(config.ping_interval(), expected, "{text}");
    }
}

#[test]
fn parts_are_put_together_in_order_whatever_order_they_arrive_in() {
    let start = Instant::now();
    let mut parts = Reassembly::default();
    assert_eq!(
        parts.add("m", 1, 0, b"whole".to_vec(), start),
        Assembled::Complete(b"whole".to_vec())
    );
    assert_eq!(
        parts.add("m", 3, 2, b"c".to_vec(), start),
        Assembled::Waiting
    );
    assert_eq!(
        parts.add("m", 3, 0, b"a".to_vec(), start),
        Assembled::Waiting
    );
    assert_eq!(
        parts.add("m", 3, 1, b"b".to_vec(), at(start, 1)),
        Assembled::Complete(b"abc".to_vec())
    );
    assert_eq!(parts.waiting(), 0);
}

#[test]
fn parts_beyond_the_bounds_are_refused_and_stale_ones_forgotten() {
    let start = Instant::now();
    let mut parts = Reassembly::default();
    assert!(matches!(
        parts.add("m", MAX_PARTS + 1, 0, vec![1], start),
        Assembled::Refused(_)
    ));
    assert!(matches!(
        parts.add("m", 2, 2, vec![1], start),
        Assembled::Refused(_)
    ));
    assert_eq!(parts.add("m", 2, 0, vec![1], start), Assembled::Waiting);
    assert!(
        matches!(parts.add("m", 3, 1, vec![1], start), Assembled::Refused(_)),
        "a part disagreeing on the count drops the payload"
    );
    assert_eq!(parts.waiting(), 0);
    assert_eq!(
        parts.add("big", 2, 0, vec![0; MAX_PAYLOAD_BYTES], start),
        Assembled::Waiting
    );
    assert!(matches!(
        parts.add("big", 2, 1, vec![0], start),
        Assembled::Refused(_)
    ));
    for i in 0..MAX_PENDING {
        assert_eq!(
            parts.add(&format!("p{i}"), 2, 0, vec![1], start),
            Assembled::Waiting
        );
    }
    assert!(matches!(
        parts.add("one-too-many", 2, 0, vec![1], start),
        Assembled::Refused(_)
    ));
    // Later than the timeout, the waiting payloads are gone.
    assert_eq!(
        parts.add("p0", 2, 1, vec![2], at(start, PARTS_TIMEOUT.as_secs() + 1)),
        Assembled::Waiting
    );
    assert_eq!(parts.waiting(), 1);
}
