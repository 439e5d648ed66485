//! Direct messages kept in memory, one mailbox per client id: the newest of
//! each user's conversations, sent and received. With a store they cover
//! what is not committed yet; with `--ephemeral` they are all there is.
//! Bounded twice: messages per mailbox, and mailboxes (the one written
//! longest ago goes first).

use std::collections::{HashMap, VecDeque};

use huddle_protocol::{ClientId, DirectEntry, Nick};

use crate::page::{Page, PageRequest, exchanged_with, page};

#[derive(Debug)]
pub(crate) struct Mailboxes {
    boxes: HashMap<ClientId, VecDeque<DirectEntry>>,
    /// Owners, the one written longest ago first.
    order: VecDeque<ClientId>,
    per_box: usize,
    max_boxes: usize,
}

impl Mailboxes {
    pub(crate) fn new(per_box: usize, max_boxes: usize) -> Self {
        Self {
            boxes: HashMap::new(),
            order: VecDeque::new(),
            per_box,
            max_boxes,
        }
    }

    /// `owner`'s mailbox in memory, oldest first.
    pub(crate) fn entries(&self, owner: ClientId) -> impl DoubleEndedIterator<Item = &DirectEntry> {
        self.boxes.get(&owner).into_iter().flatten()
    }

    /// Files `entry` in `owner`'s mailbox, in id order.
    pub(crate) fn record(&mut self, owner: ClientId, entry: DirectEntry) {
        if self.per_box == 0 || self.max_boxes == 0 {
            return;
        }
        if let Some(at) = self.order.iter().position(|o| *o == owner) {
            self.order.remove(at);
        }
        self.order.push_back(owner);
        while self.order.len() > self.max_boxes {
            if let Some(oldest) = self.order.pop_front() {
                self.boxes.remove(&oldest);
            }
        }
        let mailbox = self.boxes.entry(owner).or_default();
        // Ids are taken before this lock: two senders may arrive swapped.
        let at = mailbox
            .iter()
            .rposition(|e| e.message.id < entry.message.id)
            .map_or(0, |at| at + 1);
        mailbox.insert(at, entry);
        if mailbox.len() > self.per_box {
            mailbox.pop_front();
        }
    }

    /// A page of `owner`'s mailbox, only the conversation with `with` if
    /// given.
    pub(crate) fn page(
        &self,
        owner: ClientId,
        with: Option<&Nick>,
        request: PageRequest,
    ) -> Page<DirectEntry> {
        let Some(mailbox) = self.boxes.get(&owner) else {
            return Page::empty();
        };
        let entries = mailbox.iter().filter(|entry| exchanged_with(entry, with));
        page(entries, request)
    }
}

#[cfg(test)]
mod tests {
    use huddle_protocol::{ChatMessage, ChatText, MessageId, MessageKind, Target};
    use uuid::Uuid;

    use super::*;

    fn nick(name: &str) -> Nick {
        Nick::new(name).unwrap()
    }

    fn entry(n: u128, from: &str, to: &str, outgoing: bool) -> DirectEntry {
        DirectEntry {
            outgoing,
            message: ChatMessage {
                id: MessageId::from_uuid(Uuid::from_u128(n)),
                target: Target::Direct(nick(to)),
                from: nick(from),
                kind: MessageKind::Normal,
                text: ChatText::new(format!("m{n}")).unwrap(),
                timestamp: 0,
                client_msg_id: huddle_protocol::ClientMsgId::random(),
            },
        }
    }

    fn ids(page: &[DirectEntry]) -> Vec<u128> {
        page.iter()
            .map(|e| e.message.id.as_uuid().as_u128())
            .collect()
    }

    #[test]
    fn mailboxes_keep_id_order_filter_by_peer_and_stay_bounded() {
        let mut boxes = Mailboxes::new(4, 2);
        let al = ClientId::random();
        boxes.record(al, entry(2, "al", "bob", true));
        boxes.record(al, entry(1, "bob", "al", false));
        boxes.record(al, entry(3, "cy", "al", false));
        let Page { items: all, more } =
            boxes.page(al, None, PageRequest::from_wire(None, None, 10));
        assert_eq!((ids(&all), more), (vec![1, 2, 3], false));
        let Page {
            items: with_bob, ..
        } = boxes.page(
            al,
            Some(&nick("BOB")),
            PageRequest::from_wire(None, None, 10),
        );
        assert_eq!(ids(&with_bob), [1, 2]);
        let id = |n| Some(MessageId::from_uuid(Uuid::from_u128(n)));
        assert_eq!(
            ids(&boxes
                .page(al, None, PageRequest::from_wire(None, id(1), 1))
                .items),
            [2]
        );
        boxes.record(al, entry(4, "al", "cy", true));
        boxes.record(al, entry(5, "al", "cy", true));
        assert_eq!(
            ids(&boxes
                .page(al, None, PageRequest::from_wire(None, None, 10))
                .items),
            [2, 3, 4, 5]
        );
        // A third mailbox pushes out the one written longest ago.
        let (bob, cy) = (ClientId::random(), ClientId::random());
        boxes.record(bob, entry(6, "al", "bob", false));
        boxes.record(cy, entry(7, "al", "cy", false));
        assert!(
            boxes
                .page(al, None, PageRequest::from_wire(None, None, 10))
                .items
                .is_empty()
        );
        assert_eq!(
            ids(&boxes
                .page(cy, None, PageRequest::from_wire(None, None, 10))
                .items),
            [7]
        );
    }
}
