//! The sales pipeline: search, create and update leads, log contacts and follow-ups.

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use domain::Permission;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use store::company;
use uuid::Uuid;

use super::company::invalid_or_failed;
use super::{Access, ToolContext, ToolError, ToolOutput, ToolRegistry, TypedTool};

pub(super) fn register(r: &mut ToolRegistry) {
    r.add(SearchLeads);
    r.add(SalesPipeline);
    r.add(CreateLead);
    r.add(UpdateLead);
    r.add(LogContact);
    r.add(SetFollowUp);
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn lead_json(l: &company::LeadRow) -> Value {
    json!({
        "id": l.id, "company_name": l.company_name, "contact_name": l.contact_name,
        "contact_email": l.contact_email, "industry": l.industry, "location": l.location,
        "source": l.source, "status": l.status, "assigned_to": l.assigned_to_name,
        "last_contacted": l.last_contacted.map(|d| d.date_naive()),
        "follow_up_date": l.follow_up_date.map(|d| d.date_naive()),
        "notes": l.notes.as_deref().map(|n| crate::knowledge::excerpt(n, 400)),
    })
}

fn leads_output(rows: &[company::LeadRow]) -> Result<ToolOutput, ToolError> {
    ToolOutput::json(json!({
        "count": rows.len(),
        "emails": rows.iter().filter_map(|l| l.contact_email.clone()).collect::<Vec<_>>(),
        "companies": rows.iter().map(|l| l.company_name.clone()).collect::<Vec<_>>(),
        "leads": rows.iter().map(lead_json).collect::<Vec<_>>(),
    }))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// Part of the company name, contact name or e-mail.
    pub query: Option<String>,
    pub industry: Option<String>,
    /// City or country, e.g. Singapore, Kuala Lumpur.
    pub location: Option<String>,
    /// new, contacted, qualified, proposal, closed_won or closed_lost.
    pub status: Option<String>,
    /// Only leads assigned to the caller.
    pub mine: Option<bool>,
    /// Only leads whose follow-up is due on or before this date (YYYY-MM-DD).
    pub follow_up_by: Option<NaiveDate>,
    /// Most leads to return (default 20, at most 200).
    pub limit: Option<u32>,
}

fn filter(ctx: &ToolContext, i: SearchInput) -> company::LeadFilter {
    company::LeadFilter {
        query: clean(i.query),
        industry: clean(i.industry),
        location: clean(i.location),
        status: clean(i.status).map(|s| s.to_lowercase().replace(' ', "_")),
        assigned_to: i.mine.unwrap_or(false).then_some(ctx.principal.user_id),
        follow_up_before: i
            .follow_up_by
            .and_then(|d| d.succ_opt())
            .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))),
        limit: u64::from(i.limit.unwrap_or(20).clamp(1, 200)),
    }
}

pub struct SearchLeads;

#[async_trait::async_trait]
impl TypedTool for SearchLeads {
    type Input = SearchInput;
    const NAME: &'static str = "crm_search_leads";
    const DESCRIPTION: &'static str = "Search the CRM's sales leads by company, industry, location, status, owner \
        or due follow-up.";
    const ACCESS: Access = Access::AnyOf(&[Permission::SalesRead, Permission::ManagementRead]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Searching the CRM…";

    async fn run(&self, ctx: &ToolContext, input: SearchInput) -> Result<ToolOutput, ToolError> {
        let rows = company::search_leads(&ctx.db, &filter(ctx, input)).await.map_err(invalid_or_failed)?;
        leads_output(&rows)
    }
}

pub struct SalesPipeline;

#[async_trait::async_trait]
impl TypedTool for SalesPipeline {
    type Input = SearchInput;
    const NAME: &'static str = "sales_pipeline";
    const DESCRIPTION: &'static str = "The sales pipeline: lead counts by status and the leads matching the \
        filters.";
    const ACCESS: Access = Access::AnyOf(&[Permission::SalesRead, Permission::ManagementRead]);
    const SIDE_EFFECTS: bool = false;
    const STATUS: &'static str = "Reviewing the pipeline…";

