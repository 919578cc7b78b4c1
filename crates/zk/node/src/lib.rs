#![doc = include_str!("../README.md")]

mod deploy;
mod operator;

pub use deploy::{ZkDeployParams, ZkDeployment, deploy_zk, field_to_u256, genesis_root};
pub use operator::{BlockReport, Operator, OperatorError, to_sol};
