//! Exports that become the user's files: CSV tables (for spreadsheets) with formula
//! injection neutralised.

use domain::Permission;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Access, ArtifactRef, ToolContext, ToolError, ToolOutput, ToolRegistry, TypedTool};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(CsvExport);
}

/// Most rows one export writes.
const MAX_ROWS: usize = 100_000;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CsvInput {
    /// Becomes the file name.
    pub title: String,
    /// The rows: arrays of values, or objects (their keys become the columns).
    pub rows: Vec<Value>,
    /// Column names for array rows.
    pub columns: Option<Vec<String>>,
}

/// One CSV field: quoted when needed; a leading `=`, `+`, `-`, `@`, tab or CR on text is
/// prefixed with `'` so spreadsheets do not run it as a formula.
fn field(v: &Value) -> String {
    let (text, is_text) = match v {
        Value::Null => (String::new(), false),
        Value::String(s) => (s.clone(), true),
        Value::Number(n) => (n.to_string(), false),
        Value::Bool(b) => (b.to_string(), false),
        other => (other.to_string(), true),
    };
    let text = if is_text && text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

fn line(values: impl IntoIterator<Item = Value>) -> String {
    values.into_iter().map(|v| field(&v)).collect::<Vec<_>>().join(",")
}

/// A file name from a title: letters, digits, `-` and `_`, at most 80 characters.
pub(crate) fn file_stem(title: &str) -> String {
    let mut out = String::new();
    for c in title.trim().chars() {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out: String = out.trim_matches('_').chars().take(80).collect();
    if out.is_empty() { "export".into() } else { out }
}

pub fn to_csv(rows: &[Value], columns: Option<&[String]>) -> Result<String, ToolError> {
    let mut out = String::new();
    let object_keys: Option<Vec<String>> =
        rows.first().and_then(|r| r.as_object()).map(|o| o.keys().cloned().collect());
    let header: Option<Vec<String>> = columns.map(<[String]>::to_vec).or(object_keys.clone());
    if let Some(h) = &header {
        out.push_str(&line(h.iter().map(|c| Value::String(c.clone()))));
        out.push_str("\r\n");
    }
    for r in rows.iter().take(MAX_ROWS) {
        let values: Vec<Value> = match r {
            Value::Array(a) => a.clone(),
            Value::Object(o) => match &object_keys {
                Some(keys) => keys.iter().map(|k| o.get(k).cloned().unwrap_or(Value::Null)).collect(),
                None => o.values().cloned().collect(),
            },
            other => vec![other.clone()],
        };
        out.push_str(&line(values));
        out.push_str("\r\n");
    }
    Ok(out)
}

pub struct CsvExport;

#[async_trait::async_trait]
impl TypedTool for CsvExport {
    type Input = CsvInput;
    const NAME: &'static str = "csv_export";
    const DESCRIPTION: &'static str = "Save a table as a CSV file the user can download (it appears in the \
        answer's artifacts).";
    const ACCESS: Access = Access::AnyOf(&[Permission::DocumentsGenerate]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Writing the CSV file…";

    async fn run(&self, ctx: &ToolContext, input: CsvInput) -> Result<ToolOutput, ToolError> {
        if input.rows.len() > MAX_ROWS {
            return Err(ToolError::InvalidInput(format!("at most {MAX_ROWS} rows per export")));
        }
        let csv = to_csv(&input.rows, input.columns.as_deref())?;
        let name = format!("{}.csv", file_stem(&title(&input.title)?));
        file_output(ctx, &name, "csv", "text/csv", csv.as_bytes(), json!({"rows": input.rows.len()})).await
    }
}

/// A document title: trimmed, 1 to 200 characters.
pub(crate) fn title(raw: &str) -> Result<String, ToolError> {
    let t = raw.trim().to_string();
    if t.is_empty() || t.chars().count() > 200 {
        return Err(ToolError::InvalidInput("the title must be 1 to 200 characters".into()));
    }
    Ok(t)
}

/// Saves a generated file and answers with it: `{artifact_id, name, size_bytes,
/// download_url}` plus `extra`, and the artifact for the chat response.
pub(crate) async fn file_output(
    ctx: &ToolContext,
    name: &str,
    kind: &str,
    mime: &str,
    bytes: &[u8],
    extra: Value,
) -> Result<ToolOutput, ToolError> {
    let artifact = save(ctx, name, kind, mime, bytes).await?;
    let mut value = json!({
        "artifact_id": artifact.id, "name": artifact.name, "size_bytes": bytes.len(),
        "download_url": artifact.download_url,
    });
    if let (Value::Object(v), Value::Object(e)) = (&mut value, extra) {
        v.extend(e);
    }
    Ok(ToolOutput { value, artifacts: vec![artifact] })
}

/// Stores generated bytes as the caller's artifact (file first, then the row; a failed row
/// removes the file).
pub(crate) async fn save(
    ctx: &ToolContext,
    name: &str,
    kind: &str,
    mime: &str,
    bytes: &[u8],
) -> Result<ArtifactRef, ToolError> {
    let store = &ctx.integrations.storage;
    let key = files::ArtifactStorage::new_key(kind);
    let size = store.put_bytes(bytes, &key).await.map_err(|e| {
        tracing::error!(error = %e, "could not store a generated file");
        ToolError::Failed("the file could not be stored".into())
    })?;
    let id = Uuid::now_v7();
    let row = store::artifacts::insert(
        &ctx.db,
        store::artifacts::NewArtifact {
            id,
            user_id: ctx.principal.user_id,
            session_id: ctx.session_id,
            kind: kind.into(),
            name: name.into(),
            path: key.clone(),
            size_bytes: size as i64,
            content_type: mime.into(),
            source: "generated".into(),
            category: None,
        },
    )
    .await;
    if let Err(e) = row {
        let _ = store.delete(&key).await;
        return Err(e.into());
    }
    Ok(ArtifactRef { id, kind: kind.into(), name: name.into(), download_url: format!("/files/{id}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        let rows = vec![json!(["a,b", "say \"hi\"", 3.5, null, "=HYPERLINK(\"x\")", "-5 apples"])];
        let csv = to_csv(&rows, Some(&["x".into(), "y".into()])).unwrap();
        assert_eq!(csv, "x,y\r\n\"a,b\",\"say \"\"hi\"\"\",3.5,,\"'=HYPERLINK(\"\"x\"\")\",'-5 apples\r\n");
        let objects = vec![json!({"name": "A", "amount": 1}), json!({"name": "B"})];
        assert_eq!(to_csv(&objects, None).unwrap(), "amount,name\r\n1,A\r\n,B\r\n");
        assert_eq!(to_csv(&[json!([-3])], None).unwrap(), "-3\r\n");
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("revenue_by_month Q3 2026"), "revenue_by_month_Q3_2026");
        assert_eq!(file_stem("../../etc/passwd"), "etc_passwd");
        assert_eq!(file_stem("  "), "export");
    }
}
