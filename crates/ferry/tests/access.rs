//! Access control through the `ferry` binary: roles granted to users and
//! groups, disabled users, expiring and narrowed tokens, agents listed,
//! rotated and revoked, and recovery with `ferry admin token` — each against
//! a real `ferry serve` on a free port with its own data directory.

mod support;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use support::{Run, Server};

const CONFIG: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "staging"
tier = "staging"

[lifecycle.default]
phases = [["dev"], ["staging"]]

[[service]]
name = "api"

[[service]]
name = "web"
"#;

/// The words of the first line of `text` that starts with `start`.
#[track_caller]
fn row<'a>(run: &'a Run, start: &str) -> Vec<&'a str> {
    run.stdout
        .lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line starts with {start:?}: {run:#?}"))
        .split_whitespace()
        .collect()
}

/// The last line printed: where a secret goes.
fn secret(run: &Run) -> String {
    run.stdout.lines().last().unwrap_or_default().to_owned()
}

fn items(value: &Value) -> Vec<Value> {
    value["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_role_scoped_to_a_service_allows_only_what_it_names() {
    let server = Server::start();
    server.apply(CONFIG);
    let bob = server.user("bob");

    let granted = server
        .ferry(&[
            "role",
            "grant",
            "developer",
            "--user",
            "bob",
            "--service",
            "api",
        ])
        .success();
    assert_eq!(
        granted.stdout.trim(),
        "Granted developer for service api to user bob.",
        "{granted:#?}"
    );

    server
        .ferry_as(
            Some(&bob),
            &["release", "create", "api", "--version", "1.0.0"],
        )
        .success();
    let other = server
        .ferry_as(
            Some(&bob),
            &["release", "create", "web", "--version", "1.0.0"],
        )
        .code(1);
    assert!(other.stderr.contains("for service web"), "{other:#?}");
    let refused = server
        .ferry_as(Some(&bob), &["promote", "api@1.0.0", "--to", "dev"])
        .code(1);
    assert!(
        refused.stderr.starts_with("error: ")
            && refused.stderr.contains("bob may not promote releases")
            && refused.stderr.contains("deployer"),
        "{refused:#?}"
    );

    let whoami = server.ferry_as(Some(&bob), &["whoami"]).success();
    assert!(
        whoami
            .stdout
            .contains("Grants:\n  developer for service api\n"),
        "{whoami:#?}"
    );
    let list = server.ferry(&["role", "list"]).success();
    let bobs = row(&list, "user:bob ");
    assert_eq!(
        bobs[..5],
        ["user:bob", "developer", "api", "*", "admin"],
        "{list:#?}"
    );
    let listed = server.json(&["role", "list", "--user", "bob"]);
    assert_eq!(
        items(&listed)
            .iter()
            .map(|g| json!({"user": g["user"], "role": g["role"], "service": g["service"]}))
            .collect::<Vec<_>>(),
        [json!({"user": "bob", "role": "developer", "service": "api"})],
        "{listed:#}"
    );

    // Revoking needs the grant's exact scope.
    let wrong = server
        .ferry(&["role", "revoke", "developer", "--user", "bob"])
        .code(1);
    assert!(
        wrong
            .stderr
            .contains("user bob holds no grant of developer everywhere"),
        "{wrong:#?}"
    );
    let revoked = server
        .ferry(&[
            "role",
            "revoke",
            "developer",
            "--user",
            "bob",
            "--service",
            "api",
        ])
        .success();
    assert_eq!(
        revoked.stdout.trim(),
        "Revoked developer for service api from user bob."
    );
    assert!(items(&server.json(&["role", "list", "--user", "bob"])).is_empty());
    server
        .ferry_as(
            Some(&bob),
            &["release", "create", "api", "--version", "1.0.1"],
        )
        .code(1);

    let permissions = server.ferry(&["role", "list", "--permissions"]).success();
    assert_eq!(
        row(&permissions, "ACTION"),
        ["ACTION", "WHAT", "ROLES", "GUARDED"]
    );
    let promote = row(&permissions, "promote ");
    assert_eq!(promote.last(), Some(&"yes"), "{permissions:#?}");
    assert!(promote.contains(&"deployer,release-manager,admin"));
    let table = server.json(&["role", "list", "--permissions"]);
    assert!(
        items(&table).iter().any(|p| p["action"] == "manage-grants"),
        "{table:#}"
    );

    // Usage errors: no holder, an unknown role, the admin role scoped.
    let nobody = server.ferry(&["role", "grant", "viewer"]).code(2);
    assert!(nobody.stderr.contains("--user"), "{nobody:#?}");
    let unknown = server
        .ferry(&["role", "grant", "boss", "--user", "bob"])
        .code(2);
    assert!(unknown.stderr.contains("release-manager"), "{unknown:#?}");
    let scoped = server
        .ferry(&["role", "grant", "admin", "--user", "bob", "--env", "dev"])
        .code(1);
    assert!(scoped.stderr.contains("cannot be scoped"), "{scoped:#?}");
}

#[test]
fn a_group_gives_its_roles_to_every_member() {
    let server = Server::start();
    server.apply(CONFIG);
    let carol = server.user("carol");
    server.ferry(&["group", "create", "ops"]).success();
    let added = server.ferry(&["group", "add", "ops", "carol"]).success();
    assert_eq!(added.stdout.trim(), "Added carol to group ops.");
    let list = server.ferry(&["group", "list"]).success();
    assert_eq!(row(&list, "NAME"), ["NAME", "MEMBERS", "CREATED"]);
    assert_eq!(row(&list, "ops ")[..2], ["ops", "carol"], "{list:#?}");

    server
        .ferry(&[
            "role", "grant", "deployer", "--group", "ops", "--env", "dev",
        ])
        .success();
    let roles = server.ferry(&["role", "list", "--group", "ops"]).success();
    assert_eq!(
        row(&roles, "group:ops")[..4],
        ["group:ops", "deployer", "*", "dev"]
    );
    let whoami = server.ferry_as(Some(&carol), &["whoami"]).success();
    assert!(
        whoami
            .stdout
            .contains("  deployer in environment dev\nGroups: ops\n"),
        "{whoami:#?}"
    );

    server.ferry(&["group", "remove", "ops", "carol"]).success();
    let groups = server.json(&["group", "list"]);
    assert_eq!(items(&groups)[0]["members"], json!([]), "{groups:#}");
    let whoami = server
        .ferry_as(Some(&carol), &["whoami", "--output", "json"])
        .success()
        .json();
    assert_eq!(whoami["grants"], json!([]), "{whoami:#}");
}

#[test]
fn tokens_expire_and_narrowed_ones_allow_less_than_their_owner() {
    let server = Server::start();
    server.apply(CONFIG);
    let created = server
        .ferry(&[
            "token",
            "create",
            "ci",
            "--expires",
            "1d",
            "--role",
            "developer",
            "--service",
            "api",
        ])
        .success();
    let ci = secret(&created);
    assert!(ci.starts_with("ferry_"), "{created:#?}");

    let tokens = server.json(&["token", "list"]);
    let listed = items(&tokens)
        .into_iter()
        .find(|t| t["name"] == "ci")
        .unwrap_or_else(|| panic!("{tokens:#}"));
    assert_eq!(
        listed["grants"],
        json!([{"role": "developer", "service": "api"}])
    );
    let expires: DateTime<Utc> = listed["expires_at"].as_str().unwrap().parse().unwrap();
    let ahead = expires - Utc::now();
    assert!(
        ahead > chrono::Duration::hours(23) && ahead <= chrono::Duration::days(1),
        "{listed:#}"
    );
    let table = server.ferry(&["token", "list"]).success();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.contains(" ci ") && l.ends_with(" developer for service api")),
        "{table:#?}"
    );
    assert!(
        row(&table, "ID").ends_with(&["REVOKED", "EXPIRES", "RIGHTS"]),
        "{table:#?}"
    );

    // The narrowed token develops api; its owner, the admin, may do more.
    server
        .ferry_as(
            Some(&ci),
            &["release", "create", "api", "--version", "1.0.0"],
        )
        .success();
    let narrowed = server
        .ferry_as(Some(&ci), &["group", "create", "ops"])
        .code(1);
    assert!(
        narrowed.stderr.contains("narrowed to fewer rights"),
        "{narrowed:#?}"
    );
    server.ferry(&["group", "create", "ops"]).success();
    let whoami = server.ferry_as(Some(&ci), &["whoami"]).success();
    assert!(
        whoami
            .stdout
            .contains("This token is narrowed to (it allows only what these and the grants above both allow):\n  developer for service api"),
        "{whoami:#?}"
    );

    // Each --service and --env scopes the --role before it.
    let two = server.json(&[
        "token", "create", "two", "--role", "deployer", "--env", "dev", "--role", "viewer",
    ]);
    assert_eq!(
        two["grants"],
        json!([{"role": "deployer", "environment": "dev"}, {"role": "viewer"}])
    );
    let early = server
        .ferry(&[
            "token",
            "create",
            "x",
            "--service",
            "api",
            "--role",
            "developer",
        ])
        .code(2);
    assert!(
        early
            .stderr
            .starts_with("error: --service api comes before any --role"),
        "{early:#?}"
    );
    let twice = server
        .ferry(&[
            "token",
            "create",
            "x",
            "--role",
            "developer",
            "--env",
            "dev",
            "--env",
            "staging",
        ])
        .code(2);
    assert!(twice.stderr.contains("two --env"), "{twice:#?}");
    let forever = server
        .ferry(&["token", "create", "x", "--expires", "1y"])
        .code(2);
    assert!(
        forever.stderr.contains("30m, 12h, 90d or 2w"),
        "{forever:#?}"
    );
    let names: Vec<Value> = items(&server.json(&["token", "list"]))
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert!(!names.contains(&json!("x")), "{names:?}");
}

