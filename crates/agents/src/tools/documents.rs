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
    r.add(PptxGenerator);
    r.add(MarkdownExport);
}

const PPTX_MIME: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PptxInput {
    /// The prospect's company.
    pub customer: Option<String>,
    pub industry: Option<String>,
    /// Product names or ids from products_catalog to pitch; empty: the whole catalog.
    #[serde(default)]
    pub products: Vec<String>,
    /// One product to lead with (a name or id); it comes first on the pricing slide.
    pub focus_product: Option<String>,
    /// The prospect's problems, one per bullet.
    #[serde(default)]
    pub pain_points: Vec<String>,
    /// Results from a similar customer (one bullet per line).
    pub case_study: Option<String>,
    #[serde(default)]
    pub next_steps: Vec<String>,
}

pub struct PptxGenerator;

#[async_trait::async_trait]
impl TypedTool for PptxGenerator {
    type Input = PptxInput;
    const NAME: &'static str = "pptx_generator";
    const DESCRIPTION: &'static str = "Make a branded sales pitch deck (PowerPoint): title, the prospect's problem, \
        the product, pricing from the product catalog, a case study and next steps. The deck appears in the \
        answer's artifacts.";
    const ACCESS: Access = Access::AnyOf(&[Permission::DocumentsGenerate]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Building the pitch deck…";

    async fn run(&self, ctx: &ToolContext, input: PptxInput) -> Result<ToolOutput, ToolError> {
        let too_long = |v: &[String]| v.len() > 20 || v.iter().any(|s| s.chars().count() > 500);
        if too_long(&input.pain_points) || too_long(&input.next_steps) || too_long(&input.products) {
            return Err(ToolError::InvalidInput("at most 20 items of 500 characters per list".into()));
        }
        let catalog = store::company::products(&ctx.db).await?;
        let wanted: Vec<String> = input.products.iter().map(|p| p.trim().to_lowercase()).collect();
        let focus = input.focus_product.as_deref().map(|f| f.trim().to_lowercase()).filter(|f| !f.is_empty());
        let mut chosen: Vec<_> = catalog
            .iter()
            .filter(|p| p.active)
            .filter(|p| {
                wanted.is_empty()
                    || wanted.iter().any(|w| p.id.to_lowercase() == *w || p.name.to_lowercase().contains(w.as_str()))
            })
            .collect();
        if let Some(f) = &focus {
            // The focus product first (when it is in the catalog).
            chosen.sort_by_key(|p| !(p.id.to_lowercase() == *f || p.name.to_lowercase().contains(f.as_str())));
        }
        if !wanted.is_empty() && chosen.is_empty() {
            return Err(ToolError::NotFound(format!(
                "none of {} is in the product catalog (see products_catalog)",
                input.products.join(", ")
            )));
        }
        let pitch = documents::PitchInput {
            company: "Mezzofy".into(),
            customer: input.customer.clone().unwrap_or_default(),
            industry: input.industry.unwrap_or_default(),
            products: chosen
                .iter()
                .map(|p| documents::PitchProduct {
                    name: p.name.clone(),
                    description: p.description.clone(),
                    price: format!("{} / {}", super::format_cents(&p.currency, p.price_cents), p.billing),
                })
                .collect(),
            pain_points: input.pain_points,
            case_study: input.case_study.unwrap_or_default(),
            next_steps: input.next_steps,
        };
        let deck = documents::pitch_deck(&pitch);
        let slides = deck.slides.len() + 1;
        let bytes = documents::render_pptx(&deck, &documents::Brand::mezzofy())
            .map_err(|e| ToolError::Failed(format!("the deck could not be made: {e}")))?;
        let name = format!("{}.pptx", file_stem(&deck.title));
        file_output(ctx, &name, "pptx", PPTX_MIME, &bytes, json!({"slides": slides, "title": deck.title})).await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkdownInput {
    pub title: String,
    /// Either text (headings with '# ', paragraphs separated by blank lines) ...
    pub content: Option<String>,
    /// ... or data laid out like pdf_generator's report (figures, text, lists of rows).
    pub data: Option<Value>,
}

pub struct MarkdownExport;

#[async_trait::async_trait]
impl TypedTool for MarkdownExport {
    type Input = MarkdownInput;
    const NAME: &'static str = "markdown_export";
    const DESCRIPTION: &'static str = "Save text or report data as a Markdown file (tables as GitHub tables) in \
        the user's files.";
    const ACCESS: Access = Access::AnyOf(&[Permission::DocumentsGenerate]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Writing the Markdown file…";

    async fn run(&self, ctx: &ToolContext, input: MarkdownInput) -> Result<ToolOutput, ToolError> {
        let title = title(&input.title)?;
        let report = match (input.content, input.data) {
            (Some(c), None) if !c.trim().is_empty() && c.len() <= 1_000_000 => documents::text_report(&title, &c),
            (None, Some(d)) if d.is_object() => documents::generic_report(&d, &title),
            _ => {
                return Err(ToolError::InvalidInput(
                    "give either content (1 byte to 1 MB of text) or data (an object), not both".into(),
                ));
            }
        };
        let md = documents::render_markdown(&report);
        let name = format!("{}.md", file_stem(&title));
        file_output(ctx, &name, "md", "text/markdown", md.as_bytes(), json!({})).await
    }
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
