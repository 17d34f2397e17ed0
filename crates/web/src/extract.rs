//! Readable text, links, contacts and tables from HTML or plain text.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use scraper::{ElementRef, Html, Node};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::patterns::{email_ok, emails_in, normalize_email, phone_key, phones_in};

/// Most links kept by [`extract`].
pub const MAX_LINKS: usize = 200;
/// Most tables kept by [`extract`].
pub const MAX_TABLES: usize = 50;
/// Most rows kept per table.
pub const MAX_TABLE_ROWS: usize = 1000;
/// Most e-mail addresses and most phone numbers kept.
pub const MAX_CONTACTS: usize = 100;
/// Elements nested deeper than this are ignored (bounds recursion on hostile pages).
const MAX_DEPTH: usize = 256;
/// The HTML is cut where its tag nesting would pass this: the parser's work grows with
/// the square of the nesting, so a hostile page of 100 000 nested `<div>`s would take minutes.
const MAX_PARSE_DEPTH: usize = 512;

/// What [`extract`] or [`extract_text_plain`] found in a page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extracted {
    /// `<title>`, else `og:title`, else the first `<h1>`.
    pub title: Option<String>,
    /// `<meta name="description">`, else `og:description`.
    pub description: Option<String>,
    /// Readable main text: paragraphs separated by a blank line, whitespace collapsed,
    /// without scripts, styles, navigation, headers, footers, sidebars and forms.
    /// List items start with `- `; table cells of a row are joined by ` | `.
    pub text: String,
    /// Absolute http(s) links of the whole page, without fragments, de-duplicated, at most [`MAX_LINKS`].
    pub links: Vec<Link>,
    /// E-mail addresses from the page text and `mailto:` links, de-duplicated, at most [`MAX_CONTACTS`].
    pub emails: Vec<String>,
    /// Phone numbers (8–15 digits) from the page text and `tel:` links, as written,
    /// de-duplicated by their digits, at most [`MAX_CONTACTS`].
    pub phones: Vec<String>,
    /// Every table (at most [`MAX_TABLES`]): rows of cell texts.
    pub tables: Vec<Vec<Vec<String>>>,
}

/// A hyperlink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The link's text (or `aria-label`, `title`, image `alt`); may be empty.
    pub text: String,
    /// Absolute `http` / `https` URL.
    pub url: String,
}

/// Never text: contents skipped everywhere.
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas", "head", "select",
    "option", "button", "input", "textarea", "datalist", "video", "audio", "map",
];
/// Page chrome: left out of the main text (still searched for contacts and links).
const CHROME: &[&str] = &["nav", "footer", "aside", "form", "dialog", "menu"];
const CHROME_ROLES: &[&str] =
    &["navigation", "contentinfo", "banner", "complementary", "search", "menu", "menubar", "dialog", "alertdialog"];
const CHROME_TOKENS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "footer",
    "sidebar",
    "breadcrumb",
    "breadcrumbs",
    "cookie",
    "cookies",
    "consent",
    "skiplink",
    "share",
    "social",
    "popup",
    "modal",
];
const BLOCK: &[&str] = &[
    "address",
    "article",
    "blockquote",
    "body",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "legend",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
];

