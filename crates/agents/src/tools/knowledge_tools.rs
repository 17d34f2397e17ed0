//! The knowledge base and the product catalog.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Access, ToolContext, ToolError, ToolOutput, ToolRegistry, TypedTool, format_cents};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(KnowledgeSearch);
    r.add(ProductsCatalog);
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// What to look for.
    pub query: String,
    /// Most sections to return (default 5, at most 20).
    pub limit: Option<u32>,
}

pub struct KnowledgeSearch;

#[async_trait::async_trait]
impl TypedTool for KnowledgeSearch {
    type Input = SearchInput;
    const NAME: &'static str = "knowledge_search";
    const DESCRIPTION: &'static str = "Search Mezzofy's knowledge base: products, pricing, features, playbooks \
        (sales, support, marketing), finance policies, company facts, brand guidelines and the FAQ.";
    const ACCESS: Access = Access::Anyone;
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Searching the knowledge base…";

    async fn run(&self, ctx: &ToolContext, input: SearchInput) -> Result<ToolOutput, ToolError> {
        let limit = input.limit.unwrap_or(5).clamp(1, 20) as usize;
        let hits = ctx.knowledge.search(&input.query, limit);
        ToolOutput::json(json!({
            "count": hits.len(),
            "results": hits.iter().map(|h| json!({"source": h.source, "title": h.title, "text": h.excerpt})).collect::<Vec<_>>(),
        }))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

pub struct ProductsCatalog;

#[async_trait::async_trait]
impl TypedTool for ProductsCatalog {
    type Input = Empty;
    const NAME: &'static str = "products_catalog";
    const DESCRIPTION: &'static str = "Mezzofy's products with their prices and billing (monthly or one-time).";
    const ACCESS: Access = Access::Anyone;
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Reading the product catalog…";

    async fn run(&self, ctx: &ToolContext, _: Empty) -> Result<ToolOutput, ToolError> {
        let rows = store::company::products(&ctx.db).await?;
        ToolOutput::json(json!({
            "count": rows.len(),
            "products": rows.iter().filter(|p| p.active).map(|p| json!({
                "id": p.id, "name": p.name, "category": p.category, "billing": p.billing,
                "price": format_cents(&p.currency, p.price_cents), "description": p.description,
            })).collect::<Vec<_>>(),
        }))
    }
}