#[test]
fn a_disabled_users_tokens_are_refused_until_they_are_enabled() {
    let server = Server::start();
    let bob = server.user("bob");
    server.ferry_as(Some(&bob), &["whoami"]).success();
    let disabled = server.ferry(&["user", "disable", "bob"]).success();
    assert!(
        disabled.stdout.starts_with("Disabled user bob"),
        "{disabled:#?}"
    );
    let refused = server.ferry_as(Some(&bob), &["whoami"]).code(1);
    assert!(
        refused
            .stderr
            .contains("unknown, revoked or expired, or its user is disabled"),
        "{refused:#?}"
    );
    let users = server.ferry(&["user", "list"]).success();
    assert_eq!(
        row(&users, "NAME"),
        ["NAME", "EMAIL", "ADMIN", "CREATED", "DISABLED"]
    );
    // DISABLED is the last column; a time in it is `2026-12-04 10:15:03 UTC`.
    assert_eq!(row(&users, "bob ").last(), Some(&"UTC"), "{users:#?}");
    assert_eq!(row(&users, "admin ").last(), Some(&"-"), "{users:#?}");

    server.ferry(&["user", "enable", "bob"]).success();
    server.ferry_as(Some(&bob), &["whoami"]).success();

    let eve = server.json(&["user", "create", "eve", "--admin"]);
    assert_eq!(eve["user"]["admin"], true, "{eve:#}");
    let whoami = server
        .ferry_as(eve["token"]["secret"].as_str(), &["whoami"])
        .success();
    assert!(whoami.stdout.starts_with("eve (admin) on "), "{whoami:#?}");
}

