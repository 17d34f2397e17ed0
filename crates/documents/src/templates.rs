//! Report templates: one YAML file per report kind (`financial_statement.yaml`,
//! `sales_report.yaml`, ...) that maps data keys to blocks.
//!
//! ```yaml
//! title: Financial statement                  # used when the caller gives no title
//! subtitle: ["{{period_label}}", "Amounts in {{currency}}"]
//! footer: ["Confidential – internal use", "Generated {{generated_at}}"]
//! sections:
//!   - type: key_values
//!     heading: Summary
//!     items:
//!       - {key: revenue, label: Revenue, format: money}
//!   - type: table
//!     key: revenue_by_product
//!     heading: Revenue by product
//!     columns:
//!       - {key: name, label: Product}
//!       - {key: amount, label: Amount, format: money, total: true}
//!       - {key: amount, label: Share, format: share, total: true}
//! ```
//!
//! `subtitle` and `footer` are a string or a list of parts; a part is kept
//! only when all its `{{placeholders}}` have a value, and parts are joined
//! with " · ". Placeholders name data keys (dotted paths such as `{{a.b}}`
//! reach into objects) or the built-in `generated_at` (today, "5 March
//! 2026") and `template`. Section types: `heading`, `paragraph`, `markdown`,
//! `bullets`, `key_values`, `metrics`, `table` and `auto` (the generic
//! layout); formats: `text`, `label` (`closed_won` → "Closed won"),
//! `money`, `int`, `number`, `percent` (12.5 → "12.5%"), `ratio` (0.125 →
//! "12.5%"), `date` (2026-03-05 → "5 March 2026") and, in tables, `share`
//! (the row's part of the column total). Unknown keys are errors.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::builders::{auto_blocks, currency_code, format_amount, humanize, number, scalar};
use crate::{Block, DEFAULT_FOOTER, Report};

/// Errors loading or rendering templates. Messages name the file and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read PDF templates from {path}: {message}")]
    Read { path: String, message: String },
    #[error("PDF template {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("no PDF templates (*.yaml) in {path}")]
    Empty { path: String },
    #[error("unknown PDF template '{name}'; available: {}", available.join(", "))]
    Unknown { name: String, available: Vec<String> },
    #[error("the {template} template needs data.{key} ({message})")]
    MissingData { template: String, key: String, message: String },
}

/// The first line of a (multi-line, annotated) parser message, without "error: ".
pub(crate) fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Parts {
    One(String),
    Many(Vec<String>),
}

