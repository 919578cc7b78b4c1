//! The fraud attack suite end to end on the embedded L1, one seeded run of every scenario: each
//! wrong output loses its game to the honest challenger (through a step on the EXECUTE
//! precompile, a withdrawals-root disproof, or a block re-derived from L1 data), its bond goes to the challenger and it is deleted;
//! the invented withdrawal, proven against it, is never paid; the honest withdrawal is paid when
//! its window closes; a false challenge loses; silent players lose on time; a killed challenger's
//! fresh replacement finishes its game. Prints the report (`-- --nocapture`).

use aqueduct_attack::{Corruption, FraudOptions, run_fraud};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long scenario (over a minute): scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
async fn every_wrong_output_loses_and_every_false_challenge_loses() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let report = run_fraud(FraudOptions { runs: 1, seed: 7, ..Default::default() }).await.unwrap();
    println!("{}", report.table());
    for g in &report.games {
        assert!(g.held, "{g:#?}");
        assert!(g.moves <= 64, "{g:#?}");
        assert!(g.total_gas <= 5_000_000, "{g:#?}");
    }
    let scenario = |name: &str| report.games.iter().filter(|g| g.scenario == name).collect::<Vec<_>>();
    for kind in [Corruption::BalanceChanged, Corruption::StorageSlotFlipped] {
        let gs = scenario(kind.name());
        assert_eq!(gs.len(), 1);
        assert_eq!(gs[0].ended_by, "step", "a state corruption is settled by one step on L1: {:#?}", gs[0]);
        assert!(gs[0].deciding_gas > 50_000, "the step ran the precompile: {:#?}", gs[0]);
        assert!(gs[0].detection_l1_blocks.is_some_and(|d| d <= 3), "{:#?}", gs[0]);
    }
    assert_eq!(scenario("withdrawal invented")[0].ended_by, "disprove withdrawals");
    assert_eq!(scenario("false challenge")[0].winner, "defender");
    assert_eq!(scenario("stalling liar")[0].ended_by, "timeout");
    assert!(scenario("stalling liar")[0].clock_advanced_s > 0);
    assert_eq!(scenario("stalling false challenger")[0].winner, "defender");
    for kind in [Corruption::TransactionSkipped, Corruption::TransactionAdded] {
        let gs = scenario(kind.name());
        assert_eq!(gs.len(), 1);
        assert_eq!(gs[0].winner, "challenger", "{:#?}", gs[0]);
        assert_eq!(gs[0].ended_by, "disprove block", "a block of other transactions is re-derived on L1: {:#?}", gs[0]);
        assert!(gs[0].deciding_gas > 100_000, "the derivation proof ran the precompile: {:#?}", gs[0]);
    }
    assert!(report.withdrawals.honest_refused_early.contains("ChallengeWindowOpen"), "{:?}", report.withdrawals);
    assert!(report.withdrawals.honest_paid_when_window_closed);
    assert_eq!(report.withdrawals.invented.len(), 1);
    assert!(report.withdrawals.invented[0].contains("OutputDeleted"), "{:?}", report.withdrawals);
    assert!(report.restart.as_deref().is_some_and(|r| r.starts_with("resumed")), "{:?}", report.restart);
    assert!(report.all_held);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["games"].as_array().unwrap().len(), report.games.len());
}
