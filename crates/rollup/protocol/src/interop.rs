//! Messages between rollups (sans IO), after OP Stack interop. A transaction on the destination
//! rollup consumes a log of the source rollup (an *executing message*) by declaring it in its
//! EIP-2930 access list, as three storage keys of the `CrossL2Inbox` predeploy:
//!
//! - `0x01 ‖ 0 (11 bytes) ‖ block number (u64) ‖ timestamp (u64) ‖ log index (u32)`
//! - `0x02 ‖ 0 (23 bytes) ‖ source chain id (u64)`
//! - `0x03 ‖ checksum[1..]`, `checksum = keccak256(abi.encode(identifier, payload hash))`
//!
//! The first two tell a node where to look; the third binds the log's emitter and payload. The
//! inbox contract refuses any message whose checksum key is not warm (not declared), and the nodes
//! check every declaration before the transaction runs ([`check`]): the log must be in a block of
//! the source that was derived from L1 data at or before the executing block's L1 origin (the
//! source is *safe* there). A transaction with a wrong declaration is left out, by the sequencer
//! and by every verifier alike.

use alloy::{
    eips::eip2930::{AccessList, AccessListItem},
    primitives::{Address, B256, Log, U256, keccak256},
};

use crate::config::Predeploys;

/// Where a log was emitted: its emitter, block, index in the block, the block's timestamp and the
/// source rollup's chain id (OP's interop identifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identifier {
    pub origin: Address,
    pub block_number: u64,
    pub log_index: u32,
    pub timestamp: u64,
    pub chain_id: u64,
}

impl Identifier {
    /// As the contracts take it.
    pub fn to_sol(&self) -> aqueduct_contracts::interop::L2ToL2Messenger::Identifier {
        aqueduct_contracts::interop::L2ToL2Messenger::Identifier {
            origin: self.origin,
            blockNumber: U256::from(self.block_number),
            logIndex: U256::from(self.log_index),
            timestamp: U256::from(self.timestamp),
            chainId: U256::from(self.chain_id),
        }
    }
}

/// A message as a transaction declares it: where to find the log, and the checksum it must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Declared {
    pub block_number: u64,
    pub timestamp: u64,
    pub log_index: u32,
    pub chain_id: u64,
    pub checksum: B256,
}

/// A log's payload as the destination consumes it: its topics, then its data.
pub fn payload(log: &Log) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * log.topics().len() + log.data.data.len());
    for t in log.topics() {
        out.extend_from_slice(t.as_slice());
    }
    out.extend_from_slice(&log.data.data);
    out
}

/// `keccak256(payload(log))`: the message hash the inbox is given.
pub fn payload_hash(log: &Log) -> B256 {
    keccak256(payload(log))
}

/// The third key: `keccak256(abi.encode(id, msg_hash))` with its first byte set to 0x03 (what
/// `CrossL2Inbox.checksumKey` computes).
pub fn checksum(id: &Identifier, msg_hash: B256) -> B256 {
    let mut enc = [0u8; 32 * 6];
    enc[12..32].copy_from_slice(id.origin.as_slice());
    enc[56..64].copy_from_slice(&id.block_number.to_be_bytes());
    enc[92..96].copy_from_slice(&id.log_index.to_be_bytes());
    enc[120..128].copy_from_slice(&id.timestamp.to_be_bytes());
    enc[152..160].copy_from_slice(&id.chain_id.to_be_bytes());
    enc[160..192].copy_from_slice(msg_hash.as_slice());
    let mut c = keccak256(enc);
    c.0[0] = 0x03;
    c
}

/// The three access-list keys that declare consuming `msg_hash` of `id`.
pub fn declaration_keys(id: &Identifier, msg_hash: B256) -> [B256; 3] {
    let mut a = [0u8; 32];
    a[0] = 0x01;
    a[12..20].copy_from_slice(&id.block_number.to_be_bytes());
    a[20..28].copy_from_slice(&id.timestamp.to_be_bytes());
    a[28..32].copy_from_slice(&id.log_index.to_be_bytes());
    let mut b = [0u8; 32];
    b[0] = 0x02;
    b[24..32].copy_from_slice(&id.chain_id.to_be_bytes());
    [B256::from(a), B256::from(b), checksum(id, msg_hash)]
}

/// The access list of a transaction that consumes these messages.
pub fn access_list(messages: &[(Identifier, B256)]) -> AccessList {
    let keys = messages.iter().flat_map(|(id, h)| declaration_keys(id, *h)).collect();
    AccessList(vec![AccessListItem { address: Predeploys::CROSS_L2_INBOX, storage_keys: keys }])
}

/// Why a declaration is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeclarationError {
    #[error("inbox access-list keys come in threes; {0} keys left over")]
    Incomplete(usize),
    #[error("inbox access-list key {index} has type {got:#04x}, expected {want:#04x}")]
    KeyType { index: usize, got: u8, want: u8 },
    #[error("inbox access-list key {0} has non-zero padding")]
    Padding(usize),
}