impl Parts {
    fn list(&self) -> Vec<&str> {
        match self {
            Parts::One(s) => vec![s.as_str()],
            Parts::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    title: String,
    subtitle: Option<Parts>,
    footer: Option<Parts>,
    sections: Vec<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Format {
    #[default]
    Text,
    Label,
    Money,
    Int,
    Number,
    Percent,
    Ratio,
    Date,
    Share,
}

impl Format {
    fn numeric(self) -> bool {
        matches!(self, Format::Money | Format::Int | Format::Number | Format::Percent | Format::Ratio | Format::Share)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Align {
    Left,
    Right,
}

/// One label/value row of `key_values` or tile of `metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Field {
    key: String,
    label: String,
    #[serde(default)]
    format: Format,
    /// Appended to the value (e.g. " h").
    suffix: Option<String>,
    /// Shown when the key is absent; without it the row is left out.
    missing: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Column {
    /// A key of each row object (dotted paths allowed; "." is the row itself).
    key: String,
    label: String,
    #[serde(default)]
    format: Format,
    /// Sum the column in a total row (`share` columns show 100.0%).
    #[serde(default)]
    total: bool,
    align: Option<Align>,
    suffix: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Section {
    Heading {
        text: String,
    },
    Paragraph {
        heading: Option<String>,
        key: Option<String>,
        text: Option<String>,
        #[serde(default)]
        required: bool,
    },
    Markdown {
        heading: Option<String>,
        key: String,
        #[serde(default)]
        required: bool,
    },
    Bullets {
        heading: Option<String>,
        key: String,
        /// Text of each item, with placeholders naming keys of the item.
        item: Option<String>,
        #[serde(default)]
        numbered: bool,
        #[serde(default)]
        required: bool,
    },
    KeyValues {
        heading: Option<String>,
        items: Vec<Field>,
    },
    Metrics {
        heading: Option<String>,
        items: Vec<Field>,
    },
    Table {
        heading: Option<String>,
        key: String,
        columns: Vec<Column>,
        total_label: Option<String>,
        #[serde(default)]
        required: bool,
    },
    Auto {
        heading: Option<String>,
        key: Option<String>,
        #[serde(default)]
        skip: Vec<String>,
    },
}

/// One parsed template.
#[derive(Debug, Clone)]
struct Template {
    file: TemplateFile,
}

/// The templates of a directory, by name (the file stem).
#[derive(Debug, Clone, Default)]
pub struct Templates {
    templates: BTreeMap<String, Template>,
}

/// Loads every `*.yaml` / `*.yml` file of `dir` (see [`Templates::load_dir`]).
pub fn load_dir(dir: &Path) -> Result<Templates, TemplateError> {
    Templates::load_dir(dir)
}

impl Templates {
    /// Loads every `*.yaml` / `*.yml` file of `dir`; the file stem is the
    /// template's name. Any invalid file fails the whole load, naming it.
    pub fn load_dir(dir: &Path) -> Result<Self, TemplateError> {
        let read_err = |path: &Path, e: std::io::Error| TemplateError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| read_err(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        let mut templates = BTreeMap::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
            let origin = path.display().to_string();
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            if templates.contains_key(&name) {
                return Err(TemplateError::Invalid {
                    path: origin,
                    message: format!("a second template named {name}"),
                });
            }
            templates.insert(name, Template::parse(&text, &origin)?);
        }
        if templates.is_empty() {
            return Err(TemplateError::Empty { path: dir.display().to_string() });
        }
        Ok(Self { templates })
    }

    /// Parses one template from YAML text and adds it as `name`; `origin`
    /// (a file name) is used in errors.
    pub fn add_yaml(&mut self, name: &str, yaml: &str, origin: &str) -> Result<(), TemplateError> {
        self.templates.insert(name.to_owned(), Template::parse(yaml, origin)?);
        Ok(())
    }

    /// Template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.templates.contains_key(name)
    }

    /// Lays out `data` with template `name`. `title` (when not blank)
    /// replaces the template's title; `generated_at` is today (UTC).
    pub fn render(&self, name: &str, data: &Value, title: Option<&str>) -> Result<Report, TemplateError> {
        self.render_with(name, data, title, &[])
    }

    /// As [`Templates::render`], with extra placeholder values (which win
    /// over data keys and the built-ins, e.g. `("generated_at", "5 March 2026")`).
    pub fn render_with(
        &self,
        name: &str,
        data: &Value,
        title: Option<&str>,
        vars: &[(&str, &str)],
    ) -> Result<Report, TemplateError> {
        let template = self.templates.get(name).ok_or_else(|| TemplateError::Unknown {
            name: name.to_owned(),
            available: self.templates.keys().cloned().collect(),
        })?;
        let today = chrono::Utc::now().format("%-d %B %Y").to_string();
        let builtins = [("generated_at", today.as_str()), ("template", name)];
        let ctx = Ctx { name, data, vars, builtins: &builtins };
        template.render(&ctx, title)
    }
}

struct Ctx<'a> {
    name: &'a str,
    data: &'a Value,
    /// The caller's values (win over everything).
    vars: &'a [(&'a str, &'a str)],
    /// `generated_at` and `template` (used when the data has no such key).
    builtins: &'a [(&'a str, &'a str)],
}

impl Ctx<'_> {
    /// The value of a placeholder: a caller variable, a key of the item
    /// (bullets), a data key, a built-in.
    fn placeholder(&self, item: Option<&Value>, key: &str) -> Option<String> {
        let find = |list: &[(&str, &str)]| list.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned());
        if let Some(v) = find(self.vars) {
            return Some(v);
        }
        item.and_then(|i| lookup(i, key))
            .or_else(|| lookup(self.data, key))
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(", "),
                other => scalar(other),
            })
            .filter(|s| !s.trim().is_empty())
            .or_else(|| find(self.builtins))
    }

