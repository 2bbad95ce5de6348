//! `cruddur cognito …`: the app's user pool. Not built yet.

use anyhow::{bail, Result};

use crate::cli::CognitoCommand;
use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(_ctx: &Ctx, command: &CognitoCommand) -> Result<Outcome> {
    match command {
        CognitoCommand::ListUsers => bail!("`cruddur cognito list-users` is not implemented yet"),
    }
}
