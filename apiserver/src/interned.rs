//! Strings and string lists that live as long as the process, each
//! distinct value allocated once. Custom resources' names are
//! `&'static str` like the built-in table's, so every layer reads one row
//! type; re-reading a CustomResourceDefinition finds its names already
//! here, so memory grows only with the distinct names ever served.

use std::collections::HashSet;
use std::sync::LazyLock;

use parking_lot::Mutex;

static STRINGS: LazyLock<Mutex<HashSet<&'static str>>> = LazyLock::new(Default::default);
static LISTS: LazyLock<Mutex<HashSet<&'static [&'static str]>>> = LazyLock::new(Default::default);

/// `s`, for the life of the process.
pub fn string(s: &str) -> &'static str {
    let mut strings = STRINGS.lock();
    if let Some(found) = strings.get(s) {
        return found;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    strings.insert(leaked);
    leaked
}

/// `list`, for the life of the process.
pub fn list<S: AsRef<str>>(list: &[S]) -> &'static [&'static str] {
    let items: Vec<&'static str> = list.iter().map(|s| string(s.as_ref())).collect();
    let mut lists = LISTS.lock();
    if let Some(found) = lists.get(items.as_slice()) {
        return found;
    }
    let leaked: &'static [&'static str] = Box::leak(items.into_boxed_slice());
    lists.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_allocation() {
        let a = string(&format!("wid{}", "gets"));
        let b = string("widgets");
        assert!(std::ptr::eq(a, b));
        let x = list(&["wd".to_string(), "w".to_string()]);
        let y = list(&["wd", "w"]);
        assert!(std::ptr::eq(x, y));
        assert_eq!(x, &["wd", "w"]);
    }
}