    /// `pattern` with its placeholders filled, or None when one has no value.
    fn fill(&self, pattern: &str, item: Option<&Value>) -> Option<String> {
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(start) = rest.find("{{") {
            out.push_str(rest.get(..start).unwrap_or_default());
            let after = rest.get(start + 2..).unwrap_or_default();
            let end = after.find("}}")?;
            out.push_str(&self.placeholder(item, after.get(..end).unwrap_or_default().trim())?);
            rest = after.get(end + 2..).unwrap_or_default();
        }
        out.push_str(rest);
        Some(out)
    }

    /// The parts with values, joined with " · ".
    fn parts(&self, parts: &Parts) -> Option<String> {
        let kept: Vec<String> =
            parts.list().into_iter().filter_map(|p| self.fill(p, None)).filter(|p| !p.trim().is_empty()).collect();
        (!kept.is_empty()).then(|| kept.join(" \u{00B7} "))
    }

    fn missing(&self, key: &str, message: &str) -> TemplateError {
        TemplateError::MissingData { template: self.name.to_owned(), key: key.to_owned(), message: message.to_owned() }
    }
}

/// `data` at a dotted path (`"a.b.0"`); `"."` is `data` itself.
fn lookup<'v>(data: &'v Value, path: &str) -> Option<&'v Value> {
    if path == "." {
        return Some(data);
    }
    path.split('.').try_fold(data, |v, part| match v {
        Value::Object(o) => o.get(part),
        Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// Placeholders are `{{name}}` with a name of letters, digits, `_` and `.`.
fn check_placeholders(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = rest.get(start + 2..).unwrap_or_default();
        let end = after.find("}}").ok_or_else(|| format!("'{text}' has an unclosed {{{{"))?;
        let name = after.get(..end).unwrap_or_default().trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            return Err(format!("'{text}' has a bad placeholder {{{{{name}}}}}"));
        }
        rest = after.get(end + 2..).unwrap_or_default();
    }
    Ok(())
}

impl Section {
    fn kind(&self) -> &'static str {
        match self {
            Section::Heading { .. } => "heading",
            Section::Paragraph { .. } => "paragraph",
            Section::Markdown { .. } => "markdown",
            Section::Bullets { .. } => "bullets",
            Section::KeyValues { .. } => "key_values",
            Section::Metrics { .. } => "metrics",
            Section::Table { .. } => "table",
            Section::Auto { .. } => "auto",
        }
    }

    fn heading(&self) -> Option<&str> {
        match self {
            Section::Heading { .. } => None,
            Section::Paragraph { heading, .. }
            | Section::Markdown { heading, .. }
            | Section::Bullets { heading, .. }
            | Section::KeyValues { heading, .. }
            | Section::Metrics { heading, .. }
            | Section::Table { heading, .. }
            | Section::Auto { heading, .. } => heading.as_deref(),
        }
    }

    fn validate(&self) -> Result<(), String> {
        let non_empty = |what: &str, s: &str| {
            if s.trim().is_empty() { Err(format!("{what} is empty")) } else { Ok(()) }
        };
        if let Some(h) = self.heading() {
            check_placeholders(h).map_err(|e| format!("heading: {e}"))?;
        }
        match self {
            Section::Heading { text } => {
                non_empty("text", text)?;
                check_placeholders(text)
            }
            Section::Paragraph { key, text, .. } => match (key, text) {
                (Some(k), None) => non_empty("key", k),
                (None, Some(t)) => check_placeholders(t),
                _ => Err("give either key or text".to_owned()),
            },
            Section::Markdown { key, .. } => non_empty("key", key),
            Section::Bullets { key, item, .. } => {
                non_empty("key", key)?;
                item.as_deref().map_or(Ok(()), check_placeholders)
            }
            Section::KeyValues { items, .. } | Section::Metrics { items, .. } => {
                if items.is_empty() {
                    return Err("items is empty".to_owned());
                }
                for (i, f) in items.iter().enumerate() {
                    non_empty(&format!("items[{i}].key"), &f.key)?;
                    if f.format == Format::Share {
                        return Err(format!("items[{i}] ({}): format share only works in tables", f.key));
                    }
                }
                Ok(())
            }
            Section::Table { key, columns, .. } => {
                non_empty("key", key)?;
                if columns.is_empty() {
                    return Err("columns is empty".to_owned());
                }
                for (i, c) in columns.iter().enumerate() {
                    non_empty(&format!("columns[{i}].key"), &c.key)?;
                    if c.total && !matches!(c.format, Format::Money | Format::Int | Format::Number | Format::Share) {
                        return Err(format!(
                            "columns[{i}] ({}): total needs format money, int, number or share",
                            c.key
                        ));
                    }
                }
                Ok(())
            }
            Section::Auto { key, .. } => key.as_deref().map_or(Ok(()), |k| non_empty("key", k)),
        }
    }
}

