//! The writes of the store that a plan names one by one, a method per [`DdbOp`] it carries out:
//! deleting the table, its deletion protection, an on-demand backup, a transaction (the table's
//! creation, wait, restore and stream are in `table`). A writer's `execute` calls these, so what
//! it performs is a list of operations. A [`Ddb::recording`] store (unit tests) records each
//! operation instead of sending it: a test then compares what a writer executed with what its
//! plan said, with no server.

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};

use super::items::{describe_key, Item};
use super::Ddb;
use crate::ops::{DdbOp, TransactWrite, WriteKind};

/// The operations a recording store was asked to perform, in order.
pub(crate) type Recorder = Arc<Mutex<Vec<DdbOp>>>;

/// A transaction's writes as its plan names them: each by its kind and its item's key.
pub(crate) fn transaction(writes: &[(WriteKind, Item)]) -> Vec<TransactWrite> {
    writes
        .iter()
        .map(|(kind, item)| TransactWrite {
            kind: *kind,
            key: describe_key(item),
        })
        .collect()
}

/// A time of DynamoDB's as RFC 3339 (empty if it has none).
pub(crate) fn rfc3339(time: &aws_sdk_dynamodb::primitives::DateTime) -> String {
    time.fmt(aws_sdk_dynamodb::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// How a transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transacted {
    Written,
    /// A condition failed: nothing was written.
    Cancelled,
}

/// What an on-demand backup is, as CreateBackup answers.
#[derive(Debug, Clone)]
pub(crate) struct BackupMade {
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) status: String,
    /// RFC 3339.
    pub(crate) created_at: String,
    pub(crate) size_bytes: Option<i64>,
}

impl Ddb {
    /// With a recorder: keep `op` and say so (the caller then sends nothing).
    pub(super) fn recorded(&self, op: DdbOp) -> bool {
        match &self.recorder {
            Some(recorder) => {
                recorder
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(op);
                true
            }
            None => false,
        }
    }

    /// A recording store (unit tests): its reads answer nothing.
    pub(crate) fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// DeleteTable. False: the table was not there, and `if_exists` accepts that.
    pub(crate) async fn delete_table(&self, if_exists: bool) -> Result<bool> {
        if self.recorded(DdbOp::DeleteTable {
            table: self.table.clone(),
            if_exists,
        }) {
            return Ok(true);
        }
        match self
            .client
            .delete_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.code() == Some("ResourceNotFoundException") => {
                if if_exists {
                    Ok(false)
                } else {
                    Err(anyhow!(
                        "table `{}` does not exist at {} (add --if-exists to accept that)",
                        self.table,
                        self.endpoint
                    ))
                }
            }
            // Turned on between the look and the call.
            Err(error)
                if error.code() == Some("ValidationException")
                    && error.message().is_some_and(|m| m.contains("protected")) =>
            {
                Err(self.protected())
            }
            Err(error) => Err(self.explain("DeleteTable", error)),
        }
    }

    /// The refusal of a table whose deletion protection is on, with the way to lift it.
    pub(crate) fn protected(&self) -> anyhow::Error {
        anyhow!(
            "table `{}` has deletion protection on, so it was not deleted (nothing was changed). \
             If you mean to delete it, lift the protection first: `cruddur{} ddb deletion-protection off` \
             (itself confirmed like every write), then drop it",
            self.table,
            if self.endpoint.contains("amazonaws.com") {
                " --prod"
            } else {
                ""
            }
        )
    }

    /// UpdateTable: DeletionProtectionEnabled = `on`.
    pub(crate) async fn set_deletion_protection(&self, on: bool) -> Result<()> {
        if self.recorded(DdbOp::SetDeletionProtection {
            table: self.table.clone(),
            on,
        }) {
            return Ok(());
        }
        self.client
            .update_table()
            .table_name(&self.table)
            .deletion_protection_enabled(on)
            .send()
            .await
            .map_err(|e| self.explain("UpdateTable", e))?;
        Ok(())
    }

    /// CreateBackup named `name`; `before_write`: the backup a destructive write takes first
    /// (its own operation in the plan, [`DdbOp::BackupFirst`]).
    pub(crate) async fn create_backup(&self, name: &str, before_write: bool) -> Result<BackupMade> {
        let (table, named) = (self.table.clone(), name.to_string());
        let op = if before_write {
            DdbOp::BackupFirst { table, name: named }
        } else {
            DdbOp::CreateBackup { table, name: named }
        };
        if self.recorded(op) {
            return Ok(BackupMade {
                name: "recorded".into(),
                arn: "arn:recorded".into(),
                status: "AVAILABLE".into(),
                created_at: "1970-01-01T00:00:00Z".into(),
                size_bytes: None,
            });
        }
        let made = self
            .client
            .create_backup()
            .table_name(&self.table)
            .backup_name(name)
            .send()
            .await
            .map_err(|error| {
                let code = error.code().map(String::from);
                let explained = self.explain("CreateBackup", error);
                match code.as_deref() {
                    Some("TableNotFoundException") | Some("ResourceNotFoundException") => anyhow!(
                        "table `{}` does not exist at {}: there is nothing to back up",
                        self.table,
                        self.endpoint
                    ),
                    Some("UnknownOperationException") => anyhow!(
                        "{} takes no backups (an emulator without them, such as dynoxide or DynamoDB Local)",
                        self.endpoint
                    ),
                    _ => explained,
                }
            })?;
        let details = made
            .backup_details()
            .ok_or_else(|| anyhow!("CreateBackup at {} returned no details", self.endpoint))?;
        Ok(BackupMade {
            name: details.backup_name().to_string(),
            arn: details.backup_arn().to_string(),
            status: details.backup_status().as_str().to_string(),
            created_at: rfc3339(details.backup_creation_date_time()),
            size_bytes: details.backup_size_bytes(),
        })
    }

    /// TransactWriteItems of `writes`, all or none: each a put (only of a new item, for
    /// [`WriteKind::PutNew`]) or a delete (only of an item still there). `Cancelled`: a
    /// condition failed, so nothing was written.
    pub(crate) async fn transact_write(
        &self,
        writes: Vec<(WriteKind, Item)>,
    ) -> Result<Transacted> {
        if self.recorded(DdbOp::TransactWrite {
            writes: transaction(&writes),
        }) {
            return Ok(Transacted::Written);
        }
        let table = &self.table;
        let items = writes
            .into_iter()
            .map(|(kind, item)| {
                Ok(match kind {
                    WriteKind::PutNew | WriteKind::Put => TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(table)
                                .set_item(Some(item))
                                .set_condition_expression(
                                    (kind == WriteKind::PutNew)
                                        .then(|| "attribute_not_exists(pk)".to_string()),
                                )
                                .build()?,
                        )
                        .build(),
                    WriteKind::Delete => TransactWriteItem::builder()
                        .delete(
                            Delete::builder()
                                .table_name(table)
                                .set_key(Some(item))
                                .condition_expression("attribute_exists(pk)")
                                .build()?,
                        )
                        .build(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Transacted::Written),
            Err(error) if error.code() == Some("TransactionCanceledException") => {
                Ok(Transacted::Cancelled)
            }
            Err(error) => Err(self.explain("TransactWriteItems", error)),
        }
    }

    /// A store of table `table` that records every operation asked of it and sends nothing
    /// (its clients point at a closed port: anything sent past the recorder fails).
    #[cfg(test)]
    pub(crate) fn recording(table: &str) -> (Ddb, Recorder) {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                Credentials::new("recorded", "recorded", None, None, "recorder"),
            ))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk).build();
        let recorder = Recorder::default();
        let ddb = Ddb {
            bulk: super::without_retries(&config),
            client: aws_sdk_dynamodb::Client::from_conf(config),
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
            table: table.to_string(),
            endpoint: "http://127.0.0.1:9".into(),
            region: "us-east-1".into(),
            credentials: None,
            direct: None,
            recorder: Some(recorder.clone()),
        };
        (ddb, recorder)
    }
}

