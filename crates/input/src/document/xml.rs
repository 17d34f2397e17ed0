//! Small helpers over quick-xml 0.42 (str-based: entities arrive as `GeneralRef`).

use std::collections::HashMap;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart};

/// The local name of an element (`w:p` → `p`).
pub(crate) fn local<'a>(e: &'a BytesStart<'_>) -> &'a str {
    let name = e.name().into_inner();
    match name.rfind(':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// The value of the attribute whose local name is `name` (any prefix).
pub(crate) fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.into_inner();
        let key_local = key.rsplit(':').next().unwrap_or(key);
        (key_local == name).then(|| a.normalized_value(XmlVersion::Implicit1_0).map(|v| v.into_owned()).ok()).flatten()
    })
}

/// The value of a namespaced attribute (`r:id`, never a plain `id`) with local name `name`.
pub(crate) fn prefixed_attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let (_, key_local) = a.key.into_inner().split_once(':')?;
        (key_local == name).then(|| a.normalized_value(XmlVersion::Implicit1_0).map(|v| v.into_owned()).ok()).flatten()
    })
}

/// The text of an entity or character reference (`&amp;`, `&#20320;`).
pub(crate) fn reference(r: &BytesRef<'_>) -> Option<String> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c.to_string());
    }
    let s: &str = r;
    Some(
        match s {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "apos" => "'",
            "quot" => "\"",
            _ => return None,
        }
        .to_owned(),
    )
}

/// One `Relationship` of a `.rels` part.
#[derive(Debug, Clone)]
pub(crate) struct Rel {
    pub kind: String,
    pub target: String,
    pub external: bool,
}

/// `Id` → relationship, from a `.rels` part.
pub(crate) fn parse_rels(xml: &str) -> HashMap<String, Rel> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut rels = HashMap::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if local(&e) == "Relationship" => {
                if let (Some(id), Some(target)) = (attr(&e, "Id"), attr(&e, "Target")) {
                    let kind = attr(&e, "Type").unwrap_or_default();
                    let external = attr(&e, "TargetMode").is_some_and(|m| m == "External");
                    rels.insert(id, Rel { kind, target, external });
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    rels
}

/// `target` relative to the folder `base` (e.g. `ppt/slides/`), `..` resolved; a leading
/// `/` means the package root.
pub(crate) fn resolve(base: &str, target: &str) -> String {
    let mut parts: Vec<&str> =
        if target.starts_with('/') { Vec::new() } else { base.split('/').filter(|s| !s.is_empty()).collect() };
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_targets() {
        assert_eq!(resolve("ppt/slides/", "../notesSlides/notesSlide1.xml"), "ppt/notesSlides/notesSlide1.xml");
        assert_eq!(resolve("ppt/", "slides/slide2.xml"), "ppt/slides/slide2.xml");
        assert_eq!(resolve("ppt/", "/ppt/slides/slide3.xml"), "ppt/slides/slide3.xml");
    }
}
