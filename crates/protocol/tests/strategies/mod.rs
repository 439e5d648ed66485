//! proptest strategies producing every message type with valid fields.
#![allow(dead_code)] // Each test binary uses a different subset.

use huddle_protocol::{
    ChatMessage, ChatText, ClientMessage, ClientMsgId, ConnectionId, DirectEntry, ErrorCode,
    ErrorReport, FileChunk, FileOffer, Hello, Limits, MessageId, MessageKind, Nick, Presence,
    PresenceEvent, Reject, RequestKind, RoomInfo, RoomName, SearchHit, ServerId, ServerMessage,
    ShortText, Target, TransferId, Welcome,
};
use proptest::prelude::*;
use uuid::Uuid;

pub(crate) fn nick() -> impl Strategy<Value = Nick> {
    "[a-zA-Zé_\\[\\]{}|^`][a-zA-Z0-9é_\\-\\[\\]{}|^`.]{0,15}".prop_map(|s| Nick::new(s).unwrap())
}

pub(crate) fn room() -> impl Strategy<Value = RoomName> {
    "#?[a-zA-Z0-9ü_\\-.!]{1,40}".prop_map(|s| RoomName::new(s).unwrap())
}

pub(crate) fn chat_text() -> impl Strategy<Value = ChatText> {
    "[a-zA-Z0-9 \n\téü€😀]{1,300}".prop_map(|s| ChatText::new(s).unwrap())
}

pub(crate) fn short_text() -> impl Strategy<Value = ShortText> {
    "[a-zA-Z0-9 éü€😀]{0,80}".prop_map(|s| ShortText::new(s).unwrap())
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn kind() -> impl Strategy<Value = MessageKind> {
    prop_oneof![Just(MessageKind::Normal), Just(MessageKind::Action)]
}

fn code() -> impl Strategy<Value = ErrorCode> {
    (0u16..40).prop_map(ErrorCode::from)
}

fn request_kind() -> impl Strategy<Value = RequestKind> {
    prop_oneof![
        Just(RequestKind::Unparsed),
        Just(RequestKind::Join),
        Just(RequestKind::Say),
        Just(RequestKind::Quit),
        Just(RequestKind::FetchDirectHistory),
        Just(RequestKind::Whois),
        Just(RequestKind::SetAway),
        Just(RequestKind::Search),
        Just(RequestKind::SetIrcPassword),
        Just(RequestKind::SetIrcCertificate)
    ]
}

fn chat_message() -> impl Strategy<Value = ChatMessage> {
    (
        uuid(),
        prop_oneof![
            room().prop_map(Target::Room),
            nick().prop_map(Target::Direct)
        ],
        nick(),
        kind(),
        chat_text(),
        any::<u64>(),
        uuid(),
    )
        .prop_map(
            |(id, target, from, kind, text, timestamp, client_msg_id)| ChatMessage {
                id: MessageId::from_uuid(id),
                target,
                from,
                kind,
                text,
                timestamp,
                client_msg_id: ClientMsgId::from_uuid(client_msg_id),
            },
        )
}

fn limits() -> impl Strategy<Value = Limits> {
    (any::<u32>(), any::<u16>(), any::<u32>()).prop_map(|(a, b, c)| Limits {
        max_frame_len: a,
        max_text_bytes: c,
        max_nick_bytes: b,
        max_room_bytes: b,
        max_rooms_per_client: b,
        rate_per_second: a,
        rate_burst: c,
        history_on_join: b,
        max_file_size: u64::from(a) << 8,
        max_transfers: b,
        transfer_window: c,
    })
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        room().prop_map(Target::Room),
        nick().prop_map(Target::Direct)
    ]
}

fn file_offer() -> impl Strategy<Value = FileOffer> {
    (
        uuid(),
        target(),
        short_text(),
        any::<u64>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(id, target, name, size, sha256)| FileOffer {
            transfer: TransferId::from_uuid(id),
            target,
            name,
            size,
            sha256,
        })
}

