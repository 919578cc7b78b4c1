//! `attack bridge` end to end on the embedded L1 with the rollup in-process: a deposit is paid on
//! L1 within seconds; a relayer that "fills" the wrong recipient fills nothing and its bundle
//! repaying itself is disputed; a proposer redirecting the honest relayer's repayment is
//! disputed; both lose their bonds to the watcher; the honest bundle repays the relayer only
//! after the challenge window and the liveness, and refunds the unfilled deposit on the rollup.

use aqueduct_attack::{Promise, run_bridge};

const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thieves_lose_their_bonds_and_honest_parties_are_paid() {
    let (report, f) = run_bridge().await.unwrap();
    println!("{}", report.table());
    assert_eq!(report.outcomes.len(), 2);
    for o in &report.outcomes {
        assert!(o.held, "{o:#?}");
        assert_eq!((o.promise, o.honest_loss_wei, o.attacker_gain_wei), (Promise::NoLoss, 0, 0), "{o:#?}");
    }
    assert!(f.fill_seconds < 10.0, "filled {:.1} s after the deposit", f.fill_seconds);
    // Two disputes won by the watcher, at the entries that were wrong.
    let at: Vec<(u64, u64)> = f.watcher.disputes.iter().map(|d| (d.0, d.1)).collect();
    assert_eq!(at, vec![(0, 1), (1, 0)]);
    // The honest relayer filled one, skipped the unpaid one, proposed one bundle and was repaid
    // the input amount; both entries executed (its repayment and the refund).
    assert_eq!(f.relayer.fills.len(), 1);
    let skipped = &f.relayer.skipped;
    assert!(skipped.iter().any(|(id, why)| *id == 1 && why.contains("below the quote")), "{skipped:?}");
    assert_eq!(f.relayer.proposals.len(), 1);
    assert_eq!(f.relayer.repaid, alloy::primitives::U256::from(ETH));
    assert_eq!(f.relayer.executions.len(), 2);
    assert!(f.refunded_on_l2, "the unfilled deposit refunded on the rollup");
    assert!(report.table().contains("every outcome is what its design promises"));
}
