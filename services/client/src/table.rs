//! Tables for people: cells measured by display width, fitted to the terminal's width
//! (comfy-table lays them out; `Table::widths` shares the width out), titles and names
//! before ids (`--ids`), and detail views as titled sections.

use super::output::{print, visible};
use super::Failure;
use clap::Args;

/// How wide a table may be when stdout is no terminal and `COLUMNS` says nothing: what a
/// pager or a file shows without a horizontal scroll.
pub const DEFAULT_WIDTH: u16 = 120;
/// The narrowest width a table is fitted to; below it a table would be all line breaks.
const MIN_WIDTH: u16 = 20;
/// The width tables are fitted to: `COLUMNS` when set (a script or a test saying what it
/// wants), else the terminal's, else [`DEFAULT_WIDTH`].
pub fn width() -> u16 {
    let columns = std::env::var("COLUMNS").ok();
    width_from(columns.as_deref(), terminal_width())
}

fn terminal_width() -> Option<u16> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    comfy_table::Table::new().width()
}

/// [`width`]'s rule, without the environment.
fn width_from(columns: Option<&str>, terminal: Option<u16>) -> u16 {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .or(terminal)
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// A table of text columns for people: cells measured by their display width (a CJK
/// character takes two columns, so does an emoji), long cells wrapped so the table fits
/// [`width`]. Built on comfy-table, without borders, columns two spaces apart.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    /// Columns never wrapped (ids: half an id is no id).
    whole: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers; all of them empty means a table without a header.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            right: vec![false; headers.len()],
            whole: vec![false; headers.len()],
            rows: Vec::new(),
        }
    }

    /// Keeps the named columns unwrapped (ids); the others give way.
    pub fn whole(mut self, columns: &[&str]) -> Table {
        for (i, header) in self.headers.iter().enumerate() {
            if columns.contains(&header.as_str()) {
                self.whole[i] = true;
            }
        }
        self
    }

    /// Right-aligns the named columns (numbers).
    pub fn right(mut self, columns: &[&str]) -> Table {
        for (i, header) in self.headers.iter().enumerate() {
            if columns.contains(&header.as_str()) {
                self.right[i] = true;
            }
        }
        self
    }

    /// Adds a row; outside text is shown with its control characters escaped (see
    /// [`visible`]), so no cell can move the cursor or break its line.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.iter().map(|cell| visible(cell)).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table fitted to [`width`].
    pub fn render(&self) -> String {
        self.render_within(width())
    }

    /// The table fitted to `width` columns, each line ending in a line break.
    pub fn render_within(&self, width: u16) -> String {
        use comfy_table::{CellAlignment, ColumnConstraint, ContentArrangement, Width};
        let mut table = comfy_table::Table::new();
        table
            .load_preset(comfy_table::presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width.max(MIN_WIDTH));
        if self.headers.iter().any(|h| !h.is_empty()) {
            table.set_header(&self.headers);
        }
        for row in &self.rows {
            table.add_row(row);
        }
        let widths = self.widths(width);
        for (i, column) in table.column_iter_mut().enumerate() {
            column.set_padding((0, self.padding(i)));
            if self.right.get(i).copied().unwrap_or(false) {
                column.set_cell_alignment(CellAlignment::Right);
            }
            match widths.get(i) {
                Some(Some(width)) => {
                    column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(*width)));
                }
                _ => {
                    column.set_constraint(ColumnConstraint::ContentWidth);
                }
            }
        }
        let mut text = table.to_string();
        text.push('\n');
        text
    }

    pub fn print(&self) -> Result<(), Failure> {
        print(&self.render())
    }

    /// Two spaces between columns, none at the edges.
    fn padding(&self, column: usize) -> u16 {
        if column + 1 < self.headers.len() {
            2
        } else {
            0
        }
    }

    /// Each column's width, padding included, when the table does not fit `width` as it is
    /// (`None`: as wide as its content). Shared out max-min fair: columns narrower than their
    /// share of what is left keep their width (dates, numbers, states), and the wide ones
    /// (titles, lists) split the rest and wrap. The first column names the row, so its share
    /// counts twice. Whole columns (ids) are never cut.
    fn widths(&self, width: u16) -> Vec<Option<u16>> {
        let natural: Vec<u32> = self
            .widest()
            .iter()
            .enumerate()
            .map(|(i, w)| u32::from(*w) + u32::from(self.padding(i)))
            .collect();
        let mut widths: Vec<Option<u16>> = vec![None; natural.len()];
        if natural.iter().sum::<u32>() <= u32::from(width) {
            return widths;
        }
        let is_whole = |i: usize| self.whole.get(i).copied().unwrap_or(false);
        let weight = |i: usize| if i == 0 { 2 } else { 1 };
        let whole: u32 = (0..natural.len())
            .filter(|i| is_whole(*i))
            .map(|i| natural[i])
            .sum();
        let mut left = u32::from(width).saturating_sub(whole);
        let mut shared: Vec<usize> = (0..natural.len()).filter(|i| !is_whole(*i)).collect();
        shared.sort_by_key(|i| natural[*i] / weight(*i));
        let mut weights: u32 = shared.iter().map(|i| weight(*i)).sum();
        for (k, i) in shared.iter().enumerate() {
            if natural[*i] * weights <= left * weight(*i) {
                left -= natural[*i];
                weights -= weight(*i);
                continue;
            }
            // This column and every wider one split what is left, by weight.
            for j in &shared[k..] {
                let share = left * weight(*j) / weights.max(1);
                let least = u32::from(self.padding(*j)) + 1;
                widths[*j] = Some(u16::try_from(share.max(least)).unwrap_or(u16::MAX));
            }
            break;
        }
        widths
    }

    /// Each column's widest cell or header, in terminal columns.
    fn widest(&self) -> Vec<u16> {
        use unicode_width::UnicodeWidthStr;
        let mut widest: Vec<u16> = vec![0; self.headers.len()];
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            for (w, cell) in widest.iter_mut().zip(row) {
                let width = u16::try_from(cell.width()).unwrap_or(u16::MAX);
                *w = (*w).max(width);
            }
        }
        widest
    }
}

