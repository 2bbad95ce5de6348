//! The one way cruddur waits for something to become true: a server to take logins, a table
//! to become ACTIVE, a stream to report its ARN. Pauses start short and double up to a cap;
//! Ctrl-C ends the wait within 50 ms (exit 130); a deadline ends it with the caller's words
//! and the last thing seen. A probe's error is final: waiting would not mend it.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Result;

/// What one look found.
#[derive(Debug)]
pub(crate) enum Probe<T> {
    Ready(T),
    /// Not yet, and what was seen instead (for the message when the wait gives up).
    NotYet(String),
}

/// How to wait.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    pub deadline: Instant,
    /// The first pause; each one after is twice as long, up to `most`.
    pub first: Duration,
    pub most: Duration,
}

impl Wait {
    /// A steady look every quarter of a second until `deadline`: for servers starting up.
    pub(crate) fn steady(deadline: Instant) -> Wait {
        Wait {
            deadline,
            first: Duration::from_millis(250),
            most: Duration::from_millis(250),
        }
    }

    /// Quick looks at first, then every two seconds, for `timeout`: for AWS resources.
    pub(crate) fn backing_off(timeout: Duration) -> Wait {
        Wait {
            deadline: Instant::now() + timeout,
            first: Duration::from_millis(50),
            most: Duration::from_secs(2),
        }
    }
}

/// Look with `probe` until it is ready. `waiting` says what is awaited, for an interruption
/// ("Postgres at h:5432 was not up yet"); `give_up` makes the error when the deadline comes,
/// from the last thing seen. The value and how long it took.
pub(crate) async fn until<T, F, Fut>(
    wait: Wait,
    waiting: impl Fn() -> String,
    mut probe: F,
    give_up: impl FnOnce(String) -> anyhow::Error,
) -> Result<(T, Duration)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Probe<T>>>,
{
    let started = Instant::now();
    let mut pause = wait.first;
    loop {
        let last = match probe().await? {
            Probe::Ready(value) => return Ok((value, started.elapsed())),
            Probe::NotYet(last) => last,
        };
        crate::interrupt::check(&waiting)?;
        if Instant::now() + pause >= wait.deadline {
            return Err(give_up(last));
        }
        // Sleep in short slices: Ctrl-C should not wait for a two-second pause.
        let until = tokio::time::Instant::now() + pause;
        while tokio::time::Instant::now() < until {
            crate::interrupt::check(&waiting)?;
            tokio::time::sleep(Duration::from_millis(50).min(pause)).await;
        }
        pause = (pause * 2).min(wait.most);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn waits_until_ready_and_gives_up_with_the_last_thing_seen() {
        let mut looks = 0;
        let (value, _) = runtime()
            .block_on(until(
                Wait::backing_off(Duration::from_secs(5)),
                || "x was not ready".into(),
                || {
                    looks += 1;
                    let seen = looks;
                    async move {
                        Ok(match seen {
                            3 => Probe::Ready("done"),
                            n => Probe::NotYet(format!("look {n}")),
                        })
                    }
                },
                |last| anyhow::anyhow!("gave up ({last})"),
            ))
            .unwrap();
        assert_eq!((value, looks), ("done", 3));
        let error = runtime()
            .block_on(until(
                Wait::steady(Instant::now() + Duration::from_millis(600)),
                || "x was not ready".into(),
                || async { Ok(Probe::<()>::NotYet("still CREATING".into())) },
                |last| anyhow::anyhow!("gave up ({last})"),
            ))
            .unwrap_err();
        assert_eq!(error.to_string(), "gave up (still CREATING)");
        let error = runtime()
            .block_on(until(
                Wait::steady(Instant::now() + Duration::from_secs(5)),
                || "x was not ready".into(),
                || async { Err::<Probe<()>, _>(anyhow::anyhow!("refused the login")) },
                |_| anyhow::anyhow!("unreachable"),
            ))
            .unwrap_err();
        assert_eq!(error.to_string(), "refused the login");
    }
}
