//! IRCv3 capabilities: which the gateway offers, and which a client took
//! (`CAP LS`, `CAP REQ`, `CAP LIST`).

/// The capabilities a client asked for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Caps {
    pub(crate) server_time: bool,
    pub(crate) echo_message: bool,
    pub(crate) message_tags: bool,
    pub(crate) away_notify: bool,
    pub(crate) batch: bool,
    pub(crate) chathistory: bool,
    pub(crate) sasl: bool,
}

impl Caps {
    /// Each capability's name and flag: the one list `CAP LS`, `CAP LIST`
    /// and `CAP REQ` all read.
    fn flags(&mut self) -> [(&'static str, &mut bool); 7] {
        [
            ("server-time", &mut self.server_time),
            ("echo-message", &mut self.echo_message),
            ("message-tags", &mut self.message_tags),
            ("away-notify", &mut self.away_notify),
            ("batch", &mut self.batch),
            ("draft/chathistory", &mut self.chathistory),
            ("sasl", &mut self.sasl),
        ]
    }

    /// Every capability offered, space-separated (`CAP LS`).
    pub(crate) fn offered() -> String {
        let names: Vec<&str> = Self::default()
            .flags()
            .map(|(name, _)| match name {
                "sasl" => "sasl=PLAIN,EXTERNAL",
                name => name,
            })
            .into();
        names.join(" ")
    }

    /// The capabilities taken, space-separated (`CAP LIST`).
    pub(crate) fn taken(mut self) -> String {
        let names: Vec<&str> = (self.flags().into_iter())
            .filter_map(|(name, on)| on.then_some(name))
            .collect();
        names.join(" ")
    }

    /// Takes the capabilities `requested` (space-separated, `-cap` to drop
    /// one) if this gateway has them all; false (nothing taken) otherwise.
    pub(crate) fn request(&mut self, requested: &str) -> bool {
        let mut next = *self;
        for cap in requested.split_whitespace() {
            let (on, name) = match cap.strip_prefix('-') {
                Some(name) => (false, name),
                None => (true, cap),
            };
            match next.flags().into_iter().find(|(known, _)| *known == name) {
                Some((_, flag)) => *flag = on,
                None => return false,
            }
        }
        *self = next;
        true
    }
}
