//! Skills (`knowledge/skills/*.yaml`): named capabilities with triggers in English, Chinese
//! and Malay, typed parameters and a deterministic tool plan. With a model they are offered
//! as guidance and as tools (`skill_<name>`); offline, [`engine`] runs the plan itself.

pub mod engine;
pub mod params;

use std::collections::BTreeMap;
use std::path::Path;

use domain::AgentKind;
use serde::Deserialize;
use serde_json::Value;

use crate::knowledge::KnowledgeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    Period,
    Date,
    Amount,
    Email,
    Recipients,
    Integer,
    Text,
    Industry,
    Location,
    Company,
    Url,
    Product,
    Channel,
    Format,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    pub kind: ParamKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub tool: String,
    #[serde(default)]
    pub args: serde_json::Map<String, Value>,
    #[serde(default)]
    pub save_as: Option<String>,
    /// Run only when this parameter was given.
    #[serde(default)]
    pub when: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    #[serde(default)]
    pub en: Vec<String>,
    #[serde(default)]
    pub zh: Vec<String>,
    #[serde(default)]
    pub ms: Vec<String>,
}

impl Triggers {
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.en.iter().chain(&self.zh).chain(&self.ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skill {
    pub name: String,
    pub description: String,
    pub agents: Vec<AgentKind>,
    #[serde(default)]
    pub background: bool,
    pub triggers: Triggers,
    #[serde(default)]
    pub parameters: Vec<Param>,
    pub plan: Vec<Step>,
    pub response: String,
}

impl Skill {
    pub fn primary_agent(&self) -> Option<AgentKind> {
        self.agents.first().copied()
    }

    /// The best trigger found in `lowered`: the phrase itself, or (for space-separated
    /// languages) its words in order with at most two other words between each
    /// ("find F&B prospects" matches "find prospects"). Longer and exact matches win.
    pub fn best_trigger(&self, lowered: &str) -> Option<&str> {
        self.best_trigger_scored(lowered).map(|(_, t)| t)
    }

    /// [`Skill::best_trigger`] with its score (twice the trigger's length, plus one when
    /// it matched exactly).
    pub fn best_trigger_scored(&self, lowered: &str) -> Option<(usize, &str)> {
        let words: Vec<&str> =
            lowered.split(|c: char| c.is_whitespace() || ",.;:!?()\"'".contains(c)).filter(|w| !w.is_empty()).collect();
        self.triggers
            .all()
            .filter_map(|t| {
                // Triggers are lower-cased when the skill is loaded.
                let len = t.chars().count() * 2;
                if crate::router::contains_word(lowered, t) {
                    Some((len + 1, t.as_str()))
                } else if t.contains(' ') && in_order(&words, t) {
                    Some((len, t.as_str()))
                } else {
                    None
                }
            })
            .max_by_key(|(score, _)| *score)
    }

    /// The tool-call schema of this skill when offered to a model.
    pub fn input_schema(&self) -> Value {
        let mut props = serde_json::Map::new();
        for p in &self.parameters {
            let mut d = p.description.clone();
            if let Some(def) = &p.default {
                d.push_str(&format!(" Default: {def}."));
            }
            let ty = match p.kind {
                ParamKind::Integer => "integer",
                _ => "string",
            };
            props.insert(p.name.clone(), serde_json::json!({"type": ty, "description": d}));
        }
        let required: Vec<&str> = self.parameters.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
        serde_json::json!({"type": "object", "properties": props, "required": required})
    }
}

/// Whether the words of `phrase` occur in `words` in order, at most two words apart.
fn in_order(words: &[&str], phrase: &str) -> bool {
    let wanted: Vec<&str> = phrase.split_whitespace().collect();
    let Some(first) = wanted.first() else { return false };
    (0..words.len()).any(|start| {
        if words[start] != *first {
            return false;
        }
        let mut at = start;
        for w in &wanted[1..] {
            match words[at + 1..].iter().take(3).position(|x| x == w) {
                Some(i) => at += i + 1,
                None => return false,
            }
        }
        true
    })
}

/// A skill matched to a message.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillMatch {
    pub name: String,
    pub trigger: String,
    pub agent: AgentKind,
}

#[derive(Debug, Default)]
pub struct SkillSet {
    skills: BTreeMap<String, Skill>,
}

impl SkillSet {
    /// Loads every `*.yaml` of `dir`, checking each plan's references and tool names
    /// against `known_tools` (tools of later features may be named; they are reported as
    /// unavailable when the plan runs, so the list is the full vocabulary).
    pub fn load(dir: &Path) -> Result<Self, KnowledgeError> {
        let mut set = SkillSet::default();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| KnowledgeError::Read { path: dir.display().to_string(), message: e.to_string() })?;
        let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml")) {
            let path = f.display().to_string();
            let text = std::fs::read_to_string(f)
                .map_err(|e| KnowledgeError::Read { path: path.clone(), message: e.to_string() })?;
            let mut skill: Skill = serde_saphyr::from_str(&text)
                .map_err(|e| KnowledgeError::Invalid { path: path.clone(), message: e.to_string() })?;
            validate(&skill).map_err(|message| KnowledgeError::Invalid { path: path.clone(), message })?;
            for list in [&mut skill.triggers.en, &mut skill.triggers.zh, &mut skill.triggers.ms] {
                for t in list.iter_mut() {
                    *t = t.trim().to_lowercase();
                }
                list.retain(|t| !t.is_empty());
            }
            if f.file_stem().and_then(|s| s.to_str()) != Some(skill.name.as_str()) {
                return Err(KnowledgeError::Invalid {
                    path,
                    message: format!("name '{}' differs from the file name", skill.name),
                });
            }
            set.skills.insert(skill.name.clone(), skill);
        }
        Ok(set)
    }

    pub fn get(&self, name: &str) -> Option<&Skill> {
        self.skills.get(name)
    }

    pub fn all(&self) -> impl Iterator<Item = &Skill> {
        self.skills.values()
    }

    /// Skills available to `agent`.
    pub fn for_agent(&self, agent: AgentKind) -> impl Iterator<Item = &Skill> {
        self.skills.values().filter(move |s| s.agents.contains(&agent))
    }

    /// The skill whose trigger best matches `message` (longest trigger wins; among equals,
    /// one that `prefer` serves). The agent is `prefer` when the skill serves it, else the
    /// skill's primary agent.
    pub fn match_message(&self, message: &str, prefer: Option<AgentKind>) -> Option<SkillMatch> {
        let lowered = message.to_lowercase();
        self.skills
            .values()
            .filter_map(|s| s.best_trigger_scored(&lowered).map(|(score, t)| (s, score, t)))
            .max_by_key(|(s, score, _)| (*score, prefer.is_some_and(|p| s.agents.contains(&p))))
            .and_then(|(s, _, t)| {
                let agent = match prefer {
                    Some(p) if s.agents.contains(&p) => p,
                    _ => s.primary_agent()?,
                };
                Some(SkillMatch { name: s.name.clone(), trigger: t.to_string(), agent })
            })
    }
}

