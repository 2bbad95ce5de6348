//! The one entry point of every write: plan → guard → execute. A command builds its
//! [`Plan`], hands it here with the database's marker, and gets back either the plan to show
//! (`--dry-run`), a refusal, or the result of executing it — after a confirmation when the
//! guard asks for one. The decision itself is `guard::decide`, pure; this carries it out.

use anyhow::{anyhow, Result};

use crate::ctx::Ctx;
use crate::error::refused;
use crate::guard::{decide, Decision, Marker, Plan};
use crate::output::Outcome;
use crate::target::Target;

/// The environment marker of the plan's database as a command read it (it holds the
/// connection); `Err` when it could not be read.
pub type MarkerRead = Result<Option<String>>;

/// What the guard let through.
pub enum Go {
    /// `--dry-run`: show this and do nothing.
    DryRun(Outcome),
    /// Go ahead.
    Execute,
}

/// What a guarded write came to: its plan (`--dry-run`) or its result.
pub enum Done<R> {
    Planned(Outcome),
    Executed(R),
}

impl<R> Done<R> {
    /// The outcome to render: the plan, or `report` of the result.
    pub fn outcome(self, report: impl FnOnce(R) -> Result<Outcome>) -> Result<Outcome> {
        match self {
            Done::Planned(plan) => Ok(plan),
            Done::Executed(result) => report(result),
        }
    }

    /// The executed result turned into another (a report from raw results).
    pub fn map<T>(self, f: impl FnOnce(R) -> T) -> Done<T> {
        match self {
            Done::Planned(plan) => Done::Planned(plan),
            Done::Executed(result) => Done::Executed(f(result)),
        }
    }

    /// The result, for a step of a larger command (which did its own dry run before).
    pub fn executed(self) -> Result<R> {
        match self {
            Done::Executed(result) => Ok(result),
            Done::Planned(_) => Err(anyhow!("internal: a step was planned instead of run")),
        }
    }
}

/// Pass `plan` through the guard. `marker` is the Postgres marker of the plan's database (for
/// other stores, `None`); a command that writes Postgres must supply it.
pub fn check(ctx: &Ctx, plan: &Plan, marker: Option<MarkerRead>) -> Result<Go> {
    let marker = match marker {
        None => Marker::NotApplicable,
        Some(Ok(Some(mark))) if mark == Target::Prod.name() => Marker::Prod,
        Some(Ok(_)) => Marker::Unmarked,
        Some(Err(error)) => Marker::Unreadable(format!("{error:#}")),
    };
    let said = || format!("{} ({})", plan.summary, plan.destination.describe());
    match decide(&ctx.policy(), plan, &marker) {
        Decision::Refuse(why) => Err(refused(why)),
        Decision::Fail(why) => Err(anyhow!(why)),
        Decision::DryRun => Ok(Go::DryRun(Outcome::dry_run(
            format!("would {}", said()),
            plan.actions.clone(),
        )?)),
        Decision::Confirm => {
            ctx.printer.confirm(&said(), &plan.actions, &plan.confirm)?;
            Ok(Go::Execute)
        }
        Decision::Execute => Ok(Go::Execute),
    }
}

/// plan → guard → execute: the one path of every write.
pub fn write<R>(
    ctx: &Ctx,
    plan: &Plan,
    marker: Option<MarkerRead>,
    execute: impl FnOnce() -> Result<R>,
) -> Result<Done<R>> {
    match check(ctx, plan, marker)? {
        Go::DryRun(outcome) => Ok(Done::Planned(outcome)),
        Go::Execute => execute().map(Done::Executed),
    }
}
