//! Starts simplex and the application on any commonware runtime and network: the real tokio
//! runtime with authenticated TCP between processes ([`crate::validator`]), or the
//! deterministic runtime with a simulated network in tests.

use std::{num::NonZeroUsize, sync::Arc, time::Duration};

use commonware_consensus::{
    simplex::{self, SkipBudget, SkipPolicy, elector::RoundRobin},
    types::{Epoch, ViewDelta},
};
use commonware_cryptography::{Sha256, ed25519};
use commonware_p2p::{Blocker, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_utils::{NZU16, NZUsize, ordered::Set};
use rand_core::CryptoRng;

use crate::{
    NodeError,
    app::{App, AppNet},
    checkpoints::Checkpointer,
    consensus::{Mailbox, PublicKey, Scheme, namespace, to_digest},
    shared::Shared,
    spec::{SidechainSpec, ValidatorKeys},
    store::SideStore,
};

/// Consensus' timeouts: a leader has 2 s to propose (blocks come every second), a view 3 s.
pub struct Timing {
    pub leader_timeout: Duration,
    pub certification_timeout: Duration,
    pub timeout_retry: Duration,
    pub fetch_timeout: Duration,
    pub skip_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            leader_timeout: Duration::from_secs(2),
            certification_timeout: Duration::from_secs(3),
            timeout_retry: Duration::from_secs(1),
            fetch_timeout: Duration::from_secs(1),
            skip_timeout: Duration::from_secs(6),
        }
    }
}

/// Consensus' three channels, then the application's four.
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub app: AppNet<S, R>,
}

/// Starts one validator's consensus engine and application on `context`.
#[allow(clippy::too_many_arguments)]
pub fn start<E, B, S, R>(
    context: E,
    spec: &SidechainSpec,
    keys: &ValidatorKeys,
    chain: Arc<aqueduct_chain::Chain>,
    store: Arc<SideStore>,
    shared: Arc<Shared>,
    blocker: B,
    channels: Channels<S, R>,
    timing: Timing,
) -> Result<(), NodeError>
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics,
    B: Blocker<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let participants: Set<ed25519::PublicKey> = Set::try_from(spec.consensus_keys()?)
        .map_err(|_| NodeError::Config("consensus keys are not distinct".into()))?;
    let scheme = Scheme::signer(&namespace(spec.chain_id), participants, keys.consensus.clone())
        .ok_or_else(|| NodeError::Config("this validator's consensus key is not in the spec".into()))?;
    let checkpointer =
        Checkpointer::new(spec.checkpoint_interval, spec.domain(), keys.signer.clone(), store.clone(), shared.clone())?;
    let app = App::new(context.child("app"), spec.clone(), chain, store, shared, checkpointer)?;
    let genesis = app.genesis();
    let (mailbox, inbox) = Mailbox::new();
    let cfg = simplex::Config {
        scheme,
        elector: RoundRobin::<Sha256>::default(),
        blocker,
        automaton: mailbox.clone(),
        relay: mailbox.clone(),
        reporter: mailbox,
        // Every vote kept until its round is pruned, so conflicting votes are always reported.
        track_historical_votes: true,
        strategy: Sequential,
        // One partition per validator (in-process tests share one storage).
        partition: format!("sidechain-{}-{}", spec.chain_id, spec.index_of(keys.signer.address()).unwrap_or(0)),
        mailbox_size: NZUsize!(1024),
        epoch: Epoch::zero(),
        floor: simplex::Floor::Genesis(to_digest(genesis)),
        replay_buffer: NZUsize!(1024 * 1024),
        write_buffer: NZUsize!(1024 * 1024),
        page_cache: CacheRef::new(NZU16!(16_384), NonZeroUsize::new(256).expect("non-zero")),
        leader_timeout: timing.leader_timeout,
        certification_timeout: timing.certification_timeout,
        timeout_retry: timing.timeout_retry,
        view_retention: ViewDelta::new(64),
        skip: SkipPolicy::Enabled { timeout: timing.skip_timeout, budget: SkipBudget::Participants },
        fetch_timeout: commonware_utils::NonZeroDuration::new(timing.fetch_timeout).expect("non-zero"),
        fetch_retry_delay: Duration::from_millis(200),
        forward: simplex::ForwardPolicy::SilentVoters,
    };
    let engine = simplex::Engine::new(context.child("engine"), cfg);
    let Channels { votes, certificates, resolver, app: net } = channels;
    context.child("app_loop").spawn(move |_| app.run(inbox, net));
    engine.start(votes, certificates, resolver);
    Ok(())
}
