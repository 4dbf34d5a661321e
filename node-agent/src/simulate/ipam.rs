//! Addresses of simulated nodes and their pods: a /24 pod CIDR per node,
//! an InternalIP per node, and a per-node pod IP pool.

use std::net::Ipv4Addr;

/// How many /24 blocks the pod CIDRs cycle through: 10.244.0.0/24 up to
/// 10.255.255.0/24 (the first 256 are 10.244.0.0/16).
pub const POD_BLOCKS: u32 = 12 * 256;

/// Number of host addresses in 172.16.0.0/12 that node InternalIPs use
/// (all but the first and last address).
const HOST_ADDRESSES: u32 = (1 << 20) - 2;

/// A stable 64-bit FNV-1a hash (std's `DefaultHasher` is not guaranteed
/// stable across releases, and node addresses must be).
pub fn stable_hash(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// The first /24 block index of a simulation, from its site and prefix, so
/// two `mars agent --simulate` processes usually don't overlap.
pub fn block_base(site: &str, prefix: &str) -> u32 {
    // Reduced to 0..256 so that small simulations stay inside 10.244.0.0/16.
    (stable_hash(&[site, prefix]) % 256) as u32
}

/// The pod CIDR block of node `index` when the simulation starts at `base`.
pub fn pod_block(base: u32, index: usize) -> Block {
    let index = u32::try_from(index % POD_BLOCKS as usize).unwrap_or(0);
    let block = (base % POD_BLOCKS + index) % POD_BLOCKS;
    let second = 244 + block / 256;
    let third = block % 256;
    // Both octets are < 256 by construction.
    Block {
        network: Ipv4Addr::new(10, second as u8, third as u8, 0),
    }
}

/// The InternalIP of node `index`, inside 172.16.0.0/12.
pub fn host_ip(site: &str, prefix: &str, index: usize) -> Ipv4Addr {
    let base = (stable_hash(&["host", site, prefix]) % u64::from(HOST_ADDRESSES)) as u32;
    let index = (index % HOST_ADDRESSES as usize) as u32;
    let offset = (base + index) % HOST_ADDRESSES + 1;
    Ipv4Addr::from(u32::from(Ipv4Addr::new(172, 16, 0, 0)) + offset)
}

/// A /24 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub network: Ipv4Addr,
}

impl Block {
    /// `10.244.3.0/24`.
    pub fn cidr(&self) -> String {
        format!("{}/24", self.network)
    }

    /// The address with last octet `host`.
    pub fn address(&self, host: u8) -> Ipv4Addr {
        let [a, b, c, _] = self.network.octets();
        Ipv4Addr::new(a, b, c, host)
    }

    /// The last octet of `ip` when it lies in this block.
    pub fn host_of(&self, ip: Ipv4Addr) -> Option<u8> {
        let [a, b, c, d] = ip.octets();
        let [na, nb, nc, _] = self.network.octets();
        ((a, b, c) == (na, nb, nc)).then_some(d)
    }
}

/// First and last allocatable host octet (.1 is the node's bridge, .255
/// broadcast), as host-local IPAM does.
const FIRST_HOST: u8 = 2;
const LAST_HOST: u8 = 254;

/// The pod IPs of one node: allocates the next free address after the last
/// one handed out (like CNI host-local), so a freed IP is not reused at once.
#[derive(Debug, Clone)]
pub struct PodIpPool {
    block: Block,
    used: [u64; 4],
    last: u8,
}

impl PodIpPool {
    pub fn new(block: Block) -> Self {
        Self {
            block,
            used: [0; 4],
            last: LAST_HOST,
        }
    }

    pub fn block(&self) -> Block {
        self.block
    }

    fn is_used(&self, host: u8) -> bool {
        self.used[usize::from(host / 64)] & (1 << (host % 64)) != 0
    }

    fn set(&mut self, host: u8, used: bool) {
        let word = &mut self.used[usize::from(host / 64)];
        if used {
            *word |= 1 << (host % 64);
        } else {
            *word &= !(1 << (host % 64));
        }
    }

