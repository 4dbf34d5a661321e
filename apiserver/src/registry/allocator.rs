//! Service cluster IP allocation from the configured range (kube's
//! ipallocator): a free address for each new Service, and a clear error
//! for a requested one that is taken or out of range.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::error::{ApiError, FieldError};

/// The `spec.clusterIP` of a stored Service, read without decoding the
/// rest of it (allocation looks at every Service).
pub fn cluster_ip(raw: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Service {
        spec: Spec,
    }
    #[derive(serde::Deserialize)]
    struct Spec {
        #[serde(rename = "clusterIP")]
        cluster_ip: Option<String>,
    }
    serde_json::from_slice::<Service>(raw).ok()?.spec.cluster_ip
}

/// The allocator of one IPv4 range.
pub struct ServiceIps {
    base: u32,
    size: u32,
    /// Handed out but perhaps not yet visible in the services cache.
    pending: Mutex<HashSet<String>>,
}

impl ServiceIps {
    /// An allocator over `cidr` (`10.96.0.0/12`).
    pub fn new(cidr: &str) -> Result<Self, String> {
        let (addr, bits) = cidr
            .split_once('/')
            .ok_or_else(|| format!("service CIDR {cidr:?} is not of the form a.b.c.d/n"))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|e| format!("service CIDR {cidr:?}: {e}"))?;
        let bits: u32 = bits
            .parse()
            .ok()
            .filter(|b| (8..=30).contains(b))
            .ok_or_else(|| format!("service CIDR {cidr:?}: prefix length must be 8..30"))?;
        let size = 1u32 << (32 - bits);
        Ok(Self {
            base: u32::from(addr) & !(size - 1),
            size,
            pending: Mutex::new(HashSet::new()),
        })
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        let ip = u32::from(ip);
        ip > self.base && ip < self.base + self.size - 1
    }

    /// Sets `spec.clusterIP(s)` of a new Service. `in_use` lists the IPs of
    /// existing Services. Returns the address taken, to release if the
    /// create fails.
    pub fn assign(
        &self,
        service: &mut Value,
        in_use: impl FnOnce() -> Vec<String>,
        dry_run: bool,
    ) -> Result<Option<String>, ApiError> {
        let name = service["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let spec = &mut service["spec"];
        if spec["type"] == "ExternalName" {
            return Ok(None);
        }
        let requested = spec["clusterIP"].as_str().unwrap_or_default().to_string();
        if requested == "None" {
            spec["clusterIPs"] = json!(["None"]);
            return Ok(None);
        }
        let mut pending = self.pending.lock();
        let used: HashSet<String> = in_use().into_iter().collect();
        pending.retain(|ip| !used.contains(ip));
        let taken = |ip: &str| used.contains(ip) || pending.contains(ip);
        let ip = if requested.is_empty() {
            let start = u32::from_be_bytes(
                uuid::Uuid::new_v4().as_bytes()[..4]
                    .try_into()
                    .unwrap_or_default(),
            );
            let free = (0..self.size)
                .map(|i| (start.wrapping_add(i)) % self.size)
                .find_map(|offset| {
                    let ip = Ipv4Addr::from(self.base + offset);
                    (self.contains(ip) && !taken(&ip.to_string())).then(|| ip.to_string())
                });
            free.ok_or_else(|| {
                ApiError::Internal("failed to allocate a serviceIP: range is full".into())
            })?
        } else {
            let invalid = |detail: String| ApiError::Invalid {
                kind: "Service".into(),
                group: String::new(),
                name: name.clone(),
                causes: vec![FieldError::invalid(
                    "spec.clusterIPs",
                    &json!([requested]),
                    detail,
                )],
            };
            let parsed: Ipv4Addr = requested.parse().map_err(|_| {
                invalid("must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)".into())
            })?;
            if !self.contains(parsed) {
                return Err(invalid(format!(
                    "failed to allocate IP {requested}: the provided IP ({requested}) is not in the valid range. The range of valid IPs is {}/{}",
                    Ipv4Addr::from(self.base),
                    32 - self.size.trailing_zeros()
                )));
            }
            if taken(&requested) {
                return Err(invalid(format!(
                    "failed to allocate IP {requested}: provided IP is already allocated"
                )));
            }
            requested
        };
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
        if dry_run {
            return Ok(None);
        }
        pending.insert(ip.clone());
        Ok(Some(ip))
    }

    /// Returns an address after a failed create or a delete.
    pub fn release(&self, ip: &str) {
        self.pending.lock().remove(ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_distinct_addresses_in_range() {
        let ips = ServiceIps::new("10.96.0.0/28").unwrap();
        let mut seen = HashSet::new();
        for _ in 0..14 {
            let mut svc = json!({"metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}});
            let ip = ips.assign(&mut svc, Vec::new, false).unwrap().unwrap();
            assert!(seen.insert(ip.clone()), "{ip} twice");
            assert_eq!(svc["spec"]["clusterIPs"], json!([ip]));
        }
        let mut svc = json!({"metadata": {"name": "s"}, "spec": {}});
        assert!(
            ips.assign(&mut svc, Vec::new, false).is_err(),
            "range exhausted"
        );
    }

    #[test]
    fn requested_addresses_are_checked() {
        let ips = ServiceIps::new("10.96.0.0/12").unwrap();
        let mut svc = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "10.96.0.10"}});
        let err = ips
            .assign(&mut svc, || vec!["10.96.0.10".into()], false)
            .unwrap_err();
        assert!(
            err.to_string().contains("provided IP is already allocated"),
            "{err}"
        );
        let mut svc = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "192.168.0.1"}});
        let err = ips.assign(&mut svc, Vec::new, false).unwrap_err();
        assert!(err.to_string().contains("not in the valid range"), "{err}");
        let mut headless = json!({"metadata": {"name": "s"}, "spec": {"clusterIP": "None"}});
        assert_eq!(ips.assign(&mut headless, Vec::new, false).unwrap(), None);
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
    }
}
