//! When a failed request is sent again, and when it must not be. Everything a command does
//! must fit in its `timeout`, so every wait is weighed against the time that is left.
//!
//! - **429** (Defender allows 50 incident calls and 45 hunting calls a minute): wait as long as
//!   the service says (`Retry-After`, or "Try again in N seconds" in the body) and retry, as
//!   long as the wait fits in the time left.
//! - **5xx, connection refused or reset**: at most three attempts, with exponential backoff and
//!   jitter (<https://learn.microsoft.com/azure/architecture/best-practices/retry-service-specific>).
//! - 5xx and broken connections only for requests that can safely run twice. A request that adds
//!   a comment would post it twice, so after those it is retried only when it provably never
//!   reached the service: the connection was refused (or could not be set up at all). A 429 is
//!   different: Microsoft's throttling refuses the request before processing it
//!   (<https://learn.microsoft.com/graph/throttling>,
//!   <https://learn.microsoft.com/defender-xdr/api-terms>), so a throttled comment was not
//!   posted and is sent again like any request.

use std::time::Duration;

use rand::Rng;

/// Whether sending a request twice does more than sending it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// GETs, hunting queries and PATCHes of fields: a repeat changes nothing more.
    Safe,
    /// A request that adds a comment: repeated only when it never reached the service, or the
    /// service refused it unprocessed (429).
    OnlyIfNeverSent,
}

/// How an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429; the service's own wait when it gave one.
    Throttled(Option<Duration>),
    /// A 5xx answer.
    ServerError,
    /// No connection could be made: the request never left.
    NotSent,
    /// The connection broke after the request may have been sent.
    Interrupted,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RetryAfter(Duration),
    GiveUp,
}

/// The limits of retrying.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all for 5xx and connection failures.
    pub max_attempts: u32,
    /// The first backoff; each further one doubles. Jitter picks a wait between half and all
    /// of it, so parallel runs do not retry in step.
    pub base_backoff: Duration,
    /// Retries after 429s, however short the waits: a bound against a service that keeps
    /// answering `Retry-After: 0`.
    pub max_throttled_retries: u32,
}

/// The first backoff of every build but the test suite's.
const BASE_BACKOFF: Duration = Duration::from_millis(500);

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: BASE_BACKOFF,
            max_throttled_retries: 5,
        }
    }
}

/// Names the base backoff in milliseconds for the integration tests, which make the emulator
/// answer 5xx and drop connections dozens of times: with the real half second each of those
/// would sleep for real. Only a build with the emulator (the `emulator` feature: tests and
/// `--sandbox`) reads it; the production build (`--no-default-features`) never looks at the
/// environment for it and always backs off from [`BASE_BACKOFF`]. It changes the length of the
/// waits only, never whether a request is retried; a service's own wait (`Retry-After`) is
/// kept as given.
pub const TEST_BASE_BACKOFF_VARIABLE: &str = "M365D_TEST_RETRY_BASE_MS";

impl RetryPolicy {
    /// The policy a command runs with: the default, except for the base backoff the test
    /// suite sets through [`TEST_BASE_BACKOFF_VARIABLE`] in a build with the emulator.
    pub fn for_commands() -> RetryPolicy {
        #[cfg(feature = "emulator")]
        if let Some(millis) = std::env::var(TEST_BASE_BACKOFF_VARIABLE)
            .ok()
            .and_then(|millis| millis.parse().ok())
        {
            return RetryPolicy {
                base_backoff: Duration::from_millis(millis),
                ..RetryPolicy::default()
            };
        }
        RetryPolicy::default()
    }
}

/// The count of failures so far, by kind: throttling has its own budget.
#[derive(Debug, Clone, Copy, Default)]
pub struct Failures {
    pub transient: u32,
    pub throttled: u32,
}

