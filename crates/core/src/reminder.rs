//! The reminder policy: which reminder is due, as a pure function.
//!
//! A tenant sets milestones, by default 10 days → INFO, 3 days → WARNING, 1 day → CRITICAL
//! before the expiry date (calendar days in the tenant's zone), and whether a lapsed license
//! raises one CRITICAL "license expired" alert. A reminder series belongs to one expiry date:
//!
//! - **Once per milestone per expiry date.** Each milestone fires at most once for a date, however
//!   often the PBX is read; the caller records what fired (the key is instance, expiry date,
//!   milestone) and passes it back in.
//! - **Catch-up.** When several milestones are due at once (first read at 2 days left, or after
//!   an outage), only the nearest one fires; the others are marked skipped and never fire later.
//! - **Lapse.** Once the date has passed, the lapse alert fires once (if enabled). Milestones are
//!   no longer considered.
//! - **Renewal.** Reminders are keyed to the expiry date. When the PBX shows another date, every
//!   earlier series with open reminders resolves: as *renewed* when the new date lies beyond the
//!   largest milestone, otherwise as *superseded*, and the new date's series starts at the right
//!   milestone by the catch-up rule.
//! - **A missing date decides nothing**: no fire, no skip, no resolve.

use std::collections::BTreeSet;
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::countdown::DaysLeft;

/// How loudly an alert speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// For information.
    Info,
    /// Needs attention soon.
    Warning,
    /// Needs attention now.
    Critical,
}

impl Severity {
    /// The severity of a maintenance-date reminder whose stage has this one in the tenant's
    /// policy: at most WARNING, because a lapsed maintenance holds the PBX out of updates and
    /// the phones keep working.
    #[must_use]
    pub fn for_maintenance(self) -> Severity {
        self.min(Severity::Warning)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        })
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    /// `INFO`, `WARNING` or `CRITICAL`, in any case (as shown, stored and asked for in queries).
    fn from_str(text: &str) -> Result<Severity, String> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| text.trim().eq_ignore_ascii_case(&s.to_string()))
            .ok_or_else(|| format!("{text:?} is not one of INFO, WARNING, CRITICAL"))
    }
}

/// A reminder N calendar days before the expiry date, with its severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Milestone {
    /// Calendar days before the expiry date (0 = on the day).
    pub days_before: u16,
    /// The severity of the reminder.
    pub severity: Severity,
}

/// One step of a reminder series: a milestone, or the lapse alert after the date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The milestone N days before the date.
    Milestone(u16),
    /// The "license expired" alert.
    Lapse,
}

/// The longest reminder lead time accepted: a year and a day covers annual renewals.
pub const MAX_MILESTONE_DAYS: u16 = 366;

/// A tenant's reminder settings, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderPolicy {
    /// Milestones, furthest first.
    milestones: Vec<Milestone>,
    /// Whether a lapsed license raises the "license expired" alert.
    lapse_alert: bool,
}

/// Why reminder settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReminderPolicyError {
    /// Two milestones with the same day count.
    #[error("milestone {0} days is listed twice")]
    Duplicate(u16),
    /// A milestone further out than a year.
    #[error("milestone {0} days is too far ahead (at most {MAX_MILESTONE_DAYS} days)")]
    TooFar(u16),
}

/// Everything the policy needs to decide, for one instance.
#[derive(Debug, Clone, Copy)]
pub struct ReminderInput<'a> {
    /// The current expiry date in the tenant's zone; `None` decides nothing.
    pub expiry_date: Option<Date>,
    /// Today's date in the tenant's zone.
    pub today: Date,
    /// Stages already fired or skipped for this expiry date.
    pub done: &'a [Stage],
    /// Expiry dates of earlier series that still have open reminders.
    pub open_series: &'a [Date],
}

/// A reminder to send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fire {
    /// Which step fires.
    pub stage: Stage,
    /// Its severity.
    pub severity: Severity,
    /// The expiry date it is about.
    pub expiry_date: Date,
    /// Days left when it fired.
    pub days_left: DaysLeft,
}

/// Why an earlier series resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveReason {
    /// The license was renewed beyond the largest milestone: "renewed: new expiry …".
    Renewed {
        /// The new expiry date.
        new_expiry: Date,
    },
    /// The date moved but is still inside the reminder window; a new series takes over.
    Superseded {
        /// The new expiry date.
        new_expiry: Date,
    },
}

/// An earlier series to resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// The expiry date of the series that resolves.
    pub expiry_date: Date,
    /// Why.
    pub reason: ResolveReason,
}

/// What the policy decided for one evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReminderDecision {
    /// At most one reminder to send now.
    pub fire: Option<Fire>,
    /// Milestones to mark skipped for this expiry date (catch-up); they never fire later.
    pub skip: Vec<u16>,
    /// Earlier series to resolve because the expiry date moved.
    pub resolve: Vec<Resolution>,
}