#[test]
fn agents_are_listed_rotated_and_revoked_by_name() {
    let server = Server::start();
    server.apply(CONFIG);
    let created = server
        .ferry(&["agent", "token", "create", "--env", "dev"])
        .success();
    let first = secret(&created);
    assert!(first.starts_with("ferry_agent_"), "{created:#?}");
    let agents = server.json(&["agent", "list"]);
    let name = items(&agents)[0]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("agent-"), "{agents:#}");
    assert!(
        created.stdout.contains(&format!("{name:?}")),
        "{created:#?}"
    );

    let rotated = server
        .ferry(&["agent", "token", "rotate", &name, "--env", "dev"])
        .success();
    let second = secret(&rotated);
    assert!(second.starts_with("ferry_agent_"), "{rotated:#?}");
    assert_ne!(first, second);

    for environment in ["dev", "staging"] {
        server
            .ferry(&[
                "agent",
                "token",
                "create",
                "--env",
                environment,
                "--name",
                "web-1",
                "--tag",
                "role=web",
            ])
            .success();
    }
    let ambiguous = server.ferry(&["agent", "revoke", "web-1"]).code(1);
    assert!(
        ambiguous.stderr.contains("dev, staging") && ambiguous.stderr.contains("--env"),
        "{ambiguous:#?}"
    );
    server
        .ferry(&["agent", "revoke", "web-1", "--env", "staging"])
        .success();
    let revoked = server.ferry(&["agent", "revoke", &name]).success();
    assert!(revoked.stdout.starts_with("Revoked agent"), "{revoked:#?}");
    let list = server.ferry(&["agent", "list"]).success();
    assert_eq!(
        row(&list, "NAME"),
        ["NAME", "ENVIRONMENT", "TAGS", "LAST", "SEEN", "REVOKED"]
    );
    let staging: Vec<Value> = items(&server.json(&["agent", "list", "--env", "staging"]));
    assert_eq!(staging.len(), 1);
    assert!(staging[0]["revoked_at"].is_string(), "{staging:?}");
    let dev = server.ferry(&["agent", "list", "--env", "dev"]).success();
    assert_eq!(row(&dev, "web-1 ")[..3], ["web-1", "dev", "role=web"]);
    assert_ne!(
        row(&dev, &format!("{name} ")).last(),
        Some(&"-"),
        "{dev:#?}"
    );

    let gone = server
        .ferry(&["agent", "token", "rotate", "web-1", "--env", "staging"])
        .code(1);
    assert!(gone.stderr.contains("revoked"), "{gone:#?}");
    let missing = server.ferry(&["agent", "revoke", "nobody"]).code(1);
    assert!(
        missing.stderr.contains("there is no agent nobody"),
        "{missing:#?}"
    );
}

