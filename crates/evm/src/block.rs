//! Blocks, transactions and receipts as the chain keeps them.

use std::sync::Arc;

use alloy::{
    consensus::{Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction, TxEnvelope, TxType},
    eips::eip2718::{Decodable2718, Encodable2718},
    primitives::{Address, B256, Bloom, Bytes, Log},
};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};

use crate::{
    deposit::{DEPOSIT_TX_TYPE, DepositTx},
    tx::TxBody,
};

/// A transaction with its recovered sender and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTx {
    /// Without blob sidecar (the form a block holds).
    pub envelope: TxBody,
    pub sender: Address,
    pub hash: B256,
}

impl ChainTx {
    pub fn new(envelope: TxEnvelope, sender: Address) -> Self {
        let hash = *envelope.tx_hash();
        Self { envelope: TxBody::Ethereum(envelope), sender, hash }
    }

    pub fn deposit(d: DepositTx) -> Self {
        Self { hash: d.hash(), sender: d.from, envelope: TxBody::Deposit(d) }
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

/// A receipt of any transaction type, with what an L2 adds to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainReceipt {
    /// EIP-2718 type of the transaction.
    pub ty: u8,
    pub inner: ReceiptWithBloom<Receipt<Log>>,
    /// Deposits: the sender's nonce before the deposit (OP's `depositNonce`).
    pub deposit_nonce: Option<u64>,
    /// L2 user transactions: the L1 data fee charged (OP's `l1Fee`). Not part of the receipt root.
    pub l1_fee: Option<u128>,
}

#[derive(RlpEncodable, RlpDecodable)]
struct StoredReceipt {
    raw: Bytes,
    has_l1_fee: bool,
    l1_fee: u128,
}

impl ChainReceipt {
    pub fn new(ty: u8, status: bool, cumulative_gas_used: u64, logs: Vec<Log>) -> Self {
        let receipt = Receipt { status: Eip658Value::Eip658(status), cumulative_gas_used, logs };
        Self { ty, inner: receipt.with_bloom(), deposit_nonce: None, l1_fee: None }
    }

    pub fn logs(&self) -> &[Log] {
        &self.inner.receipt.logs
    }

    pub fn cumulative_gas_used(&self) -> u64 {
        self.inner.receipt.cumulative_gas_used
    }

    pub fn status(&self) -> bool {
        self.inner.receipt.status.coerce_status()
    }

    pub fn bloom(&self) -> Bloom {
        self.inner.logs_bloom
    }

    /// The receipt as alloy's Ethereum envelope. Deposits (no such variant) come out as EIP-1559;
    /// the RPC layer writes their real type.
    pub fn to_envelope(&self) -> ReceiptEnvelope {
        let ty = TxType::try_from(self.ty).unwrap_or(TxType::Eip1559);
        ReceiptEnvelope::from_typed(ty, self.inner.clone())
    }

    fn deposit_payload_len(&self) -> usize {
        let r = &self.inner.receipt;
        r.status.length()
            + r.cumulative_gas_used.length()
            + self.inner.logs_bloom.length()
            + r.logs.length()
            + self.deposit_nonce.unwrap_or_default().length()
            + 1u8.length()
    }

    /// EIP-2718 encoding (what the receipts root commits to). Deposit receipts follow OP (Canyon):
    /// `0x7E ‖ rlp([status, cumulativeGas, bloom, logs, depositNonce, 1])`.
    pub fn encode_2718(&self, out: &mut dyn alloy_rlp::BufMut) {
        if self.ty != DEPOSIT_TX_TYPE {
            return self.to_envelope().encode_2718(out);
        }
        out.put_u8(DEPOSIT_TX_TYPE);
        alloy_rlp::Header { list: true, payload_length: self.deposit_payload_len() }.encode(out);
        let r = &self.inner.receipt;
        r.status.encode(out);
        r.cumulative_gas_used.encode(out);
        self.inner.logs_bloom.encode(out);
        r.logs.encode(out);
        self.deposit_nonce.unwrap_or_default().encode(out);
        1u8.encode(out);
    }

    pub fn encoded_2718(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.encode_2718(&mut out);
        out
    }