/// Extracts title, description, readable main text, links, e-mail addresses, phone
/// numbers and tables from an HTML document. Relative links resolve against `base`
/// (or the page's own `<base href>`).
pub fn extract(html: &str, base: &Url) -> Extracted {
    let cut = nesting_cut(html, MAX_PARSE_DEPTH);
    if cut < html.len() {
        tracing::warn!(at = cut, "HTML nested deeper than {MAX_PARSE_DEPTH} elements; the rest is ignored");
    }
    let doc = Html::parse_document(&html[..cut]);
    let root = doc.root_element();
    let body = root.descendent_elements().find(|e| e.value().name() == "body").unwrap_or(root);

    let text = paragraphs(main_root(root, body), Mode::Main).join("\n\n");
    let everything = paragraphs(body, Mode::All).join("\n\n");

    let base = root
        .descendent_elements()
        .find(|e| e.value().name() == "base")
        .and_then(|e| e.attr("href"))
        .and_then(|href| base.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| base.clone());

    let mut emails = Vec::new();
    let mut phones = Vec::new();
    for a in root.descendent_elements().filter(|e| e.value().name() == "a") {
        let Some(href) = a.attr("href").map(str::trim) else { continue };
        if let Some(rest) = strip_prefix_ci(href, "mailto:") {
            let addrs = percent_decode(rest.split('?').next().unwrap_or_default());
            emails.extend(addrs.split(',').map(str::trim).filter(|s| email_ok(s)).map(normalize_email));
        } else if let Some(rest) = strip_prefix_ci(href, "tel:") {
            let number = percent_decode(rest);
            let digits = phone_key(&number).len();
            if (8..=15).contains(&digits) {
                phones.push(number.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
    }
    // As written in the text first; `mailto:` / `tel:` hrefs only add ones not already seen.
    let mut all_phones = phones_in(&everything);
    all_phones.append(&mut phones);
    let mut all_emails = emails_in(&everything);
    all_emails.append(&mut emails);

    Extracted {
        title: title(root),
        description: description(root),
        text,
        links: links(root, &base),
        emails: dedup_by(all_emails, MAX_CONTACTS, |e| e.to_ascii_lowercase()),
        phones: dedup_by(all_phones, MAX_CONTACTS, |p| phone_key(p)),
        tables: tables(root),
    }
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "keygen", "frame", "basefont", "bgsound", "image",
];
/// Elements the parser closes by itself when a sibling starts (`<p>`, `<li>`, `<td>` …).
const SELF_CLOSING: &[&str] = &[
    "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot", "rb", "rt", "rtc", "rp",
    "colgroup", "caption",
];
const RAW_TEXT: &[&str] =
    &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"];

/// A cheap linear estimate of the parser's element nesting: the byte offset of the first
/// tag that would open more than `max` elements, or `html.len()` when none does.
fn nesting_cut(html: &str, max: usize) -> usize {
    let bytes = html.as_bytes();
    let find = |from: usize, needle: &[u8]| -> Option<usize> {
        bytes.get(from..)?.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle)).map(|p| from + p)
    };
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(lt) = bytes.get(i..).and_then(|rest| rest.iter().position(|&b| b == b'<')).map(|p| i + p) {
        let rest = &bytes[lt + 1..];
        if rest.starts_with(b"!--") {
            let Some(end) = find(lt + 4, b"-->") else { break };
            i = end + 3;
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = lt + 1 + usize::from(closing);
        let name_len = bytes[name_start..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            i = lt + 1;
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let Some(gt) = find(name_start + name_len, b">") else { break };
        i = gt + 1;
        if VOID.contains(&name.as_str()) || SELF_CLOSING.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        if RAW_TEXT.contains(&name.as_str()) {
            match find(i, format!("</{name}").as_bytes()) {
                Some(end) => i = end,
                None => break,
            }
            continue;
        }
        depth += 1;
        if depth > max {
            return lt;
        }
    }
    html.len()
}

static BARE_URL: LazyLock<Regex> = LazyLock::new(|| re(r#"(?i)\bhttps?://[^\s<>"'`]+"#));

/// Compiles a constant pattern (every one is exercised by the tests).
#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant regex")
}

/// [`extract`] for `text/plain` (and other non-HTML text): lines are kept, runs of
/// spaces and of blank lines are collapsed; links are the bare http(s) URLs in it.
pub fn extract_text_plain(text: &str) -> Extracted {
    let mut paras: Vec<String> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = collapse(line);
        if line.is_empty() {
            if !cur.is_empty() {
                paras.push(cur.join("\n"));
                cur.clear();
            }
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        paras.push(cur.join("\n"));
    }
    let text = paras.join("\n\n");
    let mut links = Vec::new();
    for m in BARE_URL.find_iter(&text) {
        let raw = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}', '>', '\'', '"']);
        if let Ok(mut url) = Url::parse(raw) {
            url.set_fragment(None);
            links.push(Link { text: String::new(), url: url.to_string() });
        }
    }
    let links = dedup_by(links, MAX_LINKS, |l| l.url.clone());
    Extracted {
        title: None,
        description: None,
        emails: dedup_by(emails_in(&text), MAX_CONTACTS, |e| e.to_ascii_lowercase()),
        phones: dedup_by(phones_in(&text), MAX_CONTACTS, |p| phone_key(p)),
        text,
        links,
        tables: Vec::new(),
    }
}

/// De-duplicates by `key`, keeping the first of each and at most `limit` in all.
fn dedup_by<T, K: std::hash::Hash + Eq>(items: Vec<T>, limit: usize, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut seen = HashSet::new();
    items.into_iter().filter(|item| seen.insert(key(item))).take(limit).collect()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) =
                (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Collapses every whitespace run (incl. newlines and no-break spaces) to one space.
fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn name_is(el: &ElementRef<'_>, names: &[&str]) -> bool {
    names.contains(&el.value().name())
}

fn is_hidden(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    if v.attr("hidden").is_some() || v.attr("aria-hidden").is_some_and(|a| a.trim().eq_ignore_ascii_case("true")) {
        return true;
    }
    v.attr("style").is_some_and(|style| {
        let style: String = style.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        style.contains("display:none") || style.contains("visibility:hidden")
    })
}

fn has_descendant(el: &ElementRef<'_>, names: &[&str]) -> bool {
    el.descendent_elements().skip(1).any(|d| name_is(&d, names))
}

fn inside(el: &ElementRef<'_>, names: &[&str]) -> bool {
    el.ancestors().filter_map(ElementRef::wrap).any(|a| name_is(&a, names))
}

/// Navigation, footers, sidebars, cookie banners and the like.
fn is_chrome(el: &ElementRef<'_>) -> bool {
    let name = el.value().name();
    if matches!(name, "html" | "body" | "main" | "article") {
        return false;
    }
    if CHROME.contains(&name) {
        return true;
    }
    // A site header, unless it carries the page's heading or sits inside the content.
    if name == "header" && !has_descendant(el, &["h1"]) && !inside(el, &["article", "main"]) {
        return true;
    }
    if el.attr("role").is_some_and(|r| CHROME_ROLES.contains(&r.trim().to_ascii_lowercase().as_str())) {
        return true;
    }
    let marked = [el.attr("class"), el.attr("id")].into_iter().flatten().any(|v| {
        v.split(|c: char| !c.is_ascii_alphanumeric())
            .any(|token| CHROME_TOKENS.contains(&token.to_ascii_lowercase().as_str()))
    });
    marked && !has_descendant(el, &["h1", "main", "article"])
}

/// The element holding the main content: `<main>` / `role=main`, else a single
/// `<article>` holding much of the page's text, else `<body>`.
fn main_root<'a>(root: ElementRef<'a>, body: ElementRef<'a>) -> ElementRef<'a> {
    let main = root.descendent_elements().find(|e| {
        (e.value().name() == "main" || e.attr("role").is_some_and(|r| r.trim().eq_ignore_ascii_case("main")))
            && !is_hidden(e)
    });
    if let Some(main) = main
        && !paragraphs(main, Mode::Main).is_empty()
    {
        return main;
    }
    let articles: Vec<_> = root.descendent_elements().filter(|e| e.value().name() == "article").collect();
    if let [article] = articles.as_slice() {
        let len = |e: ElementRef<'_>| paragraphs(e, Mode::Main).iter().map(|p| p.chars().count()).sum::<usize>();
        if len(*article) * 10 >= len(body) * 4 {
            return *article;
        }
    }
    body
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Main text: page chrome and hidden elements left out.
    Main,
    /// Everything visible-ish, for contacts: only [`SKIP`] left out.
    All,
}

/// The text of `el` as paragraphs.
fn paragraphs(el: ElementRef<'_>, mode: Mode) -> Vec<String> {
    let mut w = Walker { mode, paras: Vec::new(), cur: String::new(), depth: 0 };
    w.element(el);
    w.flush();
    w.paras
}

struct Walker {
    mode: Mode,
    paras: Vec<String>,
    cur: String,
    depth: usize,
}

impl Walker {
    fn flush(&mut self) {
        let para = self.cur.split('\n').map(collapse).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
        if !para.is_empty() {
            self.paras.push(para);
        }
        self.cur.clear();
    }

    fn children(&mut self, el: ElementRef<'_>) {
        for child in el.children() {
            match child.value() {
                // Source line breaks are plain whitespace; only `<br>` breaks a line.
                Node::Text(t) => self.cur.extend(t.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c })),
                Node::Element(_) => {
                    if let Some(e) = ElementRef::wrap(child) {
                        self.element(e);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, el: ElementRef<'_>) {
        let name = el.value().name();
        if self.depth >= MAX_DEPTH
            || SKIP.contains(&name)
            || (self.mode == Mode::Main && (is_hidden(&el) || is_chrome(&el)))
        {
            return;
        }
        self.depth += 1;
        self.element_inner(el, name);
        self.depth -= 1;
    }

    fn element_inner(&mut self, el: ElementRef<'_>, name: &str) {
        match name {
            "br" => self.cur.push('\n'),
            "hr" => self.flush(),
            "li" => {
                self.flush();
                self.cur.push_str("- ");
                self.children(el);
                self.flush();
            }
            "tr" => {
                self.flush();
                let mut first = true;
                for cell in el.child_elements() {
                    if matches!(cell.value().name(), "td" | "th") {
                        if !first {
                            self.cur.push_str(" | ");
                        }
                        first = false;
                        self.cur.push_str(&cell_text(cell));
                    }
                }
                self.flush();
            }
            "td" | "th" => {
                self.cur.push(' ');
                self.children(el);
                self.cur.push(' ');
            }
            _ if BLOCK.contains(&name) => {
                self.flush();
                self.children(el);
                self.flush();
            }
            _ => self.children(el),
        }
    }
}

/// Text of one element on one line (block boundaries and `<br>` become spaces).
fn cell_text(el: ElementRef<'_>) -> String {
    fn walk(el: ElementRef<'_>, out: &mut String, depth: usize) {
        if depth >= MAX_DEPTH {
            return;
        }
        for child in el.children() {
            match child.value() {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) => {
                    if SKIP.contains(&e.name()) {
                        continue;
                    }
                    if let Some(e) = ElementRef::wrap(child) {
                        out.push(' ');
                        walk(e, out, depth + 1);
                        out.push(' ');
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = String::new();
    walk(el, &mut out, 0);
    collapse(&out)
}

/// Text of an inline element (a link, the title): inline children stay glued.
fn inline_text(el: ElementRef<'_>) -> String {
    collapse(&el.text().collect::<String>())
}

fn title(root: ElementRef<'_>) -> Option<String> {
    let title = root
        .descendent_elements()
        .find(|e| e.value().name() == "title" && !inside(e, &["svg"]))
        .map(inline_text)
        .filter(|t| !t.is_empty());
    title
        .or_else(|| meta(root, &["og:title", "twitter:title"]))
        .or_else(|| root.descendent_elements().find(|e| e.value().name() == "h1").map(cell_text))
        .filter(|t| !t.is_empty())
}

fn description(root: ElementRef<'_>) -> Option<String> {
    meta(root, &["description"]).or_else(|| meta(root, &["og:description", "twitter:description"]))
}

/// The first non-empty `content` of a `<meta name=…>` / `<meta property=…>` with one of `keys`.
fn meta(root: ElementRef<'_>, keys: &[&str]) -> Option<String> {
    root.descendent_elements()
        .filter(|e| e.value().name() == "meta")
        .filter(|e| {
            [e.attr("name"), e.attr("property")]
                .into_iter()
                .flatten()
                .any(|k| keys.iter().any(|key| k.trim().eq_ignore_ascii_case(key)))
        })
        .filter_map(|e| e.attr("content").map(collapse))
        .find(|c| !c.is_empty())
}

fn links(root: ElementRef<'_>, base: &Url) -> Vec<Link> {
    let mut out: Vec<Link> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for a in root.descendent_elements().filter(|e| matches!(e.value().name(), "a" | "area")) {
        let Some(href) = a.attr("href").map(str::trim).filter(|h| !h.is_empty() && !h.starts_with('#')) else {
            continue;
        };
        let Ok(mut url) = base.join(href) else { continue };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            continue;
        }
        url.set_fragment(None);
        let url = url.to_string();
        let text = link_text(a);
        match index.get(&url) {
            Some(&i) if out[i].text.is_empty() => out[i].text = text,
            Some(_) => {}
            None if out.len() < MAX_LINKS => {
                index.insert(url.clone(), out.len());
                out.push(Link { text, url });
            }
            None => {}
        }
    }
    out
}

fn link_text(a: ElementRef<'_>) -> String {
    let text = cell_text(a);
    if !text.is_empty() {
        return text;
    }
    [a.attr("aria-label"), a.attr("title")]
        .into_iter()
        .flatten()
        .map(collapse)
        .chain(
            a.descendent_elements().filter(|e| e.value().name() == "img").filter_map(|i| i.attr("alt").map(collapse)),
        )
        .find(|t| !t.is_empty())
        .unwrap_or_default()
}

fn tables(root: ElementRef<'_>) -> Vec<Vec<Vec<String>>> {
    /// The rows of `el`'s own table (not of tables nested in it).
    fn rows(el: ElementRef<'_>, out: &mut Vec<Vec<String>>, depth: usize) {
        if depth >= MAX_DEPTH {
            return;
        }
        for child in el.child_elements() {
            match child.value().name() {
                "table" => {} // nested: a table of its own
                "tr" => {
                    if out.len() < MAX_TABLE_ROWS {
                        let cells: Vec<String> = child
                            .child_elements()
                            .filter(|c| matches!(c.value().name(), "td" | "th"))
                            .map(cell_text)
                            .collect();
                        if cells.iter().any(|c| !c.is_empty()) {
                            out.push(cells);
                        }
                    }
                }
                _ => rows(child, out, depth + 1),
            }
        }
    }
    /// Tables in document order, outer before nested.
    fn find(el: ElementRef<'_>, out: &mut Vec<Vec<Vec<String>>>, depth: usize) {
        for child in el.child_elements() {
            if out.len() >= MAX_TABLES || depth >= MAX_DEPTH {
                return;
            }
            if SKIP.contains(&child.value().name()) {
                continue;
            }
            if child.value().name() == "table" {
                let mut table = Vec::new();
                rows(child, &mut table, depth + 1);
                if !table.is_empty() {
                    out.push(table);
                }
            }
            find(child, out, depth + 1);
        }
    }
    let mut out = Vec::new();
    find(root, &mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_estimate() {
        let deep = format!("<html><body>{}x</body></html>", "<div>".repeat(600));
        let cut = nesting_cut(&deep, 512);
        assert_eq!(cut, "<html><body>".len() + 510 * "<div>".len());
        let flat = "<div><p>a<p>b<br><img src=x><li>c</div>".repeat(2000);
        assert_eq!(nesting_cut(&flat, 512), flat.len());
        let script = format!("<script>{}</script><!-- {} --><div>ok</div>", "<div>".repeat(600), "<div>".repeat(600));
        assert_eq!(nesting_cut(&script, 512), script.len());
        assert_eq!(nesting_cut("a < b and <3 <", 512), 14);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b.com"), "a@b.com");
        assert_eq!(percent_decode("%2B65%206123"), "+65 6123");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn plain_text() {
        let ex = extract_text_plain(
            "Hello   world\r\n\r\n\r\n  Visit https://mezzofy.com/about.  or http://x.example/a#b\nMail ops@mezzofy.com, \
             call +65 6123 4567\n",
        );
        assert_eq!(
            ex.text,
            "Hello world\n\nVisit https://mezzofy.com/about. or http://x.example/a#b\nMail ops@mezzofy.com, call +65 6123 4567"
        );
        let urls: Vec<_> = ex.links.iter().map(|l| l.url.as_str()).collect();
        assert_eq!(urls, ["https://mezzofy.com/about", "http://x.example/a"]);
        assert_eq!(ex.emails, ["ops@mezzofy.com"]);
        assert_eq!(ex.phones, ["+65 6123 4567"]);
    }
}
