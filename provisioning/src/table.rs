//! Plain-text columns for terminal reports.

/// Renders `rows` as left-aligned columns separated by two spaces, one line per row.
///
/// Widths count characters, not bytes, so Vietnamese titles (NFC, one char per letter) line
/// up. The last cell of a row is not padded: it is usually a long title, and trailing blanks
/// would only get in the way of `grep` and copy-paste.
pub(crate) fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rows: &[&[&str]], expect: &str) {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect();
        assert_eq!(render(&rows), expect);
    }

    #[test]
    fn columns_align_by_characters() {
        check(
            &[&["ID", "TITLE"], &["nhi", "Nhi"], &["ent", "Tai Mũi Họng"]],
            "ID   TITLE\nnhi  Nhi\nent  Tai Mũi Họng\n",
        );
        check(
            &[&["Mắt", "x", "y"], &["a", "bb", ""]],
            "Mắt  x   y\na    bb\n",
        );
        check(&[], "");
    }
}
