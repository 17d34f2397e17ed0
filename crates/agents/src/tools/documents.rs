//! `pdf_generator`: branded PDF reports (the financial statement layout for finance data, a
//! generic layout otherwise) that become the caller's files.

use domain::Permission;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::exports::{file_stem, save};
use super::{Access, ToolContext, ToolError, ToolOutput, ToolRegistry, TypedTool};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(PdfGenerator);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PdfInput {
    /// financial_statement (for finance_summary output) or report (any data).
    pub template: Option<String>,
    pub title: String,
    /// The data to lay out: an object whose values are figures, text or lists of rows.
    pub data: Value,
}

pub struct PdfGenerator;

#[async_trait::async_trait]
impl TypedTool for PdfGenerator {
    type Input = PdfInput;
    const NAME: &'static str = "pdf_generator";
    const DESCRIPTION: &'static str = "Make a branded PDF report from data (the financial statement layout for \
        finance_summary results; tables for lists). The PDF appears in the answer's artifacts.";
    const ACCESS: Access = Access::AnyOf(&[Permission::DocumentsGenerate]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Generating the PDF…";

    async fn run(&self, ctx: &ToolContext, input: PdfInput) -> Result<ToolOutput, ToolError> {
        let title = input.title.trim().to_string();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(ToolError::InvalidInput("the title must be 1 to 200 characters".into()));
        }
        if !input.data.is_object() {
            return Err(ToolError::InvalidInput("data must be an object".into()));
        }
        let template = input.template.unwrap_or_else(|| "report".into());
        let report = match template.trim() {
            "financial_statement" => documents::financial_statement(&input.data, &title),
            _ => documents::generic_report(&input.data, &title),
        };
        let bytes = tokio::task::spawn_blocking(move || {
            documents::render_pdf(&report, &documents::Brand::mezzofy(), &documents::Fonts::debian_default())
        })
        .await
        .map_err(|e| ToolError::Failed(format!("PDF rendering stopped: {e}")))?
        .map_err(|e| {
            tracing::error!(error = %e, "PDF rendering failed");
            ToolError::Failed(format!("the PDF could not be made: {e}"))
        })?;
        let name = format!("{}.pdf", file_stem(&title));
        let artifact = save(ctx, &name, "pdf", "application/pdf", &bytes).await?;
        let mut out = ToolOutput::json(json!({
            "artifact_id": artifact.id, "name": artifact.name, "size_bytes": bytes.len(),
            "download_url": artifact.download_url,
        }))?;
        out.artifacts.push(artifact);
        Ok(out)
    }
}