impl RetryPolicy {
    /// Whether to send again after `failure`, given what failed before and the time left.
    pub fn decide(
        &self,
        replay: Replay,
        failure: Failure,
        earlier: Failures,
        remaining: Duration,
        rng: &mut impl Rng,
    ) -> Decision {
        let unprocessed = matches!(failure, Failure::NotSent | Failure::Throttled(_));
        if replay == Replay::OnlyIfNeverSent && !unprocessed {
            return Decision::GiveUp;
        }
        let wait = match failure {
            Failure::Throttled(wait) => {
                if earlier.throttled >= self.max_throttled_retries {
                    return Decision::GiveUp;
                }
                wait.unwrap_or_else(|| self.backoff(earlier.throttled, rng))
            }
            Failure::ServerError | Failure::Interrupted | Failure::NotSent => {
                if earlier.transient + 1 >= self.max_attempts {
                    return Decision::GiveUp;
                }
                self.backoff(earlier.transient, rng)
            }
        };
        // The wait must leave time for the retry itself to get an answer.
        if wait < remaining {
            Decision::RetryAfter(wait)
        } else {
            Decision::GiveUp
        }
    }

    /// The wait before retry number `retry + 1`: `base · 2^retry`, jittered into its upper half.
    fn backoff(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let full = self.base_backoff.saturating_mul(1 << retry.min(16));
        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(rng.random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const PLENTY: Duration = Duration::from_secs(60);

    fn decide(replay: Replay, failure: Failure, transient: u32, remaining: Duration) -> Decision {
        RetryPolicy::default().decide(
            replay,
            failure,
            Failures {
                transient,
                throttled: 0,
            },
            remaining,
            &mut StdRng::seed_from_u64(7),
        )
    }

    #[test]
    fn transient_failures_get_three_attempts_with_growing_jittered_waits() {
        for failure in [Failure::ServerError, Failure::Interrupted, Failure::NotSent] {
            let Decision::RetryAfter(first) = decide(Replay::Safe, failure, 0, PLENTY) else {
                panic!("{failure:?} is retried once");
            };
            assert!((250..=500).contains(&first.as_millis()), "{first:?}");
            let Decision::RetryAfter(second) = decide(Replay::Safe, failure, 1, PLENTY) else {
                panic!("{failure:?} is retried twice");
            };
            assert!((500..=1000).contains(&second.as_millis()), "{second:?}");
            assert_eq!(decide(Replay::Safe, failure, 2, PLENTY), Decision::GiveUp);
        }
    }

    #[test]
    fn a_comment_is_resent_only_when_it_never_left_or_was_refused_unprocessed() {
        assert_eq!(
            decide(Replay::OnlyIfNeverSent, Failure::ServerError, 0, PLENTY),
            Decision::GiveUp
        );
        assert_eq!(
            decide(Replay::OnlyIfNeverSent, Failure::Interrupted, 0, PLENTY),
            Decision::GiveUp
        );
        assert_eq!(
            decide(
                Replay::OnlyIfNeverSent,
                Failure::Throttled(Some(Duration::from_secs(1))),
                0,
                PLENTY
            ),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        assert!(matches!(
            decide(Replay::OnlyIfNeverSent, Failure::NotSent, 0, PLENTY),
            Decision::RetryAfter(_)
        ));
    }

    #[test]
    fn throttling_waits_as_told_while_the_wait_fits() {
        let told = Some(Duration::from_secs(2));
        assert_eq!(
            decide(Replay::Safe, Failure::Throttled(told), 0, PLENTY),
            Decision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(
            decide(
                Replay::Safe,
                Failure::Throttled(told),
                0,
                Duration::from_secs(2)
            ),
            Decision::GiveUp
        );
        let policy = RetryPolicy::default();
        let exhausted = Failures {
            transient: 0,
            throttled: policy.max_throttled_retries,
        };
        assert_eq!(
            policy.decide(
                Replay::Safe,
                Failure::Throttled(Some(Duration::ZERO)),
                exhausted,
                PLENTY,
                &mut StdRng::seed_from_u64(1)
            ),
            Decision::GiveUp
        );
    }

    #[test]
    fn no_backoff_outlives_the_deadline() {
        assert_eq!(
            decide(
                Replay::Safe,
                Failure::ServerError,
                0,
                Duration::from_millis(100)
            ),
            Decision::GiveUp
        );
    }
}
