//! Confirmation tokens for destructive verbs. A "plan" call describes what a
//! verb would erase and hands out a token; the verb then runs only with that
//! token, for exactly the planned arguments, once, within a few minutes. A
//! stray or replayed call therefore cannot wipe a disk that holds data.

use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;

const LIFETIME: Duration = Duration::from_secs(10 * 60);

/// A destructive action, with every argument that decides what it erases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    CreatePool { disks: Vec<String>, profile: String },
    AddDisk { disk: String },
    ReplaceDisk { devid: u64, disk: String },
}

#[derive(Default)]
pub struct Plans {
    pending: Vec<(String, Action, Instant)>,
}

impl Plans {
    pub fn issue(&mut self, action: Action) -> String {
        self.pending.retain(|(_, _, at)| at.elapsed() < LIFETIME);
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.pending.push((token.clone(), action, Instant::now()));
        token
    }

    /// Whether `token` was issued for `action` and is still fresh; a token
    /// is used up by the call that presents it.
    pub fn redeem(&mut self, action: &Action, token: &str) -> bool {
        self.pending.retain(|(_, _, at)| at.elapsed() < LIFETIME);
        let found = self
            .pending
            .iter()
            .position(|(t, a, _)| a == action && bool::from(t.as_bytes().ct_eq(token.as_bytes())));
        found.map(|i| self.pending.remove(i)).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_confirms_only_its_own_action_and_only_once() {
        let mut plans = Plans::default();
        let create = Action::CreatePool {
            disks: vec!["/dev/sda".into(), "/dev/sdb".into()],
            profile: "raid1".into(),
        };
        let token = plans.issue(create.clone());
        let other = Action::CreatePool {
            disks: vec!["/dev/sda".into(), "/dev/sdc".into()],
            profile: "raid1".into(),
        };
        assert!(!plans.redeem(&other, &token), "a token is bound to the planned disks");
        assert!(!plans.redeem(&create, "0123"), "a made-up token is refused");
        assert!(plans.redeem(&create, &token));
        assert!(!plans.redeem(&create, &token), "a token is used up");
    }
}
