//! Which targets a run may send requests to: a server's `--allow-target` list.
//! A request (or a redirect hop) to any other host fails with a `denied` error
//! before a connection is made.

use std::fmt;
use std::str::FromStr;

/// One allowed target: a host name, `*.` and a domain suffix, or an IP address,
/// each with an optional port (any port when left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPattern {
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// This host (lower case; IPv6 without brackets).
    Exact(String),
    /// Any host under this domain (`*.example.com` holds `.example.com`).
    Under(String),
}

impl TargetPattern {
    /// Whether `host:port` matches.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Exact(exact) => *exact == host,
            HostPattern::Under(suffix) => host.ends_with(suffix.as_str()),
        };
        host_ok && self.port.is_none_or(|p| p == port)
    }
}

impl FromStr for TargetPattern {
    type Err = String;

    /// Parses `host`, `host:port`, `*.domain[:port]`, an IPv4 address, or an
    /// IPv6 address (`::1`, or `[::1]:8080` with a port).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("bad target {text:?}: {why}");
        let text = text.trim();
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing ']'"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| bad("expected :port after ']'"))?,
                    ),
                ),
            }
        } else if text.matches(':').count() > 1 {
            (text, None) // a bare IPv6 address
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| bad("the port must be 0 to 65535"))
            })
            .transpose()?;
        let host = host.to_ascii_lowercase();
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        let host = match host.strip_prefix("*.") {
            Some(domain) if !domain.is_empty() && !domain.contains('*') => {
                HostPattern::Under(format!(".{domain}"))
            }
            _ if host.contains('*') => {
                return Err(bad("a wildcard may only be a leading '*.'"));
            }
            _ => HostPattern::Exact(host),
        };
        Ok(Self { host, port })
    }
}

impl fmt::Display for TargetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = match &self.host {
            HostPattern::Exact(host) if host.contains(':') => format!("[{host}]"),
            HostPattern::Exact(host) => host.clone(),
            HostPattern::Under(suffix) => format!("*{suffix}"),
        };
        match self.port {
            Some(port) => write!(f, "{host}:{port}"),
            None => write!(f, "{host}"),
        }
    }
}

/// The targets a run may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList(Vec<TargetPattern>);

impl AllowList {
    /// A list of `patterns`.
    pub fn new(patterns: Vec<TargetPattern>) -> Self {
        Self(patterns)
    }

    /// Whether a request to `host:port` may be sent.
    pub fn allows(&self, host: &str, port: u16) -> bool {
        self.0.iter().any(|p| p.matches(host, port))
    }
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let patterns: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", patterns.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str]) -> AllowList {
        AllowList::new(patterns.iter().map(|p| p.parse().unwrap()).collect())
    }

    #[test]
    fn patterns_match_hosts_and_ports() {
        let allowed = list(&[
            "127.0.0.1:8080",
            "*.staging.example.com",
            "localhost",
            "[::1]:9000",
        ]);
        for (host, port, ok) in [
            ("127.0.0.1", 8080, true),
            ("127.0.0.1", 8081, false),
            ("api.staging.example.com", 443, true),
            ("API.Staging.Example.com", 80, true),
            ("staging.example.com", 443, false),
            ("evilstaging.example.com", 443, false),
            ("localhost", 1, true),
            ("::1", 9000, true),
            ("::1", 9001, false),
            ("example.com", 80, false),
        ] {
            assert_eq!(allowed.allows(host, port), ok, "{host}:{port}");
        }
        assert_eq!(
            allowed.to_string(),
            "127.0.0.1:8080, *.staging.example.com, localhost, [::1]:9000"
        );
        assert!(list(&["::1"]).allows("::1", 1234));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "",
            ":80",
            "host:port",
            "host:70000",
            "a.*.com",
            "*.",
            "[::1",
            "[::1]x",
        ] {
            assert!(bad.parse::<TargetPattern>().is_err(), "{bad:?}");
        }
    }
}
