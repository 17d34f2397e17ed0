//! The product's one HTTP client for user-chosen URLs, and readable-text extraction.
//!
//! [`SafeClient`] refuses to reach anything but the public internet (SSRF protection):
//!
//! * only `http` and `https` URLs, without a user name or password in them;
//! * any port is allowed (sites do run on 8080 and the like); the protection is by
//!   address, not by port;
//! * IP-literal hosts (`http://10.0.0.1/`, `http://[::1]/`, and the decimal, octal and
//!   hex IPv4 forms such as `http://2130706433/`, which the `url` crate normalizes to
//!   `127.0.0.1`) are checked before anything is sent, because reqwest does not call
//!   the DNS resolver for them;
//! * host names are resolved once by the client's own resolver, which drops every
//!   blocked address (see [`is_blocked`]) so the connection can only go to a public
//!   one; when none is left the fetch fails with [`WebError::Blocked`];
//! * every redirect hop (at most [`WebPolicy::max_redirects`]) is checked the same way;
//! * proxies from the environment are ignored (`no_proxy`), so the checked address is
//!   the one connected to;
//! * a whole fetch, body included, is bounded by [`WebPolicy::timeout`] and
//!   [`WebPolicy::max_bytes`].
//!
//! Operators can open chosen networks (an intranet) with [`WebPolicy::allow`].
//!
//! [`extract`] turns HTML into a title, description, readable main text, links,
//! e-mail addresses, phone numbers and tables; [`extract_text_plain`] does the same
//! for plain text.
//!
//! [`Browser`] renders pages that need JavaScript in headless Chromium (DOM after
//! scripts, and a screenshot) with the same protections: every request of the browser
//! goes through a [`GuardProxy`] that applies the client's checks.

mod browser;
mod charset;
mod client;
mod extract;
mod guard_proxy;
mod ip;
pub mod linkedin;
#[cfg(feature = "fake")]
pub mod linkedin_fake;
mod patterns;

use std::net::IpAddr;
use std::time::Duration;

pub use browser::{Browser, RenderOptions, Rendered};
pub use client::{Page, SafeClient};
pub use extract::{Extracted, Link, MAX_CONTACTS, MAX_LINKS, MAX_TABLE_ROWS, MAX_TABLES, extract, extract_text_plain};
pub use guard_proxy::{GuardProxy, ProxyLimits, Refusal};
pub use ip::is_blocked;
pub use linkedin::{LinkedinClient, LinkedinConfig, LinkedinError, PeopleQuery, Prospect};

/// Limits and permissions of a [`SafeClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebPolicy {
    /// Bound on a whole fetch: connecting, every redirect hop and reading the body. Default 15 s.
    pub timeout: Duration,
    /// Bound on opening one TCP (and TLS) connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Largest body accepted, after decompression. Larger ones fail with [`WebError::TooLarge`]. Default 5 MB.
    pub max_bytes: u64,
    /// Most redirects followed in one fetch. Default 5.
    pub max_redirects: usize,
    /// `User-Agent` header sent with every request.
    pub user_agent: String,
    /// Networks an operator explicitly opens although [`is_blocked`] would refuse them
    /// (an intranet, or a loopback test server). Empty by default.
    pub allow: Vec<ipnet::IpNet>,
}

impl Default for WebPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(10),
            max_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            user_agent: "MezzofyAssistant/1.0 (+https://mezzofy.com)".to_owned(),
            allow: Vec::new(),
        }
    }
}

/// Why a fetch failed; every message is fit to show to a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebError {
    /// The text is not a usable URL (also: a URL with a user name or password).
    #[error("not a usable web address: {0}")]
    InvalidUrl(String),
    /// Only `http` and `https` are fetched.
    #[error("only http and https addresses can be fetched, not {scheme}:")]
    SchemeNotAllowed {
        /// The refused scheme, e.g. `ftp`.
        scheme: String,
    },
    /// The host is, or resolves only to, a private, local or reserved address.
    #[error("{host} points to {addr}, a private or reserved network address, which is not fetched")]
    Blocked {
        /// The host as written in the URL (or redirect).
        host: String,
        /// The (first) refused address.
        addr: IpAddr,
    },
    /// The redirect chain was longer than [`WebPolicy::max_redirects`].
    #[error("the site redirected more than {limit} times")]
    TooManyRedirects {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The body was larger than [`WebPolicy::max_bytes`].
    #[error("the page is larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
    /// The site did not answer in time ([`WebPolicy::timeout`] / [`WebPolicy::connect_timeout`]).
    #[error("the site did not answer in time")]
    Timeout,
    /// The site answered with a status other than 2xx (after following redirects).
    #[error("the site answered with HTTP status {status}")]
    Status {
        /// The HTTP status code, e.g. 404.
        status: u16,
    },
    /// Name resolution, connection, TLS or protocol failure.
    #[error("could not fetch the page: {0}")]
    Transport(String),
    /// [`SafeClient::read`] got something that is not HTML or text.
    #[error("the address returned {content_type}, not a web page or text")]
    NotText {
        /// The response's media type, e.g. `image/png`.
        content_type: String,
    },
}
