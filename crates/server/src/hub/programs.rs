//! The programs users connect with (`huddle 0.1.0`, `IRC`), each kept once:
//! a user holds a shared handle, so naming its program for `Whois` costs a
//! connection 16 bytes, not a string of its own.

use std::{collections::HashSet, sync::Arc};

/// Distinct programs kept shared; past this (a client making up names),
/// each new one is kept by its user alone.
const MAX_SHARED: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct Programs {
    known: HashSet<Arc<str>>,
}

impl Programs {
    /// The shared handle for `name`.
    pub(crate) fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.known.get(name) {
            return known.clone();
        }
        let new: Arc<str> = Arc::from(name);
        if self.known.len() < MAX_SHARED {
            self.known.insert(new.clone());
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_kept_once_and_the_set_is_bounded() {
        let mut programs = Programs::default();
        let first = programs.intern("huddle 0.1.0");
        assert!(Arc::ptr_eq(&first, &programs.intern("huddle 0.1.0")));
        for n in 0..1000 {
            programs.intern(&format!("made up {n}"));
        }
        assert_eq!(programs.known.len(), MAX_SHARED);
    }
}
