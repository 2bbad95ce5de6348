//! The statements of a plan, sent one by one through [`Writes`], a method per [`PgOp`] it
//! carries out. A recording [`Writes`] (unit tests) keeps each operation instead of sending
//! it: a test then compares what a writer executed with what its plan said, with no server.

use std::sync::{Arc, Mutex};

use postgres::Client;

use crate::ops::{PgOp, TERMINATE_OTHERS};

/// The operations a recording connection was asked to perform, in order.
pub(crate) type Recorder = Arc<Mutex<Vec<PgOp>>>;

/// A transaction of [`Writes`].
pub(crate) struct Tx<'a> {
    to: TxTo<'a>,
}

enum TxTo<'a> {
    Server(postgres::Transaction<'a>),
    #[cfg_attr(not(test), allow(dead_code))]
    Recorder(Recorder),
}

impl<'a> Tx<'a> {
    fn send(&mut self, op: PgOp) -> Option<&mut postgres::Transaction<'a>> {
        match &mut self.to {
            TxTo::Server(tx) => Some(tx),
            TxTo::Recorder(recorder) => {
                recorder
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(op);
                None
            }
        }
    }

    /// A statement of a file or a script, sent as it is; `op`: the operation it is in a plan,
    /// None when it belongs to a larger one (a migration), which [`Tx::note`] records.
    pub(crate) fn batch(&mut self, sql: &str, op: Option<PgOp>) -> Result<(), postgres::Error> {
        let to = match op {
            Some(op) => self.send(op),
            None => match &mut self.to {
                TxTo::Server(tx) => Some(tx),
                TxTo::Recorder(_) => None,
            },
        };
        match to {
            Some(tx) => tx.batch_execute(sql),
            None => Ok(()),
        }
    }

    /// Record `op`, which this transaction performs through [`Tx::batch`] and [`Tx::server`]
    /// (a migration: its statements, its marker and its record).
    pub(crate) fn note(&mut self, op: PgOp) {
        self.send(op);
    }

    /// The transaction itself, for the reads and writes inside a noted operation; None when
    /// recording.
    pub(crate) fn server(&mut self) -> Option<&mut postgres::Transaction<'a>> {
        match &mut self.to {
            TxTo::Server(tx) => Some(tx),
            TxTo::Recorder(_) => None,
        }
    }

    /// `cognito_user_id = sub` on the row of `handle` (`current`: what the plan read there).
    /// False: there is no such row.
    pub(crate) fn link_user(
        &mut self,
        handle: &str,
        sub: &str,
        current: &Option<Option<String>>,
    ) -> Result<bool, postgres::Error> {
        let op = PgOp::LinkUser {
            handle: handle.to_string(),
            sub: sub.to_string(),
            current: current.clone(),
        };
        match self.send(op) {
            Some(tx) => Ok(tx.execute(LINK_USER, &[&sub, &handle])? > 0),
            None => Ok(current.is_some()),
        }
    }

    /// `COPY table (columns) FROM STDIN` of `data`, rows in COPY's text format, as `op` says.
    pub(crate) fn copy_in(
        &mut self,
        table: &str,
        columns: &str,
        data: &[u8],
        op: PgOp,
    ) -> anyhow::Result<()> {
        use std::io::Write;
        if let Some(tx) = self.send(op) {
            let mut writer = tx.copy_in(&format!("COPY {table} ({columns}) FROM STDIN"))?;
            writer.write_all(data)?;
            writer.finish()?;
        }
        Ok(())
    }

    pub(crate) fn commit(self) -> Result<(), postgres::Error> {
        match self.to {
            TxTo::Server(tx) => tx.commit(),
            TxTo::Recorder(_) => Ok(()),
        }
    }
}

/// The statement of [`Tx::link_user`].
const LINK_USER: &str = "UPDATE public.users SET cognito_user_id = $1 WHERE handle = $2";

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

    /// A transaction: its operations go through [`Tx`], and are kept only if it commits.
    pub(crate) fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        Ok(Tx {
            to: match &mut self.to {
                To::Server(client) => TxTo::Server(client.transaction()?),
                To::Recorder(recorder) => TxTo::Recorder(recorder.clone()),
            },
        })
    }

    /// The server's connection, for a read after a write failed (None when recording).
    pub(crate) fn client(&mut self) -> Option<&mut Client> {
        match &mut self.to {
            To::Server(client) => Some(client),
            To::Recorder(_) => None,
        }
    }
}
