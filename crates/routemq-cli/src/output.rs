//! Where commands write: human tables by default, JSON with `--json`.

use std::fmt::Display;
use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use crate::CliError;

/// A command's output sink and format.
pub struct Output<'a> {
    out: &'a mut dyn Write,
    json: bool,
}

impl<'a> Output<'a> {
    /// Writes to `out`, as JSON when `json`.
    pub fn new(out: &'a mut dyn Write, json: bool) -> Self {
        Output { out, json }
    }

    /// True when `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Writes `value` as pretty JSON and a newline.
    pub fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::io("encoding JSON output", e.into()))?;
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    /// Writes a table with `header` and `rows`.
    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) -> Result<(), CliError> {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(header.to_vec());
        for row in rows {
            table.add_row(row);
        }
        writeln!(self.out, "{table}")?;
        Ok(())
    }

    /// Writes one line of text.
    pub fn line(&mut self, text: impl Display) -> Result<(), CliError> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    /// Writes `value` as JSON with `--json`, else the line `text`.
    pub fn either<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
        text: impl Display,
    ) -> Result<(), CliError> {
        if self.json {
            self.json(value)
        } else {
            self.line(text)
        }
    }
}
