//! Runs a skill's plan without a model: fill the parameters, run each step through the
//! tool registry (permissions are checked there), keep each step's output under its
//! `save_as` name, and render the response template.
//!
//! Templates: `{{name}}` or `{{name.field.field}}`. A string that is exactly one reference
//! passes the value through with its type (a list stays a list); inside longer text, values
//! are written out (lists joined, missing values empty). A response line whose references
//! are all missing (a step that did not run) is dropped. A list given to a tool argument
//! that takes one string runs the tool once per item.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::params::Filled;
use super::{Skill, Step};
use crate::period::re;
use crate::tools::{ArtifactRef, ToolContext, ToolError, ToolRegistry};

static REF: LazyLock<Regex> = LazyLock::new(|| re(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}"));

/// Most items a list argument fans out to.
const MAX_FAN_OUT: usize = 50;

/// Every reference in the strings of `v`.
pub fn references(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_strings(v, &mut |s| out.extend(REF.captures_iter(s).filter_map(|c| c.get(1)).map(|m| m.as_str().to_string())));
    out
}

fn walk_strings(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| walk_strings(x, f)),
        Value::Object(o) => o.values().for_each(|x| walk_strings(x, f)),
        _ => {}
    }
}

/// Looks `path` up in `env`; a field of a list maps over its items.
pub fn resolve(env: &Map<String, Value>, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let mut cur = env.get(parts.next()?)?.clone();
    for p in parts {
        cur = match cur {
            Value::Object(mut o) => o.remove(p)?,
            Value::Array(items) => {
                Value::Array(items.into_iter().filter_map(|i| i.get(p).cloned()).filter(|v| !v.is_null()).collect())
            }
            _ => return None,
        };
    }
    (!cur.is_null()).then_some(cur)
}

/// A value as text in a sentence.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(to_text).collect::<Vec<_>>().join(", ")
        }
        Value::Array(items) => items.iter().map(|i| format!("\n- {}", to_text(i))).collect::<String>(),
        Value::Object(o) => {
            let get = |k: &str| o.get(k).map(to_text).filter(|s| !s.is_empty());
            match (get("name").or_else(|| get("title")), get("amount").or_else(|| get("count")).or_else(|| get("text")))
            {
                (Some(n), Some(a)) => format!("{n}: {a}"),
                _ => o
                    .values()
                    .filter(|x| x.is_string() || x.is_number())
                    .map(to_text)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" — "),
            }
        }
    }
}

/// Renders a string template: `None` when it is a single reference to a missing value.
fn render_str(s: &str, env: &Map<String, Value>) -> Option<Value> {
    if let Some(c) = REF.captures(s)
        && c.get(0).is_some_and(|m| m.as_str() == s.trim())
    {
        return c.get(1).and_then(|m| resolve(env, m.as_str()));
    }
    let out = REF.replace_all(s, |c: &regex::Captures| {
        c.get(1).and_then(|m| resolve(env, m.as_str())).map(|v| to_text(&v)).unwrap_or_default()
    });
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(Value::String(out))
}

/// Renders tool arguments; missing values are left out.
pub fn render_args(args: &Map<String, Value>, env: &Map<String, Value>) -> Map<String, Value> {
    fn render(v: &Value, env: &Map<String, Value>) -> Option<Value> {
        match v {
            Value::String(s) => render_str(s, env),
            Value::Array(a) => Some(Value::Array(a.iter().filter_map(|x| render(x, env)).collect())),
            Value::Object(o) => {
                Some(Value::Object(o.iter().filter_map(|(k, x)| Some((k.clone(), render(x, env)?))).collect()))
            }
            other => Some(other.clone()),
        }
    }
    args.iter().filter_map(|(k, v)| Some((k.clone(), render(v, env)?))).collect()
}

