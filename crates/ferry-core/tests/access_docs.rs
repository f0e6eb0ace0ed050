//! docs/security.md documents the permission table that the code enforces:
//! the table in the document is the one `ferry_core::access` prints, so the
//! two cannot drift apart.

#[test]
fn the_documented_permission_table_is_the_enforced_one() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/security.md"
    ))
    .expect("docs/security.md exists");
    let table = ferry_core::access::permission_table_markdown();
    assert!(
        doc.contains(&table),
        "docs/security.md must hold the permission table exactly as the code has it:\n\n{table}"
    );
}

#[test]
fn the_documented_limits_are_the_enforced_ones() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/limits.md"))
        .expect("docs/limits.md exists");
    let table = ferry_core::limits::markdown_table();
    assert!(
        doc.contains(&table),
        "docs/limits.md must hold the limits exactly as the code has them:\n\n{table}"
    );
}
