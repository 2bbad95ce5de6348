//! `cruddur ddb list-tables`: every table at the endpoint, all pages.

use anyhow::Result;
use serde_json::Value;

use crate::ctx::Ctx;
use crate::output::Outcome;

pub(super) fn run(ctx: &Ctx) -> Result<Outcome> {
    let ddb = ctx.ddb()?;
    let names = ctx.block_on(async {
        let mut pages = ddb.client.list_tables().into_paginator().send();
        let mut names = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| ddb.explain("ListTables", e))?;
            names.extend(page.table_names().iter().cloned());
        }
        Ok::<_, anyhow::Error>(names)
    })??;
    Ok(Outcome::List {
        header: "table".into(),
        values: names.into_iter().map(Value::String).collect(),
    })
}
