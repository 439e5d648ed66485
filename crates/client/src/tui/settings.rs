//! `/set`: the options of the config file that matter while chatting,
//! shown and changed at run time, and saved. `/set` lists them; `/set NAME
//! VALUE` changes one (`on`/`off` for switches, comma-separated words for
//! lists); `/help set` says the same.

use super::app::{App, Effect};

/// The options `/set` knows: name, what it does.
pub(super) const SETTINGS: &[(&str, &str)] = &[
    (
        "logging",
        "write every room and conversation to text files (on/off)",
    ),
    (
        "notify",
        "desktop notifications on mentions and direct messages (on/off)",
    ),
    (
        "highlight",
        "words that count as mentions besides your nick (comma-separated)",
    ),
];

/// A changed option, for the loop to apply and save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    Logging(bool),
    Notify(bool),
    Highlight(Vec<String>),
}

fn switch(value: &str) -> Option<bool> {
    match value.to_lowercase().as_str() {
        "on" | "yes" | "true" | "1" => Some(true),
        "off" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

impl App {
    /// `/set [NAME [VALUE]]`.
    pub(super) fn set(&mut self, args: &str) -> Vec<Effect> {
        let (name, value) = args.split_once(' ').unwrap_or((args, ""));
        let (name, value) = (name.trim(), value.trim());
        let show = |on: bool| if on { "on" } else { "off" };
        let current = |app: &App, name: &str| match name {
            "logging" => Some(show(app.logging).to_owned()),
            "notify" => Some(show(app.notify).to_owned()),
            "highlight" => Some(app.highlight_words.join(",")),
            _ => None,
        };
        if name.is_empty() {
            for (name, what) in SETTINGS {
                let value = current(self, name).unwrap_or_default();
                self.notice_here(format!("{name} = {value}  ({what})"));
            }
            return Vec::new();
        }
        let Some(shown) = current(self, name) else {
            let names: Vec<&str> = SETTINGS.iter().map(|(name, _)| *name).collect();
            self.error_here(format!(
                "no option {name:?}; /set knows {}",
                names.join(", ")
            ));
            return Vec::new();
        };
        if value.is_empty() {
            self.notice_here(format!("{name} = {shown}"));
            return Vec::new();
        }
        let setting = match (name, switch(value)) {
            ("logging", Some(on)) => Setting::Logging(on),
            ("notify", Some(on)) => Setting::Notify(on),
            ("highlight", _) => Setting::Highlight(
                value
                    .split(',')
                    .map(|word| word.trim().to_owned())
                    .filter(|word| !word.is_empty())
                    .collect(),
            ),
            _ => {
                self.error_here(format!("{name} is on or off, not {value:?}"));
                return Vec::new();
            }
        };
        match &setting {
            Setting::Logging(on) => self.logging = *on,
            Setting::Notify(on) => self.notify = *on,
            Setting::Highlight(words) => self.highlight_words = words.clone(),
        }
        let now = current(self, name).unwrap_or_default();
        self.notice_here(format!("{name} = {now} (saved)"));
        vec![Effect::ChangeSetting(setting)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testkit::{buffer_texts, connected_app, type_line};

    #[test]
    fn set_lists_changes_and_refuses_nonsense() {
        let mut app = connected_app();
        type_line(&mut app, "/set");
        let texts = buffer_texts(&app);
        assert!(
            texts.iter().any(|t| t.starts_with("notify = on")),
            "{texts:?}"
        );
        assert_eq!(
            type_line(&mut app, "/set notify off"),
            [Effect::ChangeSetting(Setting::Notify(false))]
        );
        assert!(!app.notify);
        assert_eq!(
            type_line(&mut app, "/set highlight deploy, ana"),
            [Effect::ChangeSetting(Setting::Highlight(vec![
                "deploy".into(),
                "ana".into()
            ]))]
        );
        assert!(type_line(&mut app, "/set notify maybe").is_empty());
        assert!(type_line(&mut app, "/set colour red").is_empty());
        let last = app.current_buffer().lines.last().unwrap();
        assert!(last.text.contains("no option"), "{}", last.text);
    }
}
