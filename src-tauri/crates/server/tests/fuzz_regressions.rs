//! Replays every input kept in `src-tauri/fuzz/regressions/<target>/`: the
//! seeds, and every input that ever crashed a fuzz target (fixed since).

#[test]
fn every_kept_fuzz_input_still_passes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions");
    let mut replayed = 0;
    for target in std::fs::read_dir(&root).expect("the regressions directory") {
        let target = target.unwrap();
        let name = target.file_name().into_string().unwrap();
        for input in std::fs::read_dir(target.path()).unwrap() {
            let input = input.unwrap().path();
            let data = std::fs::read(&input).unwrap();
            let outcome =
                std::panic::catch_unwind(|| relaydeck_server::fuzzing::replay(&name, &data));
            assert!(outcome.is_ok(), "{} fails again", input.display());
            replayed += 1;
        }
    }
    assert!(
        replayed >= 6,
        "only {replayed} inputs found under {}",
        root.display()
    );
}
