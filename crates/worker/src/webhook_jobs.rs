//! `webhook.process`: one stored webhook event, handled once. The Mezzofy platform's events
//! have fixed handlers (the seed's table); other sources (GitHub, Stripe, Zapier, ...) are
//! routed by `webhooks.routes` to an agent task. Every write goes through an exactly-once
//! effect or an idempotent insert keyed by the event, and every delivery through a job whose
//! idempotency key derives from the event, so a retried event does nothing twice. The event's
//! status moves `received → processing → completed | failed` with the result.

use std::sync::Arc;

use agents::delivery::{EMAIL_JOB, EmailJob, TEAMS_JOB, TeamsJob, render_template, text_to_html};
use agents::task::{AGENT_TASK, DeliverTo, TaskJob};
use agents::{Assistant, Source};
use chrono::{DateTime, Utc};
use domain::AgentKind;
use domain::jobs::Queue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::runtime::{JobContext, JobFailure, KindSpec, Registry};

pub const WEBHOOK_PROCESS: &str = "webhook.process";

/// The payload of a `webhook.process` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessJob {
    /// `webhook_events.id`.
    pub event: Uuid,
}

struct Handler {
    assistant: Arc<Assistant>,
    settings: Arc<settings::Settings>,
    /// The assistant's own account, looked up (or created) once per worker.
    system: tokio::sync::OnceCell<Uuid>,
}

fn db_retry(e: impl std::fmt::Display) -> JobFailure {
    JobFailure::retry(e.to_string())
}

fn text(data: &Value, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}

impl Handler {
    async fn system(&self) -> Result<Uuid, JobFailure> {
        self.system.get_or_try_init(|| agents::task::system_actor(&self.assistant.db)).await.copied().map_err(db_retry)
    }

    /// Commits a job keyed by the event and step (a retried event finds the first job).
    async fn enqueue(
        &self,
        ev: &store::webhooks::EventRow,
        step: &str,
        kind: &str,
        payload: Value,
        user: Uuid,
    ) -> Result<Value, JobFailure> {
        let queue = if kind == AGENT_TASK { Queue::Agent } else { Queue::Delivery };
        let job = jobs::NewJob::new(queue, kind, &payload)
            .priority(70)
            .user(user)
            .idempotency_key(format!("webhook:{}:{step}", ev.id))
            .max_attempts(5);
        let e = jobs::enqueue(&self.assistant.db, job).await.map_err(db_retry)?;
        Ok(json!({"step": step, "kind": kind, "job_id": e.id}))
    }

    async fn teams(
        &self,
        ev: &store::webhooks::EventRow,
        channel: &str,
        text: String,
        user: Uuid,
    ) -> Result<Value, JobFailure> {
        let post = TeamsJob { user_id: user, channel: channel.into(), team_id: None, text, attachments: Vec::new() };
        self.enqueue(ev, &format!("teams:{channel}"), TEAMS_JOB, json!(post), user).await
    }

    async fn email(
        &self,
        ev: &store::webhooks::EventRow,
        step: &str,
        to: Vec<String>,
        subject: String,
        html: String,
        user: Uuid,
    ) -> Result<Value, JobFailure> {
        let mail = EmailJob { user_id: user, to, cc: Vec::new(), subject, html, attachments: Vec::new() };
        self.enqueue(ev, step, EMAIL_JOB, json!(mail), user).await
    }

    fn directory(&self, role: &str) -> Option<String> {
        self.settings.agents.directory.get(role).cloned()
    }

    #[allow(clippy::too_many_arguments)]
    async fn agent_task(
        &self,
        ev: &store::webhooks::EventRow,
        step: &str,
        agent: AgentKind,
        message: String,
        title: String,
        deliver_to: DeliverTo,
        save_as: Option<String>,
        user: Uuid,
    ) -> Result<Value, JobFailure> {
        let task = TaskJob {
            source: Source::Webhook,
            actor: user,
            agent: Some(agent),
            message,
            title,
            deliver_to,
            event: Some(ev.event_type.clone()),
            context: Some(ev.payload.to_string().chars().take(8_000).collect()),
            save_as,
            role: None,
        };
        self.enqueue(ev, step, AGENT_TASK, json!(task), user).await
    }

