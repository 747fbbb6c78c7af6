//! Walking an API's pages: by page number, by offset and limit, by a cursor the answer
//! carries, by the `Link: <…>; rel="next"` header, or by a next-page URL in the answer.
//!
//! Every mode stops at the first empty page. Modes that know the page size (page number
//! with `size`, offset) also stop at a short page, saving a request; cursor and link modes
//! stop when the answer names no next page. A next page already visited (an API that loops
//! back) stops the walk too, so a faulty API cannot keep a run going forever.

use super::records::{pick, split_path, Page};
use crate::nodes::ConfigProblem;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// How the next page is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// Numbered pages in a query parameter: `page=1`, `page=2`, …
    Page {
        /// The query parameter holding the page number.
        #[serde(default = "default_page_param")]
        param: String,
        /// The first page's number (0 or 1 usually).
        #[serde(default = "default_page_start")]
        start: u64,
        /// A query parameter for the page size (e.g. `per_page`), sent with `size`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_param: Option<String>,
        /// Records per page. When given, a shorter page is taken as the last one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
    },
    /// An offset and a limit in query parameters: `offset=0&limit=100`, then `offset=100`, …
    Offset {
        /// The query parameter holding the offset.
        #[serde(default = "default_offset_param")]
        offset_param: String,
        /// The query parameter holding the limit.
        #[serde(default = "default_limit_param")]
        limit_param: String,
        /// Records per page; a shorter page is taken as the last one.
        #[serde(default = "default_limit")]
        limit: u64,
        /// The first offset.
        #[serde(default)]
        start: u64,
    },
    /// The answer carries the next page's cursor (a token) at `path`; it is sent back in
    /// the query parameter `param`. No cursor (missing, null or empty) ends the walk.
    Cursor {
        /// The query parameter the cursor is sent in.
        #[serde(default = "default_cursor_param")]
        param: String,
        /// Where the next cursor sits in the answer, e.g. `meta.next_cursor`.
        path: String,
    },
    /// Follows the URL the `Link` header gives for `rel="next"` (GitHub-style APIs).
    LinkHeader {
        /// The link relation to follow.
        #[serde(default = "default_rel")]
        rel: String,
    },
    /// The answer carries the next page's URL (absolute or relative) at `path`, e.g.
    /// `links.next`. No URL there ends the walk.
    NextUrl {
        /// Where the next page's URL sits in the answer.
        path: String,
    },
}

fn default_page_param() -> String {
    "page".into()
}
fn default_page_start() -> u64 {
    1
}
fn default_offset_param() -> String {
    "offset".into()
}
fn default_limit_param() -> String {
    "limit".into()
}
fn default_limit() -> u64 {
    100
}
fn default_cursor_param() -> String {
    "cursor".into()
}
fn default_rel() -> String {
    "next".into()
}

impl Pagination {
    pub fn check(&self) -> Vec<ConfigProblem> {
        let mut out = Vec::new();
        match self {
            Pagination::Page { param, size, size_param, .. } => {
                if param.trim().is_empty() {
                    out.push(ConfigProblem::new("pagination/param", "no query parameter given for the page number"));
                }
                if size == &Some(0) {
                    out.push(ConfigProblem::new("pagination/size", "at least 1 record per page"));
                }
                if size_param.is_some() && size.is_none() {
                    out.push(ConfigProblem::new("pagination/size", "size_param is given but no size to send in it"));
                }
            }
            Pagination::Offset { offset_param, limit_param, limit, .. } => {
                if offset_param.trim().is_empty() || limit_param.trim().is_empty() {
                    out.push(ConfigProblem::new("pagination/offset_param", "give the query parameters for the offset and the limit"));
                }
                if *limit == 0 {
                    out.push(ConfigProblem::new("pagination/limit", "at least 1 record per page"));
                }
            }
            Pagination::Cursor { path, .. } | Pagination::NextUrl { path } => match split_path(path) {
                Ok(p) if p.is_empty() => out.push(ConfigProblem::new("pagination/path", "say where the answer carries the next page, e.g. meta.next_cursor")),
                Ok(_) => {}
                Err(e) => out.push(ConfigProblem::new("pagination/path", e)),
            },
            Pagination::LinkHeader { rel } => {
                if rel.trim().is_empty() {
                    out.push(ConfigProblem::new("pagination/rel", "no link relation given").hint("usually \"next\""));
                }
            }
        }
        out
    }
}