    pub fn decode_2718(buf: &[u8]) -> Result<Self, alloy_rlp::Error> {
        if buf.first() != Some(&DEPOSIT_TX_TYPE) {
            let env = ReceiptEnvelope::decode_2718(&mut &buf[..]).map_err(|_| alloy_rlp::Error::Custom("receipt"))?;
            let ty = env.tx_type() as u8;
            let inner = env.into_receipt().map_logs(|l| l).with_bloom();
            return Ok(Self { ty, inner, deposit_nonce: None, l1_fee: None });
        }
        let mut b = &buf[1..];
        let h = alloy_rlp::Header::decode(&mut b)?;
        if !h.list || b.len() < h.payload_length {
            return Err(alloy_rlp::Error::UnexpectedString);
        }
        let status = Eip658Value::decode(&mut b)?;
        let cumulative_gas_used = u64::decode(&mut b)?;
        let logs_bloom = Bloom::decode(&mut b)?;
        let logs = Vec::<Log>::decode(&mut b)?;
        let nonce = u64::decode(&mut b)?;
        let _version = u8::decode(&mut b)?;
        Ok(Self {
            ty: DEPOSIT_TX_TYPE,
            inner: ReceiptWithBloom { receipt: Receipt { status, cumulative_gas_used, logs }, logs_bloom },
            deposit_nonce: Some(nonce),
            l1_fee: None,
        })
    }
}

/// A block with everything the RPC serves about it.
#[derive(Clone, Debug)]
pub struct SealedBlock {
    pub header: Header,
    pub hash: B256,
    pub txs: Vec<ChainTx>,
    pub receipts: Vec<ChainReceipt>,
    /// The block's encoded size (for the `size` field).
    pub size: u64,
}

impl SealedBlock {
    pub fn new(header: Header, txs: Vec<ChainTx>, receipts: Vec<ChainReceipt>) -> Arc<Self> {
        let hash = header.hash_slow();
        // rlp([header, [tx…], ommers = [], withdrawals = []]), as `eth_getBlockByNumber` reports it.
        let txs_payload: usize = txs.iter().map(|t| network_len(&t.envelope)).sum();
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
        let rs: Vec<StoredReceipt> = self
            .receipts
            .iter()
            .map(|r| StoredReceipt {
                raw: r.encoded_2718().into(),
                has_l1_fee: r.l1_fee.is_some(),
                l1_fee: r.l1_fee.unwrap_or_default(),
            })
            .collect();
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
            let body = TxBody::decode_2718(&mut s.raw.as_ref()).map_err(|_| alloy_rlp::Error::Custom("stored tx"))?;
            let hash = body.hash();
            txs.push(ChainTx { envelope: body, sender: s.sender, hash });
        }
        let raw = Vec::<StoredReceipt>::decode(&mut &receipts[..])?;
        let mut rs = Vec::with_capacity(raw.len());
        for r in raw {
            let mut receipt = ChainReceipt::decode_2718(&r.raw)?;
            receipt.l1_fee = r.has_l1_fee.then_some(r.l1_fee);
            rs.push(receipt);
        }
        Ok(Self::new(header, txs, rs))
    }
}

/// Length of a transaction in a block's list: typed ones are RLP strings, legacy ones lists.
fn network_len(tx: &TxBody) -> usize {
    match tx {
        TxBody::Ethereum(e) => e.length(),
        TxBody::Deposit(d) => {
            let l = d.encode_2718_len();
            l + alloy_rlp::length_of_length(l)
        }
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
    #[test]
    fn stored_parts_round_trip_with_deposits_and_l1_fees() {
        let s = PrivateKeySigner::random();
        let user = signed(
            &s,
            TxEip1559 {
                chain_id: 901,
                gas_limit: 21_000,
                to: TxKind::Call(Address::repeat_byte(2)),
                ..Default::default()
            },
        );
        let dep = DepositTx {
            source_hash: B256::repeat_byte(3),
            from: Address::repeat_byte(4),
            to: TxKind::Call(Address::repeat_byte(5)),
            mint: 10u128.pow(19),
            value: U256::from(10u128.pow(19)),
            gas_limit: 1_000_000,
            is_system_transaction: true,
            input: vec![1, 2, 3].into(),
        };
        let mut r0 = ChainReceipt::new(DEPOSIT_TX_TYPE, true, 50_000, vec![]);
        r0.deposit_nonce = Some(7);
        let mut r1 = ChainReceipt::new(2, true, 71_000, vec![]);
        r1.l1_fee = Some(123_456_789_000_000);
        let header = Header { number: 5, extra_data: vec![9u8; 32].into(), ..Default::default() };
        let block = SealedBlock::new(
            header,
            vec![ChainTx::deposit(dep.clone()), ChainTx::new(user.clone(), s.address())],
            vec![r0.clone(), r1.clone()],
        );
        let back = SealedBlock::decode(&block.encode_header(), &block.encode_body(), &block.encode_receipts()).unwrap();
        assert_eq!(back.hash, block.hash);
        assert_eq!(back.txs[0].envelope, TxBody::Deposit(dep));
        assert_eq!(back.receipts[0].deposit_nonce, Some(7));
        assert_eq!(back.receipts[1].l1_fee, r1.l1_fee);
        assert_eq!(back.receipts[1].cumulative_gas_used(), 71_000);
    }
}
