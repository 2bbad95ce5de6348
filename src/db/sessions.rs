//! `cruddur db sessions`: the server's client sessions, from pg_stat_activity.

use anyhow::Result;

use crate::ctx::Ctx;
use crate::output::Outcome;
use crate::pg::{sessions, SESSION_COLUMNS};

pub(super) fn run(ctx: &Ctx) -> Result<Outcome> {
    let pg = ctx.pg()?;
    let mut client = pg.connect_maintenance()?;
    let list = sessions(&mut client, None)?;
    Outcome::rows(SESSION_COLUMNS, &list)
}