/// What to do after a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Ask for another page.
    More,
    /// The last page was read; the reason goes into the log.
    Done(String),
}

/// The walk through one run's pages.
pub struct Pager {
    mode: Option<Pagination>,
    page: u64,
    offset: u64,
    cursor: Option<String>,
    next_url: Option<reqwest::Url>,
    seen: HashSet<String>,
}

impl Pager {
    pub fn new(mode: Option<Pagination>) -> Self {
        let (page, offset) = match &mode {
            Some(Pagination::Page { start, .. }) => (*start, 0),
            Some(Pagination::Offset { start, .. }) => (0, *start),
            _ => (0, 0),
        };
        Pager { mode, page, offset, cursor: None, next_url: None, seen: HashSet::new() }
    }

    /// A URL given by the last answer, which replaces the configured one (link and
    /// next-URL modes).
    pub fn next_url(&self) -> Option<&reqwest::Url> {
        self.next_url.as_ref()
    }

    /// Query parameters for the page to ask for now.
    pub fn params(&self) -> Vec<(String, String)> {
        match &self.mode {
            Some(Pagination::Page { param, size_param, size, .. }) => {
                let mut p = vec![(param.clone(), self.page.to_string())];
                if let (Some(sp), Some(s)) = (size_param, size) {
                    p.push((sp.clone(), s.to_string()));
                }
                p
            }
            Some(Pagination::Offset { offset_param, limit_param, limit, .. }) => {
                vec![(offset_param.clone(), self.offset.to_string()), (limit_param.clone(), limit.to_string())]
            }
            Some(Pagination::Cursor { param, .. }) => self.cursor.iter().map(|c| (param.clone(), c.clone())).collect(),
            _ => Vec::new(),
        }
    }

    /// Moves on after a non-empty page read from `url`.
    pub fn advance(&mut self, url: &reqwest::Url, headers: &reqwest::header::HeaderMap, page: &Page) -> Next {
        let n = page.len() as u64;
        match self.mode.clone() {
            None => Next::Done("the API is read in one request (no pagination set)".into()),
            Some(Pagination::Page { size, .. }) => {
                if size.is_some_and(|s| n < s) {
                    return Next::Done(format!("page {} had {n} records, fewer than the page size", self.page));
                }
                self.page += 1;
                Next::More
            }
            Some(Pagination::Offset { limit, .. }) => {
                if n < limit {
                    return Next::Done(format!("the page at offset {} had {n} records, fewer than the limit {limit}", self.offset));
                }
                self.offset += n;
                Next::More
            }
            Some(Pagination::Cursor { path, .. }) => {
                let keys = split_path(&path).unwrap_or_default();
                let next = page.doc().and_then(|d| pick(d, &keys)).and_then(|v| match v {
                    serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                match next {
                    None => Next::Done(format!("the answer has no next cursor at '{path}'")),
                    Some(c) if !self.seen.insert(format!("cursor:{c}")) => {
                        Next::Done(format!("the API gave cursor '{c}' a second time; stopping so as not to loop"))
                    }
                    Some(c) => {
                        self.cursor = Some(c);
                        Next::More
                    }
                }
            }
            Some(Pagination::LinkHeader { rel }) => {
                let next = headers
                    .get_all(reqwest::header::LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(|h| link_target(h, &rel))
                    .and_then(|href| url.join(&href).ok());
                self.follow(url, next, &format!("the answer has no Link header with rel=\"{rel}\""))
            }
            Some(Pagination::NextUrl { path }) => {
                let keys = split_path(&path).unwrap_or_default();
                let next = page
                    .doc()
                    .and_then(|d| pick(d, &keys))
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.trim().is_empty())
                    .and_then(|s| url.join(s.trim()).ok());
                self.follow(url, next, &format!("the answer has no next page URL at '{path}'"))
            }
        }
    }

    fn follow(&mut self, current: &reqwest::Url, next: Option<reqwest::Url>, none: &str) -> Next {
        self.seen.insert(current.to_string());
        match next {
            None => Next::Done(none.to_string()),
            Some(u) if self.seen.contains(u.as_str()) => Next::Done(format!("the API pointed back to {u}; stopping so as not to loop")),
            Some(u) => {
                self.next_url = Some(u);
                Next::More
            }
        }
    }
}

/// The target of one `Link` header value (RFC 8288) for the relation `rel`, if any.
pub fn link_target(header: &str, rel: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let target = &after[..end];
        let params_and_more = &after[end + 1..];
        // This link's params run up to the next link's '<'.
        let params = match params_and_more.find('<') {
            Some(i) => &params_and_more[..i],
            None => params_and_more,
        };
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.strip_prefix("rel=").is_some_and(|v| v.trim_matches('"').split_whitespace().any(|r| r.eq_ignore_ascii_case(rel)))
        });
        if is_next {
            return Some(target.to_string());
        }
        rest = params_and_more;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::http::records::{parse_page, ResponseFormat};
    use reqwest::header::{HeaderMap, HeaderValue, LINK};

