//! The statements of a plan, sent one by one through [`Writes`], a method per [`PgOp`] it
//! carries out. A recording [`Writes`] (unit tests) keeps each operation instead of sending
//! it: a test then compares what a writer executed with what its plan said, with no server.

use std::sync::{Arc, Mutex};

use postgres::Client;

use crate::ops::{PgOp, TERMINATE_OTHERS};

/// The operations a recording connection was asked to perform, in order.
pub(crate) type Recorder = Arc<Mutex<Vec<PgOp>>>;

/// What a statement with parameters gave.
pub(crate) enum Changed {
    /// How many rows it changed.
    Count(u64),
    /// The rows it returned.
    Rows(Vec<postgres::Row>),
}

/// The connection a writer's statements go through.
pub(crate) struct Writes {
    to: To,
}

enum To {
    // Boxed: a client is some 300 bytes, a recorder a pointer.
    Server(Box<Client>),
    #[cfg_attr(not(test), allow(dead_code))]
    Recorder(Recorder),
}

impl Writes {
    pub(crate) fn new(client: Client) -> Writes {
        Writes {
            to: To::Server(Box::new(client)),
        }
    }

    /// A connection that records every operation and sends nothing.
    #[cfg(test)]
    pub(crate) fn recording() -> (Writes, Recorder) {
        let recorder = Recorder::default();
        (
            Writes {
                to: To::Recorder(recorder.clone()),
            },
            recorder,
        )
    }

    /// With a recorder: keep `op` and say so; else the server's connection.
    fn send(&mut self, op: PgOp) -> Option<&mut Client> {
        match &mut self.to {
            To::Server(client) => Some(client),
            To::Recorder(recorder) => {
                recorder
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(op);
                None
            }
        }
    }

    /// One statement, as it is written (no parameters, no rows).
    pub(crate) fn statement(&mut self, sql: &str) -> Result<(), postgres::Error> {
        match self.send(PgOp::Statement {
            sql: sql.to_string(),
        }) {
            Some(client) => client.batch_execute(sql),
            None => Ok(()),
        }
    }

    /// A statement with its parameters: the rows it changed, or with `rows`, the rows it
    /// returns (the statement as `rows` rewrites it, e.g. wrapped to give JSON). A recording
    /// connection changes and returns nothing.
    pub(crate) fn statement_with(
        &mut self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
        rows: Option<&str>,
    ) -> Result<Changed, postgres::Error> {
        let Some(client) = self.send(PgOp::Statement {
            sql: sql.to_string(),
        }) else {
            return Ok(match rows {
                Some(_) => Changed::Rows(Vec::new()),
                None => Changed::Count(0),
            });
        };
        match rows {
            Some(returning) => Ok(Changed::Rows(client.query(returning, params)?)),
            None => Ok(Changed::Count(client.execute(sql, params)?)),
        }
    }

    /// pg_terminate_backend of every other session of `database`.
    pub(crate) fn terminate_others(&mut self, database: &str) -> Result<(), postgres::Error> {
        match self.send(PgOp::TerminateOthers {
            database: database.to_string(),
        }) {
            Some(client) => client.execute(TERMINATE_OTHERS, &[&database]).map(drop),
            None => Ok(()),
        }
    }

    /// The server's connection, for a read after a write failed (None when recording).
    pub(crate) fn client(&mut self) -> Option<&mut Client> {
        match &mut self.to {
            To::Server(client) => Some(client),
            To::Recorder(_) => None,
        }
    }
}