    async fn handle(&self, ctx: &JobContext, ev: &store::webhooks::EventRow) -> Result<Value, JobFailure> {
        let data = ev.payload.get("data").cloned().unwrap_or_else(|| ev.payload.clone());
        let user = self.system().await?;
        let mut steps = Vec::new();
        match (ev.source.as_str(), ev.event_type.as_str()) {
            ("mezzofy", "customer_signed_up") => {
                let company =
                    text(&data, "company_name").ok_or_else(|| JobFailure::permanent("data.company_name is missing"))?;
                let email = text(&data, "email");
                // The CRM lead, once (an effect keyed by this job; the insert dedupes by company + e-mail).
                let db = ctx.db.clone();
                let (c, e) = (company.clone(), email.clone());
                let lead = ctx
                    .effect("lead", "crm", |_| async move {
                        let f = store::company::LeadFilter { query: Some(c.clone()), limit: 50, ..Default::default() };
                        let existing = store::company::search_leads(&db, &f).await.map_err(db_retry)?;
                        if let Some(l) =
                            existing.iter().find(|l| l.company_name.eq_ignore_ascii_case(&c) && l.contact_email == e)
                        {
                            return Ok(json!({"lead_id": l.id, "created": false}));
                        }
                        let row = store::company::create_lead(
                            &db,
                            store::company::NewLead {
                                company_name: c,
                                contact_name: None,
                                contact_email: e,
                                contact_phone: None,
                                industry: None,
                                location: None,
                                source: Some("signup".into()),
                                status: None,
                                assigned_to: None,
                                notes: Some("Signed up on the Mezzofy platform (webhook)".into()),
                                follow_up_date: None,
                            },
                        )
                        .await
                        .map_err(|e| JobFailure::permanent(e.to_string()))?;
                        Ok(json!({"lead_id": row.id, "created": true}))
                    })
                    .await?;
                steps.push(json!({"step": "crm_lead", "result": lead}));
                if let Some(to) = email {
                    let mut values = Map::new();
                    values.insert(
                        "contact_name".into(),
                        json!(text(&data, "contact_name").unwrap_or_else(|| "there".into())),
                    );
                    values.insert("company_name".into(), json!(company));
                    values.insert("sender_name".into(), json!("The Mezzofy team"));
                    let root = std::path::Path::new(&self.settings.paths.knowledge_dir);
                    let (subject, html) =
                        render_template(root, "welcome", &values).map_err(|e| JobFailure::permanent(e.to_string()))?;
                    steps.push(
                        self.email(
                            ev,
                            "welcome",
                            vec![to],
                            subject.unwrap_or_else(|| "Welcome to Mezzofy".into()),
                            html,
                            user,
                        )
                        .await?,
                    );
                }
                let plan = text(&data, "plan").unwrap_or_else(|| "unknown".into());
                let country = text(&data, "country").unwrap_or_default();
                steps.push(
                    self.teams(
                        ev,
                        "sales",
                        format!(
                            "New sign-up: {company} ({plan} plan{}). Added to the CRM as a lead.",
                            if country.is_empty() { String::new() } else { format!(", {country}") }
                        ),
                        user,
                    )
                    .await?,
                );
            }
            ("mezzofy", "customer_churned") => {
                let company = text(&data, "company_name")
                    .or_else(|| text(&data, "customer_id"))
                    .unwrap_or_else(|| "a customer".into());
                let reason = text(&data, "reason").unwrap_or_else(|| "no reason given".into());
                steps.push(
                    self.teams(ev, "management", format!("Customer churned: {company} ({reason})."), user).await?,
                );
                // The follow-up task: a CRM activity on the company's lead in two days.
                let f = store::company::LeadFilter { query: Some(company.clone()), limit: 1, ..Default::default() };
                if let Some(lead) =
                    store::company::search_leads(&ctx.db, &f).await.map_err(db_retry)?.into_iter().next()
                {
                    let due = Utc::now() + chrono::Duration::days(2);
                    store::company::log_activity(
                        &ctx.db,
                        store::company::NewActivity {
                            lead_id: lead.id,
                            user_id: Some(user),
                            kind: "follow_up".into(),
                            channel: None,
                            summary: format!("Churn follow-up: find out why {company} left ({reason})"),
                            occurred_at: Utc::now(),
                            follow_up_date: Some(due),
                            idempotency_key: format!("webhook:{}:follow_up", ev.id),
                        },
                    )
                    .await
                    .map_err(db_retry)?;
                    steps.push(json!({"step": "follow_up", "lead_id": lead.id, "due": due.date_naive()}));
                }
                let mut to: Vec<String> = Vec::new();
                if let Some(m) = self.account_manager(ctx, &data).await? {
                    to.push(m);
                }
                if let Some(ceo) = self.directory("ceo") {
                    to.push(ceo);
                }
                to.sort();
                to.dedup();
                if !to.is_empty() {
                    let html = text_to_html(&format!(
                        "{company} has churned.\n\nReason: {reason}\n\nA follow-up is due in two days in the CRM."
                    ));
                    steps.push(self.email(ev, "churn_alert", to, format!("Churn alert: {company}"), html, user).await?);
                }
            }
            ("mezzofy", "order_completed") => {
                let order_no = text(&data, "order_id")
                    .or_else(|| text(&data, "order_no"))
                    .ok_or_else(|| JobFailure::permanent("data.order_id is missing"))?;
                let amount = data
                    .get("amount_cents")
                    .and_then(Value::as_i64)
                    .or_else(|| data.get("amount").and_then(Value::as_f64).map(|a| (a * 100.0).round() as i64))
                    .ok_or_else(|| JobFailure::permanent("data.amount (or amount_cents) is missing"))?;
                let customer = self.customer(ctx, &data).await?;
                let mut recorded = json!(null);
                if let Some(customer_id) = customer {
                    // The named product, else the catalog's first (plans are billed per order).
                    let catalog = store::company::products(&ctx.db).await.map_err(db_retry)?;
                    let wanted = text(&data, "product_id");
                    let product = catalog
                        .iter()
                        .find(|p| Some(&p.id) == wanted.as_ref())
                        .or_else(|| catalog.iter().find(|p| p.active))
                        .map(|p| p.id.clone())
                        .ok_or_else(|| JobFailure::permanent("the product catalog is empty"))?;
                    let ordered_at = text(&data, "completed_at")
                        .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                        .unwrap_or_else(Utc::now);
                    let (row, new) = store::company::record_order(
                        &ctx.db,
                        store::company::NewOrder {
                            order_no: order_no.clone(),
                            customer_id,
                            product_id: product,
                            quantity: data.get("quantity").and_then(Value::as_i64).unwrap_or(1).clamp(1, 10_000) as i32,
                            amount_cents: amount,
                            currency: text(&data, "currency"),
                            status: "completed".into(),
                            ordered_at,
                        },
                    )
                    .await
                    .map_err(|e| JobFailure::permanent(format!("the order could not be recorded: {e}")))?;
                    recorded = json!({"order_id": row.id, "new": new});
                }
                steps.push(json!({"step": "order", "result": recorded, "customer_known": customer.is_some()}));
                let threshold = self.settings.webhooks.large_order_cents;
                if amount >= threshold {
                    let label =
                        agents::tools::format_cents(&text(&data, "currency").unwrap_or_else(|| "SGD".into()), amount);
                    steps.push(self.teams(ev, "finance", format!("Large order {order_no}: {label}."), user).await?);
                }
            }
            ("mezzofy", "support_ticket_created") => {
                let subject = text(&data, "subject").ok_or_else(|| JobFailure::permanent("data.subject is missing"))?;
                let description = text(&data, "description").unwrap_or_default();
                let customer = self.customer(ctx, &data).await?;
                let ticket = store::company::create_ticket(
                    &ctx.db,
                    store::company::NewTicket {
                        ticket_no: text(&data, "ticket_id")
                            .or_else(|| Some(format!("WH-{}", &ev.event_id.chars().take(40).collect::<String>()))),
                        customer_id: customer,
                        subject: subject.clone(),
                        description: description.clone(),
                        category: text(&data, "category").unwrap_or_else(|| "technical".into()),
                        priority: text(&data, "priority"),
                        assigned_to: None,
                        created_at: None,
                    },
                )
                .await
                .map_err(|e| JobFailure::permanent(format!("the ticket could not be recorded: {e}")))?;
                steps.push(json!({"step": "ticket", "ticket_no": ticket.ticket_no}));
                steps.push(
                    self.agent_task(
                        ev,
                        "suggest",
                        AgentKind::Support,
                        format!("A support ticket was created: \"{subject}\". Suggest a solution from the knowledge base and FAQ for the support team."),
                        format!("Ticket {}: suggested solution", ticket.ticket_no),
                        DeliverTo { teams_channel: Some("support".into()), ..Default::default() },
                        None,
                        user,
                    )
                    .await?,
                );
            }
            ("mezzofy", "feature_released") => {
                let feature = text(&data, "feature_name")
                    .or_else(|| text(&data, "name"))
                    .ok_or_else(|| JobFailure::permanent("data.feature_name is missing"))?;
                steps.push(
                    self.agent_task(
                        ev,
                        "announcement",
                        AgentKind::Marketing,
                        format!("Draft the customer announcement for the newly released feature \"{feature}\"."),
                        format!("Announcement draft: {feature}"),
                        DeliverTo { teams_channel: Some("marketing".into()), ..Default::default() },
                        Some(format!("Announcement – {feature}")),
                        user,
                    )
                    .await?,
                );
            }
            ("teams", "message") => {
                // An @mention: the text without the <at>…</at> tags, answered in the channel.
                let raw = ev.payload.get("text").and_then(Value::as_str).unwrap_or_default();
                let message = strip_mentions(raw);
                if message.is_empty() {
                    return Ok(json!({"handled": false, "note": "an empty message"}));
                }
                let channel_data = ev.payload.get("channelData").cloned().unwrap_or(Value::Null);
                let deliver_to = DeliverTo {
                    teams_channel: channel_data.pointer("/channel/id").and_then(Value::as_str).map(String::from),
                    teams_team: channel_data.pointer("/team/id").and_then(Value::as_str).map(String::from),
                    ..Default::default()
                };
                let from = ev.payload.pointer("/from/name").and_then(Value::as_str).unwrap_or("someone");
                let task = TaskJob {
                    source: Source::Teams,
                    actor: user,
                    agent: None,
                    message: message.clone(),
                    title: format!("Reply to {from}"),
                    deliver_to,
                    event: None,
                    context: None,
                    save_as: None,
                    role: Some(self.settings.webhooks.teams_role.clone()),
                };
                steps.push(self.enqueue(ev, "reply", AGENT_TASK, json!(task), user).await?);
            }
            (source, event_type) => {
                let route = self
                    .settings
                    .webhooks
                    .routes
                    .iter()
                    .find(|r| r.source == source && (r.event == event_type || r.event == "*"))
                    .cloned();
                let Some(route) = route else {
                    return Ok(
                        json!({"handled": false, "note": format!("no route for {source}/{event_type}; stored only")}),
                    );
                };
                let agent: AgentKind = route
                    .agent
                    .parse()
                    .map_err(|_| JobFailure::permanent(format!("route agent '{}' is unknown", route.agent)))?;
                let message = route.message.replace("{event}", event_type).replace("{source}", source);
                let d = &route.deliver_to;
                let deliver_to =
                    DeliverTo { teams_channel: d.teams_channel.clone(), email: d.email.clone(), ..Default::default() };
                steps.push(
                    self.agent_task(
                        ev,
                        "route",
                        agent,
                        message,
                        format!("{source}: {event_type}"),
                        deliver_to,
                        None,
                        user,
                    )
                    .await?,
                );
            }
        }
        Ok(json!({"handled": true, "steps": steps}))
    }

