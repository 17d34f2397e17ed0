//! The knowledge directory: agent prompts (`agents/*.md`), and the documents the
//! `knowledge_search` tool searches (Markdown split at `##` headings, product data). Loaded
//! once at startup; a missing or unreadable required file is a startup error naming it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use domain::AgentKind;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// One searchable section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// File path relative to the knowledge directory.
    pub source: String,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub source: String,
    pub title: String,
    pub excerpt: String,
    pub score: f64,
}

#[derive(Debug, Default)]
pub struct Knowledge {
    pub root: PathBuf,
    prompts: BTreeMap<AgentKind, String>,
    router_prompt: String,
    sections: Vec<Section>,
    /// Terms of each section with counts, and document frequency of each term.
    terms: Vec<HashMap<String, u32>>,
    df: HashMap<String, u32>,
    avg_len: f64,
}

fn read(path: &Path) -> Result<String, KnowledgeError> {
    std::fs::read_to_string(path)
        .map_err(|e| KnowledgeError::Read { path: path.display().to_string(), message: e.to_string() })
}

/// Lower-cased words for Latin text, character bigrams (and single characters) for Han text.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut han: Vec<char> = Vec::new();
    let flush_han = |han: &mut Vec<char>, out: &mut Vec<String>| {
        for (i, c) in han.iter().enumerate() {
            out.push(c.to_string());
            if let Some(n) = han.get(i + 1) {
                out.push(format!("{c}{n}"));
            }
        }
        han.clear();
    };
    for c in text.chars() {
        if is_han(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            han.push(c);
        } else if c.is_alphanumeric() || c == '&' {
            flush_han(&mut han, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush_han(&mut han, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_han(&mut han, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out.retain(|t| !STOP.contains(&t.as_str()));
    out
}

pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF)
}

const STOP: &[&str] = &[
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "for", "is", "are", "be", "it", "we", "our", "you", "your",
    "with", "what", "how", "do", "does", "can", "i", "me", "my", "this", "that", "at", "by", "as", "from", "about",
    "please", "tell", "us", "yang", "dan", "untuk", "apa", "的", "是", "吗", "了",
];

/// Splits Markdown at `##` headings; the text before the first one becomes a section titled
/// with the `#` title.
fn markdown_sections(source: &str, text: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut doc_title = source.to_string();
    let mut title = String::new();
    let mut body = String::new();
    let mut push = |title: &str, body: &mut String, doc_title: &str| {
        let t = body.trim();
        if !t.is_empty() {
            let title = if title.is_empty() { doc_title.to_string() } else { format!("{doc_title} — {title}") };
            sections.push(Section { source: source.to_string(), title, text: t.to_string() });
        }
        body.clear();
    };
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            push(&title, &mut body, &doc_title);
            title = h.trim().to_string();
        } else if let Some(h) = line.strip_prefix("# ") {
            doc_title = h.trim().to_string();
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    push(&title, &mut body, &doc_title);
    sections
}

/// One section per product of `products.json`.
fn product_sections(source: &str, text: &str) -> Result<Vec<Section>, KnowledgeError> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| KnowledgeError::Invalid { path: source.to_string(), message: e.to_string() })?;
    let currency = v.get("currency").and_then(|c| c.as_str()).unwrap_or("SGD");
    let mut out = Vec::new();
    for p in v.get("products").and_then(|p| p.as_array()).into_iter().flatten() {
        let s = |k: &str| p.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
        let list = |k: &str| {
            p.get(k)
                .and_then(|x| x.as_array())
                .map(|a| a.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>().join("; "))
                .unwrap_or_default()
        };
        let price = p.get("price").and_then(|x| x.as_f64()).unwrap_or(0.0);
        let billing = if s("billing") == "monthly" { "per month" } else { "one-time" };
        out.push(Section {
            source: source.to_string(),
            title: format!("Product — {}", s("name")),
            text: format!(
                "{} ({}): {currency} {price:.2} {billing}. {}\nFeatures: {}\nBest for: {}",
                s("name"),
                s("id"),
                s("description"),
                list("features"),
                list("best_for")
            ),
        });
    }
    Ok(out)
}