    async fn run(&self, ctx: &ToolContext, input: SearchInput) -> Result<ToolOutput, ToolError> {
        let by_status = company::leads_by_status(&ctx.db).await?;
        let rows = company::search_leads(&ctx.db, &filter(ctx, input)).await.map_err(invalid_or_failed)?;
        let mut out = leads_output(&rows)?;
        if let Value::Object(map) = &mut out.value {
            map.insert(
                "by_status".into(),
                by_status.iter().map(|s| json!({"status": s.status, "count": s.count})).collect(),
            );
            map.insert("total_leads".into(), json!(by_status.iter().map(|s| s.count).sum::<i64>()));
        }
        Ok(out)
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInput {
    pub company_name: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub industry: Option<String>,
    pub location: Option<String>,
    /// linkedin, website, referral, event, …
    pub source: Option<String>,
    pub notes: Option<String>,
    /// YYYY-MM-DD.
    pub follow_up_date: Option<NaiveDate>,
}

pub struct CreateLead;

#[async_trait::async_trait]
impl TypedTool for CreateLead {
    type Input = CreateInput;
    const NAME: &'static str = "crm_create_lead";
    const DESCRIPTION: &'static str = "Add a new sales lead to the CRM, assigned to the caller. An existing lead \
        with the same company and contact e-mail is returned instead of a duplicate.";
    const ACCESS: Access = Access::AnyOf(&[Permission::CrmWrite]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Adding the lead to the CRM…";

    async fn run(&self, ctx: &ToolContext, i: CreateInput) -> Result<ToolOutput, ToolError> {
        let company_name = i.company_name.trim().to_string();
        if company_name.is_empty() {
            return Err(ToolError::InvalidInput("company_name is required".into()));
        }
        if let Some(e) = clean(i.contact_email.clone())
            && domain::EmailAddress::parse(&e).is_err()
        {
            return Err(ToolError::InvalidInput(format!(
                "'{}' is not an e-mail address",
                e.chars().take(80).collect::<String>()
            )));
        }
        // A retried turn (or a model repeating itself) must not create the lead twice.
        let existing = company::search_leads(
            &ctx.db,
            &company::LeadFilter { query: Some(company_name.clone()), limit: 50, ..Default::default() },
        )
        .await?;
        let email = clean(i.contact_email.clone()).map(|e| e.to_lowercase());
        if let Some(found) = existing.iter().find(|l| {
            l.company_name.eq_ignore_ascii_case(&company_name)
                && l.contact_email.as_deref().map(str::to_lowercase) == email
        }) {
            let mut out = ToolOutput::json(json!({"created": false, "lead": lead_json(found)}))?;
            out.value["note"] = json!("this lead was already in the CRM");
            return Ok(out);
        }
        let row = company::create_lead(
            &ctx.db,
            company::NewLead {
                company_name,
                contact_name: clean(i.contact_name),
                contact_email: email,
                contact_phone: clean(i.contact_phone),
                industry: clean(i.industry),
                location: clean(i.location),
                source: clean(i.source).or(Some("assistant".into())),
                status: None,
                assigned_to: Some(ctx.principal.user_id),
                notes: clean(i.notes),
                follow_up_date: i.follow_up_date.map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))),
            },
        )
        .await
        .map_err(invalid_or_failed)?;
        ToolOutput::json(json!({"created": true, "lead": lead_json(&row)}))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInput {
    pub lead_id: Uuid,
    /// new, contacted, qualified, proposal, closed_won or closed_lost.
    pub status: Option<String>,
    /// A note to append (earlier notes are kept).
    pub notes: Option<String>,
    /// YYYY-MM-DD.
    pub follow_up_date: Option<NaiveDate>,
    /// Mark the lead as contacted now.
    pub contacted: Option<bool>,
}

pub struct UpdateLead;

#[async_trait::async_trait]
impl TypedTool for UpdateLead {
    type Input = UpdateInput;
    const NAME: &'static str = "crm_update_lead";
    const DESCRIPTION: &'static str = "Update a CRM lead: status, a note (appended), follow-up date, contacted now.";
    const ACCESS: Access = Access::AnyOf(&[Permission::CrmWrite]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Updating the CRM…";

    async fn run(&self, ctx: &ToolContext, i: UpdateInput) -> Result<ToolOutput, ToolError> {
        let row = company::update_lead(
            &ctx.db,
            i.lead_id,
            company::LeadUpdate {
                status: clean(i.status).map(|s| s.to_lowercase().replace(' ', "_")),
                notes: clean(i.notes),
                follow_up_date: i.follow_up_date.map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))),
                last_contacted: i.contacted.unwrap_or(false).then(Utc::now),
                assigned_to: None,
            },
        )
        .await
        .map_err(invalid_or_failed)?
        .ok_or_else(|| ToolError::NotFound(format!("no lead with id {}", i.lead_id)))?;
        ToolOutput::json(json!({"updated": true, "lead": lead_json(&row)}))
    }
}

/// The exactly-once key of a CRM write: the turn and the call's arguments, so a retried
/// turn (inline, then as a job) or a model repeating itself writes once.
fn write_key(ctx: &ToolContext, tool: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    format!("{tool}:{}:{}", ctx.turn_id, hex::encode(&h.finalize()[..12]))
}

const CONTACT_CHANNELS: &[&str] = &["email", "call", "meeting", "linkedin", "chat", "other"];

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogContactInput {
    pub lead_id: Uuid,
    /// email, call, meeting, linkedin, chat or other.
    pub channel: String,
    /// What was discussed or agreed.
    pub summary: String,
    /// YYYY-MM-DD; today when omitted.
    pub date: Option<NaiveDate>,
    /// The next follow-up (YYYY-MM-DD), if one was agreed.
    pub follow_up_date: Option<NaiveDate>,
}

pub struct LogContact;

#[async_trait::async_trait]
impl TypedTool for LogContact {
    type Input = LogContactInput;
    const NAME: &'static str = "crm_log_contact";
    const DESCRIPTION: &'static str = "Log a contact with a CRM lead (call, e-mail, meeting, ...): recorded in the \
        lead's activity history, sets last contacted, moves a new lead to contacted, and optionally sets the next \
        follow-up date.";
    const ACCESS: Access = Access::AnyOf(&[Permission::CrmWrite]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Logging the contact in the CRM…";

    async fn run(&self, ctx: &ToolContext, i: LogContactInput) -> Result<ToolOutput, ToolError> {
        let channel = i.channel.trim().to_ascii_lowercase();
        if !CONTACT_CHANNELS.contains(&channel.as_str()) {
            return Err(ToolError::InvalidInput(format!("channel must be one of {}", CONTACT_CHANNELS.join(", "))));
        }
        let summary = i.summary.trim().to_string();
        if summary.is_empty() {
            return Err(ToolError::InvalidInput("summary is required".into()));
        }
        let date = i.date.unwrap_or(ctx.today);
        if date > ctx.today {
            return Err(ToolError::InvalidInput(format!("{date} is in the future; log contacts that happened")));
        }
        if let Some(f) = i.follow_up_date
            && f < ctx.today
        {
            return Err(ToolError::InvalidInput(format!("follow_up_date {f} is in the past")));
        }
        let occurred_at =
            if date == ctx.today { Utc::now() } else { Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)) };
        let key = write_key(
            ctx,
            Self::NAME,
            &[&i.lead_id.to_string(), &channel, &summary, &date.to_string(), &format!("{:?}", i.follow_up_date)],
        );
        let logged = company::log_activity(
            &ctx.db,
            company::NewActivity {
                lead_id: i.lead_id,
                user_id: Some(ctx.principal.user_id),
                kind: "contact".into(),
                channel: Some(channel.clone()),
                summary: format!("{channel}: {summary}"),
                occurred_at,
                follow_up_date: i.follow_up_date.map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))),
                idempotency_key: key,
            },
        )
        .await;
        activity_output(ctx, i.lead_id, logged, "logged", "already_logged").await
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    pub lead_id: Uuid,
    /// YYYY-MM-DD, today or later.
    pub date: NaiveDate,
    /// What to do then.
    pub note: Option<String>,
}

