//! The app's users, as the DynamoDB commands need them: who a handle is (`ddb seed`,
//! `ddb patterns …`), and which two users a conversation is between when no flag says.
//! They live in the app's Postgres (`public.users`), whatever seed put them there.

use anyhow::{anyhow, Result};

use crate::pg::{db_message, PgTarget};

/// A user of the app: what the message items carry about their sender or member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    pub uuid: String,
    pub handle: String,
    pub display_name: String,
}

/// A handle a command needs, with the flag that named it (or would have).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted<'a> {
    pub handle: &'a str,
    pub flag: &'static str,
}

/// The pair the built-in seed and the owner's notes use: the default conversation when both
/// are users of the database.
pub(crate) const DEFAULT_PAIR: [&str; 2] = ["timmy-cde", "tim-suarez"];

/// How many handles an error lists before "and N more".
const LISTED: usize = 12;

// Read as text: a NULL or an odd value then says which row, instead of a panic.
const COLUMNS: &str = "uuid::text, handle::text, display_name::text";

/// The users table of one database, over one connection.
pub(crate) struct Users<'a> {
    pg: &'a PgTarget,
    client: postgres::Client,
}

impl<'a> Users<'a> {
    pub(crate) fn open(pg: &'a PgTarget) -> Result<Users<'a>> {
        Ok(Users {
            pg,
            client: pg.connect()?,
        })
    }

    /// The users behind these handles, in order. A handle that is not there is an error that
    /// names it, lists the handles that are, and names the flag to pass.
    pub(crate) fn by_handles(&mut self, wanted: &[Wanted<'_>]) -> Result<Vec<Person>> {
        let handles: Vec<&str> = wanted.iter().map(|w| w.handle).collect();
        let rows = self
            .client
            .query(
                &format!("SELECT {COLUMNS} FROM public.users WHERE handle = ANY($1)"),
                &[&handles],
            )
            .map_err(|e| unreadable(self.pg, &e))?;
        let found = rows.iter().map(person).collect::<Result<Vec<_>>>()?;
        wanted
            .iter()
            .map(|want| {
                let mut matching = found.iter().filter(|p| p.handle == want.handle);
                match (matching.next(), matching.count()) {
                    (Some(person), 0) => Ok(person.clone()),
                    (Some(_), more) => Err(anyhow!(
                        "{} users have the handle `{}` in Postgres database `{}` (was the seed loaded twice?): \
                         rebuild it with `cruddur db setup`, or delete the duplicates",
                        more + 1,
                        crate::text::visible(want.handle),
                        self.pg.dbname
                    )),
                    (None, _) => Err(self.missing(want)),
                }
            })
            .collect()
    }

    /// The two handles of a conversation, filling in what no flag named: [`DEFAULT_PAIR`]
    /// when both of its users are there, else the oldest users first. Users made together
    /// (one INSERT gives them one `created_at`) come in the order `seed` (the app's seed.sql)
    /// names them, as its author wrote them, then by handle. A handle a flag named is kept
    /// and never picked twice.
    pub(crate) fn pair(
        &mut self,
        mine: Option<&str>,
        other: Option<&str>,
        seed: Option<&str>,
    ) -> Result<[String; 2]> {
        if let (Some(mine), Some(other)) = (mine, other) {
            return Ok([mine.to_string(), other.to_string()]);
        }
        let pair = DEFAULT_PAIR.to_vec();
        let present: i64 = self
            .client
            .query_one(
                "SELECT count(DISTINCT handle) FROM public.users WHERE handle = ANY($1)",
                &[&pair],
            )
            .map_err(|e| unreadable(self.pg, &e))?
            .get(0);
        // Each user with the rank of its `created_at` (users made together share one).
        let oldest = self
            .client
            .query(
                "SELECT handle::text, dense_rank() OVER (ORDER BY created_at) FROM public.users \
                 WHERE handle IS NOT NULL ORDER BY created_at, handle LIMIT 200",
                &[],
            )
            .map_err(|e| unreadable(self.pg, &e))?;
        let mut oldest: Vec<(i64, String)> = oldest
            .iter()
            .map(|row| (row.get::<_, i64>(1), row.get::<_, String>(0)))
            .collect();
        oldest.sort_by_key(|(made, handle)| (*made, seed_place(seed, handle), handle.clone()));
        let mut candidates: Vec<String> = if present == 2 {
            pair.iter().map(|h| h.to_string()).collect()
        } else {
            Vec::new()
        };
        candidates.extend(oldest.into_iter().map(|(_, handle)| handle));
        let pick = |taken: &[Option<&str>]| {
            candidates
                .iter()
                .find(|c| !taken.contains(&Some(c.as_str())))
                .cloned()
        };
        let mine = match mine {
            Some(handle) => handle.to_string(),
            None => pick(&[other]).ok_or_else(|| too_few(self.pg, "--my-handle"))?,
        };
        let other = match other {
            Some(handle) => handle.to_string(),
            None => pick(&[Some(&mine)]).ok_or_else(|| too_few(self.pg, "--other-handle"))?,
        };
        Ok([mine, other])
    }

    /// `no user 'x' in cruddur; users: a, b — pass --other-handle`.
    fn missing(&mut self, want: &Wanted<'_>) -> anyhow::Error {
        let listed = self.client.query(
            &format!(
                "SELECT handle::text, count(*) OVER () FROM public.users \
                 WHERE handle IS NOT NULL ORDER BY handle LIMIT {LISTED}"
            ),
            &[],
        );
        let users = match listed {
            Ok(rows) if rows.is_empty() => {
                "it has no users: load the app's seed (`cruddur db setup`)".to_string()
            }
            Ok(rows) => {
                let total: i64 = rows[0].get(1);
                let names: Vec<String> = rows
                    .iter()
                    .map(|row| crate::text::visible(&row.get::<_, String>(0)).into_owned())
                    .collect();
                let more = total - names.len() as i64;
                format!(
                    "users: {}{}",
                    names.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            }
            Err(error) => format!("its users could not be listed: {}", db_message(&error)),
        };
        anyhow!(
            "no user '{}' in {}; {users} — pass {}",
            crate::text::visible(want.handle),
            self.pg.dbname,
            want.flag
        )
    }
}

fn too_few(pg: &PgTarget, flag: &str) -> anyhow::Error {
    anyhow!(
        "Postgres database `{}` has fewer than two users, and a conversation needs two: \
         load the app's seed (`cruddur db setup`), or pass {flag}",
        pg.dbname
    )
}

fn unreadable(pg: &PgTarget, error: &postgres::Error) -> anyhow::Error {
    anyhow!(
        "cannot read the users of Postgres database `{}`: {}; run `cruddur db setup` first",
        pg.dbname,
        db_message(error)
    )
}

fn person(row: &postgres::Row) -> Result<Person> {
    // Found by its handle, so the handle is there: it names the row.
    let which = row
        .try_get::<_, Option<String>>(1)
        .ok()
        .flatten()
        .map(|h| format!("the row of `{}`", crate::text::visible(&h)))
        .unwrap_or_else(|| "a row".into());
    let column = |i: usize| -> Result<String> {
        let value: Option<String> = row
            .try_get(i)
            .map_err(|e| anyhow!("{which} in public.users cannot be read: {e}"))?;
        value.ok_or_else(|| {
            anyhow!(
                "{which} in public.users has no {}: fix the row, or rebuild with `cruddur db setup`",
                ["uuid", "handle", "display_name"][i]
            )
        })
    };
    Ok(Person {
        uuid: column(0)?,
        handle: column(1)?,
        display_name: column(2)?,
    })
}

/// Where `seed` (a seed.sql's text) first names `handle` as a quoted literal; a handle it
/// never names comes after every one it does.
fn seed_place(seed: Option<&str>, handle: &str) -> usize {
    seed.and_then(|text| text.find(&format!("'{}'", handle.replace('\'', "''"))))
        .unwrap_or(usize::MAX)
}
