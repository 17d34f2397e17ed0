//! Which tools each department agent may offer its model. Names of tools that this build
//! does not register are skipped (a test checks every listed name is registered).

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
            "markdown_export",
            "outlook_send_email",
            "teams_post_message",
            "calendar_create_event",
            "calendar_find_free_time",
            "teams_send_chat",
            "push_notify",
        ],
        AgentKind::Sales => &[
            "outlook_read_inbox",
            "outlook_reply",
            "crm_search_leads",
            "sales_pipeline",
            "crm_create_lead",
            "crm_update_lead",
            "crm_log_contact",
            "crm_set_follow_up",
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
            "calendar_find_free_time",
            "teams_send_chat",
            "push_notify",
        ],
        AgentKind::Marketing => &[
            "knowledge_search",
            "products_catalog",
            "customers_query",
            "data_query",
            "web_research",
            "docx_generator",
            "pdf_generator",
            "pptx_generator",
            "markdown_export",
            "outlook_send_email",
            "teams_post_message",
            "teams_send_chat",
            "push_notify",
        ],
        AgentKind::Support => &[
            "outlook_read_inbox",
            "outlook_reply",
            "support_tickets",
            "customers_query",
            "knowledge_search",
            "products_catalog",
            "outlook_send_email",
            "teams_post_message",
            "calendar_create_event",
            "calendar_find_free_time",
            "teams_send_chat",
            "push_notify",
        ],
        AgentKind::Management => &[
            "outlook_read_inbox",
            "outlook_reply",
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
            "calendar_find_free_time",
            "teams_send_chat",
            "push_notify",
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_tool_exists_and_side_effects_are_declared() {
        let registry = crate::tools::ToolRegistry::with_builtin();
        for agent in &AgentKind::ALL {
            for name in tools_for(*agent) {
                assert!(registry.get(name).is_some(), "{agent:?} lists {name}, which is not registered");
            }
        }
        // Everything that sends or writes must be held by the consent rule.
        for name in [
            "outlook_send_email",
            "outlook_reply",
            "teams_post_message",
            "teams_send_chat",
            "calendar_create_event",
            "push_notify",
            "crm_create_lead",
            "crm_update_lead",
            "crm_log_contact",
            "crm_set_follow_up",
        ] {
            assert!(registry.get(name).is_some_and(|t| t.side_effects()), "{name} must declare side effects");
        }
        for name in ["web_research", "linkedin_search", "outlook_read_inbox"] {
            assert!(registry.get(name).is_some_and(|t| t.untrusted_output()), "{name} returns outside content");
        }
    }
}