/// One page of a PartiQL statement's answer.
pub(crate) struct StatementPage {
    pub(crate) items: Vec<Item>,
    /// Where the next page starts; None: this was the last.
    pub(crate) next: Option<String>,
}

impl Ddb {
    /// ExecuteStatement, one page: `statement` with its `parameters`, from `next` (a page's
    /// token), evaluating at most `limit` items. A statement that writes is kept by a
    /// recording store (and answers nothing); a read there answers nothing.
    pub(crate) async fn execute_statement(
        &self,
        statement: &str,
        parameters: &[aws_sdk_dynamodb::types::AttributeValue],
        writes: bool,
        next: Option<String>,
        limit: Option<i32>,
    ) -> Result<StatementPage> {
        let none = StatementPage {
            items: Vec::new(),
            next: None,
        };
        if writes
            && self.recorded(DdbOp::ExecuteStatement {
                table: self.table.clone(),
                statement: statement.to_string(),
                parameters: parameters.iter().map(super::codec::typed_text).collect(),
            })
        {
            return Ok(none);
        }
        if self.is_recording() {
            return Ok(none);
        }
        let answer = self
            .client
            .execute_statement()
            .statement(statement)
            .set_parameters((!parameters.is_empty()).then(|| parameters.to_vec()))
            .set_next_token(next)
            .set_limit(limit)
            .send()
            .await;
        match answer {
            Ok(page) => Ok(StatementPage {
                items: page.items.unwrap_or_default(),
                next: page.next_token,
            }),
            Err(error) if error.code() == Some("ValidationException") => Err(crate::error::detailed(
                format!(
                    "DynamoDB at {} did not take the statement: {} (nothing was changed)",
                    self.endpoint,
                    crate::text::visible(error.message().unwrap_or("no reason given"))
                ),
                format!("ExecuteStatement: {error:?}"), // -v
            )),
            Err(error) if error.code() == Some("ConditionalCheckFailedException") => {
                Err(anyhow!(
                    "the statement's condition did not hold on `{}`, so nothing was changed (an UPDATE or DELETE names an item that does not exist, or an INSERT one that does)",
                    self.table
                ))
            }
            Err(error) if error.code() == Some("ResourceNotFoundException") => {
                Err(crate::error::detailed(
                    format!(
                        "the statement names table `{}`, which does not exist at {}; `cruddur ddb list-tables` lists the tables there",
                        self.table, self.endpoint
                    ),
                    format!("ExecuteStatement: {error:?}"), // -v
                ))
            }
            Err(error) => Err(self.explain("ExecuteStatement", error)),
        }
    }
}
