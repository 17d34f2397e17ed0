//! At most one item per interval (the one-camera-frame-per-second rule).

use std::time::{Duration, Instant};

/// Lets one item through per `interval` and counts the rest. One per connection; not shared.
#[derive(Debug, Clone)]
pub struct RateGate {
    interval: Duration,
    last: Option<Instant>,
    passed: u64,
    dropped: u64,
}

impl RateGate {
    pub fn new(interval: Duration) -> Self {
        Self { interval, last: None, passed: 0, dropped: 0 }
    }

    /// True when an item arriving now may pass (and records it); false when it must be dropped.
    pub fn allow(&mut self) -> bool {
        self.allow_at(Instant::now())
    }

    /// [`RateGate::allow`] at a given instant (tests, or a timestamp taken on arrival).
    pub fn allow_at(&mut self, now: Instant) -> bool {
        let open = match self.last {
            None => true,
            Some(last) => now.checked_duration_since(last).is_some_and(|d| d >= self.interval),
        };
        if open {
            self.last = Some(now);
            self.passed += 1;
        } else {
            self.dropped += 1;
        }
        open
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    pub fn passed(&self) -> u64 {
        self.passed
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_per_interval() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut g = RateGate::new(Duration::from_secs(1));
        assert!(g.allow_at(t0));
        assert!(!g.allow_at(t0));
        assert!(!g.allow_at(t0 + ms(999)));
        assert!(g.allow_at(t0 + ms(1000)));
        assert!(!g.allow_at(t0 + ms(1500)));
        // Measured from the last item that passed, not from the dropped ones.
        assert!(g.allow_at(t0 + ms(2100)));
        // A clock that goes backwards (timestamps from elsewhere) never opens the gate.
        assert!(!g.allow_at(t0));
        assert_eq!((g.passed(), g.dropped()), (3, 4));
    }

    #[test]
    fn a_burst_of_thirty_frames_lets_one_through() {
        let mut g = RateGate::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let passed = (0..30).filter(|i| g.allow_at(t0 + Duration::from_millis(i * 33))).count();
        assert_eq!(passed, 1);
        assert_eq!(g.dropped(), 29);
    }
}
