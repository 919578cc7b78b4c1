//! Signing with the unlocked dev accounts, as wallets and test frameworks ask a devnet to:
//! `eth_sign` and `personal_sign` (EIP-191 messages) and `eth_signTypedData_v4` (EIP-712).

use alloy::{
    dyn_abi::TypedData,
    primitives::{Address, Bytes},
    signers::{SignerSync, local::PrivateKeySigner},
};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use serde_json::Value;

use super::{
    RpcContext,
    error::{SERVER_ERROR, invalid_params, parse_params, rpc_err, tx_err},
};
use crate::error::TxError;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn signer(c: &RpcContext, address: Address) -> RpcResult<&PrivateKeySigner> {
    c.signers.iter().find(|s| s.address() == address).ok_or_else(|| tx_err(TxError::UnknownAccount(address)))
}

fn signed(sig: Result<alloy::primitives::Signature, alloy::signers::Error>) -> RpcResult<Bytes> {
    sig.map(|s| Bytes::from(s.as_bytes().to_vec())).map_err(|e| rpc_err(SERVER_ERROR, e.to_string()))
}

pub fn register(m: &mut RpcModule<RpcContext>) {
    let r = |res: Result<(), jsonrpsee::core::RegisterMethodError>| res.expect("method names are unique");

    r(m.register_method("eth_sign", |p, c, _| -> RpcResult<Bytes> {
        let (address, message): (Address, Bytes) = parse_params(&p, 2)?;
        signed(signer(c, address)?.sign_message_sync(&message))
    })
    .map(|_| ()));
    r(m.register_method("personal_sign", |p, c, _| -> RpcResult<Bytes> {
        let (message, address): (Bytes, Address) = parse_params(&p, 2)?;
        signed(signer(c, address)?.sign_message_sync(&message))
    })
    .map(|_| ()));
    r(m.register_method("eth_signTypedData_v4", |p, c, _| -> RpcResult<Bytes> {
        let (address, data): (Address, Value) = parse_params(&p, 2)?;
        // Wallets send the typed data as an object or as a JSON string (MetaMask's convention).
        let data = match data {
            Value::String(s) => serde_json::from_str::<TypedData>(&s),
            v => serde_json::from_value::<TypedData>(v),
        }
        .map_err(|e| invalid_params(format!("typed data: {e}")))?;
        signed(signer(c, address)?.sign_dynamic_typed_data_sync(&data))
    })
    .map(|_| ()));
}
