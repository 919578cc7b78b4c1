//! Groth16 over BN254 for the block circuit: keys generated once per (shape, slots, domain,
//! circuit version), cached on disk, and reused; a progress bar while proving.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use aqueduct_zk_protocol::{BlockWitness, F, Op, TreeShape, ZkState};
use ark_bn254::Bn254;
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, R1CS_PREDICATE_LABEL, SynthesisError,
    SynthesisMode,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, SerializationError, Validate};
use ark_snark::SNARK;
use ark_std::UniformRand;
use ark_std::rand::{SeedableRng, rngs::StdRng};
use rand::RngCore;
use tracing::info;

use crate::BlockCircuit;

/// Bumped whenever the constraints change: cached keys of another version are not used.
pub const CIRCUIT_VERSION: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    #[error("key cache {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("key cache {path}: checksum mismatch (delete it to regenerate)")]
    Checksum { path: PathBuf },
    #[error("key cache {path}: {source} (delete it to regenerate)")]
    Corrupt { path: PathBuf, source: SerializationError },
    #[error("writing the key cache: {0}")]
    Serialize(#[source] SerializationError),
    #[error("the block does not fit the circuit: {0}")]
    Shape(String),
    #[error("the block is not provable: {0}")]
    Constraint(#[source] SynthesisError),
    #[error("the block is not provable: {constraints} constraints, at least one fails")]
    Unsatisfied { constraints: usize },
    #[error("proving failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// Only an unsatisfiable witness makes a proof that fails its own check, and that is caught
    /// first: this is a bug.
    #[error("the proof does not verify")]
    NotVerifying,
    /// The blocking task running the prover panicked.
    #[error("the proving task failed: {0}")]
    Task(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The on-chain slots a block of `slots` gets by default: an eighth of them, at least four (all
/// of a smaller block). Each costs its record in the circuit's SHA-256 (about 24,000 constraints),
/// so a block keeps few; a block with more deposits or withdrawals waiting takes the rest next.
pub const fn default_onchain_slots(slots: usize) -> usize {
    let eighth = slots / 8;
    let floor = if slots < 4 { slots } else { 4 };
    if eighth > floor { eighth } else { floor }
}

/// The circuit's parameters: what a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitParams {
    pub shape: TreeShape,
    pub slots: usize,
    /// The first slots, which alone may hold an operation L1 acts on (deposits, withdrawals,
    /// full exits, key changes): each costs a 57-byte record in the public input's hash.
    pub onchain_slots: usize,
    pub domain: u64,
}

impl CircuitParams {
    /// A circuit of `slots` with the default on-chain slots ([`default_onchain_slots`]).
    pub const fn new(shape: TreeShape, slots: usize, domain: u64) -> Self {
        Self { shape, slots, onchain_slots: default_onchain_slots(slots), domain }
    }

    fn file_stem(&self) -> String {
        format!(
            "zk-v{CIRCUIT_VERSION}-a{}-b{}-s{}-o{}-d{}",
            self.shape.account_levels, self.shape.balance_levels, self.slots, self.onchain_slots, self.domain
        )
    }

    /// A block of no-ops on an empty state: fixes the circuit's shape for key generation.
    pub fn blank(&self) -> BlockWitness {
        ZkState::new(self.shape, self.domain).apply_block(&[Op::Noop], self.slots, self.onchain_slots).0
    }

    /// Constraints in the circuit.
    pub fn constraints(&self) -> usize {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        BlockCircuit { witness: self.blank() }.generate_constraints(cs.clone()).expect("the blank block synthesizes");
        cs.num_constraints()
    }
}

pub struct Prover {
    pub params: CircuitParams,
    pk: ProvingKey<Bn254>,
    pvk: PreparedVerifyingKey<Bn254>,
    /// How long key generation took, when this prover generated its keys.
    pub setup_time: Option<Duration>,
    /// How long the last proof took, in milliseconds (the progress bar's estimate; 0: none yet).
    last_proof_ms: std::sync::atomic::AtomicU64,
    /// The circuit's constraint matrices, built once (on the first proof) so that each proof
    /// synthesizes the witness only: no constraint is stored and no linear combination inlined
    /// while proving (the single-threaded half of proving time and most of its memory).
    matrices: std::sync::OnceLock<Matrices>,
}

/// The R1CS matrices `A`, `B`, `C` of the block circuit and their dimensions.
struct Matrices {
    abc: Vec<Matrix<F>>,
    num_inputs: usize,
    num_constraints: usize,
}

impl Matrices {
    fn of(params: &CircuitParams) -> Result<Self, ProverError> {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        BlockCircuit { witness: params.blank() }.generate_constraints(cs.clone())?;
        cs.finalize();
        let (num_inputs, num_constraints) = (cs.num_instance_variables(), cs.num_constraints());
        let abc = cs.to_matrices()?.remove(R1CS_PREDICATE_LABEL).ok_or(SynthesisError::PredicateNotFound)?;
        Ok(Self { abc, num_inputs, num_constraints })
    }
}

fn fresh_rng() -> StdRng {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    StdRng::from_seed(seed)
}

impl Prover {
    /// Generates fresh keys (random toxic waste, dropped at once).
    pub fn setup(params: CircuitParams) -> Result<Self, ProverError> {
        Self::setup_with(params, &mut fresh_rng())
    }

    /// Keys from a given randomness source. With a seeded source anyone who knows the seed can
    /// forge proofs: for reproducible test fixtures only.
    pub fn setup_with(params: CircuitParams, rng: &mut StdRng) -> Result<Self, ProverError> {
        let started = Instant::now();
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(BlockCircuit { witness: params.blank() }, rng)?;
        let pvk = Groth16::<Bn254>::process_vk(&vk)?;
        Ok(Self {
            params,
            pk,
            pvk,
            setup_time: Some(started.elapsed()),
            last_proof_ms: Default::default(),
            matrices: Default::default(),
        })
    }

    /// The cached keys in `dir`, or fresh ones written there.
    pub fn load_or_setup(dir: &Path, params: CircuitParams) -> Result<Self, ProverError> {
        let path = dir.join(format!("{}.pk", params.file_stem()));
        let io = |source| ProverError::Io { path: path.clone(), source };
        if path.exists() {
            let bytes = std::fs::read(&path).map_err(io)?;
            // Written by this program; checked by its hash before use.
            let (hash, body) = bytes.split_at(32.min(bytes.len()));
            if hash != alloy_primitives::keccak256(body).as_slice() {
                return Err(ProverError::Checksum { path });
            }
            let pk = ProvingKey::<Bn254>::deserialize_with_mode(body, Compress::No, Validate::No)
                .map_err(|source| ProverError::Corrupt { path: path.clone(), source })?;
            let pvk = Groth16::<Bn254>::process_vk(&pk.vk)?;
            info!(target: "zk::prover", path = %path.display(), "proving key loaded from the cache");
            return Ok(Self {
                params,
                pk,
                pvk,
                setup_time: None,
                last_proof_ms: Default::default(),
                matrices: Default::default(),
            });
        }
        info!(target: "zk::prover", constraints = params.constraints(), "generating proving and verifying keys (once)");
        let p = Self::setup(params)?;
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut body = Vec::new();
        p.pk.serialize_with_mode(&mut body, Compress::No).map_err(ProverError::Serialize)?;
        let mut out = alloy_primitives::keccak256(&body).to_vec();
        out.extend_from_slice(&body);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &out).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        let secs = p.setup_time.map(|t| t.as_secs_f64()).unwrap_or_default();
        info!(target: "zk::prover", path = %path.display(), secs = format!("{secs:.1}"), "proving and verifying keys generated and cached");
        Ok(p)
    }

    pub fn vk(&self) -> &VerifyingKey<Bn254> {
        &self.pk.vk
    }

    /// Checks that the block satisfies the circuit, naming the first failing constraint if not.
    pub fn check(&self, w: &BlockWitness) -> Result<(), ProverError> {
        self.fits(w)?;
        check_satisfied(w)
    }

    fn fits(&self, w: &BlockWitness) -> Result<(), ProverError> {
        let p = &self.params;
        if w.shape != p.shape || w.slots.len() != p.slots || w.onchain_slots != p.onchain_slots || w.domain != p.domain
        {
            return Err(ProverError::Shape(format!(
                "block {:?} × {} slots ({} on-chain, domain {}) vs circuit {:?} × {} ({} on-chain, domain {})",
                w.shape,
                w.slots.len(),
                w.onchain_slots,
                w.domain,
                p.shape,
                p.slots,
                p.onchain_slots,
                p.domain
            )));
        }
        Ok(())
    }

    /// Proves a block. The proof is verified before it is returned (a pairing check, milliseconds),
    /// so an unprovable block is an error naming its first failing constraint, not a proof that
    /// fails on L1. (Checking the witness first would synthesize the circuit twice.)
    pub fn prove(&self, w: &BlockWitness) -> Result<Proof<Bn254>, ProverError> {
        self.prove_with(w, &mut fresh_rng())
    }

    /// `prove` with a given randomness source (reproducible fixtures).
    pub fn prove_with(&self, w: &BlockWitness, rng: &mut StdRng) -> Result<Proof<Bn254>, ProverError> {
        self.fits(w)?;
        use std::sync::atomic::Ordering;
        // A bar with an ETA from the last proof's time (a spinner for the first one).
        let expected = self.last_proof_ms.load(Ordering::Relaxed);
        let msg = format!("proving a block of {} slots ({} levels of accounts)", w.slots.len(), w.shape.account_levels);
        let bar = if expected == 0 {
            indicatif::ProgressBar::new_spinner().with_message(msg)
        } else {
            let style = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {elapsed} elapsed, ETA {eta}")
                .expect("a valid template")
                .progress_chars("=> ");
            indicatif::ProgressBar::new(expected).with_style(style).with_message(msg)
        };
        let visible = std::io::IsTerminal::is_terminal(&std::io::stderr());
        if !visible {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let started = Instant::now();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ticker = visible.then(|| {
            let (bar, done) = (bar.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let ms = started.elapsed().as_millis() as u64;
                    // Never full before the proof is: the bar waits at 99% when the estimate is short.
                    bar.set_position(ms.min(expected.saturating_sub(expected / 100)));
                    bar.tick();
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        });
        let proof = self.prove_from_matrices(w, rng);
        done.store(true, Ordering::Relaxed);
        if let Some(t) = ticker {
            let _ = t.join();
        }
        bar.finish_and_clear();
        self.last_proof_ms.store(started.elapsed().as_millis().max(1) as u64, Ordering::Relaxed);
        let proof = proof?;
        if !self.verify(w.commitment().public_input(), &proof) {
            // Only an unsatisfied witness gets here: say which constraint fails.
            check_satisfied(w)?;
            return Err(ProverError::NotVerifying);
        }
        Ok(proof)
    }

    /// Builds the constraint matrices now (otherwise the first proof does): a one-time cost of a
    /// full synthesis with its linear combinations inlined.
    pub fn build_matrices(&self) -> Result<(), ProverError> {
        self.matrices()?;
        Ok(())
    }

    fn matrices(&self) -> Result<&Matrices, ProverError> {
        Ok(match self.matrices.get() {
            Some(m) => m,
            None => {
                let built = Matrices::of(&self.params)?;
                self.matrices.get_or_init(|| built)
            }
        })
    }

    /// Groth16 over the cached matrices: the witness synthesized alone, then the QAP and the
    /// multi-scalar multiplications (both parallel).
    fn prove_from_matrices(&self, w: &BlockWitness, rng: &mut StdRng) -> Result<Proof<Bn254>, ProverError> {
        let m = self.matrices()?;
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove { construct_matrices: false, generate_lc_assignments: false });
        BlockCircuit { witness: w.clone() }.generate_constraints(cs.clone())?;
        let mut full = cs.instance_assignment()?;
        full.extend(cs.witness_assignment()?);
        drop(cs);
        let (r, s) = (F::rand(rng), F::rand(rng));
        Ok(Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
            &self.pk,
            r,
            s,
            &m.abc,
            m.num_inputs,
            m.num_constraints,
            &full,
        )?)
    }

    pub fn verify(&self, public_input: F, proof: &Proof<Bn254>) -> bool {
        Groth16::<Bn254>::verify_with_processed_vk(&self.pvk, &[public_input], proof).unwrap_or(false)
    }
}

/// Whether a block's witness satisfies the circuit (every constraint, not just the outcome).
pub fn check_satisfied(w: &BlockWitness) -> Result<(), ProverError> {
    let cs = ConstraintSystem::<F>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    BlockCircuit { witness: w.clone() }.generate_constraints(cs.clone()).map_err(ProverError::Constraint)?;
    if cs.is_satisfied()? { Ok(()) } else { Err(ProverError::Unsatisfied { constraints: cs.num_constraints() }) }
}
