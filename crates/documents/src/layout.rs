//! Page layout: turns a [`Report`] into positioned drawing operations.

use crate::fonts::{FontId, FontSet};
use crate::{Block, Brand, Report};

pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 51.0; // 18 mm
const BAND_H: f32 = 34.0;
/// Logo height in the band: 24 pt makes the Mezzofy logo 90 pt (32 mm) wide,
/// above the guidelines' 30 mm print minimum, with clear space around the mark.
const LOGO_H: f32 = 24.0;
const CONTENT_TOP: f32 = PAGE_H - MARGIN - 12.0;
const CONTENT_BOTTOM: f32 = MARGIN + 4.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;

const BODY: f32 = 10.0;
const BODY_LH: f32 = 14.0;
const TABLE: f32 = 9.0;
const TABLE_LH: f32 = 12.0;
const PAD_X: f32 = 5.0;
const PAD_Y: f32 = 3.0;

const WHITE: [u8; 3] = [0xFF, 0xFF, 0xFF];
const RULE: [u8; 3] = [0xE5, 0xE7, 0xEB];
const ZEBRA: [u8; 3] = [0xF6, 0xF7, 0xF9];

/// A drawing operation in PDF points (origin bottom left).
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: [u8; 3],
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: [u8; 3],
    },
    Text {
        x: f32,
        y: f32,
        size: f32,
        color: [u8; 3],
        font: FontId,
        text: String,
    },
    /// The report's logo scaled into this box.
    Logo {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
}

pub(crate) type Page = Vec<Op>;

struct Layouter<'s, 'f> {
    set: &'s FontSet<'f>,
    brand: &'s Brand,
    /// Width / height of the logo, when there is one.
    logo: Option<f32>,
    pages: Vec<Page>,
    /// Top of the free space on the current page.
    y: f32,
}

/// The header band's colour: the secondary (charcoal) title bar behind a
/// logo, so the orange mark never sits on orange; else the primary colour.
pub(crate) fn band_colour(report: &Report, brand: &Brand) -> [u8; 3] {
    if report.logo.is_some() { brand.secondary } else { brand.primary }
}

/// Lay out the whole report, including header bands and footers.
pub(crate) fn layout(report: &Report, brand: &Brand, set: &FontSet<'_>) -> Vec<Page> {
    let logo = report.logo.as_ref().map(|l| l.aspect_ratio()).filter(|a| a.is_finite() && *a > 0.0);
    let mut l = Layouter { set, brand, logo, pages: Vec::new(), y: CONTENT_TOP };
    l.new_page();
    l.title(&report.title, report.subtitle.as_deref());
    for block in &report.blocks {
        match block {
            Block::Heading(t) => l.heading(t),
            Block::Subheading(t) => l.subheading(t),
            Block::Paragraph(t) => l.paragraph(t),
            Block::KeyValues(kv) => l.key_values(kv),
            Block::Table { columns, rows, align_right } => l.table(columns, rows, align_right),
            Block::List { ordered, items } => l.list(*ordered, items),
            Block::Metrics(m) => l.metrics(m),
        }
    }
    l.footers(&report.footer);
    l.pages
}

/// Replace control characters (tabs, CR, ...) by spaces, keeping newlines.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect()
}

