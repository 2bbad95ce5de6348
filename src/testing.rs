//! Helpers for the unit tests only.

/// A lookup of environment variables from fixed pairs, as the functions that read the
/// environment through a closure take it.
pub(crate) fn env_of(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}