/// Appends `title:` and `table` indented by two spaces (`-` for an empty one): a section of
/// a detail view.
pub fn section(text: &mut String, title: &str, table: Table) {
    text.push_str(&format!("\n{title}:\n"));
    if table.is_empty() {
        text.push_str("  -\n");
        return;
    }
    for line in table.render_within(width().saturating_sub(2)).lines() {
        text.push_str(&format!("  {line}\n"));
    }
}

/// `--ids`: tables name pilots by title and stakeholders by name; this puts the ids beside
/// them (as the last column) for scripts and for telling twins apart. `--json` has them too.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct Ids {
    /// Show the ids beside titles and names.
    #[arg(long)]
    pub ids: bool,
}

impl Ids {
    /// A table of `headers`, and `id_header` last (never wrapped) when ids are shown.
    pub fn table(self, headers: &[&str], id_header: &str) -> Table {
        let mut all = headers.to_vec();
        if self.ids {
            all.push(id_header);
        }
        Table::new(&all).whole(&[id_header])
    }

    /// `cells`, and `id` last when ids are shown.
    pub fn cells(self, mut cells: Vec<String>, id: String) -> Vec<String> {
        if self.ids {
            cells.push(id);
        }
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns() {
        let mut table = Table::new(&["name", "n"]).right(&["n"]);
        table.row(vec!["a".into(), "1".into()]);
        table.row(vec!["long name".into(), "1,000".into()]);
        assert_eq!(
            table.render_within(80),
            "name           n\na              1\nlong name  1,000\n"
        );
    }

    /// Every line of `text`, by display width.
    fn widths(text: &str) -> Vec<usize> {
        use unicode_width::UnicodeWidthStr;
        text.lines().map(UnicodeWidthStr::width).collect()
    }

    #[test]
    fn wide_characters_line_up() {
        let mut table = Table::new(&["name", "kind", "points"]).right(&["points"]);
        table.row(vec!["南国市财政局".into(), "bureau".into(), "12".into()]);
        table.row(vec![
            "Party Secretary Li".into(),
            "leader".into(),
            "3".into(),
        ]);
        table.row(vec!["Media 📻 🚀".into(), "media".into(), "1,000".into()]);
        let text = table.render_within(80);
        let widths = widths(&text);
        assert_eq!(widths.len(), 4, "{text}");
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}\n{text}");
        // The second column starts at the same screen column on every line.
        let kind_at: Vec<usize> = text
            .lines()
            .zip(["kind", "bureau", "leader", "media"])
            .map(|(line, kind)| {
                let at = line
                    .find(kind)
                    .unwrap_or_else(|| panic!("{kind} in {line}"));
                unicode_width::UnicodeWidthStr::width(&line[..at])
            })
            .collect();
        assert!(
            kind_at.iter().all(|w| *w == kind_at[0]),
            "{kind_at:?}\n{text}"
        );
    }

