#![doc = include_str!("../README.md")]

alloy::sol!(
    /// A plain ERC-20 (contracts/src/AqueductToken.sol).
    #[sol(rpc)]
    #[derive(Debug)]
    AqueductToken,
    "artifacts/AqueductToken.json"
);

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolCall;

    #[test]
    fn bytecode_is_bound() {
        assert!(AqueductToken::BYTECODE.len() > 1000);
        assert!(AqueductToken::DEPLOYED_BYTECODE.len() > 1000);
        assert_eq!(AqueductToken::transferCall::SIGNATURE, "transfer(address,uint256)");
    }
}
