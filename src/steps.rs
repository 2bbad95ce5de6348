//! A command made of steps (`db setup`, `setup`): one line per step with its duration on
//! stderr as it ends, a stop between steps on Ctrl-C, and a report of them all.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use crate::ctx::Ctx;
use crate::interrupt;
use crate::term::{paint, Colour};

#[derive(Debug, Serialize)]
pub(crate) struct StepLine {
    pub step: String,
    pub status: &'static str,
    pub elapsed_ms: u64,
    pub detail: String,
    /// The step's own typed report (what `cruddur db seed --json` would print), if it ran.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub report: Value,
}

/// How a step ended: done (with its report) or skipped (with why).
#[derive(Debug)]
pub(crate) struct StepEnd {
    status: &'static str,
    detail: String,
    report: Value,
}

impl StepEnd {
    /// Done: `detail` is the report's one line for people.
    pub(crate) fn ok(detail: String, report: &impl Serialize) -> Result<StepEnd> {
        Ok(StepEnd {
            status: "ok",
            detail,
            report: serde_json::to_value(report)?,
        })
    }

    pub(crate) fn skipped(why: impl Into<String>) -> Result<StepEnd> {
        Ok(StepEnd {
            status: "skipped",
            detail: why.into(),
            report: Value::Null,
        })
    }
}

pub(crate) struct Steps<'a> {
    ctx: &'a Ctx,
    started: Instant,
    done: Vec<StepLine>,
    planned: Vec<&'static str>,
}

impl<'a> Steps<'a> {
    /// `planned`: every step's name, so an interruption can say what was not done.
    pub(crate) fn new(ctx: &'a Ctx, planned: &[&'static str]) -> Steps<'a> {
        Steps {
            ctx,
            started: Instant::now(),
            done: Vec::new(),
            planned: planned.to_vec(),
        }
    }

    /// Run one step; `work` says how it ended.
    pub(crate) fn run(
        &mut self,
        name: &'static str,
        work: impl FnOnce() -> Result<StepEnd>,
    ) -> Result<()> {
        interrupt::check(|| self.progress(name))?;
        let at = Instant::now();
        let StepEnd {
            status,
            detail,
            report,
        } = work().map_err(|error| {
            let context = if interrupt::requested() {
                format!("during step `{name}`; {}", self.progress(name))
            } else {
                format!("step `{name}` failed; {}", self.progress(name))
            };
            error.context(context)
        })?;
        let elapsed_ms = at.elapsed().as_millis() as u64;
        let colour = Colour::of_status(status).unwrap_or(Colour::Yellow);
        let shown = paint(self.ctx.printer.colour, colour, status);
        let pad = " ".repeat(7usize.saturating_sub(status.len()));
        self.ctx.info(format!(
            "{name:<24} {shown}{pad} {elapsed_ms:>5} ms  {detail}"
        ));
        self.done.push(StepLine {
            step: name.to_string(),
            status,
            elapsed_ms,
            detail,
            report,
        });
        Ok(())
    }

    /// `done: a, b; not done: c, d` as of the step `current`.
    fn progress(&self, current: &str) -> String {
        let done: Vec<&str> = self.done.iter().map(|s| s.step.as_str()).collect();
        let rest: Vec<&str> = self
            .planned
            .iter()
            .copied()
            .skip_while(|s| *s != current)
            .collect();
        format!(
            "done: {}; not done: {}",
            if done.is_empty() {
                "nothing".into()
            } else {
                done.join(", ")
            },
            if rest.is_empty() {
                "nothing".into()
            } else {
                rest.join(", ")
            }
        )
    }

    /// How long the steps took, and each one's line and report.
    pub(crate) fn finish(self) -> (u64, Vec<StepLine>) {
        (self.started.elapsed().as_millis() as u64, self.done)
    }
}
