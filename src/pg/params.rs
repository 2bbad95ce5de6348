//! Binding the parameters of the app's named queries.

use std::error::Error as StdError;

use anyhow::Result;
use postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};

/// A parameter sent as text, whatever the column's type: the server parses it as it would
/// a literal (`uuid`, `timestamp`, `integer`, …), so a named query takes plain strings.
#[derive(Debug)]
pub(crate) struct TextParam<'a>(pub &'a str);

impl ToSql for TextParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}
