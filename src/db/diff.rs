//! `cruddur db diff`: is the live database still what the app's files make? A throwaway
//! shadow database is built from `schema.sql` and the migrations the live one has applied,
//! both catalogs are read, and every difference is said in words (with `--sql`, the statements
//! that would bring the database to the files, shown and never run). Exit 1 on drift, for a
//! CI step or a scheduled job. The live database is only read, in `--prod` too; the shadow is
//! made on the same server locally, and in `--prod` only where `--shadow-url` says, and it is
//! dropped on the way out (an error, Ctrl-C and SIGTERM included; a drop that fails names it).

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;

use crate::app::SqlSource;
use crate::cli::DbDiffArgs;
use crate::ctx::{Ctx, Target};
use crate::migrations::{find_folder, read_all, read_state, statuses, Migration, State};
use crate::output::{Outcome, OutputFormat};
use crate::pg::perform::Writes;
use crate::pg::schema::{self, Difference};
use crate::pg::{quote_ident, url_password, PgSettings, PgTarget};
use crate::printer::Printer;

/// The variable `--shadow-url` may come from (a URL with a password belongs there, not on
/// a command line).
const SHADOW_VARIABLE: &str = "CRUDDUR_SHADOW_URL";

#[derive(Debug, Serialize)]
struct DiffReport<'a> {
    database: &'a str,
    /// Where the shadow was built (no password).
    shadow_server: String,
    /// The migrations applied in the live database, and so in the shadow.
    migrations_applied: usize,
    matches: bool,
    differences: &'a [Difference],
}

pub(super) fn run(ctx: &Ctx, args: &DbDiffArgs) -> Result<Outcome> {
    // Where the shadow goes is settled before production is even named.
    let url = shadow_url(ctx, args.shadow_url.as_deref())?;
    let live = ctx.pg()?;
    let server = shadow_server(ctx, live, url)?;
    let drift = drift(ctx, live, &server, args.dir.migrations_dir.as_deref())?;
    report(
        ctx,
        args,
        live,
        server.display.clone(),
        drift.applied,
        &drift.differences,
    )
}

/// What a comparison found.
pub(crate) struct Drift {
    pub(crate) differences: Vec<Difference>,
    /// The migrations applied in the live database, and so in the shadow.
    pub(crate) applied: usize,
}

/// The live database `live` against the app's files built in a shadow on `server`.
pub(crate) fn drift(
    ctx: &Ctx,
    live: &PgTarget,
    server: &PgTarget,
    migrations_dir: Option<&std::path::Path>,
) -> Result<Drift> {
    // Everything the files hold is read before anything is made.
    let app = ctx.app()?;
    let schema_file = app.schema(None)?;
    let schema_statements = crate::pg::run::split(&schema_file)?;
    let folder = find_folder(app, migrations_dir)?;
    let migrations = match &folder {
        Some(folder) => read_all(folder)?,
        None => Vec::new(),
    };
    let (found, state) = {
        let mut client = live.connect()?;
        let state = read_state(&mut client)
            .with_context(|| format!("could not read the migration marker of `{}`", live.dbname))?;
        let shape = schema::read(&mut client)
            .with_context(|| format!("could not read the catalogs of `{}`", live.dbname))?;
        (shape, state)
    };
    let applied = applied(&migrations, &state);
    let shadow = Shadow::create(ctx.printer, server, &live.dbname)?;
    let expected = shadow.build(ctx.printer, &schema_file, &schema_statements, &applied)?;
    shadow.drop_now();

    let mut differences = schema::compare(&found, &expected);
    if let Some(marker) = unknown_marker(&migrations, &state) {
        differences.push(marker);
    }
    Ok(Drift {
        differences,
        applied: applied.len(),
    })
}

/// The migrations the live database has applied (its marker, as `db migrations` reads it).
fn applied<'a>(migrations: &'a [Migration], state: &State) -> Vec<&'a Migration> {
    let statuses = statuses(migrations, state);
    migrations
        .iter()
        .zip(statuses)
        .filter(|(_, status)| status.applied())
        .map(|(migration, _)| migration)
        .collect()
}