#[test]
fn admin_token_recovers_an_administrator_from_the_data_directory() {
    let server = Server::start();
    let mut recover = server.command(&["admin", "token", "--data-dir"]);
    recover
        .arg(server.data_dir.path())
        .env_remove("FERRY_DATABASE_URL")
        .env_remove("FERRY_DATA_DIR");
    let recovered = Run::of(recover).success();
    let token = secret(&recovered);
    assert!(token.starts_with("ferry_"), "{recovered:#?}");
    let whoami = server
        .ferry_as(Some(&token), &["whoami", "--output", "json"])
        .success()
        .json();
    assert_eq!(whoami["user"]["name"], "admin");
    assert_eq!(whoami["user"]["admin"], true);

    // Another user, as JSON, through FERRY_DATA_DIR.
    let mut rescue = server.command(&["admin", "token", "--user", "rescue", "--output", "json"]);
    rescue
        .env("FERRY_DATA_DIR", server.data_dir.path())
        .env_remove("FERRY_DATABASE_URL");
    let created = Run::of(rescue).success().json();
    assert_eq!(created["user"]["name"], "rescue");
    assert_eq!(created["user"]["admin"], true);
    assert_eq!(created["token"]["name"], "recovery");
    let secret = created["token"]["secret"].as_str().unwrap();
    server
        .ferry_as(Some(secret), &["group", "create", "rescuers"])
        .success();
    let audit = server.json(&["audit", "list"]);
    assert!(
        items(&audit)
            .iter()
            .any(|e| e["action"] == "admin.recover" && e["actor"] == "recovery"),
        "{audit:#}"
    );

    let empty = tempfile::tempdir().unwrap();
    let mut nothing = server.command(&["admin", "token", "--data-dir"]);
    nothing
        .arg(empty.path())
        .env_remove("FERRY_DATABASE_URL")
        .env_remove("FERRY_DATA_DIR");
    let refused = Run::of(nothing).code(1);
    assert!(
        refused
            .stderr
            .starts_with("error: there is no ferry database in"),
        "{refused:#?}"
    );
    assert!(!empty.path().join("ferry.db").exists());
    // The running server was not disturbed.
    server.ferry(&["whoami"]).success();
}

