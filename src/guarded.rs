//! The one entry point of every write (and of every long-running [`Service`]): plan → guard →
//! execute. A writing command prepares a
//! [`Write`]: a typed value holding the operations it will perform. Its [`Plan`] (what
//! `--dry-run` shows and a person confirms) is rendered from that value, and `execute`
//! consumes the same value, so what is shown is what runs. The decision itself is
//! `guard::decide`, pure; [`run`] carries it out and turns the typed report into the outcome.

use std::fmt::Display;

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::ctx::Ctx;
use crate::error::{refused, Stop};
use crate::guard::{decide, scope_allows, Decision, Marker, Plan, Scope};
use crate::ops::Op;
use crate::output::Outcome;

/// What a write reports: a sentence for people (`Display`) and an object for machines.
pub(crate) trait Report: Display + Serialize + Sized {
    /// How it is printed: the sentence and the object, unless the report is rows.
    fn into_outcome(self) -> Result<Outcome> {
        Outcome::report(&self)
    }
}

/// A write as one value: rendered as its plan, executed as it is.
pub(crate) trait Write: Sized {
    type Report: Report;
    /// Where it goes, what it will do (rendered from this value's operations), and what a
    /// person types to confirm.
    fn plan(&self) -> Plan;
    /// What the target database says it is (Postgres writes read it with their connection).
    fn marker(&self) -> Marker {
        Marker::NotApplicable
    }
    /// Perform exactly the operations of this value.
    fn execute(self, ctx: &Ctx) -> Result<Self::Report>;
}

/// A long-running service (`ddb serve`, `ddb stream`): it runs until it is stopped, and a
/// signal is how it ends, not a failure; then it reports what it did. Its plan says what it
/// will run and where. The guard decides on it as on a write's (its scope, production's
/// confirmation), since what it runs writes, and `--dry-run` shows it. Unlike a write, its
/// work is not a list of operations known before it starts: no recording test compares it,
/// its tests run it.
pub(crate) trait Service: Sized {
    type Report: Report;
    /// Where it runs, what it will do, and what a person types to confirm.
    fn plan(&self) -> Plan;
    /// Run until stopped (or, for a service asked to, until its work is done).
    fn serve(self, ctx: &Ctx) -> Result<Self::Report>;
}

/// What preparing a write found: nothing to do (and the report that says so), or a write.
pub(crate) enum Prepared<W: Write> {
    Nothing(W::Report),
    Write(W),
}

/// A command (or a named query) that only reads: `--dry-run` has nothing to show, and says
/// so as a usage error. `what` names it ("this command", "query `x`").
pub(crate) fn reads(ctx: &Ctx, what: &str) -> Result<()> {
    if ctx.dry_run {
        return Err(Stop::Usage(format!(
            "{what} only reads: --dry-run has nothing to show; run it without --dry-run"
        ))
        .into());
    }
    Ok(())
}

/// A command scoped to the local stack, checked before it reads or connects to anything (the
/// guard checks its plan again): refused in `--prod`.
pub(crate) fn in_scope(ctx: &Ctx, scope: Scope) -> Result<()> {
    scope_allows(ctx.target, scope).map_err(refused)
}

/// What the guard let through.
enum Go {
    DryRun,
    Execute,
}

/// Pass `plan` through the guard: a refusal, a dry run, or go (after a confirmation when the
/// guard asks for one).
fn check(ctx: &Ctx, plan: &Plan, marker: &Marker) -> Result<Go> {
    match decide(&ctx.policy(), plan, marker) {
        Decision::Refuse(why) => Err(refused(why)),
        Decision::Fail(why) => Err(anyhow!(why)),
        Decision::DryRun => Ok(Go::DryRun),
        Decision::Confirm => {
            ctx.printer
                .confirm(&plan.said(), &plan.actions(), &plan.confirm, plan.exposes)?;
            Ok(Go::Execute)
        }
        Decision::Execute => Ok(Go::Execute),
    }
}

/// plan → guard → execute → report: the one path of every write. `--dry-run` renders the
/// plan; `-v` shows the plan being executed, as the dry run would have.
pub(crate) fn run<W: Write>(ctx: &Ctx, prepared: Prepared<W>) -> Result<Outcome> {
    let write = match prepared {
        Prepared::Nothing(report) => return report.into_outcome(),
        Prepared::Write(write) => write,
    };
    let plan = write.plan();
    match check(ctx, &plan, &write.marker())? {
        Go::DryRun => dry_run(&plan),
        Go::Execute => {
            show_executing(ctx, &plan);
            write.execute(ctx)?.into_outcome()
        }
    }
}

/// plan → guard → serve → report: the one path of every service.
pub(crate) fn serve<S: Service>(ctx: &Ctx, service: S) -> Result<Outcome> {
    let plan = service.plan();
    match check(ctx, &plan, &Marker::NotApplicable)? {
        Go::DryRun => dry_run(&plan),
        Go::Execute => {
            show_executing(ctx, &plan);
            service.serve(ctx)?.into_outcome()
        }
    }
}

/// A step of a composite write whose plan (composed of its steps') has passed the guard as a
/// whole: the step's own write, executed directly.
pub(crate) fn step<W: Write>(ctx: &Ctx, prepared: Prepared<W>) -> Result<W::Report> {
    match prepared {
        Prepared::Nothing(report) => Ok(report),
        Prepared::Write(write) => {
            show_executing(ctx, &write.plan());
            write.execute(ctx)
        }
    }
}

fn show_executing(ctx: &Ctx, plan: &Plan) {
    if ctx.printer.verbose {
        let mut text = format!("executing: {}", plan.said());
        for action in plan.actions() {
            text.push_str("\n  - ");
            text.push_str(&action);
        }
        ctx.detail(text);
    }
}

/// A plan that was not carried out (`--dry-run`): the same lines a confirmation shows, and
/// for machines the operations themselves.
fn dry_run(plan: &Plan) -> Result<Outcome> {
    #[derive(Serialize)]
    struct DryRun<'a> {
        dry_run: bool,
        summary: String,
        actions: Vec<String>,
        ops: &'a [Op],
    }
    let summary = format!("would {}", plan.said());
    let actions = plan.actions();
    let mut message = format!("dry run, nothing was done: {summary}");
    for action in &actions {
        message.push_str("\n  - ");
        message.push_str(action);
    }
    Outcome::done(
        message,
        DryRun {
            dry_run: true,
            summary,
            actions,
            ops: &plan.ops,
        },
    )
}

/// For unit tests: execute `write` on a recording store and return what its plan said it
/// would perform and what it did perform (`recorder`'s operations), to be compared.
#[cfg(test)]
pub(crate) fn planned_and_performed<W: Write, O: Into<Op>>(
    ctx: &Ctx,
    write: W,
    recorder: &std::sync::Mutex<Vec<O>>,
) -> (Vec<Op>, Vec<Op>) {
    let planned = write
        .plan()
        .ops
        .into_iter()
        .filter_map(Op::performed)
        .collect();
    if let Err(error) = write.execute(ctx) {
        panic!("the write failed on a recording store: {error:#}");
    }
    let performed = recorder
        .lock()
        .expect("the recorder")
        .drain(..)
        .map(Into::into)
        .collect();
    (planned, performed)
}
