use super::*;
use serde_json::json;

fn receive(chat_type: &str, message_type: &str, content: &str) -> Vec<u8> {
    json!({
        "schema": "2.0",
        "header": {
            "event_id": "5e3702a84e847582be8db7fb73283c02",
            "event_type": "im.message.receive_v1",
            "create_time": "1608725989000",
            "token": "rvaYgkR6wuBbj7CWrDTfTGXenqBWNMtL",
            "app_id": "cli_9f5343c580712544",
            "tenant_key": "2ca1d211f64f6438"
        },
        "event": {
            "sender": {
                "sender_id": {
                    "union_id": "on_8ed6aa67826108097d9ee143816345",
                    "user_id": "e33ggbyz",
                    "open_id": "ou_84aad35d084aa403a838cf73ee18467"
                },
                "sender_type": "user",
                "tenant_key": "736588c9260f175e"
            },
            "message": {
                "message_id": "om_5ce6d572455d361153b7cb51da133945",
                "root_id": "",
                "create_time": "1609073151345",
                "chat_id": "oc_5ce6d572455d361153b7xx51da133945",
                "chat_type": chat_type,
                "message_type": message_type,
                "content": content,
                "mentions": [{
                    "key": "@_user_1",
                    "id": { "open_id": "ou_bot", "union_id": "on_bot", "user_id": "" },
                    "name": "巡检",
                    "tenant_key": "736588c9260f175e"
                }]
            }
        }
    })
    .to_string()
    .into_bytes()
}

fn message(event: Event) -> IncomingMessage {
    match event.kind {
        EventKind::Message(message) => message,
        EventKind::Other(kind) => panic!("not a message: {kind}"),
    }
}

#[test]
fn a_group_message_to_the_bot_loses_its_mention_and_keeps_the_command() {
    let event = parse_event(&receive(
        "group",
        "text",
        r#"{"text":"@_user_1  /status   lsq-szgl"}"#,
    ))
    .expect("parses");
    assert_eq!(event.id, "5e3702a84e847582be8db7fb73283c02");
    let message = message(event);
    assert_eq!(message.message_id, "om_5ce6d572455d361153b7cb51da133945");
    assert_eq!(message.chat_id, "oc_5ce6d572455d361153b7xx51da133945");
    assert_eq!(
        message.sender.as_deref(),
        Some("ou_84aad35d084aa403a838cf73ee18467")
    );
    assert!(!message.is_private_chat);
    assert_eq!(message.text.as_deref(), Some("/status lsq-szgl"));
}

#[test]
fn a_private_text_is_read_and_a_picture_has_no_text() {
    let text = message(parse_event(&receive("p2p", "text", r#"{"text":"/help"}"#)).expect("text"));
    assert!(text.is_private_chat);
    assert_eq!(text.text.as_deref(), Some("/help"));
    let image =
        message(parse_event(&receive("p2p", "image", r#"{"image_key":"img_x"}"#)).expect("image"));
    assert_eq!(image.text, None);
}

#[test]
fn mention_placeholders_go_longest_first_and_at_all_too() {
    let mentions: Vec<Mention> = ["@_user_1", "@_user_10", "not-a-key"]
        .into_iter()
        .map(|key| Mention { key: key.into() })
        .collect();
    assert_eq!(
        strip_mentions("@_user_10 @_user_1 /ack 3 @_all", &mentions),
        "/ack 3"
    );
    assert_eq!(
        strip_mentions("not-a-key stays", &mentions),
        "not-a-key stays"
    );
}

#[test]
fn other_events_are_named_and_unreadable_payloads_are_errors() {
    let other = json!({
        "schema": "2.0",
        "header": { "event_id": "e-2", "event_type": "im.chat.member.bot.added_v1" },
        "event": {}
    });
    let event = parse_event(other.to_string().as_bytes()).expect("parses");
    assert_eq!(
        event.kind,
        EventKind::Other("im.chat.member.bot.added_v1".into())
    );
    let bad: [&[u8]; 8] = [
        b"",
        b"\xff\xfe",
        b"[]",
        b"{}",
        br#"{"header":{"event_type":"im.message.receive_v1"}}"#,
        br#"{"header":{"event_id":"e","event_type":"im.message.receive_v1"},"event":{}}"#,
        br#"{"header":{"event_id":"e","event_type":"im.message.receive_v1"},"event":{"sender":{},"message":{"message_id":"m","message_type":"text","content":"not json"}}}"#,
        br#"{"header":{"event_id":"e","event_type":"im.message.receive_v1"},"event":{"sender":{},"message":{"message_id":7}}}"#,
    ];
    for payload in bad {
        assert!(
            parse_event(payload).is_err(),
            "{}",
            String::from_utf8_lossy(payload)
        );
    }
}

#[test]
fn a_message_from_another_bot_has_no_sender() {
    let payload = String::from_utf8(receive("group", "text", r#"{"text":"hi"}"#))
        .expect("utf-8")
        .replace(r#""sender_type":"user""#, r#""sender_type":"app""#);
    assert_eq!(
        message(parse_event(payload.as_bytes()).expect("parses")).sender,
        None
    );
}

#[test]
fn an_event_is_seen_once_and_old_ids_are_forgotten() {
    let mut seen = SeenEvents::default();
    assert!(seen.first_time("a"));
    assert!(!seen.first_time("a"));
    for i in 0..SEEN_EVENTS {
        assert!(seen.first_time(&format!("e{i}")));
    }
    assert!(seen.first_time("a"), "the oldest id was forgotten");
    assert!(!seen.first_time(&format!("e{}", SEEN_EVENTS - 1)));
    assert!(seen.order.len() <= SEEN_EVENTS && seen.ids.len() <= SEEN_EVENTS);
}