impl Template {
    fn parse(yaml: &str, origin: &str) -> Result<Self, TemplateError> {
        let invalid = |message: String| TemplateError::Invalid { path: origin.to_owned(), message };
        let file: TemplateFile = serde_saphyr::from_str(yaml).map_err(|e| invalid(first_line(&e.to_string())))?;
        check_placeholders(&file.title).map_err(|e| invalid(format!("title: {e}")))?;
        for (what, parts) in [("subtitle", &file.subtitle), ("footer", &file.footer)] {
            for p in parts.iter().flat_map(Parts::list) {
                check_placeholders(p).map_err(|e| invalid(format!("{what}: {e}")))?;
            }
        }
        if file.sections.is_empty() {
            return Err(invalid("sections is empty".to_owned()));
        }
        for (i, s) in file.sections.iter().enumerate() {
            s.validate().map_err(|e| invalid(format!("sections[{i}] ({}): {e}", s.kind())))?;
        }
        Ok(Self { file })
    }

    fn render(&self, ctx: &Ctx<'_>, title: Option<&str>) -> Result<Report, TemplateError> {
        let given = title.map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned);
        // Else a text document's own "# " title line, else the template's title.
        let title = given.or_else(|| self.leading_heading(ctx)).unwrap_or_else(|| {
            let filled = ctx.fill(&self.file.title, None).unwrap_or_else(|| strip_placeholders(&self.file.title));
            let t = filled.trim().trim_end_matches([' ', '-', '\u{2013}', '\u{00B7}', ':']).trim().to_owned();
            if t.is_empty() { humanize(ctx.name) } else { t }
        });
        let subtitle = self.file.subtitle.as_ref().and_then(|p| ctx.parts(p));
        let footer = match &self.file.footer {
            Some(p) => ctx.parts(p).unwrap_or_default(),
            None => DEFAULT_FOOTER.to_owned(),
        };
        let mut blocks = Vec::new();
        for section in &self.file.sections {
            let body = section_blocks(section, ctx, &title)?;
            if body.is_empty() {
                continue;
            }
            if let Some(h) = section.heading().and_then(|h| ctx.fill(h, None)).filter(|h| !h.trim().is_empty()) {
                blocks.push(Block::Heading(h));
            }
            blocks.extend(body);
        }
        Ok(Report { title, subtitle, blocks, footer, logo: None })
    }
}

impl Template {
    /// The first line of the first section, when that is Markdown-like text
    /// starting with a `# ` heading.
    fn leading_heading(&self, ctx: &Ctx<'_>) -> Option<String> {
        let Some(Section::Markdown { key, .. }) = self.file.sections.first() else { return None };
        let text = lookup(ctx.data, key)?.as_str()?;
        let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
        match heading_level(first) {
            Some((1, h)) if !h.is_empty() => Some(inline(h)),
            _ => None,
        }
    }
}

fn strip_placeholders(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        rest = after.find("}}").and_then(|e| after.get(e + 2..)).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// The data at `key`, or an error when `required` and it is absent or null.
fn get<'v>(ctx: &Ctx<'v>, key: &str, required: bool, what: &str) -> Result<Option<&'v Value>, TemplateError> {
    match lookup(ctx.data, key).filter(|v| !v.is_null()) {
        Some(v) => Ok(Some(v)),
        None if required => Err(ctx.missing(key, what)),
        None => Ok(None),
    }
}

