//! Which stack the commands work on: the local one, or production (`--prod`).

/// Which stack the commands work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Local,
    Prod,
}

impl Target {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Target::Local => "local",
            Target::Prod => "prod",
        }
    }
}