    /// Allocates a free address, or `None` when the block is full.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let span = LAST_HOST - FIRST_HOST + 1;
        for step in 1..=span {
            let host = FIRST_HOST + (self.last - FIRST_HOST + step) % span;
            if !self.is_used(host) {
                self.set(host, true);
                self.last = host;
                return Some(self.block.address(host));
            }
        }
        None
    }

    /// Marks an address as used (a pod that already has it, found after a
    /// restart). Returns false when it is outside the block or already used.
    pub fn reserve(&mut self, ip: Ipv4Addr) -> bool {
        match self.block.host_of(ip) {
            Some(host) if (FIRST_HOST..=LAST_HOST).contains(&host) && !self.is_used(host) => {
                self.set(host, true);
                // Continue after the highest address in use, as host-local
                // does from its last reserved IP.
                if self.last == LAST_HOST || host > self.last {
                    self.last = host;
                }
                true
            }
            _ => false,
        }
    }

    /// Frees an address; addresses outside the block are ignored.
    pub fn release(&mut self, ip: Ipv4Addr) {
        if let Some(host) = self.block.host_of(ip) {
            self.set(host, false);
        }
    }

    pub fn in_use(&self) -> usize {
        self.used.iter().map(|w| w.count_ones() as usize).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_start_in_10_244_and_differ_per_node() {
        let block = pod_block(0, 0);
        assert_eq!(block.cidr(), "10.244.0.0/24");
        assert_eq!(pod_block(0, 5).cidr(), "10.244.5.0/24");
        assert_eq!(pod_block(0, 256).cidr(), "10.245.0.0/24");
        assert_eq!(pod_block(255, 1).cidr(), "10.245.0.0/24");
        assert_eq!(pod_block(0, POD_BLOCKS as usize).cidr(), "10.244.0.0/24");
        let base = block_base("bj-yizhuang", "sim");
        assert!(base < 256);
        assert_eq!(base, block_base("bj-yizhuang", "sim"), "stable");
        let cidrs: std::collections::HashSet<_> =
            (0..1000).map(|i| pod_block(base, i).cidr()).collect();
        assert_eq!(cidrs.len(), 1000);
    }

    #[test]
    fn host_ips_are_unique_in_172_16() {
        let ips: std::collections::HashSet<_> = (0..5000).map(|i| host_ip("s", "p", i)).collect();
        assert_eq!(ips.len(), 5000);
        for ip in &ips {
            let [a, b, ..] = ip.octets();
            assert_eq!(a, 172);
            assert!((16..32).contains(&b));
        }
    }

    #[test]
    fn pool_allocates_unique_ips_and_reuses_freed_ones_later() {
        let mut pool = PodIpPool::new(pod_block(0, 3));
        let first = pool.allocate();
        assert_eq!(first, Some(Ipv4Addr::new(10, 244, 3, 2)));
        let second = pool.allocate();
        assert_eq!(second, Some(Ipv4Addr::new(10, 244, 3, 3)));
        pool.release(Ipv4Addr::new(10, 244, 3, 2));
        // Next after the last handed out, not the freed one.
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 244, 3, 4)));
        let mut all = std::collections::HashSet::new();
        while let Some(ip) = pool.allocate() {
            assert!(all.insert(ip));
        }
        // 253 usable addresses, 3 taken before the loop, 1 freed.
        assert_eq!(all.len(), 253 - 2);
        assert_eq!(pool.in_use(), 253);
        assert!(pool.allocate().is_none());
        pool.release(Ipv4Addr::new(10, 244, 3, 100));
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 244, 3, 100)));
    }

    #[test]
    fn reserve_adopts_existing_ips() {
        let mut pool = PodIpPool::new(pod_block(0, 0));
        assert!(pool.reserve(Ipv4Addr::new(10, 244, 0, 2)));
        assert!(!pool.reserve(Ipv4Addr::new(10, 244, 0, 2)));
        assert!(!pool.reserve(Ipv4Addr::new(10, 244, 1, 2)));
        assert!(!pool.reserve(Ipv4Addr::new(10, 244, 0, 1)));
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 244, 0, 3)));
    }
}
