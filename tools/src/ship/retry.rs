//! How long shipping keeps trying a receiver that fails: a pause that doubles from
//! [`MIN_BACKOFF`] to [`MAX_BACKOFF`] (or what the receiver asks for, such as an HTTP
//! `Retry-After`), for at most `--retry-for` after the first failure since the last message that
//! got through; then shipping gives up.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// First pause after a failed connection or send; it doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between attempts (unless the receiver asks for a longer one).
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// `--retry-for` without `--follow`: a one-shot run is expected to finish.
pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(30);
/// `--retry-for` with `--follow`: a long-running shipper rides out a receiver's restart or a
/// short outage, and still ends (for its supervisor to see) when the receiver stays away.
pub const DEFAULT_RETRY_FOR_FOLLOW: Duration = Duration::from_secs(600);

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Pause this long, then try again.
    Wait(Duration),
    /// The receiver has failed for `--retry-for`: stop trying.
    GiveUp,
}

/// The retry state of one receiver.
#[derive(Debug)]
pub(super) struct Retry {
    retry_for: Duration,
    backoff: Duration,
    /// The first failure since the last success.
    failing_since: Option<Instant>,
}

impl Retry {
    /// Retries for at most `retry_for` after the first failure since a success.
    pub(super) fn new(retry_for: Duration) -> Retry {
        Retry {
            retry_for,
            backoff: MIN_BACKOFF,
            failing_since: None,
        }
    }

    /// Something got through: the next failure starts a new period and a short pause.
    pub(super) fn success(&mut self) {
        self.backoff = MIN_BACKOFF;
        self.failing_since = None;
    }

    /// A failure at `now`; `asked` is the pause the receiver asked for, if any. The pause is the
    /// longer of the backoff and `asked`, cut so that the last attempt is made when
    /// `--retry-for` runs out; after that attempt, [`Next::GiveUp`].
    pub(super) fn failed(&mut self, now: Instant, asked: Option<Duration>) -> Next {
        let since = *self.failing_since.get_or_insert(now);
        let deadline = since + self.retry_for;
        if now >= deadline {
            return Next::GiveUp;
        }
        let pause = self.backoff.max(asked.unwrap_or_default());
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        Next::Wait(pause.min(deadline - now))
    }

    /// How long an attempt made now may take before the retry period ends (at least
    /// `floor`, so a last attempt is still a real one); `None` while nothing is failing.
    pub(super) fn time_left(&self, now: Instant, floor: Duration) -> Option<Duration> {
        let since = self.failing_since?;
        Some(
            (since + self.retry_for)
                .saturating_duration_since(now)
                .max(floor),
        )
    }

    /// How long the receiver has been failing.
    pub(super) fn failing_for(&self, now: Instant) -> Duration {
        self.failing_since
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }
}

/// Sleeps `d`, waking early when `stop` is set. Returns whether it was set.
pub(super) fn nap(d: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + d;
    loop {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        let now = Instant::now();
        if now >= until {
            return false;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// `d` to the millisecond, for messages.
pub(super) fn ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().try_into().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn pauses_double_to_the_cap_and_the_last_attempt_is_at_the_deadline() {
        let mut r = Retry::new(Duration::from_secs(20));
        let t0 = Instant::now();
        let mut t = t0;
        let mut pauses = Vec::new();
        while let Next::Wait(d) = r.failed(t, None) {
            pauses.push(d);
            t += d;
        }
        assert_eq!(
            pauses[..8],
            [
                ms(100),
                ms(200),
                ms(400),
                ms(800),
                ms(1600),
                ms(3200),
                ms(5000),
                ms(5000)
            ]
        );
        // The pauses add up to the retry period exactly: the final attempt is at its end.
        assert_eq!(t - t0, Duration::from_secs(20));
        assert_eq!(*pauses.last().unwrap(), ms(3700), "20 s - 16.3 s");
    }

    #[test]
    fn a_success_starts_over() {
        let mut r = Retry::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(r.failed(t0, None), Next::Wait(ms(100)));
        assert_eq!(
            r.failed(t0 + ms(900), None),
            Next::Wait(ms(100)),
            "cut to the deadline"
        );
        assert_eq!(r.failed(t0 + ms(1000), None), Next::GiveUp);
        r.success();
        assert_eq!(r.time_left(t0, ms(1)), None);
        let t1 = t0 + Duration::from_secs(5);
        assert_eq!(r.failed(t1, None), Next::Wait(ms(100)));
        assert_eq!(r.failing_for(t1 + ms(300)), ms(300));
        assert_eq!(r.time_left(t1 + ms(300), ms(1)), Some(ms(700)));
        assert_eq!(r.time_left(t1 + ms(2000), ms(50)), Some(ms(50)));
    }

    #[test]
    fn the_receivers_retry_after_is_honoured_within_the_period() {
        let mut r = Retry::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(
            r.failed(t0, Some(Duration::from_secs(7))),
            Next::Wait(ms(7000))
        );
        // The backoff went on doubling underneath.
        assert_eq!(r.failed(t0 + ms(7000), None), Next::Wait(ms(200)));
        // A pause past the end of the period is cut to it.
        assert_eq!(
            r.failed(t0 + ms(50_000), Some(Duration::from_secs(30))),
            Next::Wait(ms(10_000))
        );
        let mut zero = Retry::new(Duration::ZERO);
        assert_eq!(
            zero.failed(t0, None),
            Next::GiveUp,
            "--retry-for 0: one attempt"
        );
    }
}
