//! `cruddur ddb …`: the direct-messages table in DynamoDB. Not built yet: every leaf says so
//! and fails, so that no start task mistakes it for work done.

use anyhow::{bail, Result};

use crate::cli::{DdbCommand, PatternsCommand};
use crate::ctx::Ctx;
use crate::output::Outcome;

pub fn run(_ctx: &Ctx, command: &DdbCommand) -> Result<Outcome> {
    let leaf = match command {
        DdbCommand::SchemaLoad => "ddb schema-load",
        DdbCommand::Seed => "ddb seed",
        DdbCommand::Scan => "ddb scan",
        DdbCommand::Drop => "ddb drop",
        DdbCommand::ListTables => "ddb list-tables",
        DdbCommand::Patterns(PatternsCommand::GetConversation) => "ddb patterns get-conversation",
        DdbCommand::Patterns(PatternsCommand::ListConversations) => {
            "ddb patterns list-conversations"
        }
        DdbCommand::Patterns(PatternsCommand::SendMessage) => "ddb patterns send-message",
    };
    bail!("`cruddur {leaf}` is not implemented yet")
}