    #[test]
    fn link_headers_yield_the_next_target() {
        let h = r#"<https://api.x/t?page=1>; rel="prev", <https://api.x/t?page=3&a=1,2>; rel="next", <https://api.x/t?page=9>; rel="last""#;
        assert_eq!(link_target(h, "next").as_deref(), Some("https://api.x/t?page=3&a=1,2"));
        assert_eq!(link_target(h, "last").as_deref(), Some("https://api.x/t?page=9"));
        assert_eq!(link_target(r#"</t?page=2>; rel=next"#, "next").as_deref(), Some("/t?page=2"));
        assert_eq!(link_target(r#"<https://api.x/t?page=9>; rel="last""#, "next"), None);
    }

    #[test]
    fn the_pager_walks_and_stops() {
        let url = reqwest::Url::parse("https://api.x/t").unwrap();
        let full = parse_page(br#"{"items": [{"a": 1}, {"a": 2}], "next": "c2"}"#, ResponseFormat::Json, &["items".into()]).unwrap();
        let none = HeaderMap::new();

        let mut p = Pager::new(Some(Pagination::Page { param: "p".into(), start: 1, size_param: Some("n".into()), size: Some(2) }));
        assert_eq!(p.params(), vec![("p".into(), "1".into()), ("n".into(), "2".into())]);
        assert_eq!(p.advance(&url, &none, &full), Next::More);
        assert_eq!(p.params()[0].1, "2");

        let mut p = Pager::new(Some(Pagination::Offset { offset_param: "o".into(), limit_param: "l".into(), limit: 3, start: 0 }));
        assert!(matches!(p.advance(&url, &none, &full), Next::Done(_)));

        let mut p = Pager::new(Some(Pagination::Cursor { param: "cursor".into(), path: "next".into() }));
        assert!(p.params().is_empty());
        assert_eq!(p.advance(&url, &none, &full), Next::More);
        assert_eq!(p.params(), vec![("cursor".into(), "c2".into())]);
        assert!(matches!(p.advance(&url, &none, &full), Next::Done(m) if m.contains("second time")));

        let mut p = Pager::new(Some(Pagination::LinkHeader { rel: "next".into() }));
        let mut h = HeaderMap::new();
        h.insert(LINK, HeaderValue::from_static("</t?page=2>; rel=\"next\""));
        assert_eq!(p.advance(&url, &h, &full), Next::More);
        assert_eq!(p.next_url().unwrap().as_str(), "https://api.x/t?page=2");
        assert!(matches!(p.advance(&url, &none, &full), Next::Done(_)));
    }

    #[test]
    fn pagination_config_reads_with_defaults() {
        let p: Pagination = serde_json::from_value(serde_json::json!({"type": "offset"})).unwrap();
        assert_eq!(p, Pagination::Offset { offset_param: "offset".into(), limit_param: "limit".into(), limit: 100, start: 0 });
        let p: Pagination = serde_json::from_value(serde_json::json!({"type": "link_header"})).unwrap();
        assert_eq!(p, Pagination::LinkHeader { rel: "next".into() });
        assert!(serde_json::from_value::<Pagination>(serde_json::json!({"type": "cursor", "path": "a", "oops": 1})).is_err());
    }
}
