//! The app's users as other commands need them: looked up by handle with the app's own
//! `users/short` query (`ddb seed`, `ddb patterns …` find their members here).

use anyhow::{anyhow, Result};

use crate::ctx::Ctx;

/// A user of the app: what the message items carry about their sender or member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub uuid: String,
    pub handle: String,
    pub display_name: String,
}

/// The users behind these handles, from Postgres (the app's `users/short` query), in order.
/// A handle that is not there is an error that says how to get it there.
pub fn by_handles(ctx: &Ctx, handles: &[&str]) -> Result<Vec<Person>> {
    let pg = ctx.pg()?;
    let query = crate::sql::named_query("users/short")
        .ok_or_else(|| anyhow!("internal: the users/short query is missing"))?;
    let (statement, _) = crate::sql::placeholders(query)?;
    let mut client = pg.connect()?;
    let statement = client
        .prepare(&format!(
            // Read as text: a NULL or odd value then says which row, instead of a panic.
            "SELECT s.uuid::text, s.handle::text, s.display_name::text FROM ({}) AS s",
            statement.trim_end().trim_end_matches(';')
        ))
        .map_err(|e| {
            anyhow!(
                "cannot look users up in `{}`: {}; run `cruddur db setup` first",
                pg.dbname,
                crate::pg::db_message(&e)
            )
        })?;
    handles
        .iter()
        .map(|handle| {
            let rows = client
                .query(&statement, &[handle])
                .map_err(|e| anyhow!("cannot look up `{handle}`: {}", crate::pg::db_message(&e)))?;
            let row = match rows.as_slice() {
                [row] => row,
                [] => {
                    return Err(anyhow!(
                        "no user with handle `{handle}` in Postgres database `{}`: run `cruddur db setup` first (or pick another handle)",
                        pg.dbname
                    ))
                }
                several => {
                    return Err(anyhow!(
                        "{} users have the handle `{handle}` in Postgres database `{}` (was the seed loaded twice?): \
                         rebuild it with `cruddur db setup`, or delete the duplicates",
                        several.len(),
                        pg.dbname
                    ))
                }
            };
            let column = |i: usize| -> Result<String> {
                let value: Option<String> = row.try_get(i).map_err(|e| {
                    anyhow!("the row of `{handle}` in public.users cannot be read: {e}")
                })?;
                value.ok_or_else(|| {
                    anyhow!(
                        "the row of `{handle}` in public.users has no {}: fix the row, or rebuild with `cruddur db setup`",
                        ["uuid", "handle", "display_name"][i]
                    )
                })
            };
            Ok(Person {
                uuid: column(0)?,
                handle: column(1)?,
                display_name: column(2)?,
            })
        })
        .collect()
}
