//! Trie nodes and their RLP encoding.

use alloy_primitives::{B256, keccak256};
use alloy_rlp::{Encodable, Header};

use crate::{nibbles::Nibbles, trie::TrieError};

/// How a parent refers to a child: by hash, or embedded when its RLP is shorter than 32 bytes.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub enum NodeRef {
    #[default]
    Empty,
    Hash(B256),
    /// The child's full RLP encoding (< 32 bytes), embedded in the parent.
    Inline(Vec<u8>),
}

impl NodeRef {
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Self::Empty => out.push(alloy_rlp::EMPTY_STRING_CODE),
            Self::Hash(h) => h.as_slice().encode(out),
            Self::Inline(raw) => out.extend_from_slice(raw),
        }
    }

    fn decode_item(item: &[u8]) -> Result<Self, TrieError> {
        let first = *item.first().ok_or(TrieError::Malformed("empty child reference"))?;
        if first >= alloy_rlp::EMPTY_LIST_CODE {
            if item.len() >= 32 {
                return Err(TrieError::Malformed("embedded node of 32 bytes or more"));
            }
            return Ok(Self::Inline(item.to_vec()));
        }
        let payload = string_payload(item)?;
        match payload.len() {
            0 => Ok(Self::Empty),
            32 => Ok(Self::Hash(B256::from_slice(payload))),
            _ => Err(TrieError::Malformed("child reference is neither empty, a hash nor a node")),
        }
    }
}

/// A decoded trie node. Children are references, so decoding one node never reads another.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Node {
    Empty,
    Leaf { path: Nibbles, value: Vec<u8> },
    Extension { path: Nibbles, child: NodeRef },
    Branch { children: Box<[NodeRef; 16]> },
}

impl Node {
    /// The node's RLP encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(64);
        match self {
            Self::Empty => return vec![alloy_rlp::EMPTY_STRING_CODE],
            Self::Leaf { path, value } => {
                Nibbles::encode_hex_prefix(path.as_slice(), true).as_slice().encode(&mut payload);
                value.as_slice().encode(&mut payload);
            }
            Self::Extension { path, child } => {
                Nibbles::encode_hex_prefix(path.as_slice(), false).as_slice().encode(&mut payload);
                child.encode_into(&mut payload);
            }
            Self::Branch { children } => {
                for c in children.iter() {
                    c.encode_into(&mut payload);
                }
                // Keys have a fixed length, so a branch never holds a value.
                payload.push(alloy_rlp::EMPTY_STRING_CODE);
            }
        }
        let mut out = Vec::with_capacity(payload.len() + 3);
        Header { list: true, payload_length: payload.len() }.encode(&mut out);
        out.extend_from_slice(&payload);
        out
    }

    /// Decodes a node from its RLP encoding; malformed input is an error, never a panic.
    pub fn decode(raw: &[u8]) -> Result<Self, TrieError> {
        if raw == [alloy_rlp::EMPTY_STRING_CODE] {
            return Ok(Self::Empty);
        }
        let items = list_items(raw)?;
        match items.len() {
            2 => {
                let (path, leaf) = Nibbles::decode_hex_prefix(string_payload(items[0])?)?;
                if leaf {
                    Ok(Self::Leaf { path, value: string_payload(items[1])?.to_vec() })
                } else {
                    if path.is_empty() {
                        return Err(TrieError::Malformed("extension with an empty path"));
                    }
                    let child = NodeRef::decode_item(items[1])?;
                    if child.is_empty() {
                        return Err(TrieError::Malformed("extension without a child"));
                    }
                    Ok(Self::Extension { path, child })
                }
            }
            17 => {
                if !string_payload(items[16])?.is_empty() {
                    return Err(TrieError::Malformed("value in a branch of a fixed-length-key trie"));
                }
                let mut children: Box<[NodeRef; 16]> = Box::default();
                for (i, item) in items[..16].iter().enumerate() {
                    children[i] = NodeRef::decode_item(item)?;
                }
                Ok(Self::Branch { children })
            }
            _ => Err(TrieError::Malformed("node is neither a 2-item nor a 17-item list")),
        }
    }

    /// Encodes the node and returns how a parent refers to it; `out` receives hashed nodes.
    pub fn to_ref(&self, mut store: impl FnMut(B256, Vec<u8>)) -> NodeRef {
        if matches!(self, Self::Empty) {
            return NodeRef::Empty;
        }
        let raw = self.encode();
        if raw.len() < 32 {
            NodeRef::Inline(raw)
        } else {
            let h = keccak256(&raw);
            store(h, raw);
            NodeRef::Hash(h)
        }
    }
}

/// The raw encoded items of an RLP list.
fn list_items(raw: &[u8]) -> Result<Vec<&[u8]>, TrieError> {
    let mut buf = raw;
    let h = Header::decode(&mut buf).map_err(|_| TrieError::Malformed("bad RLP header"))?;
    if !h.list || buf.len() != h.payload_length {
        return Err(TrieError::Malformed("node is not a well-formed RLP list"));
    }
    let mut items = Vec::with_capacity(17);
    while !buf.is_empty() {
        let start = buf;
        let mut peek = buf;
        let ih = Header::decode(&mut peek).map_err(|_| TrieError::Malformed("bad RLP item"))?;
        let head = start.len() - peek.len();
        let total = head.checked_add(ih.payload_length).ok_or(TrieError::Malformed("RLP overflow"))?;
        if total > start.len() {
            return Err(TrieError::Malformed("RLP item runs past the node"));
        }
        items.push(&start[..total]);
        buf = &start[total..];
    }
    Ok(items)
}

/// The payload of an RLP string item.
fn string_payload(item: &[u8]) -> Result<&[u8], TrieError> {
    let mut buf = item;
    let h = Header::decode(&mut buf).map_err(|_| TrieError::Malformed("bad RLP string"))?;
    if h.list || buf.len() != h.payload_length {
        return Err(TrieError::Malformed("expected an RLP string"));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Node::decode(&bytes);
        }

        #[test]
        fn leaf_roundtrip(path in proptest::collection::vec(0u8..16, 0..64), value in proptest::collection::vec(any::<u8>(), 1..80)) {
            let n = Node::Leaf { path: Nibbles(path), value };
            prop_assert_eq!(Node::decode(&n.encode()).unwrap(), n);
        }

        #[test]
        fn branch_roundtrip(hashes in proptest::collection::vec(proptest::option::of(any::<[u8; 32]>()), 16)) {
            let mut children: Box<[NodeRef; 16]> = Box::default();
            for (i, h) in hashes.iter().enumerate() {
                children[i] = h.map(|h| NodeRef::Hash(B256::from(h))).unwrap_or_default();
            }
            let n = Node::Branch { children };
            prop_assert_eq!(Node::decode(&n.encode()).unwrap(), n);
        }
    }
}