pub struct SetFollowUp;

#[async_trait::async_trait]
impl TypedTool for SetFollowUp {
    type Input = FollowUpInput;
    const NAME: &'static str = "crm_set_follow_up";
    const DESCRIPTION: &'static str =
        "Set a CRM lead's next follow-up date (and what to do then); recorded in the lead's activity history.";
    const ACCESS: Access = Access::AnyOf(&[Permission::CrmWrite]);
    const SIDE_EFFECTS: bool = true;
    const STATUS: &'static str = "Setting the follow-up…";

    async fn run(&self, ctx: &ToolContext, i: FollowUpInput) -> Result<ToolOutput, ToolError> {
        if i.date < ctx.today {
            return Err(ToolError::InvalidInput(format!("{} is in the past", i.date)));
        }
        let note = clean(i.note.clone());
        let summary = match &note {
            Some(n) => format!("follow up on {}: {n}", i.date),
            None => format!("follow up on {}", i.date),
        };
        let key = write_key(ctx, Self::NAME, &[&i.lead_id.to_string(), &i.date.to_string(), &summary]);
        let logged = company::log_activity(
            &ctx.db,
            company::NewActivity {
                lead_id: i.lead_id,
                user_id: Some(ctx.principal.user_id),
                kind: "follow_up".into(),
                channel: None,
                summary,
                occurred_at: Utc::now(),
                follow_up_date: Some(Utc.from_utc_datetime(&i.date.and_time(NaiveTime::MIN))),
                idempotency_key: key,
            },
        )
        .await;
        activity_output(ctx, i.lead_id, logged, "follow_up_set", "already_set").await
    }
}

/// The answer of a CRM activity tool: the activity (new or already logged by this turn) and
/// the lead as it is now.
async fn activity_output(
    ctx: &ToolContext,
    lead_id: Uuid,
    logged: Result<Option<(company::ActivityRow, bool)>, store::StoreError>,
    done_key: &str,
    repeat_key: &str,
) -> Result<ToolOutput, ToolError> {
    let (activity, new) =
        logged.map_err(invalid_or_failed)?.ok_or_else(|| ToolError::NotFound(format!("no lead with id {lead_id}")))?;
    let lead = company::lead(&ctx.db, lead_id).await?;
    ToolOutput::json(json!({
        done_key: true,
        repeat_key: !new,
        "activity_id": activity.id,
        "lead": lead.as_ref().map(lead_json),
    }))
}