    async fn customer(&self, ctx: &JobContext, data: &Value) -> Result<Option<Uuid>, JobFailure> {
        let Some(reference) = text(data, "customer_id") else { return Ok(None) };
        if let Ok(id) = reference.parse::<Uuid>()
            && store::company::customer(&ctx.db, id).await.map_err(db_retry)?.is_some()
        {
            return Ok(Some(id));
        }
        Ok(store::company::customer_by_external_ref(&ctx.db, &reference).await.map_err(db_retry)?.map(|c| c.id))
    }

    async fn account_manager(&self, ctx: &JobContext, data: &Value) -> Result<Option<String>, JobFailure> {
        let Some(id) = self.customer(ctx, data).await? else { return Ok(None) };
        let Some(c) = store::company::customer(&ctx.db, id).await.map_err(db_retry)? else { return Ok(None) };
        let Some(manager) = c.account_manager else { return Ok(None) };
        Ok(store::users::by_id(&ctx.db, manager).await.map_err(db_retry)?.map(|u| u.email))
    }
}

async fn process(h: Arc<Handler>, ctx: JobContext, payload: Value) -> Result<Value, JobFailure> {
    let job: ProcessJob =
        serde_json::from_value(payload).map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))?;
    let ev = store::webhooks::get(&ctx.db, job.event)
        .await
        .map_err(db_retry)?
        .ok_or_else(|| JobFailure::permanent("the webhook event is gone"))?;
    if ev.status == "completed" {
        return Ok(ev.result.unwrap_or(Value::Null));
    }
    store::webhooks::start(&ctx.db, ev.id).await.map_err(db_retry)?;
    match h.handle(&ctx, &ev).await {
        Ok(result) => {
            store::webhooks::finish(&ctx.db, ev.id, true, result.clone(), None).await.map_err(db_retry)?;
            Ok(result)
        }
        Err(f) => {
            if !f.retryable {
                store::webhooks::finish(&ctx.db, ev.id, false, json!(null), Some(f.message.clone()))
                    .await
                    .map_err(db_retry)?;
            }
            Err(f)
        }
    }
}

/// Adds `webhook.process`.
pub fn register(registry: Registry, assistant: Arc<Assistant>) -> Registry {
    let h = Arc::new(Handler { settings: assistant.settings.clone(), assistant, system: tokio::sync::OnceCell::new() });
    registry.register(WEBHOOK_PROCESS, KindSpec::new(move |ctx, payload| process(h.clone(), ctx, payload)))
}

/// Teams message text without `<at>Name</at>` mentions and other tags, whitespace collapsed.
fn strip_mentions(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<at>") {
        out.push_str(&rest[..start]);
        rest = match rest[start..].find("</at>") {
            Some(end) => &rest[start + end + 5..],
            None => "",
        };
    }
    out.push_str(rest);
    let mut text = String::new();
    let mut in_tag = false;
    for c in out.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn mentions_and_tags_are_removed() {
        assert_eq!(
            super::strip_mentions("<at>MezzofyAI</at>&nbsp;generate a <b>sales</b> report\n"),
            "generate a sales report"
        );
        assert_eq!(super::strip_mentions("<at>Bot</at>"), "");
    }
}