fn section_blocks(section: &Section, ctx: &Ctx<'_>, title: &str) -> Result<Vec<Block>, TemplateError> {
    Ok(match section {
        Section::Heading { text } => ctx.fill(text, None).map(Block::Heading).into_iter().collect(),
        Section::Paragraph { key: Some(key), required, .. } => match get(ctx, key, *required, "text")? {
            Some(v) => {
                let text = scalar(v);
                if text.trim().is_empty() { Vec::new() } else { vec![Block::Paragraph(text)] }
            }
            None => Vec::new(),
        },
        Section::Paragraph { text, .. } => {
            text.as_deref().and_then(|t| ctx.fill(t, None)).map(Block::Paragraph).into_iter().collect()
        }
        Section::Markdown { key, required, .. } => match get(ctx, key, *required, "Markdown-like text")? {
            Some(Value::String(s)) => markdown_blocks(s, title),
            Some(Value::Array(lines)) => {
                markdown_blocks(&lines.iter().map(scalar).collect::<Vec<_>>().join("\n"), title)
            }
            Some(other) => markdown_blocks(&scalar(other), title),
            None => Vec::new(),
        },
        Section::Bullets { key, item, numbered, required, .. } => {
            let items: Vec<String> = match get(ctx, key, *required, "a list")? {
                Some(Value::Array(a)) => a.iter().filter_map(|v| bullet_text(ctx, v, item.as_deref())).collect(),
                Some(v) => bullet_text(ctx, v, item.as_deref()).into_iter().collect(),
                None => Vec::new(),
            };
            if items.is_empty() { Vec::new() } else { vec![Block::List { ordered: *numbered, items }] }
        }
        Section::KeyValues { items, .. } => {
            let kv = fields(ctx, items);
            if kv.is_empty() { Vec::new() } else { vec![Block::KeyValues(kv)] }
        }
        Section::Metrics { items, .. } => {
            let kv = fields(ctx, items);
            if kv.is_empty() { Vec::new() } else { vec![Block::Metrics(kv)] }
        }
        Section::Table { key, columns, total_label, required, .. } => {
            match get(ctx, key, *required, "a list of rows")? {
                Some(Value::Array(rows)) => vec![table(rows, columns, total_label.as_deref())],
                Some(_) if *required => return Err(ctx.missing(key, "a list of rows")),
                _ => Vec::new(),
            }
        }
        Section::Auto { key, skip, .. } => {
            let data = match key {
                Some(k) => lookup(ctx.data, k),
                None => Some(ctx.data),
            };
            data.filter(|v| !v.is_null()).map(|v| auto_blocks(v, skip)).unwrap_or_default()
        }
    })
}

fn bullet_text(ctx: &Ctx<'_>, v: &Value, pattern: Option<&str>) -> Option<String> {
    let text = match (pattern, v) {
        (Some(p), _) => ctx.fill(p, Some(v))?,
        (None, Value::Object(o)) => o
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{}: {}", humanize(k), scalar(v)))
            .collect::<Vec<_>>()
            .join(", "),
        (None, other) => scalar(other),
    };
    (!text.trim().is_empty()).then_some(text)
}

fn fields(ctx: &Ctx<'_>, items: &[Field]) -> Vec<(String, String)> {
    items
        .iter()
        .filter_map(|f| match lookup(ctx.data, &f.key) {
            Some(v) => Some((f.label.clone(), with_suffix(format_value(v, f.format), v, f.suffix.as_deref()))),
            None => f.missing.clone().map(|m| (f.label.clone(), m)),
        })
        .collect()
}

fn with_suffix(text: String, v: &Value, suffix: Option<&str>) -> String {
    match suffix {
        Some(s) if !v.is_null() => format!("{text}{s}"),
        _ => text,
    }
}

const DASH: &str = "\u{2013}";

/// `1234567.0` → `"1,234,567"`.
fn group_int(x: f64) -> String {
    let s = format_amount(x.round());
    s.strip_suffix(".00").map_or_else(|| s.clone(), str::to_owned)
}

