//! `attack all` end to end: every family's scenario played once on its own embedded L1, each
//! outcome what its design promises — no loss where it promises safety, exactly the allowed
//! loss where its trust assumption is broken on purpose; and `attack bridge` (in this binary so
//! that it runs beside the long suite: both mostly wait on L1 blocks).

use aqueduct_attack::{Promise, SuiteOptions, run_all, run_bridge};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "every family's attacks, ~4 min; scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
async fn every_family_keeps_its_promise() {
    let report = run_all(&SuiteOptions { seed: 3, families: vec![], mass_exit_users: 100 }).await.unwrap();
    println!("{}", report.table());
    let attacks: Vec<(&str, &str)> = report.outcomes.iter().map(|o| (o.family, o.attack)).collect();
    assert_eq!(attacks.len(), 12, "{attacks:?}");
    for o in &report.outcomes {
        assert!(o.held, "{o:#?}");
        match o.promise {
            Promise::NoLoss => assert_eq!(o.honest_loss_wei, 0, "{o:#?}"),
            Promise::LossAllowed => assert!(o.honest_loss_wei > 0, "the broken assumption costs: {o:#?}"),
        }
    }
    let find = |attack: &str| report.outcomes.iter().find(|o| o.attack.contains(attack)).unwrap();
    // The validium freezes both users' 2 ETH; the offline channel user loses exactly the 0.2 ETH
    // the stale state took back, and the cheater gains it.
    assert_eq!(find("committee withholds").honest_loss_wei, 2_000_000_000_000_000_000);
    let no_tower = find("no tower");
    assert_eq!(
        (no_tower.honest_loss_wei, no_tower.attacker_gain_wei),
        (200_000_000_000_000_000, 200_000_000_000_000_000)
    );
    assert!(find("false state root").happened.contains("InvalidProof"));
    assert!(find("censors").happened.contains("left the transfer out"));
    let m = report.mass_exit.expect("plasma's mass exit measured");
    assert_eq!(m.users, 100);
    assert!(m.start_gas_per_exit > 50_000 && m.process_gas_per_exit > 10_000, "{m:?}");
    assert!(find("theft").happened.contains("was challenged"));
    // Three of four sidechain validators drain the bridge (30 ETH locked by three users); the
    // honest user's later withdrawal is refused and the honest validator reports the forgery.
    let c = find("forged root");
    assert_eq!((c.honest_loss_wei, c.attacker_gain_wei), (30_000_000_000_000_000_000, 30_000_000_000_000_000_000));
    assert!(c.happened.contains("InsufficientFunds") && c.happened.contains("validator reported"), "{c:#?}");
    assert!(report.all_held);
    assert!(report.table().contains("every outcome is what its design promises"));
}

/// `attack bridge` end to end on the embedded L1 with the rollup in-process: a deposit is paid
/// on L1 within seconds; a relayer that "fills" the wrong recipient fills nothing and its bundle
/// repaying itself is disputed; a proposer redirecting the honest relayer's repayment is
/// disputed; both lose their bonds to the watcher; the honest bundle repays the relayer only
/// after the challenge window and the liveness, and refunds the unfilled deposit on the rollup.
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
