//! Fixed-window rate limits kept in memory, for device calls: one limit per
//! activation key (a key is one product install) and a wider one per client
//! address (many installs may share one network address). And the client
//! address itself: the peer, or behind a trusted proxy the address the proxy
//! names in `X-Forwarded-For`.

use crate::error::{AppError, AppResult};
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    per_key: u32,
    per_client: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(per_key: u32, per_client: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            per_key,
            per_client,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one call for the key and for the client; refuses when either is
    /// over its limit.
    pub fn check(&self, key: &str, client: &str) -> AppResult<()> {
        let now = Instant::now();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < self.window);
        }
        // Both counters move before either is judged, so a flood of calls on
        // keys that are already over their limit still uses up the client's.
        let mut refused_for = None;
        for (name, limit) in [
            (format!("key:{key}"), self.per_key),
            (format!("client:{client}"), self.per_client),
        ] {
            let entry = counts.entry(name).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.window {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
            if entry.1 > limit {
                let wait = self
                    .window
                    .saturating_sub(now.duration_since(entry.0))
                    .as_secs()
                    + 1;
                refused_for = Some(refused_for.map_or(wait, |w: u64| w.max(wait)));
            }
        }
        if let Some(wait) = refused_for {
            return Err(AppError::RateLimited(format!(
                "too many device requests; try again in {wait} s"
            )));
        }
        Ok(())
    }
}

/// An IP address or a CIDR block (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        let bad = || format!("\"{text}\" is not an IP address or CIDR block");
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

/// The address rate limits count a request against. `X-Forwarded-For` is
/// read only when the peer is a trusted proxy, from the right (the entry the
/// nearest proxy added) past every trusted proxy: what a client writes there
/// itself is to the left of that and never taken.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for entry in entries.iter().rev() {
        let Some(ip) = parse_forwarded(entry) else {
            // Unreadable: the last address a trusted proxy vouched for stands.
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// `192.0.2.7`, `2001:db8::1`, or either with a port (`[2001:db8::1]:443`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    IpAddr::from_str(entry)
        .ok()
        .or_else(|| std::net::SocketAddr::from_str(entry).ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = value.parse() {
            headers.insert("x-forwarded-for", v);
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = ["10.0.0.0/8", "::1"]
            .iter()
            .filter_map(|t| t.parse().ok())
            .collect();
        assert_eq!(proxies.len(), 2);
        let h = forwarded("198.51.100.1, 203.0.113.9, 10.1.2.3");
        // From an untrusted peer the header is the client's own word.
        assert_eq!(
            client_address(ip("192.0.2.1"), &h, &proxies),
            ip("192.0.2.1")
        );
        assert_eq!(client_address(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"));
        // From a trusted one: the rightmost address not itself a proxy.
        assert_eq!(
            client_address(ip("10.0.0.5"), &h, &proxies),
            ip("203.0.113.9")
        );
        assert_eq!(client_address(ip("::1"), &h, &proxies), ip("203.0.113.9"));
        assert_eq!(
            client_address(ip("10.0.0.5"), &forwarded("junk"), &proxies),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), &forwarded("[2001:db8::7]:443"), &proxies),
            ip("2001:db8::7")
        );
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("nonsense".parse::<IpNet>().is_err());
    }

    #[test]
    fn each_limit_holds_on_its_own() {
        let l = RateLimiter::new(2, 3, Duration::from_secs(60));
        assert!(l.check("k1", "c").is_ok());
        assert!(l.check("k1", "c").is_ok());
        assert_eq!(
            l.check("k1", "c").map_err(|e| e.code()),
            Err("RATE_LIMITED")
        );
        // The client's third call was counted above; a fourth is over its limit.
        assert!(l.check("k2", "c").is_err());
        assert!(l.check("k3", "other").is_ok());
    }
}