/// Up to two decimals, trailing zeros dropped: `5.30` → `"5.3"`.
fn group_number(x: f64) -> String {
    let s = format_amount(x);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

fn format_value(v: &Value, format: Format) -> String {
    if v.is_null() {
        return DASH.to_owned();
    }
    let plain = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', "").parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    };
    match format {
        Format::Text | Format::Share => scalar(v),
        Format::Label => match v {
            Value::String(s) => humanize(s.trim()),
            other => scalar(other),
        },
        Format::Money => plain(v).map_or_else(|| scalar(v), format_amount),
        Format::Int => plain(v).map_or_else(|| scalar(v), group_int),
        Format::Number => plain(v).map_or_else(|| scalar(v), group_number),
        Format::Percent => plain(v).map_or_else(|| scalar(v), |x| format!("{x:.1}%")),
        Format::Ratio => plain(v).map_or_else(|| scalar(v), |x| format!("{:.1}%", x * 100.0)),
        Format::Date => match v {
            Value::String(s) => s
                .get(..10)
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map_or_else(|| s.clone(), |d| d.format("%-d %B %Y").to_string()),
            other => scalar(other),
        },
    }
}

fn table(rows: &[Value], columns: &[Column], total_label: Option<&str>) -> Block {
    let cell_value = |row: &Value, c: &Column| -> Option<Value> {
        match row {
            Value::Object(_) => lookup(row, &c.key).cloned(),
            other if c.key == "." => Some(other.clone()),
            _ => None,
        }
    };
    // Column sums (for totals and shares).
    let sums: Vec<f64> =
        columns.iter().map(|c| rows.iter().filter_map(|r| cell_value(r, c)).filter_map(|v| number(&v)).sum()).collect();
    let mut out: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if !row.is_object() && c.key != "." {
                        // A list of plain values: the value goes in the first column.
                        return if i == 0 { scalar(row) } else { String::new() };
                    }
                    match cell_value(row, c) {
                        None => String::new(),
                        Some(v) if c.format == Format::Share => match number(&v) {
                            Some(x) if sums[i].abs() > f64::EPSILON => format!("{:.1}%", x / sums[i] * 100.0),
                            _ => String::new(),
                        },
                        Some(v) => with_suffix(format_value(&v, c.format), &v, c.suffix.as_deref()),
                    }
                })
                .collect()
        })
        .collect();
    if !rows.is_empty() && columns.iter().any(|c| c.total) {
        let mut total: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if !c.total {
                    return String::new();
                }
                let sum = sums[i];
                let text = match c.format {
                    Format::Share if sum.abs() > f64::EPSILON => "100.0%".to_owned(),
                    Format::Share => String::new(),
                    Format::Int => group_int(sum),
                    Format::Number => group_number(sum),
                    _ => money_total(rows.iter().filter_map(|r| cell_value(r, c)), sum),
                };
                with_suffix(text, &Value::Bool(true), c.suffix.as_deref())
            })
            .collect();
        if let Some(first) = total.first_mut().filter(|t| t.is_empty()) {
            *first = total_label.unwrap_or("Total").to_owned();
        }
        out.push(total);
    }
    let align_right = columns
        .iter()
        .map(|c| match c.align {
            Some(a) => a == Align::Right,
            None => c.format.numeric(),
        })
        .collect();
    Block::Table { columns: columns.iter().map(|c| c.label.clone()).collect(), rows: out, align_right }
}

/// A money total, written with the column's currency code when every
/// figure carries the same one (`"SGD 1,234.50"`).
fn money_total(values: impl Iterator<Item = Value>, sum: f64) -> String {
    let mut code: Option<Option<String>> = None;
    for v in values.filter(|v| !v.is_null()) {
        let c = v.as_str().and_then(currency_code).map(str::to_owned);
        match &code {
            None => code = Some(c),
            Some(prev) if *prev != c => return format_amount(sum),
            _ => {}
        }
    }
    match code.flatten() {
        Some(c) => {
            let sign = if sum < 0.0 && format_amount(sum).starts_with('-') { "-" } else { "" };
            format!("{sign}{c} {}", format_amount(sum.abs()))
        }
        None => format_amount(sum),
    }
}

