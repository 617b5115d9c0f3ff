//! What a check's channels hear of a flip: one notice per flip and channel, recorded with the
//! flip (so it cannot be lost) and delivered through the outbox. Its id is made of the check,
//! the flip's number and the channel, so a receiver can drop a repeat.
//!
//! The texts are made here, once, for every channel: the email's subject and text, the
//! webhook's JSON body, Alertmanager's alert.

pub use super::channel::Channel;
use super::state::{Flip, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;

/// The longest tail of a job's output a notice carries.
pub const OUTPUT_TAIL: usize = 1_000;

/// One notice, as recorded with its flip and as delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub check: String,
    pub uuid: Option<String>,
    pub channel: Channel,
    pub flip_number: u64,
    pub at: i64,
    pub from: String,
    pub to: String,
    pub cause: String,
    /// The last ping that ended a run (unix s), if any.
    pub last_ping: Option<i64>,
    pub last_exit_status: Option<u8>,
    /// The end of the job's output (as text, bytes that are not UTF-8 escaped), for a flip a
    /// ping made.
    pub output_tail: Option<String>,
}

pub fn notice_id(check: &str, flip_number: u64, channel: &Channel) -> String {
    format!("{check}#{flip_number}#{}", channel.key())
}

/// The notices of `flip` (its `number`-th) on each channel; none when the flip is not one the
/// channels hear of.
pub fn notices(
    check: &super::check::Check,
    flip: &Flip,
    number: u64,
    output: &[u8],
) -> Vec<Notice> {
    if !flip.notifies() {
        return Vec::new();
    }
    let tail = (!output.is_empty()).then(|| {
        let start = output.len().saturating_sub(OUTPUT_TAIL);
        super::ping::shown_body(&output[start..])
    });
    check
        .channels
        .iter()
        .map(|channel| Notice {
            id: notice_id(&check.name, number, channel),
            check: check.name.clone(),
            uuid: check.uuid.clone(),
            channel: channel.clone(),
            flip_number: number,
            at: flip.at,
            from: flip.from.to_string(),
            to: flip.to.to_string(),
            cause: flip.cause.clone(),
            last_ping: check.last_ping,
            last_exit_status: check.last_exit_status,
            output_tail: tail.clone(),
        })
        .collect()
}

fn when(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(crate::base::time::timestamp)
        .unwrap_or_else(|_| t.to_string())
}

impl Notice {
    pub fn is_down(&self) -> bool {
        self.to == State::Down.as_str()
    }

    pub fn subject(&self) -> String {
        format!(
            "[telltale] check {} is {}",
            self.check,
            self.to.to_uppercase()
        )
    }

    /// The email's text: since when, why, the last ping, the end of the job's output.
    pub fn text(&self) -> String {
        let mut text = format!(
            "The check {} is {} since {} (it was {}; cause: {}).\n",
            self.check,
            self.to,
            when(self.at),
            self.from,
            self.cause
        );
        match self.last_ping {
            Some(t) => text.push_str(&format!("Last ping: {}", when(t))),
            None => text.push_str("No ping received yet"),
        }
        if let Some(code) = self.last_exit_status {
            text.push_str(&format!(" (last exit status {code})"));
        }
        text.push_str(".\n");
        if let Some(tail) = &self.output_tail {
            text.push_str(&format!("\nThe end of the job's output:\n\n{tail}\n"));
        }
        text.push_str(&format!(
            "\nSee its pings: telltale heartbeat log {}\nNotice {}\n",
            self.check, self.id
        ));
        text
    }

    /// The webhook's body (documented in docs/heartbeat.md).
    pub fn webhook_body(&self) -> Value {
        json!({
            "id": self.id,
            "check": self.check,
            "uuid": self.uuid,
            "state": self.to,
            "previous_state": self.from,
            "at": when(self.at),
            "cause": self.cause,
            "last_ping": self.last_ping.map(when),
            "last_exit_status": self.last_exit_status,
            "output_tail": self.output_tail,
        })
    }
}

