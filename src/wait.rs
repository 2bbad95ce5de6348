//! `cruddur wait [postgres] [dynamodb]`: poll until each store accepts connections, for start
//! tasks and CI steps that race the services they just started.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::cli::{Store, WaitArgs};
use crate::ctx::Ctx;
use crate::output::Outcome;
use crate::poll::{self, Probe, Wait};

#[derive(Debug, Serialize)]
struct Ready {
    store: &'static str,
    target: String,
    waited_ms: u64,
}

pub(crate) fn run(ctx: &Ctx, args: &WaitArgs) -> Result<Outcome> {
    let stores = if args.stores.is_empty() {
        vec![Store::Postgres, Store::Dynamodb]
    } else {
        args.stores.clone()
    };
    let deadline = Instant::now() + args.timeout;
    let mut ready = Vec::new();
    for store in stores {
        ready.push(match store {
            Store::Postgres => postgres(ctx, deadline)?,
            Store::Dynamodb => dynamodb(ctx, deadline)?,
        });
    }
    Outcome::rows(&["store", "target", "waited_ms"], &ready)
}

fn postgres(ctx: &Ctx, deadline: Instant) -> Result<Ready> {
    let pg = ctx.pg_unwaited()?;
    ctx.info(format!("waiting for Postgres at {}…", pg.display));
    let waited = ctx.block_on(pg.wait_until_up(deadline))??;
    Ok(Ready {
        store: "postgres",
        target: pg.display.clone(),
        waited_ms: waited.as_millis() as u64,
    })
}

fn dynamodb(ctx: &Ctx, deadline: Instant) -> Result<Ready> {
    let ddb = ctx.ddb()?;
    ctx.info(format!("waiting for DynamoDB at {}…", ddb.endpoint));
    let endpoint = &ddb.endpoint;
    let probe = || async {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let answer = tokio::time::timeout(
            remaining.max(Duration::from_millis(1)),
            ddb.client.list_tables().limit(1).send(),
        )
        .await;
        Ok(match answer {
            Ok(Ok(_)) => Probe::Ready(()),
            Ok(Err(error)) => Probe::NotYet(format!("{:#}", ddb.explain("ListTables", error))),
            Err(_) => Probe::NotYet("no answer".to_string()),
        })
    };
    let (_, waited) = ctx.block_on(poll::until(
        Wait::steady(deadline),
        || format!("DynamoDB at {endpoint} was not up yet"),
        probe,
        |last| anyhow!("DynamoDB at {endpoint} did not come up in time (last: {last})"),
    ))??;
    Ok(Ready {
        store: "dynamodb",
        target: endpoint.clone(),
        waited_ms: waited.as_millis() as u64,
    })
}