/// Inline Markdown reduced to plain text: emphasis markers and code ticks
/// dropped, `[text](url)` as "text (url)".
fn inline(s: &str) -> String {
    let mut out = s.replace("**", "").replace("__", "").replace('`', "");
    while let Some(open) = out.find('[') {
        let Some(mid) = out.get(open..).and_then(|r| r.find("](")).map(|m| open + m) else { break };
        let Some(close) = out.get(mid..).and_then(|r| r.find(')')).map(|c| mid + c) else { break };
        let text = out.get(open + 1..mid).unwrap_or_default().to_owned();
        let url = out.get(mid + 2..close).unwrap_or_default().to_owned();
        let replacement = if url.is_empty() || url == text { text } else { format!("{text} ({url})") };
        out.replace_range(open..=close, &replacement);
    }
    out
}

fn heading_level(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|c| *c == '#').count();
    let rest = line.get(level..)?;
    ((1..=6).contains(&level) && rest.starts_with(' ')).then(|| (level, rest.trim().trim_end_matches('#').trim()))
}

fn bullet_item(line: &str) -> Option<&str> {
    ["- ", "* ", "+ "].iter().find_map(|m| line.strip_prefix(m)).map(str::trim)
}

fn numbered_item(line: &str) -> Option<&str> {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 || digits > 3 {
        return None;
    }
    let rest = line.get(digits..)?;
    rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")).map(str::trim)
}

fn table_cells(line: &str) -> Vec<String> {
    let t = line.trim();
    let t = t.strip_prefix('|').unwrap_or(t);
    let t = t.strip_suffix('|').unwrap_or(t);
    t.split('|').map(|c| inline(c.trim())).collect()
}

fn is_rule_row(cells: &[String]) -> bool {
    !cells.is_empty()
        && cells.iter().all(|c| {
            let c = c.trim();
            !c.is_empty() && c.trim_matches(':').chars().all(|ch| ch == '-') && c.contains('-')
        })
}