/// A marker naming a version that no file has: a migration file was removed or renamed.
fn unknown_marker(migrations: &[Migration], state: &State) -> Option<Difference> {
    let marker = &state.marker;
    (marker.0 != "0" && !migrations.iter().any(|m| m.version == *marker)).then(|| Difference {
        kind: "migration marker",
        name: "schema_information.last_successful_run".into(),
        database: Some(marker.0.clone()),
        files: None,
        sql: format!(
            "-- no migration file has version {}: restore its file, or set the marker to the newest version that has one",
            marker.0
        ),
    })
}

/// The shadow's server as a URL and where it came from: `--shadow-url`, else
/// CRUDDUR_SHADOW_URL; None: the live database's own server, which `--prod` refuses.
pub(crate) fn shadow_url(ctx: &Ctx, flag: Option<&str>) -> Result<Option<(String, &'static str)>> {
    if let Some(url) = flag {
        // A password anywhere in it: `user:pw@`, or `?password=…`.
        let parsed = url.parse::<postgres::Config>().ok();
        if !url_password(url).is_empty() || parsed.is_some_and(|c| c.get_password().is_some()) {
            bail!(
                "--shadow-url holds a password, which every user of this machine can read on a \
                 command line: put the URL in {SHADOW_VARIABLE} instead (nothing was read)"
            );
        }
    }
    let url = match flag {
        Some(url) => Some((url.to_string(), "--shadow-url")),
        None => std::env::var(SHADOW_VARIABLE)
            .ok()
            .filter(|url| !url.trim().is_empty())
            .map(|url| (url, SHADOW_VARIABLE)),
    };
    if url.is_none() && ctx.target == Target::Prod {
        bail!(
            "in --prod the shadow database (a throwaway database the app's files are built \
                 in) is never made on the production server: pass --shadow-url, or set \
                 {SHADOW_VARIABLE}, to a server where cruddur may create and drop a database \
                 (the local one: {SHADOW_VARIABLE}=\"$CONNECTION_URL\"); nothing was read"
        );
    }
    Ok(url)
}