/// The messages a transaction declares (none for one that names no inbox keys).
pub fn declared(list: &AccessList) -> Result<Vec<Declared>, DeclarationError> {
    let mut out = Vec::new();
    for item in list.0.iter().filter(|i| i.address == Predeploys::CROSS_L2_INBOX) {
        let keys = &item.storage_keys;
        let whole = keys.len() / 3 * 3;
        for (n, k) in keys[..whole].chunks_exact(3).enumerate() {
            let at = |i: usize| n * 3 + i;
            for (i, want) in [1u8, 2, 3].into_iter().enumerate() {
                if k[i][0] != want {
                    return Err(DeclarationError::KeyType { index: at(i), got: k[i][0], want });
                }
            }
            let (a, b) = (k[0].as_slice(), k[1].as_slice());
            if a[1..12].iter().any(|x| *x != 0) {
                return Err(DeclarationError::Padding(at(0)));
            }
            if b[1..24].iter().any(|x| *x != 0) {
                return Err(DeclarationError::Padding(at(1)));
            }
            let u64_at = |s: &[u8]| u64::from_be_bytes(s.try_into().expect("8 bytes"));
            out.push(Declared {
                block_number: u64_at(&a[12..20]),
                timestamp: u64_at(&a[20..28]),
                log_index: u32::from_be_bytes(a[28..32].try_into().expect("4 bytes")),
                chain_id: u64_at(&b[24..32]),
                checksum: k[2],
            });
        }
        if whole != keys.len() {
            return Err(DeclarationError::Incomplete(keys.len() - whole));
        }
    }
    Ok(out)
}

/// The source block a declaration names, as the destination's node derived it from L1.
#[derive(Clone, Copy, Debug)]
pub struct SourceBlock<'a> {
    pub timestamp: u64,
    /// The last L1 block its derivation depended on (where its batch landed).
    pub l1_source: u64,
    /// Its logs in block order (the log index is a position in this list).
    pub logs: &'a [&'a Log],
}

/// What a node concludes about one declared message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The log is there, safe at the executing block's origin, and matches.
    Valid,
    /// The source block is not safe at this origin (its batch is later on L1, or not there yet):
    /// a sequencer keeps the transaction for a later origin; derivation leaves it out.
    NotSafe,
    /// Never valid: it names no such log, or another payload.
    Invalid(String),
}

