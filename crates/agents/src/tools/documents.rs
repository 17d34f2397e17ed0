//! `pdf_generator`: branded PDF reports laid out by the templates in
//! `<knowledge_dir>/templates/pdf` (financial statement, sales report, KPI dashboard, playbook,
//! generic report) with the palette and logo of `<knowledge_dir>/brand`; the PDFs become the
//! caller's files. Also the DOCX, PPTX and Markdown generators.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use documents::templates::{TemplateError, Templates};
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
    /// financial_statement (data: finance_summary output), sales_report (sales_pipeline or
    /// crm_search_leads output), kpi_dashboard (kpi_dashboard output), playbook (data.content:
    /// Markdown-like text with '# ' headings, '- ' bullets and paragraphs) or report (any data;
    /// the default).
    pub template: Option<String>,
    pub title: String,
    /// The data to lay out: the tool output named above, or for report an object whose values
    /// are figures, text or lists of rows.
    pub data: Value,
}

/// The templates, brand palette and logo of one knowledge directory, read once per process.
struct PdfAssets {
    /// `None`: the directory has no `templates/pdf` (only the built-in financial_statement
    /// and report layouts are available).
    templates: Option<Result<Templates, TemplateError>>,
    brand: documents::Brand,
    logo: Option<documents::Logo>,
}

/// The built-in layouts used when the knowledge directory has no PDF templates.
const BUILT_IN_TEMPLATES: [&str; 2] = ["financial_statement", "report"];

impl PdfAssets {
    fn load(knowledge_dir: &Path) -> Self {
        let dir = knowledge_dir.join("templates").join("pdf");
        let templates = dir.is_dir().then(|| documents::templates::load_dir(&dir));
        match &templates {
            Some(Err(e)) => tracing::error!(error = %e, "the PDF templates cannot be used"),
            None => tracing::warn!(dir = %dir.display(), "no PDF templates; using the built-in layouts"),
            Some(Ok(_)) => {}
        }
        let palette = knowledge_dir.join("brand").join("color_palette.yaml");
        let brand = if palette.is_file() {
            documents::Brand::from_palette_file(&palette).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "using the built-in Mezzofy colours");
                documents::Brand::mezzofy()
            })
        } else {
            documents::Brand::mezzofy()
        };
        let logo_path = knowledge_dir.join("brand").join("logos").join("mezzofy-logo.svg");
        let logo = if logo_path.is_file() {
            documents::Logo::from_svg_file(&logo_path)
                .map_err(|e| tracing::warn!(error = %e, "PDFs are made without the logo"))
                .ok()
        } else {
            None
        };
        Self { templates, brand, logo }
    }

    /// The assets of `knowledge_dir`, loaded on first use (a change to the files needs a
    /// restart, as for the rest of the knowledge directory).
    fn get(knowledge_dir: &Path) -> Arc<Self> {
        static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<PdfAssets>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Mutex::default);
        if let Some(a) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(knowledge_dir) {
            return Arc::clone(a);
        }
        let assets = Arc::new(Self::load(knowledge_dir));
        let mut map = cache.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(knowledge_dir.to_path_buf()).or_insert(assets))
    }

    fn report(
        &self,
        template: &str,
        data: &Value,
        title: &str,
        generated_at: &str,
    ) -> Result<documents::Report, ToolError> {
        let mut report = match &self.templates {
            Some(Ok(t)) => {
                t.render_with(template, data, Some(title), &[("generated_at", generated_at)]).map_err(|e| match e {
                    TemplateError::Unknown { .. } | TemplateError::MissingData { .. } => {
                        ToolError::InvalidInput(e.to_string())
                    }
                    other => ToolError::Failed(other.to_string()),
                })?
            }
            Some(Err(e)) => return Err(ToolError::Failed(format!("the PDF templates cannot be used: {e}"))),
            None => match template {
                "financial_statement" => documents::financial_statement(data, title),
                "report" => documents::generic_report(data, title),
                other => {
                    return Err(ToolError::InvalidInput(format!(
                        "unknown PDF template '{other}'; available: {}",
                        BUILT_IN_TEMPLATES.join(", ")
                    )));
                }
            },
        };
        report.logo = self.logo.clone();
        Ok(report)
    }
}

pub struct PdfGenerator;

