//! `cruddur ddb patterns …`: the app's three access patterns, run from the terminal.

mod get_conversation;
mod list_conversations;
mod send_message;

use anyhow::Result;

use crate::cli::PatternsCommand;
use crate::ctx::Ctx;
use crate::guarded::reads;
use crate::output::{Column, Outcome, View};

use crate::dynamodb::items::Entry;

pub(super) fn run(ctx: &Ctx, command: &PatternsCommand) -> Result<Outcome> {
    match command {
        PatternsCommand::GetConversation(a) => {
            reads(ctx, "`cruddur ddb patterns get-conversation`")
                .and_then(|()| get_conversation::run(ctx, a))
        }
        PatternsCommand::ListConversations(a) => {
            reads(ctx, "`cruddur ddb patterns list-conversations`")
                .and_then(|()| list_conversations::run(ctx, a))
        }
        PatternsCommand::SendMessage(a) => send_message::run(ctx, a),
    }
}

/// Messages and groups as the app's backend returns them; the table cuts the text and
/// shows the time on a 12-hour clock, JSON keeps both whole.
fn entries(entries: &[Entry]) -> Result<Outcome> {
    let rows = entries
        .iter()
        .map(|e| match serde_json::to_value(e)? {
            serde_json::Value::Object(map) => Ok(map),
            _ => anyhow::bail!("internal: an entry is not an object"),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Outcome::rows_with(
        vec![
            Column::new("handle"),
            Column::new("created_at").header("time").view(View::Clock),
            Column::new("message").view(View::Cut(40)),
        ],
        rows,
    ))
}
