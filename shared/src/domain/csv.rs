//! CSV as spreadsheets read it (RFC 4180): a header row, CRLF line ends, a field quoted when it
//! holds a comma, a quote, CR or LF (quotes doubled), UTF-8 with a byte-order mark so Excel
//! reads it as UTF-8. A field a spreadsheet would run as a formula (`formula_like`: `=`, `+`,
//! `-` or `@` first after any spaces, or a tab, CR or LF first) is neutralised with a leading `'`, which spreadsheets show as text and
//! hide, so a name like `=HYPERLINK(...)` typed into the directory never runs on an admin's
//! machine (OWASP, "CSV Injection").

/// The byte-order mark a CSV starts with.
pub const BOM: &str = "\u{feff}";

/// A CSV document being written, row by row, into one string (the one copy there is).
pub struct Csv {
    out: String,
}

impl Csv {
    /// A document with its header row.
    pub fn new(header: &[&str]) -> Csv {
        let mut c = Csv {
            out: String::from(BOM),
        };
        c.row(header);
        c
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            field(&mut self.out, f.as_ref());
        }
        self.out.push_str("\r\n");
    }

    /// One part of a document sent in parts: the first with the mark and the header row,
    /// a later one rows only.
    pub fn part(header: &[&str], first: bool) -> Csv {
        if first {
            Csv::new(header)
        } else {
            Csv { out: String::new() }
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.len() <= BOM.len()
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// An export part's cursor: its export's audit entry key, then the store's own cursor.
pub fn join_cursor(entry_sk: &str, inner: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::json!({ "e": entry_sk, "c": inner }).to_string())
}

/// The two halves of `join_cursor`'s result, if it is one.
pub fn split_cursor(raw: &str) -> Option<(String, String)> {
    use base64::Engine;
    if raw.len() > 8192 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let (e, c) = (v["e"].as_str()?, v["c"].as_str()?);
    (!e.is_empty() && !c.is_empty()).then(|| (e.to_string(), c.to_string()))
}

/// Whether a spreadsheet would take this cell for a formula: it starts with a control
/// character, or its first visible character (after spaces) is `=`, `+`, `-` or `@`, in
/// ASCII or in their full-width forms.
pub fn formula_like(v: &str) -> bool {
    if v.starts_with(['\t', '\r', '\n']) {
        return true;
    }
    matches!(
        v.trim_start().chars().next(),
        Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠')
    )
}

fn field(out: &mut String, v: &str) {
    let neutral = formula_like(v);
    let quote = neutral || v.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if neutral {
        out.push('\'');
    }
    for ch in v.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(rows: &[&[&str]]) -> String {
        let mut c = Csv::new(rows[0]);
        for r in &rows[1..] {
            c.row(r);
        }
        c.finish()
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        let d = doc(&[
            &["name", "team"],
            &["Plain", "a,b"],
            &["Say \"hi\"", "two\r\nlines"],
            &["Zoë 日本", ""],
        ]);
        assert_eq!(
            d,
            "\u{feff}name,team\r\nPlain,\"a,b\"\r\n\"Say \"\"hi\"\"\",\"two\r\nlines\"\r\nZoë 日本,\r\n"
        );
    }

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_text() {
        for v in [
            "=1+1",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "\n=1",
            "  =cmd",
            "＝1+1",
            "=HYPERLINK(\"http://x\",\"y\")",
        ] {
            let d = doc(&[&["v"], &[v]]);
            let cell = d.split("\r\n").nth(1).unwrap();
            assert!(cell.starts_with("\"'"), "{v:?} -> {cell:?}");
        }
        // Inside a value, not first: left alone.
        assert_eq!(doc(&[&["v"], &["a=b"]]), "\u{feff}v\r\na=b\r\n");
        assert!(!formula_like("Ann"));
    }
}