#[async_trait::async_trait]
impl TypedTool for PdfGenerator {
    type Input = PdfInput;
    const NAME: &'static str = "pdf_generator";
    const DESCRIPTION: &'static str = "Make a branded PDF from data with a template: financial_statement \
        (finance_summary results), sales_report (sales_pipeline or crm_search_leads results), kpi_dashboard \
        (kpi_dashboard results), playbook (data.content: Markdown-like text) or report (any data: figures, \
        text and tables for lists). The PDF appears in the answer's artifacts.";
    const ACCESS: Access = Access::AnyOf(&[Permission::DocumentsGenerate]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Generating the PDF…";

    async fn run(&self, ctx: &ToolContext, input: PdfInput) -> Result<ToolOutput, ToolError> {
        let title = title(&input.title)?;
        if !input.data.is_object() {
            return Err(ToolError::InvalidInput("data must be an object".into()));
        }
        let template = input.template.as_deref().map(str::trim).filter(|t| !t.is_empty()).unwrap_or("report");
        let template = template.to_lowercase();
        let knowledge_dir = PathBuf::from(&ctx.settings.paths.knowledge_dir);
        let generated_at = ctx.today.format("%-d %B %Y").to_string();
        let (data, pdf_title) = (input.data, title.clone());
        // Loading the assets (first call) and rendering read files and burn CPU.
        let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ToolError> {
            let assets = PdfAssets::get(&knowledge_dir);
            let report = assets.report(&template, &data, &pdf_title, &generated_at)?;
            documents::render_pdf(&report, &assets.brand, &documents::Fonts::debian_default()).map_err(|e| {
                tracing::error!(error = %e, "PDF rendering failed");
                ToolError::Failed(format!("the PDF could not be made: {e}"))
            })
        })
        .await
        .map_err(|e| ToolError::Failed(format!("PDF rendering stopped: {e}")))??;
        let name = format!("{}.pdf", file_stem(&title));
        file_output(ctx, &name, "pdf", "application/pdf", &bytes, json!({})).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_knowledge() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../knowledge")
    }

    #[test]
    fn the_knowledge_assets_load_once_with_the_palette_and_logo() {
        let a = PdfAssets::get(&repo_knowledge());
        assert!(Arc::ptr_eq(&a, &PdfAssets::get(&repo_knowledge())), "cached per directory");
        assert_eq!(a.brand, documents::Brand::mezzofy());
        assert!(a.logo.is_some());
        let names: Vec<&str> = match &a.templates {
            Some(Ok(t)) => t.names().collect(),
            other => panic!("templates: {:?}", other.as_ref().map(|r| r.as_ref().err())),
        };
        for name in ["financial_statement", "sales_report", "kpi_dashboard", "playbook", "report"] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
    }

    #[test]
    fn templates_render_with_the_logo_and_unknown_ones_are_invalid_input() {
        let a = PdfAssets::get(&repo_knowledge());
        let data = json!({"count": 1, "total_leads": 3, "by_status": [{"status": "new", "count": 3}],
                          "leads": [{"company_name": "Kopi Corner", "status": "qualified"}]});
        let report = a.report("sales_report", &data, "Pipeline March 2026", "1 April 2026").unwrap();
        assert_eq!(report.title, "Pipeline March 2026");
        assert!(report.footer.contains("Generated 1 April 2026"), "{}", report.footer);
        assert!(report.logo.is_some());

        let err = a.report("balance_sheet", &data, "T", "today").unwrap_err();
        let ToolError::InvalidInput(msg) = err else { panic!("{err:?}") };
        for name in ["balance_sheet", "financial_statement", "sales_report", "kpi_dashboard", "playbook", "report"] {
            assert!(msg.contains(name), "{msg}");
        }
        let err = a.report("playbook", &json!({"text": "x"}), "T", "today").unwrap_err();
        assert!(matches!(&err, ToolError::InvalidInput(m) if m.contains("data.content")), "{err:?}");
    }

    #[test]
    fn without_templates_the_built_in_layouts_remain() {
        let dir = std::env::temp_dir().join(format!("pdf-assets-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = PdfAssets::load(&dir);
        std::fs::remove_dir_all(&dir).ok();
        assert!(a.templates.is_none() && a.logo.is_none());
        assert_eq!(a.brand, documents::Brand::mezzofy());
        let report = a.report("financial_statement", &json!({"revenue": 5.0}), "Statement", "today").unwrap();
        assert_eq!(report.title, "Statement");
        let err = a.report("kpi_dashboard", &json!({}), "T", "today").unwrap_err();
        assert!(matches!(&err, ToolError::InvalidInput(m) if m.contains("financial_statement, report")), "{err:?}");
    }
}
