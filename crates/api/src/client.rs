//! Facts about the caller that audit rows and rate limits need.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use tracing_actix_web::RequestId;

use crate::context::AppContext;

#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl ClientInfo {
    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

impl FromRequest for ClientInfo {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req.app_data::<web::Data<AppContext>>().map(|c| c.trusted_proxies.clone()).unwrap_or_default();
        ready(Ok(ClientInfo {
            ip: client_ip(req, &trusted),
            user_agent: req
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(300).collect()),
            request_id: req.extensions().get::<RequestId>().map(|r| r.to_string()),
        }))
    }
}

/// The TCP peer, unless the peer is a trusted proxy: then the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[(IpAddr, u8)]) -> Option<IpAddr> {
    let peer_ip = req.peer_addr()?.ip();
    if !in_any(peer_ip, trusted) {
        return Some(peer_ip);
    }
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let Some(list) = forwarded else { return Some(peer_ip) };
    for part in list.rsplit(',') {
        match part.trim().parse::<IpAddr>() {
            Ok(ip) if in_any(ip, trusted) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => return Some(peer_ip),
        }
    }
    Some(peer_ip)
}

fn in_any(ip: IpAddr, nets: &[(IpAddr, u8)]) -> bool {
    nets.iter().any(|(net, len)| in_net(ip, *net, *len))
}

fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip.to_canonical(), net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
            (u32::from(a) & mask) == (u32::from(b) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) };
            (u128::from(a) & mask) == (u128::from(b) & mask)
        }
        _ => false,
    }
}

/// Parses the configured trusted proxies (already validated by `settings`).
pub fn parse_trusted(list: &[String]) -> Vec<(IpAddr, u8)> {
    list.iter()
        .filter_map(|s| match s.split_once('/') {
            Some((ip, len)) => Some((ip.parse().ok()?, len.parse().ok()?)),
            None => {
                let ip: IpAddr = s.parse().ok()?;
                Some((ip, if ip.is_ipv4() { 32 } else { 128 }))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let nets = parse_trusted(&["10.0.0.0/8".into(), "::1".into(), "127.0.0.1".into()]);
        assert!(in_any("10.2.3.4".parse().unwrap(), &nets));
        assert!(!in_any("11.2.3.4".parse().unwrap(), &nets));
        assert!(in_any("::1".parse().unwrap(), &nets));
        assert!(in_any("::ffff:127.0.0.1".parse().unwrap(), &nets));
        assert!(!in_any("127.0.0.2".parse().unwrap(), &nets));
    }
}
