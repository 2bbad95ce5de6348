//! `cruddur db update-cognito-user-ids`: for every pool user with a handle
//! (`preferred_username`), `users.cognito_user_id = sub` where `users.handle = handle`, all in
//! one transaction. Users without a handle are counted, never a crash (the old script's was).

use std::collections::HashMap;
use std::fmt;

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cli::PoolArgs;
use crate::cognito::{list_users, Pool, PoolUser};
use crate::ctx::Ctx;
use crate::guard::{Marker, Plan};
use crate::guarded::{self, Prepared, Report, Write};
use crate::ops::PgOp;
use crate::output::Outcome;
use crate::pg::perform::Writes;
use crate::pg::{db_message, marker, PgTarget};

#[derive(Debug, Default, Serialize)]
pub(super) struct LinkReport {
    pub pool_id: String,
    /// Handles whose row now carries the pool user's sub.
    pub updated: Vec<String>,
    /// Pool users whose handle has no row in Postgres.
    pub missing: Vec<String>,
    /// Handles held by more than one pool user: left alone, since either could be meant.
    pub ambiguous: Vec<String>,
    /// Pool users without a preferred_username (their usernames).
    pub without_handle: Vec<String>,
}

impl Report for LinkReport {}

impl fmt::Display for LinkReport {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut parts = vec![format!(
            "linked {} user{}{}",
            self.updated.len(),
            if self.updated.len() == 1 { "" } else { "s" },
            if self.updated.is_empty() {
                String::new()
            } else {
                format!(" ({})", self.updated.join(", "))
            }
        )];
        if !self.missing.is_empty() {
            parts.push(format!("no Postgres row for {}", self.missing.join(", ")));
        }
        if !self.ambiguous.is_empty() {
            parts.push(format!(
                "left alone, held by several pool users: {}",
                self.ambiguous.join(", ")
            ));
        }
        if !self.without_handle.is_empty() {
            parts.push(format!(
                "{} pool user(s) without preferred_username",
                self.without_handle.len()
            ));
        }
        f.write_str(&parts.join("; "))
    }
}

pub(super) fn run(ctx: &Ctx, pool: &PoolArgs) -> Result<Outcome> {
    guarded::run(ctx, prepare(ctx, &Pool::required(pool)?)?)
}

/// One transaction of `UPDATE public.users SET cognito_user_id = sub WHERE handle = …`.
pub(super) struct Link<'a> {
    pg: &'a PgTarget,
    writes: Writes,
    pool_id: String,
    /// handle, sub, and what the row holds now (None: no row; Some(None): NULL).
    updates: Vec<(String, String, Option<Option<String>>)>,
    /// What the pool says that is not an update (ambiguous handles, users without one).
    report: LinkReport,
    marker: Marker,
}

/// Read the pool and work out which rows would change.
pub(super) fn prepare<'a>(ctx: &'a Ctx, pool: &Pool) -> Result<Prepared<Link<'a>>> {
    let pg = ctx.pg()?;
    let users = list_users(ctx, pool)?;
    let mut report = LinkReport {
        pool_id: pool.id.to_string(),
        ..LinkReport::default()
    };
    let mut linkable: Vec<(&str, &str)> = Vec::new();
    for user in &users {
        match (&user.handle, &user.sub) {
            (Some(handle), Some(sub)) => {
                if count(&users, handle) > 1 {
                    if !report.ambiguous.contains(handle) {
                        report.ambiguous.push(handle.clone());
                    }
                } else {
                    linkable.push((handle, sub));
                }
            }
            _ => report.without_handle.push(user.username.clone()),
        }
    }
    if !report.without_handle.is_empty() {
        ctx.detail(format!(
            "pool users without preferred_username: {}",
            report.without_handle.join(", ")
        ));
    }
    let mut client = pg.connect()?;
    // What each handle's row holds now: the plan shows old → new.
    let handles: Vec<&str> = linkable.iter().map(|(handle, _)| *handle).collect();
    let mut current: HashMap<String, Option<String>> = HashMap::new();
    for row in client
        .query(
            "SELECT handle, cognito_user_id FROM public.users WHERE handle = ANY($1)",
            &[&handles],
        )
        .map_err(|e| failed(pg, e))?
    {
        current.insert(row.get(0), row.get(1));
    }
    let updates = linkable
        .iter()
        .map(|(handle, sub)| {
            (
                handle.to_string(),
                sub.to_string(),
                current.get(*handle).cloned(),
            )
        })
        .collect();
    let marker = Marker::read(&marker(&mut client, &pg.dbname));
    Ok(Prepared::Write(Link {
        pg,
        writes: Writes::new(client),
        pool_id: pool.id.to_string(),
        updates,
        report,
        marker,
    }))
}

fn failed(pg: &PgTarget, e: postgres::Error) -> anyhow::Error {
    anyhow!(
        "could not link Cognito users in `{}`: {}; nothing was changed",
        pg.dbname,
        db_message(&e)
    )
}

impl Write for Link<'_> {
    type Report = LinkReport;

    fn plan(&self) -> Plan {
        let ops = self
            .updates
            .iter()
            .map(|(handle, sub, current)| {
                PgOp::LinkUser {
                    handle: handle.clone(),
                    sub: sub.clone(),
                    current: current.clone(),
                }
                .into()
            })
            .collect();
        Plan::new(
            self.pg.destination(),
            format!(
                "link {} handle(s) of Cognito pool {} to `public.users` in one transaction",
                self.updates.len(),
                self.pool_id
            ),
            ops,
            &self.pg.dbname,
        )
    }

    fn marker(&self) -> Marker {
        self.marker.clone()
    }

    fn execute(mut self, _: &Ctx) -> Result<LinkReport> {
        let pg = self.pg;
        let mut report = self.report;
        let mut tx = self.writes.transaction().map_err(|e| failed(pg, e))?;
        for (handle, sub, current) in self.updates {
            if tx
                .link_user(&handle, &sub, &current)
                .map_err(|e| failed(pg, e))?
            {
                report.updated.push(handle);
            } else {
                report.missing.push(handle);
            }
        }
        tx.commit().map_err(|e| failed(pg, e))?;
        Ok(report)
    }
}

fn count(users: &[PoolUser], handle: &str) -> usize {
    users
        .iter()
        .filter(|u| u.handle.as_deref() == Some(handle))
        .count()
}

#[cfg(test)]
mod performs {
    use super::*;
    use crate::ctx::Target;
    use crate::guarded::planned_and_performed;

    /// One UPDATE per handle in one transaction, for a new, an unchanged and a missing row.
    #[test]
    fn linking_performs_the_updates_it_planned() {
        let pg = PgTarget::local("postgresql://postgres@localhost/cruddur");
        let (writes, recorder) = Writes::recording();
        let write = Link {
            pg: &pg,
            writes,
            pool_id: "us-east-1_pool".into(),
            updates: vec![
                ("andrew".into(), "sub-1".into(), Some(None)),
                ("bayko".into(), "sub-2".into(), Some(Some("sub-2".into()))),
                ("nobody".into(), "sub-3".into(), None),
            ],
            report: LinkReport {
                pool_id: "us-east-1_pool".into(),
                updated: Vec::new(),
                missing: Vec::new(),
                ambiguous: Vec::new(),
                without_handle: Vec::new(),
            },
            marker: Marker::Unmarked,
        };
        let (planned, performed) =
            planned_and_performed(&Ctx::for_tests(Target::Local), write, &recorder);
        assert_eq!(performed, planned);
        assert_eq!(performed.len(), 3);
    }
}