impl Default for ReminderPolicy {
    /// 10 days → INFO, 3 days → WARNING, 1 day → CRITICAL, lapse alert on.
    fn default() -> ReminderPolicy {
        let m = |days_before, severity| Milestone {
            days_before,
            severity,
        };
        ReminderPolicy {
            milestones: vec![
                m(10, Severity::Info),
                m(3, Severity::Warning),
                m(1, Severity::Critical),
            ],
            lapse_alert: true,
        }
    }
}

impl ReminderPolicy {
    /// Validates a tenant's milestones (any order; no duplicates; at most a year ahead).
    pub fn new(
        mut milestones: Vec<Milestone>,
        lapse_alert: bool,
    ) -> Result<ReminderPolicy, ReminderPolicyError> {
        milestones.sort_by_key(|m| std::cmp::Reverse(m.days_before));
        if let Some(far) = milestones
            .iter()
            .find(|m| m.days_before > MAX_MILESTONE_DAYS)
        {
            return Err(ReminderPolicyError::TooFar(far.days_before));
        }
        if let Some(pair) = milestones
            .windows(2)
            .find(|w| w[0].days_before == w[1].days_before)
        {
            return Err(ReminderPolicyError::Duplicate(pair[0].days_before));
        }
        Ok(ReminderPolicy {
            milestones,
            lapse_alert,
        })
    }

    /// Milestones by severity the default way: the furthest INFO, the nearest CRITICAL, any
    /// in between WARNING (a single milestone is CRITICAL).
    pub fn from_days(
        days: &[u16],
        lapse_alert: bool,
    ) -> Result<ReminderPolicy, ReminderPolicyError> {
        let mut sorted = days.to_vec();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        let last = sorted.len().saturating_sub(1);
        let milestones = sorted
            .iter()
            .enumerate()
            .map(|(i, &days_before)| Milestone {
                days_before,
                severity: match i {
                    i if i == last => Severity::Critical,
                    0 => Severity::Info,
                    _ => Severity::Warning,
                },
            })
            .collect();
        ReminderPolicy::new(milestones, lapse_alert)
    }

    /// The milestones, furthest first.
    pub fn milestones(&self) -> &[Milestone] {
        &self.milestones
    }

    /// Whether a lapsed license raises the "license expired" alert.
    pub fn lapse_alert(&self) -> bool {
        self.lapse_alert
    }

    /// The severity a stage fires with.
    pub fn severity(&self, stage: Stage) -> Option<Severity> {
        match stage {
            Stage::Lapse => self.lapse_alert.then_some(Severity::Critical),
            Stage::Milestone(days) => self
                .milestones
                .iter()
                .find(|m| m.days_before == days)
                .map(|m| m.severity),
        }
    }

    /// Decides what to fire, skip and resolve now; see the module docs for the rules.
    pub fn evaluate(&self, input: &ReminderInput<'_>) -> ReminderDecision {
        let Some(expiry_date) = input.expiry_date else {
            return ReminderDecision::default();
        };
        let days_left = DaysLeft::between(input.today, expiry_date);
        let done: BTreeSet<Stage> = input.done.iter().copied().collect();
        let mut decision = ReminderDecision {
            resolve: self.resolutions(expiry_date, days_left, input.open_series),
            ..ReminderDecision::default()
        };

        if days_left.is_overdue() {
            if self.lapse_alert && !done.contains(&Stage::Lapse) {
                decision.fire = Some(Fire {
                    stage: Stage::Lapse,
                    severity: Severity::Critical,
                    expiry_date,
                    days_left,
                });
            }
            return decision;
        }

        // Due: milestones whose day has come and that neither fired nor were skipped.
        // Milestones are furthest first, so the last one due is the nearest: that one fires.
        let mut due = self.milestones.iter().filter(|m| {
            i32::from(m.days_before) >= days_left.get()
                && !done.contains(&Stage::Milestone(m.days_before))
        });
        let due_last = due.next_back();
        decision.skip = due.map(|m| m.days_before).collect();
        decision.fire = due_last.map(|m| Fire {
            stage: Stage::Milestone(m.days_before),
            severity: m.severity,
            expiry_date,
            days_left,
        });
        decision
    }

