//! Blocks, transactions and receipts as the chain keeps them.

use std::sync::Arc;

use alloy::{
    consensus::{Header, ReceiptEnvelope, Transaction, TxEnvelope},
    eips::eip2718::{Decodable2718, Encodable2718},
    primitives::{Address, B256, Bytes},
};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};

/// A transaction with its recovered sender and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTx {
    /// Without blob sidecar (the form a block holds).
    pub envelope: TxEnvelope,
    pub sender: Address,
    pub hash: B256,
}

impl ChainTx {
    pub fn new(envelope: TxEnvelope, sender: Address) -> Self {
        let hash = *envelope.tx_hash();
        Self { envelope, sender, hash }
    }

    pub fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }

    /// Tip per gas this transaction pays at `base_fee` (None when it cannot pay the base fee).
    pub fn effective_tip(&self, base_fee: u64) -> Option<u128> {
        self.envelope.effective_tip_per_gas(base_fee)
    }

    pub fn blob_count(&self) -> u64 {
        self.envelope.blob_versioned_hashes().map(|h| h.len() as u64).unwrap_or(0)
    }
}

#[derive(RlpEncodable, RlpDecodable)]
struct StoredTx {
    raw: Bytes,
    sender: Address,
}

/// A block with everything the RPC serves about it.
#[derive(Clone, Debug)]
pub struct SealedBlock {
    pub header: Header,
    pub hash: B256,
    pub txs: Vec<ChainTx>,
    pub receipts: Vec<ReceiptEnvelope>,
    /// The block's encoded size (for the `size` field).
    pub size: u64,
}

impl SealedBlock {
    pub fn new(header: Header, txs: Vec<ChainTx>, receipts: Vec<ReceiptEnvelope>) -> Arc<Self> {
        let hash = header.hash_slow();
        // rlp([header, [tx…], ommers = [], withdrawals = []]), as `eth_getBlockByNumber` reports it.
        let txs_payload: usize = txs.iter().map(|t| t.envelope.length()).sum();
        let empty_list = 1;
        let txs_list = txs_payload + alloy_rlp::length_of_length(txs_payload);
        let payload = header.length() + txs_list + 2 * empty_list;
        let size = (payload + alloy_rlp::length_of_length(payload)) as u64;
        Arc::new(Self { header, hash, txs, receipts, size })
    }

    pub fn number(&self) -> u64 {
        self.header.number
    }

    pub fn encode_header(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(600);
        self.header.encode(&mut out);
        out
    }

    pub fn encode_body(&self) -> Vec<u8> {
        let txs: Vec<StoredTx> =
            self.txs.iter().map(|t| StoredTx { raw: t.envelope.encoded_2718().into(), sender: t.sender }).collect();
        let mut out = Vec::new();
        txs.encode(&mut out);
        out
    }

    pub fn encode_receipts(&self) -> Vec<u8> {
        let rs: Vec<Bytes> = self.receipts.iter().map(|r| r.encoded_2718().into()).collect();
        let mut out = Vec::new();
        rs.encode(&mut out);
        out
    }

    /// Rebuilds a block from its stored parts.
    pub fn decode(header: &[u8], body: &[u8], receipts: &[u8]) -> Result<Arc<Self>, alloy_rlp::Error> {
        let header = Header::decode(&mut &header[..])?;
        let stored = Vec::<StoredTx>::decode(&mut &body[..])?;
        let mut txs = Vec::with_capacity(stored.len());
        for s in stored {
            let env =
                TxEnvelope::decode_2718(&mut s.raw.as_ref()).map_err(|_| alloy_rlp::Error::Custom("stored tx"))?;
            txs.push(ChainTx::new(env, s.sender));
        }
        let raw = Vec::<Bytes>::decode(&mut &receipts[..])?;
        let mut rs = Vec::with_capacity(raw.len());
        for r in raw {
            rs.push(
                ReceiptEnvelope::decode_2718(&mut r.as_ref())
                    .map_err(|_| alloy_rlp::Error::Custom("stored receipt"))?,
            );
        }
        Ok(Self::new(header, txs, rs))
    }
}

#[cfg(test)]
mod tests {
    use alloy::{
        consensus::{Block, BlockBody, SignableTransaction, TxEip1559, TxLegacy},
        eips::eip4895::Withdrawals,
        network::TxSignerSync,
        primitives::{Signature, TxKind, U256},
        signers::local::PrivateKeySigner,
    };

    use super::*;

    fn signed<T: SignableTransaction<Signature>>(s: &PrivateKeySigner, mut tx: T) -> TxEnvelope
    where
        alloy::consensus::Signed<T>: Into<TxEnvelope>,
    {
        let sig = s.sign_transaction_sync(&mut tx).unwrap();
        tx.into_signed(sig).into()
    }

    #[test]
    fn size_is_the_length_of_the_encoded_block() {
        let s = PrivateKeySigner::random();
        let to = TxKind::Call(Address::repeat_byte(1));
        let legacy = TxLegacy { chain_id: Some(1), gas_limit: 21_000, to, value: U256::from(1), ..Default::default() };
        let dynamic = TxEip1559 {
            chain_id: 1,
            nonce: 1,
            gas_limit: 50_000,
            to,
            input: vec![7u8; 300].into(),
            ..Default::default()
        };
        let txs = vec![signed(&s, legacy), signed(&s, dynamic)];
        let header = Header { number: 9, gas_limit: 30_000_000, base_fee_per_gas: Some(7), ..Default::default() };
        let block = SealedBlock::new(
            header.clone(),
            txs.iter().map(|t| ChainTx::new(t.clone(), s.address())).collect(),
            vec![],
        );
        let reference = Block {
            header,
            body: BlockBody { transactions: txs, ommers: vec![], withdrawals: Some(Withdrawals::default()) },
        };
        assert_eq!(block.size, alloy_rlp::encode(&reference).len() as u64);
        let empty = SealedBlock::new(Header::default(), vec![], vec![]);
        let reference = Block::<TxEnvelope> {
            header: Header::default(),
            body: BlockBody { transactions: vec![], ommers: vec![], withdrawals: Some(Withdrawals::default()) },
        };
        assert_eq!(empty.size, alloy_rlp::encode(&reference).len() as u64);
    }
}