/// Markdown-like text as blocks: `#`/`##` headings, `###`+ subheadings,
/// `- `/`* ` bullets, `1. ` numbered items, `|` pipe tables, fenced code
/// and paragraphs (lines joined; a blank line ends one). A first `# `
/// heading equal to the report title is dropped (the title shows already).
pub(crate) fn markdown_blocks(text: &str, title: &str) -> Vec<Block> {
    #[derive(Default)]
    struct State {
        blocks: Vec<Block>,
        para: Vec<String>,
        list: Option<(bool, Vec<String>)>,
        table: Vec<String>,
    }
    impl State {
        fn flush(&mut self) {
            if !self.para.is_empty() {
                self.blocks.push(Block::Paragraph(std::mem::take(&mut self.para).join(" ")));
            }
            if let Some((ordered, items)) = self.list.take() {
                self.blocks.push(Block::List { ordered, items });
            }
            if !self.table.is_empty() {
                let lines = std::mem::take(&mut self.table);
                let mut rows: Vec<Vec<String>> = lines.iter().map(|l| table_cells(l)).collect();
                let header = if rows.is_empty() { Vec::new() } else { rows.remove(0) };
                let mut align_right = vec![false; header.len()];
                if rows.first().is_some_and(|r| is_rule_row(r)) {
                    let rule = rows.remove(0);
                    align_right = rule.iter().map(|c| c.trim().ends_with(':') && !c.trim().starts_with(':')).collect();
                }
                self.blocks.push(Block::Table { columns: header, rows, align_right });
            }
        }
    }
    let mut st = State::default();
    let mut code: Option<Vec<String>> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let t = line.trim();
        if let Some(lines) = &mut code {
            if t.starts_with("```") {
                let body = std::mem::take(lines).join("\n");
                code = None;
                if !body.trim().is_empty() {
                    st.blocks.push(Block::Paragraph(body));
                }
            } else {
                lines.push(line.to_owned());
            }
            continue;
        }
        if t.starts_with("```") {
            st.flush();
            code = Some(Vec::new());
            continue;
        }
        if t.is_empty() || t == "---" || t == "***" {
            st.flush();
            continue;
        }
        if t.starts_with('|') {
            if st.table.is_empty() {
                st.flush();
            }
            st.table.push(t.to_owned());
            continue;
        }
        if !st.table.is_empty() {
            st.flush();
        }
        if let Some((level, h)) = heading_level(t) {
            st.flush();
            let first = st.blocks.is_empty();
            if first && level == 1 && inline(h).trim().eq_ignore_ascii_case(title.trim()) {
                continue;
            }
            st.blocks.push(if level <= 2 { Block::Heading(inline(h)) } else { Block::Subheading(inline(h)) });
            continue;
        }
        let item = bullet_item(t).map(|i| (false, i)).or_else(|| numbered_item(t).map(|i| (true, i)));
        if let Some((ordered, item)) = item {
            if !st.para.is_empty() || st.list.as_ref().is_some_and(|(o, _)| *o != ordered) {
                st.flush();
            }
            st.list.get_or_insert_with(|| (ordered, Vec::new())).1.push(inline(item));
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        match &mut st.list {
            // An indented line continues the last item.
            Some((_, items)) if indented => {
                if let Some(last) = items.last_mut() {
                    last.push(' ');
                    last.push_str(&inline(t));
                }
            }
            _ => {
                if st.list.is_some() {
                    st.flush();
                }
                st.para.push(inline(t.trim_start_matches('>').trim()));
            }
        }
    }
    if let Some(lines) = code.filter(|l| !l.is_empty()) {
        st.blocks.push(Block::Paragraph(lines.join("\n")));
    }
    st.flush();
    st.blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markdown_like_text_becomes_blocks() {
        let md = "# Playbook\n\nIntro line one\nline two.\n\n## Steps\n- First **step**\n  continued\n- Second\n\n1. One\n2. Two\n\n### Detail\n| A | B |\n|---|--:|\n| x | 1 |\n\nSee [site](https://x.test).";
        let blocks = markdown_blocks(md, "Playbook");
        assert_eq!(
            blocks,
            vec![
                Block::Paragraph("Intro line one line two.".into()),
                Block::Heading("Steps".into()),
                Block::List { ordered: false, items: vec!["First step continued".into(), "Second".into()] },
                Block::List { ordered: true, items: vec!["One".into(), "Two".into()] },
                Block::Subheading("Detail".into()),
                Block::Table {
                    columns: vec!["A".into(), "B".into()],
                    rows: vec![vec!["x".into(), "1".into()]],
                    align_right: vec![false, true]
                },
                Block::Paragraph("See site (https://x.test).".into()),
            ]
        );
    }

    #[test]
    fn formats() {
        assert_eq!(format_value(&json!(1234.5), Format::Money), "1,234.50");
        assert_eq!(format_value(&json!("SGD 1,234.50"), Format::Money), "SGD 1,234.50");
        assert_eq!(format_value(&json!(48213), Format::Int), "48,213");
        assert_eq!(format_value(&json!(5.30), Format::Number), "5.3");
        assert_eq!(format_value(&json!(0.125), Format::Ratio), "12.5%");
        assert_eq!(format_value(&json!(12.5), Format::Percent), "12.5%");
        assert_eq!(format_value(&json!("33.3%"), Format::Percent), "33.3%");
        assert_eq!(format_value(&json!("closed_won"), Format::Label), "Closed won");
        assert_eq!(format_value(&json!("2026-03-05"), Format::Date), "5 March 2026");
        assert_eq!(format_value(&Value::Null, Format::Money), DASH);
        assert_eq!(money_total([json!("SGD 1.50"), json!("SGD 2.00")].into_iter(), 3.5), "SGD 3.50");
        assert_eq!(money_total([json!(1.5), json!("SGD 2.00")].into_iter(), 3.5), "3.50");
    }

    #[test]
    fn placeholders() {
        assert!(check_placeholders("a {{b.c}} d").is_ok());
        assert!(check_placeholders("a {{b").is_err());
        assert!(check_placeholders("a {{b c}}").is_err());
        let data = json!({"period_label": "March 2026", "n": {"x": 3}});
        let builtins = [("generated_at", "builtin")];
        let vars = [("generated_at", "today")];
        let ctx = Ctx { name: "t", data: &data, vars: &vars, builtins: &builtins };
        assert_eq!(ctx.fill("{{period_label}} / {{n.x}} / {{generated_at}}", None).unwrap(), "March 2026 / 3 / today");
        assert_eq!(ctx.fill("{{missing}}", None), None);
        let ctx = Ctx { name: "t", data: &data, vars: &[], builtins: &builtins };
        assert_eq!(ctx.fill("{{generated_at}}", None).unwrap(), "builtin");
    }
}
