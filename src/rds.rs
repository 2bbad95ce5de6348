//! `cruddur rds …`: the RDS security group. Not built yet.

use anyhow::{bail, Result};

use crate::cli::RdsCommand;
use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(_ctx: &Ctx, command: &RdsCommand) -> Result<Outcome> {
    match command {
        RdsCommand::UpdateSgRule => bail!("`cruddur rds update-sg-rule` is not implemented yet"),
    }
}
