//! A refused request, worded as IRC words it: the numeric the request
//! and the error code call for, a `FAIL` for CHATHISTORY, the end of a
//! query that will get no answer, or a NOTICE; nothing for a NOTICE.

use huddle_protocol::{ErrorCode, ErrorReport, RequestKind};

use super::{
    line::format,
    session::{Query, Session},
};

impl Session {
    pub(crate) fn error(&mut self, report: ErrorReport, out: &mut String) {
        let ErrorReport {
            code,
            text,
            request,
            id,
        } = report;
        if let Some(id) = id {
            self.echoes.remove(&id);
            // No automatic reply to a NOTICE, errors included (RFC 2812).
            if self.notices.remove(&id) {
                return;
            }
        }
        let text = text.to_string();
        let numeric = match (request, code) {
            (
                RequestKind::ListMembers
                | RequestKind::ListRooms
                | RequestKind::Whois
                | RequestKind::FetchHistory,
                _,
            ) => {
                self.query_failed(code, &text, out);
                return;
            }
            (_, ErrorCode::NoSuchNick) => ("401", "*"),
            (_, ErrorCode::NoSuchRoom) => ("403", "*"),
            (RequestKind::Say, ErrorCode::NotInRoom) => ("404", "*"),
            (_, ErrorCode::NotInRoom) => ("442", "*"),
            (_, ErrorCode::TooManyRooms) => ("405", "*"),
            (_, ErrorCode::BadPassword) => ("475", "*"),
            (_, ErrorCode::InvalidRoom) => ("479", "*"),
            (_, ErrorCode::NickInUse | ErrorCode::NickBound) => ("433", "*"),
            (_, ErrorCode::InvalidNick) => ("432", "*"),
            _ => {
                out.push_str(&format("", &self.server, "NOTICE", &[&self.nick, &text]));
                return;
            }
        };
        self.numeric(numeric.0, &[numeric.1, &text], out);
    }

    fn query_failed(&mut self, code: ErrorCode, text: &str, out: &mut String) {
        match self.pending.pop_front() {
            Some(Query::Whois(nick)) => {
                self.numeric("401", &[&nick, text], out);
                self.numeric("318", &[&nick, "End of /WHOIS list"], out);
            }
            Some(Query::Names(room)) => self.numeric("366", &[&room, "End of /NAMES list"], out),
            Some(Query::Who) => self.numeric("315", &["*", "End of /WHO list"], out),
            Some(Query::History(room)) => {
                let line = format(
                    "",
                    &self.server,
                    "FAIL",
                    &["CHATHISTORY", "INVALID_TARGET", &room, text],
                );
                out.push_str(&line);
            }
            _ => {
                let _ = code;
                out.push_str(&format("", &self.server, "NOTICE", &[&self.nick, text]));
            }
        }
    }
}