    #[test]
    fn a_wide_table_fits_sixty_columns() {
        let mut table = Table::new(&["title", "stage", "office", "metrics"]);
        table.row(vec![
            "Health Insurance for Hospital Care (HIHC)".into(),
            "implementing".into(),
            "Social Security Department of Nanguo City".into(),
            "insured_persons 880,000, contribution_rate 0.02, hospitals 14".into(),
        ]);
        table.row(vec![
            "南国市财政局的长期护理保险试点".into(),
            "proposed".into(),
            "Bureau of Finance of Nanguo".into(),
            "-".into(),
        ]);
        let text = table.render_within(60);
        assert!(widths(&text).iter().all(|w| *w <= 60), "{text}");
        for word in ["(HIHC)", "proposed", "880,000", "hospitals", "南国市财政局"] {
            assert!(text.contains(word), "{word} lost in\n{text}");
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut table = Table::new(&["name"]);
        table.row(vec!["Nanguo\u{1b}[2J\nx".into()]);
        let text = table.render_within(80);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert_eq!(text.lines().count(), 2, "{text}");
    }

    #[test]
    fn the_width_is_columns_then_the_terminal_then_the_default() {
        assert_eq!(width_from(Some("60"), Some(200)), 60);
        assert_eq!(width_from(Some("wide"), Some(200)), 200);
        assert_eq!(width_from(None, None), DEFAULT_WIDTH);
        assert_eq!(width_from(Some("3"), None), MIN_WIDTH);
    }

    #[test]
    fn short_columns_stay_whole_while_long_text_wraps() {
        let mut table = Table::new(&["title", "stage", "points", "metrics"]).right(&["points"]);
        table.row(vec![
            "Local Citizen Health Insurance (LCHI)".into(),
            "implementing".into(),
            "18".into(),
            "insured_persons 6,000,000, migrant_participation_share 0.7".into(),
        ]);
        let text = table.render_within(64);
        assert!(widths(&text).iter().all(|w| *w <= 64), "{text}");
        let first = text.lines().nth(1).unwrap();
        assert!(
            first.contains("implementing") && first.contains("18"),
            "{text}"
        );
        // The title, first, gets twice the metrics' share of what is left.
        assert!(first.contains("Local Citizen Health"), "{text}");
        // Ids are never cut, even where the table cannot fit.
        let mut ids = Ids { ids: true }.table(&["title"], "pilot_id");
        ids.row(Ids { ids: true }.cells(
            vec!["Local Citizen Health Insurance (LCHI)".into()],
            "0194a000-0001-7000-8000-000000000004".into(),
        ));
        assert!(
            ids.render_within(30)
                .contains("0194a000-0001-7000-8000-000000000004"),
            "{}",
            ids.render_within(30)
        );
    }
}
