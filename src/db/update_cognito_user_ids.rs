//! `cruddur db update-cognito-user-ids`: link users to their Cognito identities.

use anyhow::{bail, Result};

use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(_ctx: &Ctx) -> Result<Outcome> {
    bail!("`cruddur db update-cognito-user-ids` is not implemented yet")
}