fn file_chunk() -> impl Strategy<Value = FileChunk> {
    (
        uuid(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(id, offset, data)| FileChunk {
            transfer: TransferId::from_uuid(id),
            offset,
            data: data.into(),
        })
}

fn transfer_id() -> impl Strategy<Value = TransferId> {
    uuid().prop_map(TransferId::from_uuid)
}

pub(crate) fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        (
            proptest::option::of(nick()),
            proptest::option::of(uuid()),
            proptest::option::of(uuid()),
            any::<u16>()
        )
            .prop_map(|(with, before, after, limit)| {
                ClientMessage::FetchDirectHistory {
                    with,
                    before: before.map(MessageId::from_uuid),
                    after: after.map(MessageId::from_uuid),
                    limit,
                }
            }),
        nick().prop_map(|nick| ClientMessage::Whois { nick }),
        short_text().prop_map(|message| ClientMessage::SetAway { message }),
        short_text().prop_map(|password| ClientMessage::SetIrcPassword { password }),
        proptest::option::of(any::<[u8; 32]>()).prop_map(|fingerprint| {
            ClientMessage::SetIrcCertificate {
                fingerprint: fingerprint.map(huddle_protocol::Fingerprint),
            }
        }),
        (
            short_text(),
            proptest::option::of(room()),
            proptest::option::of(uuid()),
            any::<u16>()
        )
            .prop_map(|(query, room, before, limit)| ClientMessage::Search {
                query,
                room,
                before: before.map(MessageId::from_uuid),
                limit,
            }),
        file_offer().prop_map(ClientMessage::FileOffer),
        (transfer_id(), any::<bool>())
            .prop_map(|(transfer, accept)| ClientMessage::FileAnswer { transfer, accept }),
        file_chunk().prop_map(ClientMessage::FileChunk),
        (transfer_id(), any::<u32>())
            .prop_map(|(transfer, bytes)| ClientMessage::FileCredit { transfer, bytes }),
        (transfer_id(), short_text())
            .prop_map(|(transfer, reason)| ClientMessage::FileCancel { transfer, reason }),
        (any::<u16>(), uuid(), nick(), short_text(), short_text()).prop_map(
            |(version, id, nick, client_name, client_version)| ClientMessage::Hello(Hello {
                version,
                public_key: huddle_protocol::PublicKey(
                    *id.as_bytes()
                        .repeat(2)
                        .first_chunk::<32>()
                        .unwrap_or(&[0; 32])
                ),
                proof: bytes::Bytes::copy_from_slice(&id.as_bytes().repeat(4)),
                nick,
                client_name,
                client_version,
            })
        ),
        (room(), proptest::option::of(short_text()))
            .prop_map(|(room, password)| ClientMessage::Join { room, password }),
        (room(), short_text()).prop_map(|(room, reason)| ClientMessage::Part { room, reason }),
        (room(), uuid(), kind(), chat_text()).prop_map(|(room, id, kind, text)| {
            ClientMessage::Say {
                room,
                id: ClientMsgId::from_uuid(id),
                kind,
                text,
            }
        }),
        (nick(), uuid(), kind(), chat_text()).prop_map(|(to, id, kind, text)| {
            ClientMessage::Direct {
                to,
                id: ClientMsgId::from_uuid(id),
                kind,
                text,
            }
        }),
        nick().prop_map(|nick| ClientMessage::ChangeNick { nick }),
        (room(), short_text()).prop_map(|(room, topic)| ClientMessage::SetTopic { room, topic }),
        Just(ClientMessage::ListRooms),
        room().prop_map(|room| ClientMessage::ListMembers { room }),
        (
            room(),
            proptest::option::of(uuid()),
            proptest::option::of(uuid()),
            any::<u16>()
        )
            .prop_map(|(room, before, after, limit)| ClientMessage::FetchHistory {
                room,
                before: before.map(MessageId::from_uuid),
                after: after.map(MessageId::from_uuid),
                limit,
            }),
        any::<u64>().prop_map(|token| ClientMessage::Ping { token }),
        any::<u64>().prop_map(|token| ClientMessage::Pong { token }),
        short_text().prop_map(|reason| ClientMessage::Quit { reason }),
    ]
}

fn presence_event() -> impl Strategy<Value = PresenceEvent> {
    prop_oneof![
        Just(PresenceEvent::Joined),
        short_text().prop_map(|reason| PresenceEvent::Left { reason }),
        nick().prop_map(|new_nick| PresenceEvent::Renamed { new_nick }),
        short_text().prop_map(|reason| PresenceEvent::Quit { reason }),
        short_text().prop_map(|message| PresenceEvent::Away { message }),
    ]
}

