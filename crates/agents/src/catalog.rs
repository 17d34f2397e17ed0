//! Which tools each department agent may offer its model. Names of tools that this build
//! does not register (documents, Microsoft 365, web) are listed too and skipped until
//! those features plug into the registry.

use domain::AgentKind;

pub fn tools_for(agent: AgentKind) -> &'static [&'static str] {
    match agent {
        AgentKind::Finance => &[
            "finance_summary",
            "data_query",
            "customers_query",
            "knowledge_search",
            "products_catalog",
            "pdf_generator",
            "csv_export",
            "docx_generator",
            "outlook_send_email",
            "teams_post_message",
            "calendar_create_event",
        ],
        AgentKind::Sales => &[
            "crm_search_leads",
            "sales_pipeline",
            "crm_create_lead",
            "crm_update_lead",
            "customers_query",
            "products_catalog",
            "knowledge_search",
            "data_query",
            "linkedin_search",
            "web_research",
            "pptx_generator",
            "pdf_generator",
            "csv_export",
            "outlook_send_email",
            "teams_post_message",
            "calendar_create_event",
        ],
        AgentKind::Marketing => &[
            "knowledge_search",
            "products_catalog",
            "customers_query",
            "data_query",
            "web_research",
            "content_draft",
            "docx_generator",
            "pdf_generator",
            "pptx_generator",
            "outlook_send_email",
            "teams_post_message",
        ],
        AgentKind::Support => &[
            "support_tickets",
            "customers_query",
            "knowledge_search",
            "products_catalog",
            "outlook_send_email",
            "teams_post_message",
            "calendar_create_event",
        ],
        AgentKind::Management => &[
            "kpi_dashboard",
            "finance_summary",
            "sales_pipeline",
            "support_tickets",
            "data_query",
            "customers_query",
            "knowledge_search",
            "products_catalog",
            "pdf_generator",
            "csv_export",
            "outlook_send_email",
            "teams_post_message",
            "calendar_create_event",
        ],
    }
}