/// Renders the response; drops lines whose references all came up empty.
pub fn render_response(template: &str, env: &Map<String, Value>) -> String {
    let mut out = Vec::new();
    for line in template.lines() {
        let refs: Vec<String> =
            REF.captures_iter(line).filter_map(|c| c.get(1)).map(|m| m.as_str().to_string()).collect();
        if !refs.is_empty() && refs.iter().all(|r| resolve(env, r).is_none_or(|v| to_text(&v).is_empty())) {
            continue;
        }
        out.push(
            REF.replace_all(line, |c: &regex::Captures| {
                c.get(1).and_then(|m| resolve(env, m.as_str())).map(|v| to_text(&v)).unwrap_or_default()
            })
            .into_owned(),
        );
    }
    out.join("\n").trim().to_string()
}

/// JSON-schema type names a property accepts.
fn accepts(schema: &Value, prop: &str) -> Vec<String> {
    match schema.pointer(&format!("/properties/{prop}/type")) {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str().map(String::from)).collect(),
        _ => Vec::new(),
    }
}

/// Coerces rendered strings to the types the tool declares ("5" → 5 for an integer).
fn coerce(args: &mut Map<String, Value>, schema: &Value) {
    for (k, v) in args.iter_mut() {
        let types = accepts(schema, k);
        if let Value::String(s) = v {
            if types.iter().any(|t| t == "integer") && !types.iter().any(|t| t == "string") {
                if let Ok(n) = s.trim().parse::<i64>() {
                    *v = json!(n);
                }
            } else if types.iter().any(|t| t == "boolean") && !types.iter().any(|t| t == "string") {
                *v = json!(matches!(s.trim().to_lowercase().as_str(), "true" | "yes" | "1"));
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepStatus {
    Done,
    /// `when` named a parameter the user did not give.
    Skipped,
    /// The tool does not exist on this server (a feature not built or not configured).
    Unavailable,
    /// Its input comes from a step (this tool) that did not run.
    Blocked(String),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepReport {
    pub tool: String,
    pub status: StepStatus,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanRun {
    pub text: String,
    pub tools_used: Vec<String>,
    pub artifacts: Vec<ArtifactRef>,
    pub steps: Vec<StepReport>,
    /// A required parameter was missing: `text` asks for it and nothing ran.
    pub needs_input: bool,
    /// A step failed or was refused: the plan stopped there.
    pub stopped: bool,
    /// Why tools that need an unconfigured service did not run.
    pub not_configured: Vec<String>,
}

/// Runs `skill` with `filled`; `status` hears each step's progress line.
pub async fn run(
    skill: &Skill,
    filled: &Filled,
    registry: &ToolRegistry,
    ctx: &ToolContext,
    status: &(dyn Fn(&str) + Send + Sync),
) -> PlanRun {
    let mut run = PlanRun::default();
    let missing: Vec<&str> = skill
        .parameters
        .iter()
        .filter(|p| p.required && !filled.values.contains_key(&p.name))
        .map(|p| p.description.as_str())
        .collect();
    if !missing.is_empty() {
        run.needs_input = true;
        run.text = format!(
            "I can do that ({}), but I need a bit more: {}",
            skill.description.trim_end_matches('.'),
            missing.join("; ")
        );
        return run;
    }
    let mut env: Map<String, Value> = filled.values.clone().into_iter().collect();
    // Outputs that will not exist (save_as name, the tool that did not run).
    let mut missing_outputs: Vec<(String, String)> = Vec::new();
    for step in &skill.plan {
        if let Some(w) = &step.when
            && !filled.given.contains(w)
        {
            run.steps.push(StepReport { tool: step.tool.clone(), status: StepStatus::Skipped });
            if let Some(name) = &step.save_as {
                missing_outputs.push((name.clone(), step.tool.clone()));
            }
            continue;
        }
        let Some(tool) = registry.get(&step.tool) else {
            run.steps.push(StepReport { tool: step.tool.clone(), status: StepStatus::Unavailable });
            if let Some(name) = &step.save_as {
                missing_outputs.push((name.clone(), step.tool.clone()));
            }
            continue;
        };
        // A step whose required input comes from a step that did not run cannot run either
        // (optional inputs, like an attachment, are left out instead).
        let schema = tool.input_schema();
        let required: Vec<&str> = schema
            .get("required")
            .and_then(|r| r.as_array())
            .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let refs: Vec<String> =
            step.args.iter().filter(|(k, _)| required.contains(&k.as_str())).flat_map(|(_, v)| references(v)).collect();
        if let Some((_, cause)) =
            missing_outputs.iter().find(|(name, _)| refs.iter().any(|r| r.split('.').next() == Some(name.as_str())))
        {
            run.steps.push(StepReport { tool: step.tool.clone(), status: StepStatus::Blocked(cause.clone()) });
            if let Some(name) = &step.save_as {
                missing_outputs.push((name.clone(), step.tool.clone()));
            }
            continue;
        }
        status(tool.status());
        match run_step(step, &env, registry, ctx, tool.input_schema()).await {
            Ok((value, artifacts)) => {
                if !run.tools_used.contains(&step.tool) {
                    run.tools_used.push(step.tool.clone());
                }
                run.artifacts.extend(artifacts);
                if let Some(name) = &step.save_as {
                    env.insert(name.clone(), value);
                }
                run.steps.push(StepReport { tool: step.tool.clone(), status: StepStatus::Done });
            }
            Err(ToolError::NotConfigured(why)) => {
                // Like a tool this server does not have: later steps that need its output
                // are skipped, and the answer says why.
                run.steps.push(StepReport { tool: step.tool.clone(), status: StepStatus::Unavailable });
                run.not_configured.push(why);
                if let Some(name) = &step.save_as {
                    missing_outputs.push((name.clone(), step.tool.clone()));
                }
            }
            Err(e) => {
                run.stopped = true;
                let msg = match &e {
                    ToolError::Forbidden(_) => {
                        format!("I couldn't finish this: {e}. Ask an administrator if you need it.")
                    }
                    _ => format!("I couldn't finish this: the {} step failed ({e}).", step.tool),
                };
                run.steps.push(StepReport { tool: step.tool.clone(), status: StepStatus::Failed(e.to_string()) });
                run.text = msg;
                return run;
            }
        }
    }
    let mut text = render_response(&skill.response, &env);
    let unavailable: Vec<&str> =
        run.steps.iter().filter(|s| s.status == StepStatus::Unavailable).map(|s| s.tool.as_str()).collect();
    if !unavailable.is_empty() {
        text.push_str(&format!(
            "\n\nNot done: {} — not available on this server, so those steps were skipped.",
            unavailable.iter().map(|t| describe(t)).collect::<Vec<_>>().join(", ")
        ));
        let blocked: Vec<&str> =
            run.steps.iter().filter(|s| matches!(s.status, StepStatus::Blocked(_))).map(|s| s.tool.as_str()).collect();
        if !blocked.is_empty() {
            text.push_str(&format!("\nAlso skipped, because they needed those results: {}.", blocked.join(", ")));
        }
    }
    for why in &run.not_configured {
        text.push_str(&format!("\n({why})"));
    }
    for n in &filled.notes {
        text.push_str(&format!("\n\nNote: {n}."));
    }
    run.text = text;
    run
}

async fn run_step(
    step: &Step,
    env: &Map<String, Value>,
    registry: &ToolRegistry,
    ctx: &ToolContext,
    schema: Value,
) -> Result<(Value, Vec<ArtifactRef>), ToolError> {
    let mut args = render_args(&step.args, env);
    coerce(&mut args, &schema);
    // A list where the tool takes one string: once per item.
    let fan = args.iter().find_map(|(k, v)| match v {
        Value::Array(items)
            if accepts(&schema, k).iter().any(|t| t == "string")
                && !accepts(&schema, k).iter().any(|t| t == "array") =>
        {
            Some((k.clone(), items.clone()))
        }
        _ => None,
    });
    match fan {
        None => {
            let out = registry.call(ctx, &step.tool, Value::Object(args)).await?;
            Ok((out.value, out.artifacts))
        }
        Some((key, items)) => {
            // Other lists of the same length for single-value inputs go along item by item
            // (companies with their contact names).
            let n = items.len();
            let zipped: Vec<(String, Vec<Value>)> = args
                .iter()
                .filter(|(k, _)| **k != key)
                .filter_map(|(k, v)| match v {
                    Value::Array(list)
                        if list.len() == n
                            && accepts(&schema, k).iter().any(|t| t == "string")
                            && !accepts(&schema, k).iter().any(|t| t == "array") =>
                    {
                        Some((k.clone(), list.clone()))
                    }
                    _ => None,
                })
                .collect();
            let mut results = Vec::new();
            let mut artifacts = Vec::new();
            for (i, item) in items.into_iter().enumerate().take(MAX_FAN_OUT) {
                let mut one = args.clone();
                one.insert(key.clone(), item);
                for (k, list) in &zipped {
                    one.insert(k.clone(), list[i].clone());
                }
                let out = registry.call(ctx, &step.tool, Value::Object(one)).await?;
                results.push(out.value);
                artifacts.extend(out.artifacts);
            }
            Ok((json!({"count": results.len(), "results": results}), artifacts))
        }
    }
}

/// What a tool does, for "Not done: …".
fn describe(tool: &str) -> String {
    let what = match tool {
        "pdf_generator" => "the PDF",
        "pptx_generator" => "the slide deck",
        "docx_generator" => "the Word document",
        "csv_export" => "the CSV file",
        "outlook_send_email" => "the e-mail",
        "teams_post_message" => "the Teams post",
        "calendar_create_event" => "the calendar event",
        "linkedin_search" => "the LinkedIn search",
        "web_research" => "the web research",
        "content_draft" => "the draft",
        _ => return format!("`{tool}`"),
    };
    format!("{what} (`{tool}`)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Map<String, Value> {
        json!({
            "period": "2026-10",
            "summary": {"period_label": "October 2026", "revenue": "SGD 10.00",
                        "by": [{"name": "A", "amount": "SGD 1.00"}, {"name": "B", "amount": "SGD 2.00"}]},
            "leads": {"leads": [{"email": "a@x.co"}, {"email": "b@x.co"}]},
            "recipients": ["ceo@mezzofy.com"],
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn whole_references_keep_their_type_and_missing_ones_vanish() {
        let args = json!({"to": "{{recipients}}", "title": "Statement {{summary.period_label}}", "pdf": "{{pdf.artifact_id}}",
                          "emails": "{{leads.leads.email}}", "q": "{{nothing}} x", "n": "5"});
        let out = render_args(args.as_object().unwrap(), &env());
        assert_eq!(out["to"], json!(["ceo@mezzofy.com"]));
        assert_eq!(out["title"], json!("Statement October 2026"));
        assert!(!out.contains_key("pdf"));
        assert_eq!(out["emails"], json!(["a@x.co", "b@x.co"]));
        assert_eq!(out["q"], json!("x"));
        assert_eq!(out["n"], json!("5"));
    }

    #[test]
    fn response_lines_with_only_missing_values_are_dropped() {
        let t = "**Statement – {{summary.period_label}}**\n- Revenue: {{summary.revenue}}\nBy product: {{summary.by}}\nPDF: {{pdf.name}}";
        let out = render_response(t, &env());
        assert_eq!(
            out,
            "**Statement – October 2026**\n- Revenue: SGD 10.00\nBy product: \n- A: SGD 1.00\n- B: SGD 2.00"
        );
    }

    #[test]
    fn integers_are_coerced_by_schema() {
        let mut args = json!({"limit": "5", "query": "7"}).as_object().cloned().unwrap();
        let schema =
            json!({"properties": {"limit": {"type": ["integer", "null"]}, "query": {"type": ["string", "null"]}}});
        coerce(&mut args, &schema);
        assert_eq!(args["limit"], json!(5));
        assert_eq!(args["query"], json!("7"));
    }
}