/// Checks a declared message against the source block its identifier names, for a transaction in
/// a block with L1 origin `origin` and timestamp `timestamp`. `block` is `None` when the source
/// rollup has no safe block of that number yet.
pub fn check(d: &Declared, block: Option<SourceBlock<'_>>, origin: u64, timestamp: u64) -> Verdict {
    let Some(b) = block else { return Verdict::NotSafe };
    if b.l1_source > origin {
        return Verdict::NotSafe;
    }
    if b.timestamp != d.timestamp {
        return Verdict::Invalid(format!(
            "block {} has timestamp {}, not {}",
            d.block_number, b.timestamp, d.timestamp
        ));
    }
    if d.timestamp > timestamp {
        return Verdict::Invalid(format!("message from the future ({} after {timestamp})", d.timestamp));
    }
    let Some(log) = b.logs.get(d.log_index as usize) else {
        return Verdict::Invalid(format!("block {} has {} logs, no log {}", d.block_number, b.logs.len(), d.log_index));
    };
    let id = Identifier {
        origin: log.address,
        block_number: d.block_number,
        log_index: d.log_index,
        timestamp: d.timestamp,
        chain_id: d.chain_id,
    };
    if checksum(&id, payload_hash(log)) != d.checksum {
        return Verdict::Invalid(format!(
            "log {} of block {} is not the declared message (checksum differs)",
            d.log_index, d.block_number
        ));
    }
    Verdict::Valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Bytes, LogData};
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    fn arb_id() -> impl Strategy<Value = Identifier> {
        (any::<[u8; 20]>(), any::<u64>(), any::<u32>(), any::<u64>(), any::<u64>()).prop_map(|(o, b, l, t, c)| {
            Identifier { origin: Address::from(o), block_number: b, log_index: l, timestamp: t, chain_id: c }
        })
    }

    fn log(emitter: Address, data: &[u8]) -> Log {
        Log { address: emitter, data: LogData::new_unchecked(vec![B256::repeat_byte(7)], Bytes::copy_from_slice(data)) }
    }

    proptest! {
        #[test]
        fn declarations_roundtrip(msgs in proptest::collection::vec((arb_id(), any::<[u8; 32]>()), 0..5)) {
            let msgs: Vec<_> = msgs.into_iter().map(|(id, h)| (id, B256::from(h))).collect();
            let got = declared(&access_list(&msgs)).unwrap();
            prop_assert_eq!(got.len(), msgs.len());
            for (d, (id, h)) in got.iter().zip(&msgs) {
                prop_assert_eq!((d.block_number, d.timestamp, d.log_index, d.chain_id), (id.block_number, id.timestamp, id.log_index, id.chain_id));
                prop_assert_eq!(d.checksum, checksum(id, *h));
            }
        }

        #[test]
        fn random_keys_never_panic(keys in proptest::collection::vec(any::<[u8; 32]>(), 0..10)) {
            let list = AccessList(vec![AccessListItem {
                address: Predeploys::CROSS_L2_INBOX,
                storage_keys: keys.into_iter().map(B256::from).collect(),
            }]);
            let _ = declared(&list);
        }
    }

    /// Seeded mutation fuzzing: flipping bytes of valid declarations is decoded or refused, never
    /// a panic, and a changed checksum never checks as valid.
    #[test]
    fn mutated_declarations_are_refused_or_fail_the_check() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x1A7E);
        let emitter = Predeploys::L2_TO_L2_MESSENGER;
        let l = log(emitter, b"hello");
        let id = Identifier { origin: emitter, block_number: 5, log_index: 0, timestamp: 100, chain_id: 901 };
        let good = access_list(&[(id, payload_hash(&l))]);
        let logs = [&l];
        let block = SourceBlock { timestamp: 100, l1_source: 10, logs: &logs };
        assert_eq!(check(&declared(&good).unwrap()[0], Some(block), 10, 101), Verdict::Valid);
        for _ in 0..2_000 {
            let mut list = good.clone();
            let keys = &mut list.0[0].storage_keys;
            let k = rng.random_range(0..keys.len());
            let byte = rng.random_range(0..32);
            keys[k].0[byte] ^= rng.random_range(1..=255u8);
            if let Ok(ds) = declared(&list) {
                let d = ds[0];
                let same_place = d.block_number == 5 && d.log_index == 0 && d.timestamp == 100 && d.chain_id == 901;
                if same_place {
                    assert_ne!(check(&d, Some(block), 10, 101), Verdict::Valid, "mutated key {k} byte {byte}");
                }
            }
        }
    }

    #[test]
    fn check_refuses_what_is_not_safe_or_not_there() {
        let emitter = Predeploys::L2_TO_L2_MESSENGER;
        let l = log(emitter, b"m");
        let logs = [&l];
        let id = Identifier { origin: emitter, block_number: 3, log_index: 0, timestamp: 50, chain_id: 901 };
        let d = declared(&access_list(&[(id, payload_hash(&l))])).unwrap()[0];
        let block = |l1_source| Some(SourceBlock { timestamp: 50, l1_source, logs: &logs });
        assert_eq!(check(&d, block(20), 20, 60), Verdict::Valid);
        // Its batch landed after the executing block's origin, or the block is not derived yet.
        assert_eq!(check(&d, block(21), 20, 60), Verdict::NotSafe);
        assert_eq!(check(&d, None, 20, 60), Verdict::NotSafe);
        // Another emitter, payload, index or timestamp.
        let other = log(Address::repeat_byte(9), b"m");
        let others = [&other];
        let b = SourceBlock { timestamp: 50, l1_source: 1, logs: &others };
        assert!(matches!(check(&d, Some(b), 20, 60), Verdict::Invalid(_)));
        let forged = declared(&access_list(&[(id, keccak256(b"forged"))])).unwrap()[0];
        assert!(matches!(check(&forged, block(1), 20, 60), Verdict::Invalid(_)));
        let far = Identifier { log_index: 1, ..id };
        let d2 = declared(&access_list(&[(far, payload_hash(&l))])).unwrap()[0];
        assert!(matches!(check(&d2, block(1), 20, 60), Verdict::Invalid(_)));
        let b = SourceBlock { timestamp: 51, l1_source: 1, logs: &logs };
        assert!(matches!(check(&d, Some(b), 20, 60), Verdict::Invalid(_)));
        assert!(matches!(check(&d, block(1), 20, 49), Verdict::Invalid(_)));
    }

    #[test]
    fn malformed_declarations_say_why() {
        let item = |keys: Vec<B256>| {
            AccessList(vec![AccessListItem { address: Predeploys::CROSS_L2_INBOX, storage_keys: keys }])
        };
        let id = Identifier { origin: Address::ZERO, block_number: 1, log_index: 2, timestamp: 3, chain_id: 4 };
        let [a, b, c] = declaration_keys(&id, B256::ZERO);
        assert_eq!(declared(&item(vec![a, b])), Err(DeclarationError::Incomplete(2)));
        assert_eq!(declared(&item(vec![b, a, c])), Err(DeclarationError::KeyType { index: 0, got: 2, want: 1 }));
        let mut pad = a;
        pad.0[5] = 1;
        assert_eq!(declared(&item(vec![pad, b, c])), Err(DeclarationError::Padding(0)));
        // Keys of other contracts are not declarations.
        let other = AccessList(vec![AccessListItem { address: Address::repeat_byte(1), storage_keys: vec![a] }]);
        assert_eq!(declared(&other), Ok(vec![]));
    }
}
