//! A circuit breaker per provider: after `failures` consecutive failures the provider is
//! skipped for `cooldown`; then exactly one trial call goes through: success closes the
//! circuit, failure opens it again. Time comes from a [`Clock`] so tests can move it.

use std::{
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

/// Where the breaker (and the manager) read the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock(Mutex<Instant>);

impl Default for ManualClock {
    fn default() -> Self {
        Self(Mutex::new(Instant::now()))
    }
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the breaker is doing, for health pages and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// One trial call is in flight.
    HalfOpen,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { consecutive: u32 },
    Open { since: Instant },
    HalfOpen { trial_since: Instant },
}

#[derive(Debug)]
pub struct CircuitBreaker {
    failures: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl CircuitBreaker {
    /// `failures == 0` means the circuit never opens.
    pub fn new(failures: u32, cooldown: Duration) -> Self {
        Self { failures, cooldown, state: Mutex::new(State::Closed { consecutive: 0 }) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a call may go out now. After the cooldown the first caller gets the trial
    /// (the circuit turns half-open) and everyone else is refused until it reports back. A
    /// trial that never reports (its caller was cancelled) is replaced after another cooldown.
    pub fn allow(&self, now: Instant) -> bool {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => true,
            State::Open { since } | State::HalfOpen { trial_since: since } => {
                if now.saturating_duration_since(since) >= self.cooldown {
                    *state = State::HalfOpen { trial_since: now };
                    true
                } else {
                    false
                }
            }
        }
    }

    /// A call that the provider answered: the circuit closes.
    pub fn record_success(&self) {
        *self.lock() = State::Closed { consecutive: 0 };
    }

    /// A call that failed in a way that counts against the provider.
    pub fn record_failure(&self, now: Instant) {
        let mut state = self.lock();
        *state = match *state {
            State::Closed { consecutive } => {
                let consecutive = consecutive.saturating_add(1);
                if self.failures > 0 && consecutive >= self.failures {
                    State::Open { since: now }
                } else {
                    State::Closed { consecutive }
                }
            }
            State::Open { .. } | State::HalfOpen { .. } => State::Open { since: now },
        };
    }

    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_half_opens_and_closes() {
        let clock = ManualClock::new();
        let b = CircuitBreaker::new(3, Duration::from_secs(30));
        for _ in 0..2 {
            assert!(b.allow(clock.now()));
            b.record_failure(clock.now());
        }
        assert_eq!(b.state(), BreakerState::Closed);
        b.record_success();
        for _ in 0..3 {
            assert!(b.allow(clock.now()));
            b.record_failure(clock.now());
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow(clock.now()));
        clock.advance(Duration::from_secs(29));
        assert!(!b.allow(clock.now()));
        clock.advance(Duration::from_secs(1));
        assert!(b.allow(clock.now()), "the trial call");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(!b.allow(clock.now()), "only one trial");
        b.record_failure(clock.now());
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow(clock.now()));
        clock.advance(Duration::from_secs(30));
        assert!(b.allow(clock.now()));
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allow(clock.now()));
    }

    #[test]
    fn abandoned_trial_is_replaced_and_zero_never_opens() {
        let clock = ManualClock::new();
        let b = CircuitBreaker::new(1, Duration::from_secs(10));
        b.record_failure(clock.now());
        clock.advance(Duration::from_secs(10));
        assert!(b.allow(clock.now()));
        clock.advance(Duration::from_secs(5));
        assert!(!b.allow(clock.now()));
        clock.advance(Duration::from_secs(5));
        assert!(b.allow(clock.now()));

        let never = CircuitBreaker::new(0, Duration::from_secs(10));
        for _ in 0..100 {
            never.record_failure(clock.now());
        }
        assert!(never.allow(clock.now()));
    }
}
