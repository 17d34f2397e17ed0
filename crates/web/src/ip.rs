//! Which IP addresses a user-chosen URL may reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Whether `ip` is outside the public internet and must never be reached from a
/// user-chosen URL (unless an operator allow-lists it, see [`crate::WebPolicy::allow`]).
///
/// Blocked IPv4: `0.0.0.0/8`, `10/8`, `100.64/10` (CGNAT), `127/8`, `169.254/16`
/// (link-local, incl. the `169.254.169.254` cloud metadata service), `172.16/12`,
/// `192.0.0/24`, `192.0.2/24`, `192.88.99/24`, `192.168/16`, `198.18/15`,
/// `198.51.100/24`, `203.0.113/24`, `224/4` (multicast) and `240/4` (incl. broadcast).
///
/// Blocked IPv6: everything outside global unicast `2000::/3` (so `::`, `::1`,
/// IPv4-compatible `::/96`, `100::/64`, ULA `fc00::/7`, link-local `fe80::/10`,
/// multicast `ff00::/8`), plus `2001::/23` (Teredo and other IETF special use),
/// `2001:db8::/32` and `3fff::/20` (documentation), `64:ff9b:1::/48` (local NAT64).
/// Addresses that embed an IPv4 address are judged by it: v4-mapped
/// `::ffff:a.b.c.d` (via [`Ipv6Addr::to_canonical`]), NAT64 `64:ff9b::/96` and
/// 6to4 `2002::/16`.
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_blocked_v4(v4),
        IpAddr::V6(v6) => is_blocked_v6(v6),
    }
}

/// Whether `ip` may be contacted under an operator allow-list: allow-listed
/// networks win over [`is_blocked`].
pub(crate) fn is_permitted(ip: IpAddr, allow: &[IpNet]) -> bool {
    let canonical = ip.to_canonical();
    if allow.iter().any(|net| net.contains(&ip) || net.contains(&canonical)) {
        return true;
    }
    !is_blocked(ip)
}

fn is_blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    match a {
        0 | 10 | 127 => true,
        100 => (64..128).contains(&b),
        169 => b == 254,
        172 => (16..32).contains(&b),
        192 => (b == 0 && (c == 0 || c == 2)) || (b == 88 && c == 99) || b == 168,
        198 => b == 18 || b == 19 || (b == 51 && c == 100),
        203 => b == 0 && c == 113,
        224..=255 => true, // 224/4 multicast and 240/4 reserved, incl. 255.255.255.255
        _ => false,
    }
}

fn is_blocked_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // NAT64 well-known prefix 64:ff9b::/96: judged by the embedded IPv4 address.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_blocked_v4(embedded_v4(seg[6], seg[7]));
    }
    // Only global unicast 2000::/3 is reachable; this also covers ::, ::1,
    // ::/96, 100::/64, 64:ff9b:1::/48, fc00::/7, fe80::/10, fec0::/10, ff00::/8.
    if seg[0] & 0xe000 != 0x2000 {
        return true;
    }
    // 6to4 2002::/16: the IPv4 address sits in bits 16..48.
    if seg[0] == 0x2002 {
        return is_blocked_v4(embedded_v4(seg[1], seg[2]));
    }
    // 2001::/23: Teredo (2001::/32), benchmarking, ORCHID and other special use.
    if seg[0] == 0x2001 && seg[1] < 0x0200 {
        return true;
    }
    // Documentation: 2001:db8::/32 and 3fff::/20.
    (seg[0] == 0x2001 && seg[1] == 0x0db8) || (seg[0] & 0xfff0) == 0x3ff0
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocked_matrix() {
        let blocked = [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "192.168.255.255",
            "169.254.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "::127.0.0.1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "64:ff9b::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:0a00:0001::1",
            "2002:7f00:0001::",
            "2002:c0a8:0101::1",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "3fff::1",
            "100::1",
        ];
        for s in blocked {
            assert!(is_blocked(ip(s)), "{s} should be blocked");
        }
    }

    #[test]
    fn allowed_matrix() {
        let allowed = [
            "8.8.8.8",
            "1.1.1.1",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ];
        for s in allowed {
            assert!(!is_blocked(ip(s)), "{s} should be allowed");
        }
    }

    #[test]
    fn allow_list_overrides_block() {
        let allow: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap(), "10.1.0.0/16".parse().unwrap()];
        assert!(is_permitted(ip("127.0.0.1"), &allow));
        assert!(is_permitted(ip("::ffff:127.0.0.1"), &allow));
        assert!(is_permitted(ip("10.1.2.3"), &allow));
        assert!(!is_permitted(ip("127.0.0.2"), &allow));
        assert!(!is_permitted(ip("10.2.0.1"), &allow));
        assert!(!is_permitted(ip("::1"), &allow));
        assert!(!is_permitted(ip("169.254.169.254"), &allow));
        assert!(is_permitted(ip("8.8.8.8"), &allow));
        assert!(is_permitted(ip("8.8.8.8"), &[]));
        assert!(!is_permitted(ip("127.0.0.1"), &[]));
    }
}
