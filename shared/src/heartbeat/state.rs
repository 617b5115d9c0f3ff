//! A check's state machine: one function takes what happened (a ping, the clock, a pause or a
//! resume) and the check as stored, and says the new state and the flip, if any.
//!
//! The state a ping or the clock leads to is computed from the check's stored facts (its last
//! ping and how it ended, a run in progress, its schedule and grace), never from the event
//! alone: pings and sweeps race, and whoever settles the state must settle it from the latest
//! facts. The store makes that a conditional write on the check's revision.

use super::schedule::Schedule;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum State {
    /// Never pinged since it was created or resumed.
    #[default]
    New,
    Up,
    /// Past due, inside the grace (healthchecks.io's `grace`).
    Late,
    /// Past the grace, or its last ping was a failure.
    Down,
    Paused,
}

impl State {
    pub const ALL: [State; 5] = [
        State::New,
        State::Up,
        State::Late,
        State::Down,
        State::Paused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::New => "new",
            State::Up => "up",
            State::Late => "late",
            State::Down => "down",
            State::Paused => "paused",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a ping says. `Log` only records; `Start` begins a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingKind {
    Success,
    Start,
    Fail,
    Log,
    /// An exit status: 0 is a success, anything else a failure.
    Exit(u8),
}

impl PingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PingKind::Success | PingKind::Exit(0) => "success",
            PingKind::Start => "start",
            PingKind::Fail | PingKind::Exit(_) => "fail",
            PingKind::Log => "log",
        }
    }

    /// Whether this ping ends a run (and is the check's latest word on how the job went).
    pub fn ends_run(self) -> bool {
        !matches!(self, PingKind::Start | PingKind::Log)
    }

    pub fn failed(self) -> bool {
        self.as_str() == "fail"
    }

    pub fn exit_status(self) -> Option<u8> {
        match self {
            PingKind::Exit(n) => Some(n),
            _ => None,
        }
    }
}

/// Why a check changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Ping(PingKind),
    /// The sweep found it past due or past its grace.
    Clock,
    Pause,
    Resume,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Ping(kind) => match kind {
                PingKind::Success | PingKind::Exit(0) => "ping",
                PingKind::Fail => "ping:fail",
                PingKind::Exit(_) => "ping:exit-status",
                PingKind::Start => "ping:start",
                PingKind::Log => "ping:log",
            },
            Cause::Clock => "clock",
            Cause::Pause => "pause",
            Cause::Resume => "resume",
        }
    }
}

/// One change of state, as stored and as notified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flip {
    /// Unix seconds.
    pub at: i64,
    pub from: State,
    pub to: State,
    pub cause: String,
}

impl Flip {
    /// Whether the check's channels hear of it: going down (from anything but down), and
    /// coming back up from down. `late` is a warning shown in the list, not a notice, and
    /// `new`, `paused` and leaving them are the team's own doing.
    pub fn notifies(&self) -> bool {
        match (self.from, self.to) {
            (from, State::Down) => from != State::Down && from != State::Paused,
            (State::Down, State::Up) => true,
            _ => false,
        }
    }
}

/// What the state machine needs of a check.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub state: State,
    pub schedule: &'a Schedule,
    pub grace_seconds: i64,
    /// The last ping that ended a run (unix s), and whether it was a failure.
    pub last_ping: Option<i64>,
    pub last_failed: bool,
    /// A run in progress: its start (unix s), when it is later than the last ping.
    pub running_since: Option<i64>,
    pub manual_resume: bool,
}

/// What happened to the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Ping(PingKind),
    Clock,
    Pause,
    Resume,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub state: State,
    pub flip: Option<Flip>,
    /// A ping to a paused check set for manual resume: logged, nothing else.
    pub ignored: bool,
}

/// When the check goes late and down, from its facts (None: never, e.g. never pinged).
pub fn due(f: &Facts<'_>) -> Option<(i64, i64)> {
    let last = f.last_ping?;
    let due = f.schedule.next_after(last)?;
    let mut down = due.saturating_add(f.grace_seconds);
    if let Some(started) = f.running_since {
        down = down.min(started.saturating_add(f.grace_seconds));
    }
    Some((due, down))
}

fn from_facts(f: &Facts<'_>, now: i64) -> State {
    if f.last_failed {
        return State::Down;
    }
    match due(f) {
        None if f.last_ping.is_some() => State::Up,
        None => State::New,
        Some((_, down)) if now > down => State::Down,
        Some((due, _)) if now > due => State::Late,
        Some(_) => State::Up,
    }
}