impl Knowledge {
    /// Loads `root`. Agent prompts are required; documents are whatever is there.
    pub fn load(root: &Path) -> Result<Self, KnowledgeError> {
        let mut k = Knowledge { root: root.to_path_buf(), ..Default::default() };
        for agent in AgentKind::ALL {
            let path = root.join("agents").join(format!("{agent}.md"));
            k.prompts.insert(agent, read(&path)?);
        }
        k.router_prompt = read(&root.join("agents/router.md"))?;
        let mut sections = Vec::new();
        for dir in ["playbooks", "brand"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
            let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "md")) {
                let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
                sections.extend(markdown_sections(&rel, &read(f)?));
            }
        }
        let products = root.join("product_data/products.json");
        if products.exists() {
            sections.extend(product_sections("product_data/products.json", &read(&products)?)?);
        }
        for name in ["product_data/pricing.yaml", "product_data/features.yaml"] {
            let path = root.join(name);
            if path.exists() {
                sections.push(Section { source: name.into(), title: name.into(), text: read(&path)? });
            }
        }
        k.index(sections);
        Ok(k)
    }

    fn index(&mut self, sections: Vec<Section>) {
        self.terms = sections
            .iter()
            .map(|s| {
                let mut m = HashMap::new();
                for t in tokens(&format!("{} {} {}", s.title, s.title, s.text)) {
                    *m.entry(t).or_insert(0) += 1;
                }
                m
            })
            .collect();
        self.df.clear();
        for m in &self.terms {
            for t in m.keys() {
                *self.df.entry(t.clone()).or_insert(0) += 1;
            }
        }
        let total: u32 = self.terms.iter().map(|m| m.values().sum::<u32>()).sum();
        self.avg_len = if self.terms.is_empty() { 1.0 } else { f64::from(total) / self.terms.len() as f64 };
        self.sections = sections;
    }

    pub fn prompt(&self, agent: AgentKind) -> &str {
        self.prompts.get(&agent).map(String::as_str).unwrap_or_default()
    }

    pub fn router_prompt(&self) -> &str {
        &self.router_prompt
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// BM25 over the sections; best first, only sections sharing a term with the query.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        let q = tokens(query);
        let n = self.sections.len() as f64;
        let (k1, b) = (1.2, 0.75);
        let mut scored: Vec<(f64, usize)> = self
            .terms
            .iter()
            .enumerate()
            .filter_map(|(i, terms)| {
                let len = f64::from(terms.values().sum::<u32>());
                let score: f64 = q
                    .iter()
                    .filter_map(|t| {
                        let tf = f64::from(*terms.get(t)?);
                        let df = f64::from(self.df.get(t).copied().unwrap_or(0));
                        let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                        Some(idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * len / self.avg_len)))
                    })
                    .sum();
                (score > 0.0).then_some((score, i))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .take(limit)
            .map(|(score, i)| {
                let s = &self.sections[i];
                Hit { source: s.source.clone(), title: s.title.clone(), excerpt: excerpt(&s.text, 600), score }
            })
            .collect()
    }
}

/// The first `max` characters, cut at a word boundary.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => &cut,
    };
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_knowledge() -> Knowledge {
        let root = std::env::current_dir().unwrap().join("../../knowledge");
        Knowledge::load(&root).unwrap()
    }

    #[test]
    fn loads_prompts_and_sections() {
        let k = repo_knowledge();
        for a in AgentKind::ALL {
            assert!(k.prompt(a).len() > 200, "{a} prompt is too short");
        }
        assert!(k.router_prompt().contains("clarify"));
        assert!(k.sections().len() > 30, "only {} sections", k.sections().len());
    }

    #[test]
    fn search_finds_the_relevant_section() {
        let k = repo_knowledge();
        let hits = k.search("how much does the loyalty product cost", 3);
        assert!(hits.iter().any(|h| h.excerpt.contains("499")), "{hits:#?}");
        let hits = k.search("QR code not scanning", 3);
        assert!(
            hits[0].title.to_lowercase().contains("qr") || hits[0].excerpt.to_lowercase().contains("qr"),
            "{hits:#?}"
        );
        assert!(k.search("zzzz qqqq", 3).is_empty());
    }

    #[test]
    fn tokens_split_latin_words_and_han_bigrams() {
        assert_eq!(tokens("The P&L for Q4"), vec!["p&l", "q4"]);
        assert_eq!(tokens("财务报表"), vec!["财", "财务", "务", "务报", "报", "报表", "表"]);
    }
}
