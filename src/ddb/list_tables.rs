//! `cruddur ddb list-tables`: every table at the endpoint, all pages.

use anyhow::Result;
use serde_json::Value;

use super::Ddb;
use crate::cli::DdbArgs;
use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(ctx: &Ctx, args: &DdbArgs) -> Result<Outcome> {
    let ddb = Ddb::connect(ctx, args)?;
    let names = ctx.block_on(async {
        let mut names = Vec::new();
        let mut start: Option<String> = None;
        loop {
            let page = ddb
                .client
                .list_tables()
                .set_exclusive_start_table_name(start.take())
                .send()
                .await
                .map_err(|e| ddb.explain("ListTables", e))?;
            names.extend(page.table_names().iter().cloned());
            match page.last_evaluated_table_name() {
                Some(last) => start = Some(last.to_string()),
                None => return Ok::<_, anyhow::Error>(names),
            }
        }
    })??;
    Ok(Outcome::List {
        header: "table".into(),
        values: names.into_iter().map(Value::String).collect(),
    })
}