impl Layouter<'_, '_> {
    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        let mut ops = Vec::new();
        if let Some(aspect) = self.logo {
            let color = self.brand.secondary;
            ops.push(Op::Rect { x: 0.0, y: PAGE_H - BAND_H, w: PAGE_W, h: BAND_H, color });
            let (w, h) = ((LOGO_H * aspect).min(CONTENT_W), LOGO_H);
            ops.push(Op::Logo { x: MARGIN, y: PAGE_H - BAND_H + (BAND_H - h) / 2.0, w, h });
        } else {
            let color = self.brand.primary;
            ops.push(Op::Rect { x: 0.0, y: PAGE_H - BAND_H, w: PAGE_W, h: BAND_H, color });
            let company = clean(&self.brand.company).replace('\n', " ");
            ops.push(Op::Text {
                x: MARGIN,
                y: PAGE_H - BAND_H / 2.0 - 14.0 * 0.35,
                size: 14.0,
                color: WHITE,
                font: FontId::Bold,
                text: company,
            });
        }
        self.pages.push(ops);
        self.y = CONTENT_TOP;
    }

    /// Start a new page unless `h` points fit. Returns true on a break.
    fn ensure(&mut self, h: f32) -> bool {
        if self.y - h < CONTENT_BOTTOM && self.y < CONTENT_TOP {
            self.new_page();
            true
        } else {
            false
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn text(&mut self, x: f32, top: f32, lh: f32, size: f32, font: FontId, color: [u8; 3], text: String) {
        if text.is_empty() {
            return;
        }
        self.page().push(Op::Text { x, y: top - lh / 2.0 - size * 0.35, size, color, font, text });
    }

    /// Greedy word wrap by measured widths; words wider than `width` are
    /// broken between characters.
    fn wrap(&self, font: FontId, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in clean(text).split('\n') {
            let mut line = String::new();
            for word in para.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
                if self.set.measure(font, &candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if self.set.measure(font, word, size) <= width {
                    line = word.to_owned();
                    continue;
                }
                // Break an over-long word (or unspaced CJK text) by characters.
                let mut line_w = 0.0;
                let mut buf = [0u8; 4];
                for c in word.chars() {
                    let cw = self.set.measure(font, c.encode_utf8(&mut buf), size);
                    if !line.is_empty() && line_w + cw > width {
                        lines.push(std::mem::take(&mut line));
                        line_w = 0.0;
                    }
                    line.push(c);
                    line_w += cw;
                }
            }
            lines.push(line);
        }
        lines
    }

    fn title(&mut self, title: &str, subtitle: Option<&str>) {
        let (text, muted) = (self.brand.text, self.brand.muted);
        for line in self.wrap(FontId::Bold, title, 20.0, CONTENT_W) {
            self.ensure(26.0);
            let top = self.y;
            self.text(MARGIN, top, 26.0, 20.0, FontId::Bold, text, line);
            self.y -= 26.0;
        }
        if let Some(sub) = subtitle {
            for line in self.wrap(FontId::Regular, sub, 11.0, CONTENT_W) {
                self.ensure(16.0);
                let top = self.y;
                self.text(MARGIN, top, 16.0, 11.0, FontId::Regular, muted, line);
                self.y -= 16.0;
            }
        }
        self.y -= 6.0;
        let (y, color) = (self.y, self.brand.primary);
        self.page().push(Op::Line { x1: MARGIN, y1: y, x2: PAGE_W - MARGIN, y2: y, width: 1.5, color });
        self.y -= 8.0;
    }

    fn heading(&mut self, t: &str) {
        let color = self.brand.secondary;
        // Keep the heading with at least a few lines of what follows.
        self.ensure(14.0 + 20.0 + 3.0 * BODY_LH);
        self.y -= 10.0;
        for line in self.wrap(FontId::Bold, t, 13.0, CONTENT_W) {
            self.ensure(20.0);
            let top = self.y;
            self.text(MARGIN, top, 20.0, 13.0, FontId::Bold, color, line);
            self.y -= 20.0;
        }
        self.y -= 2.0;
    }

    fn subheading(&mut self, t: &str) {
        let color = self.brand.secondary;
        self.ensure(6.0 + 16.0 + 2.0 * BODY_LH);
        self.y -= 6.0;
        for line in self.wrap(FontId::Bold, t, 11.0, CONTENT_W) {
            self.ensure(16.0);
            let top = self.y;
            self.text(MARGIN, top, 16.0, 11.0, FontId::Bold, color, line);
            self.y -= 16.0;
        }
        self.y -= 2.0;
    }

    /// Bulleted or numbered items with a hanging indent.
    fn list(&mut self, ordered: bool, items: &[String]) {
        let color = self.brand.text;
        let indent = if ordered { 20.0 } else { 14.0 };
        for (i, item) in items.iter().enumerate() {
            let marker = if ordered { format!("{}.", i + 1) } else { "\u{2022}".to_owned() };
            for (j, line) in self.wrap(FontId::Regular, item, BODY, CONTENT_W - indent).into_iter().enumerate() {
                self.ensure(BODY_LH);
                let top = self.y;
                if j == 0 {
                    self.text(MARGIN + 2.0, top, BODY_LH, BODY, FontId::Regular, color, marker.clone());
                }
                self.text(MARGIN + indent, top, BODY_LH, BODY, FontId::Regular, color, line);
                self.y -= BODY_LH;
            }
            self.y -= 2.0;
        }
        self.y -= 6.0;
    }

    /// Headline figures as tiles, three to a row: a thin accent bar, the
    /// value large in the brand colour, the label small below.
    fn metrics(&mut self, items: &[(String, String)]) {
        const GAP: f32 = 8.0;
        const TILE_H: f32 = 50.0;
        if items.is_empty() {
            return;
        }
        let cols = items.len().min(3);
        let tile_w = (CONTENT_W - GAP * (cols - 1) as f32) / cols as f32;
        let (primary, accent, muted) = (self.brand.primary, self.brand.accent, self.brand.muted);
        for row in items.chunks(cols) {
            self.ensure(TILE_H + GAP);
            let top = self.y;
            for (i, (label, value)) in row.iter().enumerate() {
                let x = MARGIN + i as f32 * (tile_w + GAP);
                self.page().push(Op::Rect { x, y: top - TILE_H, w: tile_w, h: TILE_H, color: ZEBRA });
                self.page().push(Op::Rect { x, y: top - 3.0, w: tile_w, h: 3.0, color: accent });
                let inner = tile_w - 2.0 * 8.0;
                let value = clean(value).replace('\n', " ");
                let mut size: f32 = 16.0;
                while size > 8.0 && self.set.measure(FontId::Bold, &value, size) > inner {
                    size -= 0.5;
                }
                self.text(x + 8.0, top - 6.0, 24.0, size, FontId::Bold, primary, value);
                let label = self.wrap(FontId::Regular, label, 8.5, inner).into_iter().next().unwrap_or_default();
                self.text(x + 8.0, top - 31.0, 12.0, 8.5, FontId::Regular, muted, label);
            }
            self.y -= TILE_H + GAP;
        }
        self.y -= 4.0;
    }

    fn paragraph(&mut self, t: &str) {
        let color = self.brand.text;
        for line in self.wrap(FontId::Regular, t, BODY, CONTENT_W) {
            self.ensure(BODY_LH);
            let top = self.y;
            self.text(MARGIN, top, BODY_LH, BODY, FontId::Regular, color, line);
            self.y -= BODY_LH;
        }
        self.y -= 6.0;
    }

    fn key_values(&mut self, kv: &[(String, String)]) {
        let (muted, text) = (self.brand.muted, self.brand.text);
        let key_w = kv
            .iter()
            .map(|(k, _)| self.set.measure(FontId::Bold, &clean(k), BODY))
            .fold(0.0_f32, f32::max)
            .min(CONTENT_W * 0.45)
            + 2.0 * PAD_X;
        let val_w = CONTENT_W - key_w;
        let max_lines = ((CONTENT_TOP - CONTENT_BOTTOM - 2.0 * PAD_Y) / BODY_LH).floor() as usize;
        for (k, v) in kv {
            let mut kl = self.wrap(FontId::Bold, k, BODY, key_w - 2.0 * PAD_X);
            let mut vl = self.wrap(FontId::Regular, v, BODY, val_w - 2.0 * PAD_X);
            kl.truncate(max_lines);
            vl.truncate(max_lines);
            let h = kl.len().max(vl.len()) as f32 * BODY_LH + 2.0 * PAD_Y;
            self.ensure(h);
            let top = self.y - PAD_Y;
            for (i, line) in kl.into_iter().enumerate() {
                let t = top - i as f32 * BODY_LH;
                self.text(MARGIN + PAD_X, t, BODY_LH, BODY, FontId::Bold, muted, line);
            }
            for (i, line) in vl.into_iter().enumerate() {
                let t = top - i as f32 * BODY_LH;
                self.text(MARGIN + key_w + PAD_X, t, BODY_LH, BODY, FontId::Regular, text, line);
            }
            self.y -= h;
            let y = self.y;
            self.page().push(Op::Line { x1: MARGIN, y1: y, x2: PAGE_W - MARGIN, y2: y, width: 0.5, color: RULE });
        }
        self.y -= 8.0;
    }

    /// Column widths filling the content width: proportional to each
    /// column's natural (one-line) width when everything fits; otherwise each
    /// column first gets its longest word (so words are not broken when
    /// avoidable) and the rest of the space goes by how much more it wants.
    fn column_widths(&self, columns: &[String], rows: &[Vec<String>], n: usize) -> Vec<f32> {
        let mut natural = vec![2.0 * PAD_X + 12.0; n];
        let mut min = vec![2.0 * PAD_X + 12.0; n];
        let cells = columns
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, c)| (i, c, FontId::Bold))
            .chain(rows.iter().flat_map(|r| r.iter().take(n).enumerate().map(|(i, c)| (i, c, FontId::Regular))));
        for (i, c, font) in cells {
            let text = clean(c);
            let w = self.set.measure(font, &text, TABLE) + 2.0 * PAD_X;
            natural[i] = natural[i].max(w.min(CONTENT_W));
            // Longest word (unspaced CJK text may break anywhere: capped).
            let word = text
                .split_whitespace()
                .map(|word| self.set.measure(font, word, TABLE))
                .fold(0.0_f32, f32::max)
                .min(CONTENT_W / 4.0);
            min[i] = min[i].max(word + 2.0 * PAD_X);
        }
        let sum: f32 = natural.iter().sum();
        let min_sum: f32 = min.iter().sum();
        if sum <= CONTENT_W || min_sum >= CONTENT_W {
            let base = if sum <= CONTENT_W { &natural } else { &min };
            let total: f32 = base.iter().sum();
            return base.iter().map(|w| w * CONTENT_W / total).collect();
        }
        let want: Vec<f32> = natural.iter().zip(&min).map(|(n, m)| (n - m).max(0.0)).collect();
        let want_sum: f32 = want.iter().sum::<f32>().max(f32::EPSILON);
        let spare = CONTENT_W - min_sum;
        min.iter().zip(&want).map(|(m, w)| m + spare * w / want_sum).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        cells: &[Vec<String>],
        widths: &[f32],
        align_right: &[bool],
        font: FontId,
        color: [u8; 3],
        fill: Option<[u8; 3]>,
        h: f32,
    ) {
        let top = self.y;
        if let Some(fill) = fill {
            self.page().push(Op::Rect { x: MARGIN, y: top - h, w: CONTENT_W, h, color: fill });
        }
        let mut x = MARGIN;
        for (i, lines) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0.0);
            let right = align_right.get(i).copied().unwrap_or(false);
            for (j, line) in lines.iter().enumerate() {
                let lx = if right { x + w - PAD_X - self.set.measure(font, line, TABLE) } else { x + PAD_X };
                let t = top - PAD_Y - j as f32 * TABLE_LH;
                self.text(lx, t, TABLE_LH, TABLE, font, color, line.clone());
            }
            x += w;
        }
        self.y -= h;
        let y = self.y;
        self.page().push(Op::Line { x1: MARGIN, y1: y, x2: PAGE_W - MARGIN, y2: y, width: 0.5, color: RULE });
    }

    fn wrap_cells(&self, cells: &[String], widths: &[f32], font: FontId, max_lines: usize) -> (Vec<Vec<String>>, f32) {
        let wrapped: Vec<Vec<String>> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let text = cells.get(i).map_or("", String::as_str);
                let mut lines = self.wrap(font, text, TABLE, (w - 2.0 * PAD_X).max(1.0));
                lines.truncate(max_lines.max(1));
                lines
            })
            .collect();
        let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        (wrapped, n as f32 * TABLE_LH + 2.0 * PAD_Y)
    }

    fn table(&mut self, columns: &[String], rows: &[Vec<String>], align_right: &[bool]) {
        let n = rows.iter().map(Vec::len).max().unwrap_or(0).max(columns.len());
        if n == 0 {
            return;
        }
        let widths = self.column_widths(columns, rows, n);
        let (header, header_h) = self.wrap_cells(columns, &widths, FontId::Bold, 4);
        let max_lines = ((CONTENT_TOP - CONTENT_BOTTOM - header_h - 2.0 * PAD_Y) / TABLE_LH).floor() as usize;
        let (header_fill, text, muted) = (self.brand.secondary, self.brand.text, self.brand.muted);

        let first_h =
            rows.first().map_or(TABLE_LH + 2.0 * PAD_Y, |r| self.wrap_cells(r, &widths, FontId::Regular, max_lines).1);
        self.ensure(header_h + first_h);
        self.row(&header, &widths, align_right, FontId::Bold, WHITE, Some(header_fill), header_h);
        if rows.is_empty() {
            let cells = vec![vec!["No data".to_owned()]];
            self.row(&cells, &[CONTENT_W], &[], FontId::Regular, muted, None, TABLE_LH + 2.0 * PAD_Y);
        }
        for (i, r) in rows.iter().enumerate() {
            let (cells, h) = self.wrap_cells(r, &widths, FontId::Regular, max_lines);
            if self.ensure(h) {
                self.row(&header, &widths, align_right, FontId::Bold, WHITE, Some(header_fill), header_h);
            }
            let fill = (i % 2 == 1).then_some(ZEBRA);
            self.row(&cells, &widths, align_right, FontId::Regular, text, fill, h);
        }
        self.y -= 10.0;
    }

    fn footers(&mut self, footer: &str) {
        let total = self.pages.len();
        let muted = self.brand.muted;
        let footer = clean(footer).replace('\n', " ");
        for i in 0..total {
            let label = format!("Page {} of {}", i + 1, total);
            let label_w = self.set.measure(FontId::Regular, &label, 8.0);
            let mut text = footer.clone();
            let room = CONTENT_W - label_w - 12.0;
            while !text.is_empty() && self.set.measure(FontId::Regular, &text, 8.0) > room {
                text.pop();
            }
            let base = MARGIN - 24.0;
            let page = &mut self.pages[i];
            page.push(Op::Line {
                x1: MARGIN,
                y1: MARGIN - 10.0,
                x2: PAGE_W - MARGIN,
                y2: MARGIN - 10.0,
                width: 0.5,
                color: RULE,
            });
            if !text.is_empty() {
                page.push(Op::Text { x: MARGIN, y: base, size: 8.0, color: muted, font: FontId::Regular, text });
            }
            page.push(Op::Text {
                x: PAGE_W - MARGIN - label_w,
                y: base,
                size: 8.0,
                color: muted,
                font: FontId::Regular,
                text: label,
            });
        }
    }
}
