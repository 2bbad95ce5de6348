//! `cruddur db update-cognito-user-ids`: for every pool user with a handle
//! (`preferred_username`), `users.cognito_user_id = sub` where `users.handle = handle`, all in
//! one transaction. Users without a handle are counted, never a crash (the old script's was).

use std::collections::HashMap;

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cli::PoolArgs;
use crate::cognito::{list_users, Pool, PoolUser};
use crate::ctx::Ctx;
use crate::guard::Plan;
use crate::guarded::{self, Done};
use crate::output::Outcome;
use crate::pg::db_message;
use crate::pg::marker;

#[derive(Debug, Default, Serialize)]
pub struct LinkReport {
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

impl LinkReport {
    pub fn summary(&self) -> String {
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
        parts.join("; ")
    }
}

pub fn run(ctx: &Ctx, pool: &PoolArgs) -> Result<Outcome> {
    link(ctx, &Pool::required(pool)?)?.outcome(|report| Outcome::done(report.summary(), &report))
}

/// Read the pool, work out which rows would change, and write them through the guard, in one
/// transaction.
pub fn link(ctx: &Ctx, pool: &Pool) -> Result<Done<LinkReport>> {
    let pg = ctx.pg()?;
    let users = list_users(ctx, pool)?;
    let pool_id = &pool.id;
    let mut report = LinkReport {
        pool_id: pool_id.to_string(),
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
    let failed = |e: postgres::Error| {
        anyhow!(
            "could not link Cognito users in `{}`: {}; nothing was changed",
            pg.dbname,
            db_message(&e)
        )
    };
    // What each handle's row holds now: the plan shows old → new.
    let handles: Vec<&str> = linkable.iter().map(|(handle, _)| *handle).collect();
    let mut current: HashMap<String, Option<String>> = HashMap::new();
    for row in client
        .query(
            "SELECT handle, cognito_user_id FROM public.users WHERE handle = ANY($1)",
            &[&handles],
        )
        .map_err(failed)?
    {
        current.insert(row.get(0), row.get(1));
    }
    let actions: Vec<String> = linkable
        .iter()
        .map(|(handle, sub)| match current.get(*handle) {
            None => format!("{handle}: no row in public.users, nothing to set"),
            Some(Some(old)) if old == sub => format!("{handle}: already {sub}"),
            Some(old) => format!(
                "{handle}: cognito_user_id {} → {sub}",
                old.as_deref().unwrap_or("NULL")
            ),
        })
        .collect();
    let plan = Plan {
        destination: pg.destination(),
        summary: format!(
            "link {} handle(s) of Cognito pool {pool_id} to `public.users` in one transaction",
            linkable.len()
        ),
        actions,
        confirm: pg.dbname.clone(),
    };
    let marker = marker(&mut client, &pg.dbname);
    guarded::write(ctx, &plan, Some(marker), || {
        let mut tx = client.transaction().map_err(failed)?;
        let update = tx
            .prepare("UPDATE public.users SET cognito_user_id = $1 WHERE handle = $2")
            .map_err(failed)?;
        for (handle, sub) in linkable {
            if tx.execute(&update, &[&sub, &handle]).map_err(failed)? > 0 {
                report.updated.push(handle.to_string());
            } else {
                report.missing.push(handle.to_string());
            }
        }
        tx.commit().map_err(failed)?;
        Ok(report)
    })
}

fn count(users: &[PoolUser], handle: &str) -> usize {
    users
        .iter()
        .filter(|u| u.handle.as_deref() == Some(handle))
        .count()
}