pub(crate) fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (
            proptest::option::of(nick()),
            proptest::collection::vec(
                (any::<bool>(), chat_message())
                    .prop_map(|(outgoing, message)| DirectEntry { outgoing, message }),
                0..4
            ),
            any::<bool>()
        )
            .prop_map(|(with, messages, more)| ServerMessage::DirectHistoryPage {
                with,
                messages,
                more
            }),
        (
            nick(),
            proptest::option::of(uuid()),
            proptest::collection::vec(room(), 0..4),
            any::<u64>(),
            short_text()
        )
            .prop_map(|(nick, id, rooms, idle_secs, client)| {
                let key = id.map(|id| {
                    let mut key = [0u8; 32];
                    key[..16].copy_from_slice(id.as_bytes());
                    huddle_protocol::PublicKey(key)
                });
                ServerMessage::WhoisReply {
                    nick,
                    key,
                    rooms,
                    away: ShortText::default(),
                    since: 1_700_000_000_000,
                    idle_secs,
                    client,
                }
            }),
        (
            short_text(),
            proptest::option::of(room()),
            proptest::collection::vec(
                prop_oneof![
                    chat_message().prop_map(SearchHit::Room),
                    (any::<bool>(), chat_message()).prop_map(|(outgoing, message)| {
                        SearchHit::Direct(DirectEntry { outgoing, message })
                    })
                ],
                0..4
            ),
            proptest::option::of(uuid())
        )
            .prop_map(|(query, room, hits, next)| ServerMessage::SearchResults {
                query,
                room,
                hits,
                next: next.map(MessageId::from_uuid),
            }),
        (nick(), file_offer()).prop_map(|(from, offer)| ServerMessage::FileOffered { from, offer }),
        (transfer_id(), nick(), any::<bool>()).prop_map(|(transfer, by, accept)| {
            ServerMessage::FileAnswered {
                transfer,
                by,
                accept,
            }
        }),
        file_chunk().prop_map(ServerMessage::FileChunk),
        (transfer_id(), any::<u32>())
            .prop_map(|(transfer, bytes)| ServerMessage::FileCredit { transfer, bytes }),
        (transfer_id(), nick(), short_text(), any::<bool>()).prop_map(
            |(transfer, by, reason, ended)| {
                ServerMessage::FileCancelled {
                    transfer,
                    by,
                    reason,
                    ended,
                }
            }
        ),
        (
            any::<u16>(),
            uuid(),
            uuid(),
            short_text(),
            proptest::option::of(chat_text()),
            nick(),
            limits()
        )
            .prop_map(|(version, server, conn, server_name, motd, nick, limits)| {
                ServerMessage::Welcome(Welcome {
                    version,
                    server_id: ServerId::from_uuid(server),
                    connection_id: ConnectionId::from_uuid(conn),
                    server_name,
                    motd,
                    nick,
                    limits,
                })
            }),
        (code(), any::<u16>(), ".{0,50}").prop_map(|(code, server_version, text)| {
            ServerMessage::Reject(Reject {
                code,
                server_version,
                text,
            })
        }),
        (
            room(),
            short_text(),
            proptest::collection::vec(nick(), 0..10),
            proptest::collection::vec(chat_message(), 0..4)
        )
            .prop_map(|(room, topic, members, history)| ServerMessage::Joined {
                room,
                topic,
                members,
                history
            }),
        room().prop_map(|room| ServerMessage::Parted { room }),
        chat_message().prop_map(ServerMessage::Chat),
        (uuid(), uuid(), any::<u64>()).prop_map(|(id, message_id, timestamp)| {
            ServerMessage::Ack {
                id: ClientMsgId::from_uuid(id),
                message_id: MessageId::from_uuid(message_id),
                timestamp,
            }
        }),
        (room(), nick(), presence_event()).prop_map(|(room, nick, event)| ServerMessage::Presence(
            Presence { room, nick, event }
        )),
        proptest::collection::vec(
            (room(), any::<u32>(), short_text(), any::<bool>()).prop_map(
                |(name, members, topic, has_password)| RoomInfo {
                    name,
                    members,
                    topic,
                    has_password
                }
            ),
            0..5
        )
        .prop_map(|rooms| ServerMessage::RoomList { rooms }),
        (room(), proptest::collection::vec(nick(), 0..10))
            .prop_map(|(room, members)| ServerMessage::MemberList { room, members }),
        (
            room(),
            proptest::collection::vec(chat_message(), 0..4),
            any::<bool>()
        )
            .prop_map(|(room, messages, more)| ServerMessage::HistoryPage {
                room,
                messages,
                more
            }),
        any::<u64>().prop_map(|token| ServerMessage::Pong { token }),
        any::<u64>().prop_map(|token| ServerMessage::Ping { token }),
        (
            code(),
            short_text(),
            request_kind(),
            proptest::option::of(uuid())
        )
            .prop_map(
                |(code, text, request, id)| ServerMessage::Error(ErrorReport {
                    code,
                    text,
                    request,
                    id: id.map(ClientMsgId::from_uuid),
                })
            ),
        chat_text().prop_map(|text| ServerMessage::Notice { text }),
        (room(), short_text(), nick()).prop_map(|(room, topic, by)| ServerMessage::Topic {
            room,
            topic,
            by
        }),
        (nick(), nick()).prop_map(|(old, new)| ServerMessage::NickChanged { old, new }),
        (code(), short_text()).prop_map(|(code, reason)| ServerMessage::Bye { code, reason }),
    ]
}
