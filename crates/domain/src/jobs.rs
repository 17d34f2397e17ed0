//! Rules of the job system that involve no IO: queues, priority lanes, the retry schedule.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where a job runs. Each queue has its own workers and concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    /// Agent workflows.
    Agent,
    /// Video and audio processing.
    Media,
    /// Incoming webhook events.
    Webhook,
    /// E-mails, Teams posts, pushes.
    Delivery,
    /// Housekeeping.
    Maintenance,
}

impl Queue {
    pub const ALL: [Queue; 5] = [Queue::Agent, Queue::Media, Queue::Webhook, Queue::Delivery, Queue::Maintenance];

    pub fn as_str(self) -> &'static str {
        match self {
            Queue::Agent => "agent",
            Queue::Media => "media",
            Queue::Webhook => "webhook",
            Queue::Delivery => "delivery",
            Queue::Maintenance => "maintenance",
        }
    }
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown queue '{0}' (agent, media, webhook, delivery, maintenance)")]
pub struct UnknownQueue(pub String);

impl FromStr for Queue {
    type Err = UnknownQueue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Queue::ALL.into_iter().find(|q| q.as_str() == s).ok_or_else(|| UnknownQueue(s.chars().take(40).collect()))
    }
}

/// Priority lanes. The sales engine's conversational priorities (100, 95, 90) run in `High`,
/// its timed ones (70, 60, 50) in `Normal`, anything lower in `Low`. Each lane has its own
/// worker slots, so a flood in one lane never queues ahead of another lane's jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    High,
    Normal,
    Low,
}

impl Lane {
    pub const ALL: [Lane; 3] = [Lane::High, Lane::Normal, Lane::Low];

    pub fn for_priority(priority: u8) -> Lane {
        match priority {
            90..=u8::MAX => Lane::High,
            50..=89 => Lane::Normal,
            _ => Lane::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lane::High => "high",
            Lane::Normal => "normal",
            Lane::Low => "low",
        }
    }
}

impl FromStr for Lane {
    type Err = UnknownQueue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lane::ALL.into_iter().find(|l| l.as_str() == s).ok_or_else(|| UnknownQueue(s.chars().take(40).collect()))
    }
}

/// Highest priority a job may have.
pub const MAX_PRIORITY: u8 = 100;

/// When a failed attempt is tried again. `delays[i]` follows failed attempt `i + 1`; after
/// the last one the job is dead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub delays: Vec<Duration>,
    /// ± this fraction of each delay, chosen at random (0.1 = ±10 %).
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// Five retries after the first attempt: 5 s, 20 s, 60 s, 3 min, 10 min, ±10 %.
    fn default() -> Self {
        Self { delays: [5, 20, 60, 180, 600].into_iter().map(Duration::from_secs).collect(), jitter: 0.1 }
    }
}

impl RetryPolicy {
    /// No retries: the first failure is final.
    pub fn none() -> Self {
        Self { delays: Vec::new(), jitter: 0.0 }
    }

    /// Attempts in all (the first plus the retries).
    pub fn max_attempts(&self) -> u32 {
        self.delays.len() as u32 + 1
    }

    /// The wait after failed attempt number `attempt` (1-based), or `None` when the job is
    /// out of retries. `unit` in [0, 1) picks the jitter (pass a random number).
    pub fn delay_after(&self, attempt: u32, unit: f64) -> Option<Duration> {
        let base = self.delays.get(attempt.checked_sub(1)? as usize)?;
        let factor = 1.0 + self.jitter * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        Some(base.mul_f64(factor.max(0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_follow_the_sales_priorities() {
        for p in [100, 95, 90] {
            assert_eq!(Lane::for_priority(p), Lane::High);
        }
        for p in [70, 60, 50] {
            assert_eq!(Lane::for_priority(p), Lane::Normal);
        }
        assert_eq!(Lane::for_priority(10), Lane::Low);
    }

    #[test]
    fn default_schedule_and_jitter_bounds() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts(), 6);
        let expected = [5.0, 20.0, 60.0, 180.0, 600.0];
        for (i, base) in expected.iter().enumerate() {
            let attempt = i as u32 + 1;
            let lo = p.delay_after(attempt, 0.0).unwrap().as_secs_f64();
            let mid = p.delay_after(attempt, 0.5).unwrap().as_secs_f64();
            let hi = p.delay_after(attempt, 0.999_999).unwrap().as_secs_f64();
            assert!((lo - base * 0.9).abs() < 1e-6, "{attempt}: {lo}");
            assert!((mid - base).abs() < 1e-6, "{attempt}: {mid}");
            assert!(hi <= base * 1.1 + 1e-6 && hi > base * 1.09, "{attempt}: {hi}");
        }
        assert_eq!(p.delay_after(6, 0.5), None, "the sixth failure is final");
        assert_eq!(p.delay_after(0, 0.5), None);
        assert_eq!(RetryPolicy::none().delay_after(1, 0.5), None);
    }

    #[test]
    fn names_round_trip() {
        for q in Queue::ALL {
            assert_eq!(q.as_str().parse::<Queue>(), Ok(q));
        }
        for l in Lane::ALL {
            assert_eq!(l.as_str().parse::<Lane>(), Ok(l));
        }
        assert!("urgent".parse::<Queue>().is_err());
    }
}