/// Alertmanager's alert for a check: firing while it is down (`ends_at` None), resolved at
/// `ends_at`. Its labels are the identity Alertmanager groups and silences by; the alert name
/// differs from the Prometheus rule's (`TelltaleHeartbeatCheckDown`), so a team using both
/// sees which path paged it.
pub const ALERT_NAME: &str = "TelltaleCheckDown";

pub fn alert(check: &str, since: i64, ends_at: Option<i64>, summary: &str) -> Value {
    let mut alert = json!({
        "labels": {"alertname": ALERT_NAME, "check": check, "source": "telltale-heartbeat-sweep"},
        "annotations": {"summary": summary},
        "startsAt": when(since),
    });
    if let Some(end) = ends_at {
        alert["endsAt"] = json!(when(end));
    }
    alert
}

/// A notice as stored: what it says, and how its delivery stands.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNotice {
    pub notice: Notice,
    /// `pending`, `sent` or `dead`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// How a check's channel stands, from its newest notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Never used, or its newest notice went out.
    Ok,
    /// Its newest notice waits for its first attempt.
    Pending,
    /// Its newest notice was refused and is retried.
    Failing { attempts: u32, reason: String },
    /// Its newest notice was given up.
    Dead { reason: String },
}

impl Health {
    pub fn failing(&self) -> bool {
        matches!(self, Health::Failing { .. } | Health::Dead { .. })
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Health::Ok => f.write_str("ok"),
            Health::Pending => f.write_str("pending"),
            Health::Failing { attempts, reason } => {
                write!(f, "failing ({attempts} attempts): {reason}")
            }
            Health::Dead { reason } => write!(f, "dead: {reason}"),
        }
    }
}

/// Each channel of `check` with its health.
pub fn channel_health(
    check: &super::check::Check,
    notices: &[StoredNotice],
) -> Vec<(Channel, Health)> {
    check
        .channels
        .iter()
        .map(|ch| {
            let newest = notices
                .iter()
                .filter(|n| n.notice.check == check.name && n.notice.channel == *ch)
                .max_by_key(|n| n.notice.flip_number);
            let reason = |n: &StoredNotice| n.last_error.clone().unwrap_or_default();
            let health = match newest {
                Some(n) if n.state == "dead" => Health::Dead { reason: reason(n) },
                Some(n) if n.state == "pending" && n.attempts > 0 && n.last_error.is_some() => {
                    Health::Failing {
                        attempts: n.attempts,
                        reason: reason(n),
                    }
                }
                Some(n) if n.state == "pending" => Health::Pending,
                _ => Health::Ok,
            };
            (ch.clone(), health)
        })
        .collect()
}

/// The webhook signature header's value: `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::check::Check;

    #[test]
    fn one_notice_per_channel_for_a_flip_that_notifies() {
        let check = Check {
            name: "db".into(),
            channels: vec![
                Channel::Email {
                    to: "a@example.org".into(),
                },
                Channel::Alertmanager,
            ],
            last_exit_status: Some(3),
            ..Check::default()
        };
        let flip = Flip {
            at: 1_795_939_200,
            from: State::Up,
            to: State::Down,
            cause: "ping:exit-status".into(),
        };
        let out = b"line 1\nfatal: disk full\xff\n";
        let n = notices(&check, &flip, 7, out);
        assert_eq!(n.len(), 2);
        assert_ne!(n[0].id, n[1].id);
        assert!(n[0].id.starts_with("db#7#email-"));
        assert_eq!(n[0].subject(), "[telltale] check db is DOWN");
        let text = n[0].text();
        assert!(text.contains("fatal: disk full\\xff"), "{text}");
        assert!(text.contains("last exit status 3"));
        let late = Flip {
            to: State::Late,
            ..flip
        };
        assert!(notices(&check, &late, 8, b"").is_empty());
    }

    #[test]
    fn webhook_signatures_are_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn channel_keys_are_stable_and_distinct() {
        let a = Channel::Email {
            to: "a@example.org".into(),
        };
        let b = Channel::Email {
            to: "b@example.org".into(),
        };
        assert_eq!(a.key(), a.clone().key());
        assert_ne!(a.key(), b.key());
    }
}
