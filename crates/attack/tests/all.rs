//! `attack all` end to end: every family's scenario played once on its own embedded L1, each
//! outcome what its design promises — no loss where it promises safety, exactly the allowed
//! loss where its trust assumption is broken on purpose.

use aqueduct_attack::{Promise, SuiteOptions, run_all};

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
