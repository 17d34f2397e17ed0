//! `pdf_generator`: branded PDF reports (the financial statement layout for finance data, a
//! generic layout otherwise) that become the caller's files.

use domain::Permission;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::exports::{file_output, file_stem, title};
use super::{Access, ToolContext, ToolError, ToolOutput, ToolRegistry, TypedTool};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(PdfGenerator);
    r.add(DocxGenerator);
}

const DOCX_MIME: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocxInput {
    pub title: String,
    /// The text: lines starting with "# " or "## " become headings, blank lines separate
    /// paragraphs.
    pub content: String,
}

pub struct DocxGenerator;

#[async_trait::async_trait]
impl TypedTool for DocxGenerator {
    type Input = DocxInput;
    const NAME: &'static str = "docx_generator";
    const DESCRIPTION: &'static str = "Save text (headings with '# ', paragraphs separated by blank lines) as a \
        branded Word document (DOCX) in the user's files.";
    const ACCESS: Access = Access::AnyOf(&[Permission::DocumentsGenerate]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Writing the Word document…";

    async fn run(&self, ctx: &ToolContext, input: DocxInput) -> Result<ToolOutput, ToolError> {
        let title = title(&input.title)?;
        if input.content.trim().is_empty() || input.content.len() > 1_000_000 {
            return Err(ToolError::InvalidInput("the content must be 1 byte to 1 MB of text".into()));
        }
        let report = documents::text_report(&title, &input.content);
        let bytes = documents::render_docx(&report, &documents::Brand::mezzofy())
            .map_err(|e| ToolError::Failed(format!("the document could not be made: {e}")))?;
        let name = format!("{}.docx", file_stem(&title));
        file_output(ctx, &name, "docx", DOCX_MIME, &bytes, json!({})).await
    }
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
        let title = title(&input.title)?;
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
        file_output(ctx, &name, "pdf", "application/pdf", &bytes, json!({})).await
    }
}
