//! Case-insensitive header access, independent of any HTTP framework.

use std::collections::{BTreeMap, HashMap};

/// Read access to request headers. `get` must match names case-insensitively and return the
/// first value when a header is repeated.
///
/// Implemented for common containers; an HTTP framework's header map can be adapted with a
/// small newtype in the API crate.
pub trait HeaderLookup {
    /// The (first) value of header `name`, matched case-insensitively.
    fn get(&self, name: &str) -> Option<&str>;
}

impl<T: HeaderLookup + ?Sized> HeaderLookup for &T {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> HeaderLookup for [(K, V); N] {
    fn get(&self, name: &str) -> Option<&str> {
        HeaderLookup::get(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn get(&self, name: &str) -> Option<&str> {
        HeaderLookup::get(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, S> HeaderLookup for HashMap<K, V, S> {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for BTreeMap<K, V> {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }
}

/// The trimmed, non-empty value of a required header, or `MissingHeader(name)`.
pub(crate) fn required<'a, H: HeaderLookup + ?Sized>(
    headers: &'a H,
    name: &str,
) -> Result<&'a str, crate::VerifyError> {
    match headers.get(name).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(crate::VerifyError::MissingHeader(name.to_owned())),
    }
}
