//! Fluent message ids, found line by line, and the Vietnamese reference.
//!
//! `kiosk_app::i18n::Catalog` answers "does language L define key K" (`has`) but cannot list
//! a language's keys, and `fluent-syntax` is not a dependency here. A line scan is enough:
//! in Fluent a message starts at column 0 with its identifier (`[a-zA-Z][a-zA-Z0-9_-]*`)
//! followed by `=`; continuation lines are indented, comments start with `#`, terms with `-`
//! and variant or attribute lines with `[`, `*`, `.` or `}` after indentation. Callers confirm
//! every id with `Catalog::has`, so a stray match cannot produce a false report.

use std::collections::BTreeSet;

include!(concat!(env!("OUT_DIR"), "/reference.rs"));

/// The ids of the messages `text` defines, in file order (duplicates kept).
pub(crate) fn message_ids(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(line.len());
        let (id, rest) = line.split_at(end);
        let starts_well = id.starts_with(|c: char| c.is_ascii_alphabetic());
        (starts_well && rest.trim_start_matches([' ', '\t']).starts_with('=')).then_some(id)
    })
}

/// The message ids of the Vietnamese files this binary was built with (unconfirmed).
pub(crate) fn reference_ids() -> BTreeSet<String> {
    REFERENCE_VI
        .iter()
        .flat_map(|(_, text)| message_ids(text))
        .map(str::to_owned)
        .collect()
}

/// The candidate closest to `word` within a small edit budget (1 to 3 edits, a third of the
/// word's length), for "did you mean" hints.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let budget = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &[&str]) {
        assert_eq!(message_ids(text).collect::<Vec<_>>(), expect, "{text:?}");
    }

    #[test]
    fn finds_messages_only() {
        check("a = 1\nb-c=2\nd_e\t= 3\n", &["a", "b-c", "d_e"]);
        // Comments, terms, continuation, attribute and variant lines are not messages.
        check(
            "# x = 1\n## y = 2\n-term = T\nmsg =\n    long = text\n    .attr = v\n\
             sel = { $n ->\n   *[one] x = y\n}\n",
            &["msg", "sel"],
        );
        // Not identifiers.
        check("9a = 1\n = 2\nfoo bar = 3\nfoo\n", &[]);
    }

    #[test]
    fn the_reference_is_embedded() {
        let ids = reference_ids();
        assert!(
            ids.contains("language-name") && ids.contains("btn-cancel"),
            "{ids:?}"
        );
    }

    #[test]
    fn suggestions() {
        let keys = ["btn-cancel", "btn-back", "language-name"];
        assert_eq!(suggest("btn-cancle", keys), Some("btn-cancel"));
        assert_eq!(suggest("languge-name", keys), Some("language-name"));
        assert_eq!(suggest("totally-new", keys), None);
    }
}