    fn resolutions(&self, new_expiry: Date, days_left: DaysLeft, open: &[Date]) -> Vec<Resolution> {
        let largest = self
            .milestones
            .first()
            .map_or(0, |m| i32::from(m.days_before));
        let beyond_window = days_left.get() > largest;
        let mut dates: Vec<Date> = open.iter().copied().filter(|d| *d != new_expiry).collect();
        dates.sort_unstable();
        dates.dedup();
        dates
            .into_iter()
            .map(|expiry_date| Resolution {
                expiry_date,
                reason: if beyond_window && new_expiry > expiry_date {
                    ResolveReason::Renewed { new_expiry }
                } else {
                    ResolveReason::Superseded { new_expiry }
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_maintenance_reminder_is_at_most_a_warning() {
        assert_eq!(Severity::Info.for_maintenance(), Severity::Info);
        assert_eq!(Severity::Warning.for_maintenance(), Severity::Warning);
        assert_eq!(Severity::Critical.for_maintenance(), Severity::Warning);
    }
    use super::*;

    fn date(y: i16, m: i8, d: i8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    fn at(policy: &ReminderPolicy, days_left: i64, done: &[Stage]) -> ReminderDecision {
        let today = date(2026, 6, 1);
        let expiry = today
            .checked_add(jiff::Span::new().days(days_left))
            .unwrap();
        policy.evaluate(&ReminderInput {
            expiry_date: Some(expiry),
            today,
            done,
            open_series: &[],
        })
    }

    #[test]
    fn severities_read_back_from_their_spelling_in_any_case() {
        for severity in [Severity::Info, Severity::Warning, Severity::Critical] {
            assert_eq!(severity.to_string().parse(), Ok(severity));
        }
        assert_eq!("warning".parse(), Ok(Severity::Warning));
        assert!("loud".parse::<Severity>().is_err());
    }

    #[test]
    fn catch_up_first_seen_at_two_days_fires_only_the_three_day_warning_and_skips_ten() {
        let decision = at(&ReminderPolicy::default(), 2, &[]);
        let fire = decision.fire.unwrap();
        assert_eq!(
            (fire.stage, fire.severity),
            (Stage::Milestone(3), Severity::Warning)
        );
        assert_eq!(decision.skip, [10]);
    }

    #[test]
    fn a_milestone_fires_once_per_expiry_date() {
        let policy = ReminderPolicy::default();
        assert_eq!(
            at(&policy, 10, &[]).fire.map(|f| f.stage),
            Some(Stage::Milestone(10))
        );
        assert_eq!(
            at(&policy, 10, &[Stage::Milestone(10)]),
            ReminderDecision::default()
        );
        assert_eq!(
            at(&policy, 9, &[Stage::Milestone(10)]),
            ReminderDecision::default()
        );
    }

    #[test]
    fn lapse_fires_once_when_the_date_has_passed_and_only_if_enabled() {
        let policy = ReminderPolicy::default();
        let fire = at(&policy, -1, &[Stage::Milestone(1)]).fire.unwrap();
        assert_eq!(
            (fire.stage, fire.severity),
            (Stage::Lapse, Severity::Critical)
        );
        assert_eq!(at(&policy, -2, &[Stage::Lapse]).fire, None);
        let quiet = ReminderPolicy::from_days(&[10, 3, 1], false).unwrap();
        assert_eq!(at(&quiet, -1, &[]).fire, None);
    }

    #[test]
    fn a_missing_date_decides_nothing() {
        let decision = ReminderPolicy::default().evaluate(&ReminderInput {
            expiry_date: None,
            today: date(2026, 6, 1),
            done: &[],
            open_series: &[date(2026, 6, 2)],
        });
        assert_eq!(decision, ReminderDecision::default());
    }

    #[test]
    fn renewal_beyond_the_largest_milestone_resolves_the_old_series_as_renewed() {
        let today = date(2026, 6, 1);
        let decision = ReminderPolicy::default().evaluate(&ReminderInput {
            expiry_date: Some(date(2027, 6, 2)),
            today,
            done: &[],
            open_series: &[date(2026, 6, 2)],
        });
        assert_eq!(
            decision.resolve,
            [Resolution {
                expiry_date: date(2026, 6, 2),
                reason: ResolveReason::Renewed {
                    new_expiry: date(2027, 6, 2)
                },
            }]
        );
        assert_eq!(decision.fire, None);
    }

    #[test]
    fn a_new_date_inside_the_window_supersedes_the_old_series_and_starts_at_the_right_milestone() {
        let today = date(2026, 6, 1);
        let decision = ReminderPolicy::default().evaluate(&ReminderInput {
            expiry_date: Some(date(2026, 6, 6)),
            today,
            done: &[],
            open_series: &[date(2026, 6, 2), date(2026, 6, 6)],
        });
        assert_eq!(
            decision.resolve,
            [Resolution {
                expiry_date: date(2026, 6, 2),
                reason: ResolveReason::Superseded {
                    new_expiry: date(2026, 6, 6)
                },
            }]
        );
        assert_eq!(decision.fire.map(|f| f.stage), Some(Stage::Milestone(10)));
    }

    #[test]
    fn settings_are_validated_and_kept_furthest_first() {
        let policy = ReminderPolicy::from_days(&[1, 30, 7], true).unwrap();
        let days: Vec<_> = policy
            .milestones()
            .iter()
            .map(|m| (m.days_before, m.severity))
            .collect();
        assert_eq!(
            days,
            [
                (30, Severity::Info),
                (7, Severity::Warning),
                (1, Severity::Critical)
            ]
        );
        assert_eq!(
            ReminderPolicy::from_days(&[3, 3], true),
            Err(ReminderPolicyError::Duplicate(3))
        );
        assert_eq!(
            ReminderPolicy::from_days(&[400], true),
            Err(ReminderPolicyError::TooFar(400))
        );
        assert_eq!(policy.severity(Stage::Lapse), Some(Severity::Critical));
        assert_eq!(policy.severity(Stage::Milestone(2)), None);
    }
}
