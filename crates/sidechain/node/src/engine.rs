//! Starts the application and simplex on any commonware runtime and network: the real tokio
//! runtime with authenticated TCP between processes ([`crate::validator`]), or the
//! deterministic runtime with a simulated network in tests. Consensus runs in epochs: each
//! validator-set change L1 applied ends one at a checkpoint boundary of the chain, and the next
//! epoch's simplex (its own set, its own subchannels and journal) starts from that body.

use std::{num::NonZeroUsize, sync::Arc, time::Duration};

use commonware_consensus::{
    simplex::{self, SkipBudget, SkipPolicy, elector::RoundRobin},
    types::{Epoch, ViewDelta},
};
use commonware_cryptography::Sha256;
use commonware_p2p::{
    Blocker, Receiver, Sender,
    utils::mux::{MuxHandle, Muxer},
};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_utils::{NZU16, NZUsize, ordered::Set};
use futures::{StreamExt, channel::mpsc};
use rand_core::CryptoRng;
use tracing::info;

use crate::{
    NodeError,
    app::{App, AppNet},
    checkpoints::Checkpointer,
    consensus::{Digest, Mailbox, PublicKey, Scheme, namespace, to_digest},
    shared::Shared,
    spec::{SidechainSpec, ValidatorKeys},
    store::{EpochStart, SideStore},
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

/// Starts one validator's application and, for each consensus epoch the executed chain reaches,
/// simplex with that epoch's validator set (when this validator is one of them).
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
    let checkpointer =
        Checkpointer::new(spec.checkpoint_interval, spec.domain(), keys.signer.clone(), store.clone(), shared.clone())?;
    let (epochs, starts) = mpsc::unbounded();
    let app = App::new(context.child("app"), spec.clone(), chain, store, shared.clone(), checkpointer, epochs.clone())?;
    epochs.unbounded_send(app.epoch()).expect("receiver held");
    let (mailbox, inbox) = Mailbox::new();
    let Channels { votes, certificates, resolver, app: net } = channels;
    // Each epoch's consensus talks on subchannels of its own: simplex blocks a peer that sends it
    // another epoch's message.
    let mux = |name: &'static str, (s, r): (S, R)| {
        let (muxer, handle) = Muxer::new(context.child(name), s, r);
        muxer.start();
        handle
    };
    let muxes = [mux("votes_mux", votes), mux("certificates_mux", certificates), mux("resolver_mux", resolver)];
    let supervisor = Supervisor { spec: spec.clone(), keys: keys.clone(), shared, blocker, mailbox, muxes, timing };
    context.child("epochs").spawn(move |context| supervisor.run(context, starts));
    context.child("app_loop").spawn(move |_| app.run(inbox, net));
    Ok(())
}

/// Runs simplex for the current epoch: stops the last epoch's engine and starts the next one's
/// when the application reports that the executed chain entered it.
struct Supervisor<B, S: Sender> {
    spec: SidechainSpec,
    keys: ValidatorKeys,
    shared: Arc<Shared>,
    blocker: B,
    mailbox: Mailbox,
    muxes: [MuxHandle<S>; 3],
    timing: Timing,
}

impl<B, S> Supervisor<B, S>
where
    B: Blocker<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
{
    async fn run<E>(mut self, context: E, mut starts: mpsc::UnboundedReceiver<EpochStart>)
    where
        E: Clock + CryptoRng + Spawner + Storage + Metrics,
    {
        let mut running: Option<commonware_runtime::Handle<()>> = None;
        while let Some(start) = starts.next().await {
            if let Some(h) = running.take() {
                h.abort();
            }
            let epoch = start.change.epoch;
            // The set's consensus keys: the spec's, then those L1's join requests announced.
            let keys: Result<Vec<PublicKey>, NodeError> =
                start.members.iter().map(|v| crate::spec::consensus_key(&v.consensus_key)).collect();
            let Ok(Ok(participants)) = keys.map(Set::try_from) else {
                self.shared.fail(format!("epoch {epoch}: the validators' consensus keys are unusable or repeated"));
                return;
            };
            let Some(scheme) =
                Scheme::signer(&namespace(self.spec.chain_id), participants, self.keys.consensus.clone())
            else {
                info!(target: "sidechain", epoch, "not in this epoch's validator set: following the chain");
                self.shared.note_epoch(epoch, false);
                continue;
            };
            let mut channels = Vec::with_capacity(3);
            for m in &mut self.muxes {
                match m.register(epoch).await {
                    Ok(c) => channels.push(c),
                    Err(e) => {
                        self.shared.fail(format!("epoch {epoch}: consensus channels: {e}"));
                        return;
                    }
                }
            }
            let [votes, certificates, resolver]: [_; 3] = channels.try_into().ok().expect("three channels");
            let cfg = self.config(scheme, epoch, start.floor);
            let engine = simplex::Engine::new(context.child("engine"), cfg);
            info!(target: "sidechain", epoch, from_height = start.height + 1, validators = start.change.validators.len(), "consensus epoch starts");
            self.shared.note_epoch(epoch, true);
            running = Some(engine.start(votes, certificates, resolver));
        }
    }

    fn config(
        &self,
        scheme: Scheme,
        epoch: u64,
        floor: alloy::primitives::B256,
    ) -> simplex::Config<Scheme, RoundRobin<Sha256>, B, Digest, Mailbox, Mailbox, Mailbox, Sequential> {
        let t = &self.timing;
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: self.blocker.clone(),
            automaton: self.mailbox.clone(),
            relay: self.mailbox.clone(),
            reporter: self.mailbox.clone(),
            // Every vote kept until its round is pruned, so conflicting votes are always reported.
            track_historical_votes: true,
            strategy: Sequential,
            // One partition per validator (in-process tests share one storage) and epoch.
            partition: format!("sidechain-{}-{}-{epoch}", self.spec.chain_id, self.keys.signer.address()),
            mailbox_size: NZUsize!(1024),
            epoch: Epoch::new(epoch),
            floor: simplex::Floor::Genesis(to_digest(floor)),
            replay_buffer: NZUsize!(1024 * 1024),
            write_buffer: NZUsize!(1024 * 1024),
            page_cache: CacheRef::new(NZU16!(16_384), NonZeroUsize::new(256).expect("non-zero")),
            leader_timeout: t.leader_timeout,
            certification_timeout: t.certification_timeout,
            timeout_retry: t.timeout_retry,
            view_retention: ViewDelta::new(64),
            skip: SkipPolicy::Enabled { timeout: t.skip_timeout, budget: SkipBudget::Participants },
            fetch_timeout: commonware_utils::NonZeroDuration::new(t.fetch_timeout).expect("non-zero"),
            fetch_retry_delay: Duration::from_millis(200),
            forward: simplex::ForwardPolicy::SilentVoters,
        }
    }
}