/// A CI job logs in with its OIDC ID token alone: `ferry login --oidc-token`
/// exchanges it under a trust policy whose keys are written in ferry.toml
/// (no network), saves the short-lived token, and what follows runs with
/// exactly the policy's grants.
#[test]
fn a_ci_job_logs_in_with_its_oidc_token_and_gets_the_policy_grants() {
    use base64::Engine;
    const JWKS: &str = include_str!("../../ferry-server/tests/fixtures/oidc/jwks.json");
    const KEY: &str = include_str!("../../ferry-server/tests/fixtures/oidc/key-a.pem");
    let jwks: Value = serde_json::from_str(JWKS).unwrap();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == "ferry-test-a")
        .unwrap();
    let issuer = "https://ci.example.com";
    let server = Server::start();
    server.apply(&format!(
        r#"{CONFIG}
[[trust]]
issuer = "{issuer}"
subject = "repo:acme/api:ref:refs/heads/main"
grants = [{{ role = "developer", service = "api" }}]
jwks = {{ keys = [{{ kty = "RSA", kid = "ferry-test-a", alg = "RS256", use = "sig", n = "{n}", e = "{e}" }}] }}
"#,
        n = key["n"].as_str().unwrap(),
        e = key["e"].as_str().unwrap(),
    ));

    let der = base64::engine::general_purpose::STANDARD
        .decode(
            KEY.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("ferry-test-a".into());
    let now = Utc::now().timestamp();
    let claims = json!({
        "iss": issuer, "aud": "ferry", "sub": "repo:acme/api:ref:refs/heads/main",
        "iat": now, "exp": now + 300,
    });
    let id_token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(&der),
    )
    .unwrap();

    // The CI job has no ferry token of its own: only the server and its ID token.
    let mut login = server.command(&["login", "--server", &server.url]);
    login.env("FERRY_OIDC_TOKEN", &id_token);
    let logged_in = Run::of(login).success();
    assert!(
        logged_in
            .stdout
            .contains("repo:acme/api:ref:refs/heads/main")
            && !logged_in.stdout.contains("ferry_ci_"),
        "says who, never prints the secret: {logged_in:#?}"
    );
    let whoami = Run::of(server.command(&["whoami"])).success();
    assert!(
        whoami.stdout.contains("developer for service api"),
        "{whoami:#?}"
    );
    Run::of(server.command(&["release", "create", "api", "--version", "1.0.0"])).success();
    let refused =
        Run::of(server.command(&["release", "create", "web", "--version", "1.0.0"])).code(1);
    assert!(refused.stderr.contains("developer"), "{refused:#?}");

    // A token signed by another key under the same key id is refused.
    const OTHER: &str = include_str!("../../ferry-server/tests/fixtures/oidc/key-b.pem");
    let other = base64::engine::general_purpose::STANDARD
        .decode(
            OTHER
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(&other),
    )
    .unwrap();
    let mut again = server.command(&["login", "--server", &server.url, "--oidc-token", &forged]);
    again.env_remove("FERRY_OIDC_TOKEN");
    let refused = Run::of(again).code(1);
    assert!(refused.stderr.contains("signature"), "{refused:#?}");
}

#[test]
fn a_web_password_is_set_from_standard_input_and_an_invitation_is_a_link() {
    let server = Server::start();
    let set = server.ferry_with_stdin(&["user", "password", "admin"], "a long web password\n");
    assert_eq!(set.code, 0, "{set:#?}");
    assert!(
        set.stdout.contains("Set the web password of user admin."),
        "{set:#?}"
    );
    let short = server.ferry_with_stdin(&["user", "password", "admin"], "short\n");
    assert_eq!(short.code, 1, "{short:#?}");
    assert!(short.stderr.contains("at least 12"), "{short:#?}");

    server.ferry(&["user", "create", "carol"]).success();
    let invited = server.ferry(&["user", "invite", "carol", "--valid-for", "2h"]);
    assert_eq!(invited.code, 0, "{invited:#?}");
    let link = format!("{}/invitations/ferry_invite_", server.url);
    assert!(invited.stdout.contains(&link), "{invited:#?}");
    let json = server.json(&["user", "invite", "carol"]);
    assert!(
        json["url"].as_str().unwrap_or_default().starts_with(&link),
        "{json}"
    );
    let too_long = server.ferry(&["user", "invite", "carol", "--valid-for", "31d"]);
    assert_eq!(too_long.code, 1, "{too_long:#?}");
    assert!(too_long.stderr.contains("720"), "{too_long:#?}");
}