/// Every `{{name}}` or `{{name.field}}` of a plan must be a parameter or an earlier
/// `save_as`; `when` must name a parameter.
fn validate(s: &Skill) -> Result<(), String> {
    if s.agents.is_empty() {
        return Err("agents must name at least one agent".into());
    }
    let mut known: Vec<&str> = s.parameters.iter().map(|p| p.name.as_str()).collect();
    for step in &s.plan {
        if let Some(w) = &step.when
            && !s.parameters.iter().any(|p| &p.name == w)
        {
            return Err(format!("step {}: 'when: {w}' is not a parameter", step.tool));
        }
        for r in engine::references(&Value::Object(step.args.clone())) {
            let root = r.split('.').next().unwrap_or_default();
            if !known.contains(&root) {
                return Err(format!("step {}: '{{{{{r}}}}}' is neither a parameter nor an earlier step", step.tool));
            }
        }
        if let Some(name) = &step.save_as {
            known.push(name);
        }
    }
    for r in engine::references(&Value::String(s.response.clone())) {
        let root = r.split('.').next().unwrap_or_default();
        if !known.contains(&root) {
            return Err(format!("response: '{{{{{r}}}}}' is neither a parameter nor a step"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn repo_skills() -> SkillSet {
        SkillSet::load(&std::env::current_dir().unwrap().join("../../knowledge/skills")).unwrap()
    }

    #[test]
    fn the_seven_skills_load() {
        let set = repo_skills();
        let names: Vec<&str> = set.all().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "content_generation",
                "data_analysis",
                "email_outreach",
                "financial_reporting",
                "linkedin_prospecting",
                "pitch_deck_generation",
                "web_research"
            ]
        );
        for s in set.all() {
            assert!(!s.triggers.en.is_empty() && !s.triggers.zh.is_empty() && !s.triggers.ms.is_empty(), "{}", s.name);
        }
    }

    #[test]
    fn matching_in_three_languages() {
        let set = repo_skills();
        let cases = [
            ("Generate the latest financial statement and send to CEO", "financial_reporting"),
            ("请生成上个月的财务报表", "financial_reporting"),
            ("Sediakan penyata kewangan bulan lepas", "financial_reporting"),
            ("Make a pitch deck for ABC Restaurant", "pitch_deck_generation"),
            ("Find F&B prospects on LinkedIn in Singapore", "linkedin_prospecting"),
        ];
        for (msg, skill) in cases {
            assert_eq!(set.match_message(msg, None).map(|m| m.name), Some(skill.to_string()), "{msg}");
        }
        assert_eq!(set.match_message("hello there", None), None);
    }
}