/// Where the shadow is made: the URL's server, else the live database's own.
pub(crate) fn shadow_server(
    ctx: &Ctx,
    live: &PgTarget,
    url: Option<(String, &'static str)>,
) -> Result<PgTarget> {
    let Some((url, source)) = url else {
        return Ok(live.clone());
    };
    let names_sslmode = url.contains("sslmode=");
    let server = PgTarget::resolve(
        Target::Local,
        &PgSettings {
            database_url: Some(url),
            prod_database_url: None,
            connect_timeout: live.timeout,
            lock_timeout: live.lock_timeout,
        },
    )
    .map_err(|e| anyhow!("{source}: {e:#}"))?;
    let mut server = server;
    // A remote shadow server gets production's TLS default (libpq's `require`), unless the
    // URL names its own sslmode.
    let remote = server.config.get_hosts().iter().any(|host| match host {
        postgres::config::Host::Tcp(name) => !crate::hosts::is_local_host(name),
        postgres::config::Host::Unix(_) => false,
    });
    if ctx.target == Target::Prod && remote && !names_sslmode {
        server.tls = crate::pg::Tls::Require;
    }
    // In local mode a shadow on a remote host is refused as any remote database is.
    if ctx.target == Target::Local {
        ctx.local_only(&server.destination())?;
    }
    Ok(server)
}

/// The throwaway database, dropped when this value goes (an error, Ctrl-C, SIGTERM).
struct Shadow {
    /// The shadow database itself.
    target: PgTarget,
    printer: Printer,
    dropped: bool,
}

impl Shadow {
    fn create(printer: Printer, server: &PgTarget, live: &str) -> Result<Shadow> {
        // Unique to this run (two CI containers may share a pid), within Postgres's 63 bytes:
        // the live name is what is cut, never the suffix.
        let suffix = format!("_shadow_{}_{}", std::process::id(), fastrand::u32(..10_000));
        let mut stem = live.to_string();
        while stem.len() + suffix.len() > 63 {
            stem.pop();
        }
        let name = format!("{stem}{suffix}");
        let mut target = server.clone();
        target.dbname = name.clone();
        printer.info(format!(
            "building the app's files in a throwaway database `{name}` on {}",
            server.server()
        ));
        let mut client = server.connect_maintenance()?;
        client
            // template0: what the files make, not what the server's template1 holds.
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE template0",
                quote_ident(&name)
            ))
            .map_err(|e| {
                let hint = if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
                    "give the role CREATEDB, or pass --shadow-url to a server where it may create one"
                } else {
                    "pass --shadow-url to another server, or try again"
                };
                anyhow!(
                    "could not create the shadow database `{name}` on {}: {}; {hint} (nothing \
                     was changed)",
                    server.server(),
                    crate::pg::db_message(&e)
                )
            })?;
        Ok(Shadow {
            target,
            printer,
            dropped: false,
        })
    }

    /// Load the schema, then each applied migration, and read what they made.
    fn build(
        &self,
        printer: Printer,
        schema_file: &SqlSource,
        statements: &[crate::sql::Statement<'_>],
        applied: &[&Migration],
    ) -> Result<schema::Shape> {
        let in_shadow = |e: anyhow::Error| {
            e.context(format!(
                "the app's files did not build in the shadow database `{}`",
                self.target.dbname
            ))
        };
        let mut writes = Writes::new(self.target.connect()?);
        crate::pg::run::run_statements(printer, &mut writes, schema_file, statements, None, |_| {
            Ok(())
        })
        .map_err(in_shadow)?;
        for migration in applied {
            let statements = crate::pg::run::split(&migration.migrate)?;
            crate::pg::run::run_statements(
                printer,
                &mut writes,
                &migration.migrate,
                &statements,
                None,
                |_| Ok(()),
            )
            .map_err(in_shadow)?;
        }
        let client = writes
            .client()
            .ok_or_else(|| anyhow!("internal: the shadow's connection is a recorder"))?;
        schema::read(client).with_context(|| {
            format!(
                "could not read the catalogs of the shadow database `{}`",
                self.target.dbname
            )
        })
    }

    /// Drop it now, saying so if it cannot be.
    fn drop_now(mut self) {
        self.drop_database();
    }

    fn drop_database(&mut self) {
        if std::mem::replace(&mut self.dropped, true) {
            return;
        }
        let name = quote_ident(&self.target.dbname);
        let dropped = self.target.connect_maintenance().and_then(|mut client| {
            // FORCE (Postgres 13 and later) ends a session a cancelled statement left behind.
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .or_else(|_| client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")))
                .map_err(anyhow::Error::from)
        });
        if let Err(error) = dropped {
            self.printer.warn(format!(
                "could not drop the shadow database {name} on {}: {error:#}; drop it with \
                 `DROP DATABASE {name}`",
                self.target.server()
            ));
        }
    }
}

impl Drop for Shadow {
    fn drop(&mut self) {
        self.drop_database();
    }
}

fn report(
    ctx: &Ctx,
    args: &DbDiffArgs,
    live: &PgTarget,
    shadow_server: String,
    migrations_applied: usize,
    differences: &[Difference],
) -> Result<Outcome> {
    let database = live.dbname.as_str();
    let count = differences.len();
    let ways = if count == 1 { "way" } else { "ways" };
    // JSON carries each difference's statement already.
    let outcome = if args.sql && ctx.output == OutputFormat::Table {
        let mut text = if count == 0 {
            format!("-- database `{database}` matches the app's files: nothing to run\n")
        } else {
            format!(
                "-- database `{database}`: what would bring it to the app's files ({count} \
                 {ways}); read it before you run any of it\n"
            )
        };
        for difference in differences {
            text.push_str(&format!("\n-- {difference}\n{}\n", difference.sql));
        }
        Outcome::Text(text)
    } else {
        let mut message = if count == 0 {
            format!(
                "database `{database}` matches what the app's files make (schema.sql and \
                 {migrations_applied} applied migration{})",
                if migrations_applied == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "database `{database}` differs from what the app's files make in {count} {ways}:"
            )
        };
        for difference in differences {
            message.push_str("\n  - ");
            message.push_str(&difference.to_string());
        }
        Outcome::done(
            message,
            DiffReport {
                database,
                shadow_server,
                migrations_applied,
                matches: count == 0,
                differences,
            },
        )?
    };
    if count == 0 {
        return Ok(outcome);
    }
    Ok(Outcome::Failing {
        outcome: Box::new(outcome),
        error: anyhow!(
            "database `{database}` has drifted: {count} {ways} from the app's files; nothing was \
             changed{}",
            if args.sql {
                ""
            } else {
                " (--sql prints the statements that would bring it to the files)"
            }
        ),
    })
}
