//! # runway-clock: where Runway gets "now"
//!
//! Every instant that drives scheduling, recording and reminders comes from a [`Clock`] the
//! caller is given, never from `now()` deep inside the code, so tests move time without
//! sleeping: [`SystemClock`] in the binary, [`ManualClock`] in tests and simulations, and
//! [`FileClock`] for tests of the whole binary from outside (`runway serve --clock-file`). It is a
//! crate of its own so that the engine, the web layer and the alerts take the same clock
//! without depending on one another; `runway-core`'s rules take the instant itself.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// The source of the current instant for scheduling and recording.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until told to move: for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: Timestamp) -> ManualClock {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        *self.lock() = now;
    }

    /// Moves the time forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now = now.saturating_add(by).unwrap_or(*now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        self.now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

/// A clock that shows the instant written in a file (RFC 3339, e.g. `2026-03-05T12:00:00Z`),
/// and moves when the file is rewritten: tests of the running binary move days without
/// sleeping. The file is read at every call (it is a few bytes, and this clock is for tests).
/// When a rewrite cannot be read or parsed, the clock keeps the last instant it read (time
/// never jumps to something made up) and says why once per bad content.
#[derive(Debug)]
pub struct FileClock {
    path: PathBuf,
    state: Mutex<FileClockState>,
}

#[derive(Debug)]
struct FileClockState {
    now: Timestamp,
    /// The content `now` was read from.
    text: String,
    /// The last bad content complained about.
    complained: Option<String>,
}

/// Why a clock file cannot be used.
#[derive(Debug)]
pub struct ClockFileError {
    path: PathBuf,
    problem: String,
}

impl fmt::Display for ClockFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the clock file {} {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for ClockFileError {}

/// The instant a clock file's content names.
fn parse_clock_text(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    text.parse::<Timestamp>().map_err(|err| {
        format!(
            "holds {text:?}, which is not an RFC 3339 instant such as 2026-03-05T12:00:00Z \
             ({err})"
        )
    })
}

impl FileClock {
    /// A clock reading `path`, which must hold an instant now.
    pub fn open(path: impl Into<PathBuf>) -> Result<FileClock, ClockFileError> {
        let path = path.into();
        let failed = |problem: String| ClockFileError {
            path: path.clone(),
            problem,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|err| failed(format!("cannot be read ({err})")))?;
        let now = parse_clock_text(&text).map_err(failed)?;
        Ok(FileClock {
            path,
            state: Mutex::new(FileClockState {
                now,
                text,
                complained: None,
            }),
        })
    }

    /// The file this clock reads.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Clock for FileClock {
    fn now(&self) -> Timestamp {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let text = std::fs::read_to_string(&self.path);
        match text {
            Ok(text) if text == state.text => {}
            Ok(text) => match parse_clock_text(&text) {
                Ok(now) => {
                    state.now = now;
                    state.text = text;
                }
                Err(problem) => {
                    if state.complained.as_deref() != Some(text.as_str()) {
                        #[allow(clippy::print_stderr, reason = "a library has no logger")]
                        {
                            eprintln!(
                                "the clock file {} {problem}; keeping {}",
                                self.path.display(),
                                state.now
                            );
                        }
                        state.complained = Some(text);
                    }
                }
            },
            // Being rewritten (or removed): keep the time until it can be read again.
            Err(_) => {}
        }
        state.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-06-01T08:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), "2026-06-01T08:01:30Z".parse().unwrap());
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn a_file_clock_moves_when_its_file_is_rewritten_and_keeps_time_on_a_bad_rewrite() {
        let dir = std::env::temp_dir().join(format!("runway-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("now");
        std::fs::write(&path, "2026-03-05T12:00:00Z\n").unwrap();
        let clock = FileClock::open(&path).unwrap();
        assert_eq!(clock.now(), "2026-03-05T12:00:00Z".parse().unwrap());
        std::fs::write(&path, "2026-03-06T00:00:01+00:00").unwrap();
        assert_eq!(clock.now(), "2026-03-06T00:00:01Z".parse().unwrap());
        std::fs::write(&path, "next tuesday").unwrap();
        assert_eq!(clock.now(), "2026-03-06T00:00:01Z".parse().unwrap());
        std::fs::write(&path, "garbage").unwrap();
        let problem = FileClock::open(&path).unwrap_err().to_string();
        assert!(problem.contains("not an RFC 3339 instant"), "{problem}");
        assert!(problem.contains("\"garbage\""), "{problem}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