/// The check's next state after `event` at `now` (unix s), and the flip it makes.
pub fn step(f: &Facts<'_>, event: Event, now: i64) -> Step {
    let paused = f.state == State::Paused;
    let ignored = paused && f.manual_resume && matches!(event, Event::Ping(_));
    let next = match event {
        _ if ignored => f.state,
        Event::Pause => State::Paused,
        Event::Resume => match f.state {
            State::Paused => State::New,
            other => other,
        },
        Event::Ping(PingKind::Log) => f.state,
        // A start changes nothing yet, but a paused check is watched again from here.
        Event::Ping(PingKind::Start) if paused => State::New,
        Event::Ping(PingKind::Start) => f.state,
        Event::Ping(_) => from_facts(f, now),
        Event::Clock => match f.state {
            State::New | State::Paused => f.state,
            _ => from_facts(f, now),
        },
    };
    let flip = (next != f.state).then(|| Flip {
        at: now,
        from: f.state,
        to: next,
        cause: match event {
            Event::Ping(kind) => Cause::Ping(kind),
            Event::Clock => Cause::Clock,
            Event::Pause => Cause::Pause,
            Event::Resume => Cause::Resume,
        }
        .as_str()
        .to_string(),
    });
    Step {
        state: next,
        flip,
        ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(state: State, schedule: &Schedule) -> Facts<'_> {
        Facts {
            state,
            schedule,
            grace_seconds: 60,
            last_ping: Some(1000),
            last_failed: false,
            running_since: None,
            manual_resume: false,
        }
    }

    #[test]
    fn the_clock_moves_up_to_late_to_down() {
        let s = Schedule::Period { seconds: 300 };
        let f = facts(State::Up, &s);
        assert_eq!(step(&f, Event::Clock, 1300).flip, None);
        let late = step(&f, Event::Clock, 1301);
        assert_eq!(late.state, State::Late);
        assert!(!late.flip.unwrap().notifies());
        let down = step(&f, Event::Clock, 1361);
        assert_eq!(down.state, State::Down);
        let flip = down.flip.unwrap();
        assert_eq!(
            (flip.from, flip.to, flip.cause.as_str()),
            (State::Up, State::Down, "clock")
        );
        assert!(flip.notifies());
        // Already down: no second flip.
        assert_eq!(step(&facts(State::Down, &s), Event::Clock, 5000).flip, None);
    }

    #[test]
    fn pings_decide_from_the_facts() {
        let s = Schedule::Period { seconds: 300 };
        let mut f = facts(State::Down, &s);
        let up = step(&f, Event::Ping(PingKind::Success), 1000);
        assert_eq!(up.state, State::Up);
        assert!(up.flip.unwrap().notifies());
        f.state = State::Up;
        f.last_failed = true;
        let down = step(&f, Event::Ping(PingKind::Exit(3)), 1000);
        assert_eq!(down.state, State::Down);
        assert_eq!(down.flip.unwrap().cause, "ping:exit-status");
        // A log or a start leaves the state.
        assert_eq!(step(&f, Event::Ping(PingKind::Log), 1000).flip, None);
        assert_eq!(step(&f, Event::Ping(PingKind::Start), 1000).flip, None);
    }

    #[test]
    fn a_run_that_does_not_end_within_the_grace_is_down() {
        let s = Schedule::Period { seconds: 86_400 };
        let mut f = facts(State::Up, &s);
        f.running_since = Some(2000);
        assert_eq!(step(&f, Event::Clock, 2060).state, State::Up);
        assert_eq!(step(&f, Event::Clock, 2061).state, State::Down);
    }

    #[test]
    fn new_and_paused_checks_wait_for_a_ping() {
        let s = Schedule::Period { seconds: 300 };
        let mut f = facts(State::New, &s);
        f.last_ping = None;
        assert_eq!(step(&f, Event::Clock, 99_999).flip, None);
        f.state = State::Paused;
        f.last_ping = Some(0);
        assert_eq!(step(&f, Event::Clock, 99_999).flip, None);
        // A ping (recorded first: its facts are the check's latest) resumes it, without a notice.
        f.last_ping = Some(99_999);
        let resumed = step(&f, Event::Ping(PingKind::Success), 99_999);
        assert_eq!(resumed.state, State::Up);
        assert!(!resumed.flip.unwrap().notifies());
        // Unless it waits for a manual resume.
        f.manual_resume = true;
        let ignored = step(&f, Event::Ping(PingKind::Fail), 99_999);
        assert!(ignored.ignored);
        assert_eq!(ignored.flip, None);
        let resumed = step(&f, Event::Resume, 99_999);
        assert_eq!(resumed.state, State::New);
        let paused = step(&facts(State::Down, &s), Event::Pause, 5);
        assert_eq!(paused.state, State::Paused);
        assert!(!paused.flip.unwrap().notifies());
    }

    #[test]
    fn late_and_down_follow_a_cron_schedule_across_a_dst_gap() {
        // Athens, 29 March 2026: `30 3 * * *` is due at 04:00 EEST (01:00 UTC), the first
        // minute after the gap; with a 10-minute grace, down after 01:10 UTC.
        let s = Schedule::Cron(Box::new(
            crate::heartbeat::schedule::CronSchedule::parse("30 3 * * *", "Europe/Athens").unwrap(),
        ));
        let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_second();
        let mut f = facts(State::Up, &s);
        f.grace_seconds = 600;
        f.last_ping = Some(at("2026-03-28T12:00:00Z"));
        assert_eq!(
            due(&f),
            Some((at("2026-03-29T01:00:00Z"), at("2026-03-29T01:10:00Z")))
        );
        assert_eq!(
            step(&f, Event::Clock, at("2026-03-29T00:59:59Z")).state,
            State::Up
        );
        assert_eq!(
            step(&f, Event::Clock, at("2026-03-29T01:05:00Z")).state,
            State::Late
        );
        assert_eq!(
            step(&f, Event::Clock, at("2026-03-29T01:10:01Z")).state,
            State::Down
        );
        // Fall back, 25 October: a fixed-time job is due once, at its first pass.
        f.last_ping = Some(at("2026-10-24T12:00:00Z"));
        assert_eq!(due(&f).unwrap().0, at("2026-10-25T00:30:00Z"));
    }

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        assert_eq!(State::parse("grace"), None);
    }
}
