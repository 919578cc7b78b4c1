//! Typed numbers with checked arithmetic.

use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("{0} overflowed")]
    Overflow(&'static str),
    #[error("{0} underflowed")]
    Underflow(&'static str),
}

macro_rules! typed_u64 {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            pub const ZERO: Self = Self(0);

            pub fn checked_add(self, n: u64) -> Result<Self, IdError> {
                self.0.checked_add(n).map(Self).ok_or(IdError::Overflow(stringify!($name)))
            }

            pub fn checked_sub(self, n: u64) -> Result<Self, IdError> {
                self.0.checked_sub(n).map(Self).ok_or(IdError::Underflow(stringify!($name)))
            }

            pub fn next(self) -> Result<Self, IdError> {
                self.checked_add(1)
            }

            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<u64> for $name {
            fn from(n: u64) -> Self {
                Self(n)
            }
        }

        impl std::ops::Add<u64> for $name {
            type Output = Self;

            /// The id `n` further on (ids are counted from our own state: a u64 does not run out).
            fn add(self, n: u64) -> Self {
                Self(self.0 + n)
            }
        }
    };
}

typed_u64!(
    /// A block height on the settlement layer (L1).
    L1BlockNumber
);
typed_u64!(
    /// A block height on a rollup (L2).
    L2BlockNumber
);
typed_u64!(
    /// A position in a rollup's forced-inclusion queue: how many forced transactions came before.
    ForcedIndex
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_arithmetic() {
        assert_eq!(L2BlockNumber(1).next().unwrap(), L2BlockNumber(2));
        assert_eq!(L1BlockNumber(u64::MAX).next(), Err(IdError::Overflow("L1BlockNumber")));
        assert_eq!(ForcedIndex(0).checked_sub(1), Err(IdError::Underflow("ForcedIndex")));
        assert_eq!(ForcedIndex(3) + 2, ForcedIndex(5));
    }
}
