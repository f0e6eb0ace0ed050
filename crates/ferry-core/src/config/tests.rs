//! The configuration file's rules, each with the error a user reads.

use super::*;

const SAMPLE: &str = r#"
[[environment]]
name = "dev"
tier = "development"

[[environment]]
name = "prod"
tier = "production"
policy = { approvals = 2, evidence = ["unit", "e2e"], change_request = true, max_risk = "high" }
windows = [{ rrule = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9", duration = "8h", timezone = "Europe/Berlin" }]

[[freeze]]
name = "year-end"
start = "2026-12-20T00:00:00Z"
end = "2027-01-04T00:00:00Z"
environments = ["prod"]

[lifecycle.default]
phases = [["dev"], { environments = ["prod"], auto = false }]

[[service]]
name = "api"
repo = "."
paths = ["services/api/**"]
deploy.strategy = { kind = "rolling", batch = "25%" }
deploy.steps = [{ name = "install", run = "./deploy.sh \"$FERRY_VERSION\"" }]
"#;

fn error_at(source: &str) -> (String, (usize, usize)) {
    let error = parse(source).unwrap_err();
    let place = error.line_column(source).expect("the error has a place");
    (error.message, place)
}

#[test]
fn reads_the_design_sample() {
    let config = parse(SAMPLE).unwrap();
    assert_eq!(config.environments.len(), 2);
    let prod = &config.environments[1];
    assert_eq!(prod.tier, Tier::Production);
    assert_eq!(prod.policy.approvals, 2);
    assert_eq!(prod.policy.evidence, ["unit", "e2e"]);
    assert_eq!(prod.windows[0].timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(config.lifecycles[0].phases.len(), 2);
    let api = &config.services[0];
    assert_eq!(api.lifecycle.as_str(), "default");
    assert_eq!(api.deploy["strategy"]["batch"], "25%");
    assert_eq!(api.deploy["steps"][0]["name"], "install");
    assert_eq!(config.freezes[0].environments[0].as_str(), "prod");
}

#[test]
fn a_syntax_error_has_its_line_and_column() {
    let (message, place) = error_at("[[environment]]\nname = \"dev\"\ntier = \n");
    assert_eq!(place.0, 3, "{message}");
    assert!(!message.is_empty());
}

#[test]
fn an_unknown_field_is_named() {
    let (message, place) =
        error_at("[[environment]]\nname = \"dev\"\ntier = \"development\"\ncolour = \"red\"\n");
    assert!(message.contains("colour"), "{message}");
    assert_eq!(place, (4, 1));
}

#[test]
fn a_bad_tier_lists_the_good_ones() {
    let (message, place) = error_at("[[environment]]\nname = \"dev\"\ntier = \"prod\"\n");
    assert!(message.contains("production"), "{message}");
    assert_eq!(place.0, 3);
}

#[test]
fn a_bad_name_says_what_is_allowed() {
    let (message, place) = error_at("[[environment]]\nname = \"Dev\"\ntier = \"development\"\n");
    assert!(message.contains("lower-case"), "{message}");
    assert_eq!(place, (2, 8));
}

#[test]
fn an_unknown_environment_in_a_lifecycle_points_at_the_lifecycle() {
    let source = "[[environment]]\nname = \"dev\"\ntier = \"development\"\n\n[lifecycle.default]\nphases = [[\"dev\"], [\"qa\"]]\n";
    let (message, place) = error_at(source);
    assert!(
        message.contains("\"qa\"") && message.contains("phase 2"),
        "{message}"
    );
    assert_eq!(place, (6, 20), "the phase that names it");
}

#[test]
fn a_service_without_its_lifecycle_is_refused() {
    let source = "[[service]]\nname = \"api\"\n";
    let (message, place) = error_at(source);
    assert!(message.contains("lifecycle \"default\""), "{message}");
    assert_eq!(place, (2, 8));
}

#[test]
fn duplicates_are_refused_at_the_second() {
    let source = "[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[environment]]\nname = \"dev\"\ntier = \"testing\"\n";
    let (message, place) = error_at(source);
    assert!(message.contains("defined twice"), "{message}");
    assert_eq!(place, (5, 8));
}

#[test]
fn render_shows_file_line_column_and_caret() {
    let source = "[[environment]]\nname = \"Dev\"\ntier = \"development\"\n";
    let rendered = parse(source).unwrap_err().render("ferry.toml", source);
    assert!(rendered.starts_with("ferry.toml:2:8: "), "{rendered}");
    assert!(rendered.contains("name = \"Dev\""), "{rendered}");
    assert!(rendered.ends_with("       ^"), "{rendered}");
}

#[test]
fn windows_risk_limits_and_freezes_are_checked() {
    let window = "[[environment]]\nname = \"prod\"\ntier = \"production\"\nwindows = [{ rrule = \"FREQ=WEEKLY;BYDAY=XX\", duration = \"8h\" }]\n";
    let (message, place) = error_at(window);
    assert!(message.contains("window 1"), "{message}");
    assert_eq!(place, (4, 12), "the window");
    let zone = window.replace("BYDAY=XX", "BYDAY=MO").replace(
        "duration = \"8h\"",
        "duration = \"8h\", timezone = \"Mars/Olympus\"",
    );
    assert!(error_at(&zone).0.contains("Mars/Olympus"));
    let risk = "[[environment]]\nname = \"prod\"\ntier = \"production\"\npolicy = { max_risk = \"severe\" }\n";
    assert!(error_at(risk).0.contains("max_risk"));
    let freeze = "[[environment]]\nname = \"prod\"\ntier = \"production\"\n[[freeze]]\nname = \"f\"\nrrule = \"FREQ=WEEKLY\"\nduration = \"forever\"\nenvironments = [\"prod\"]\n";
    assert!(error_at(freeze).0.contains("freeze \"f\""));
}

#[test]
fn a_deployment_process_is_checked() {
    let source = "[lifecycle.default]\nphases = [[\"dev\"]]\n[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[service]]\nname = \"api\"\ndeploy.strategy = { kind = \"blue-green\" }\n";
    let (message, place) = error_at(source);
    assert!(
        message.contains("service \"api\"") && message.contains("blue-green"),
        "{message}"
    );
    assert_eq!(place, (8, 21), "the strategy's kind");
}

#[test]
fn a_bad_value_in_an_entry_points_at_its_key() {
    let approvals =
        "[[environment]]\nname = \"prod\"\ntier = \"production\"\npolicy = { approvals = -1 }\n";
    let (message, place) = error_at(approvals);
    assert_eq!(place, (4, 24), "{message}");
    let table = "[[environment]]\nname = \"prod\"\ntier = \"production\"\n[environment.policy]\napprovals = -1\n";
    assert_eq!(error_at(table).1, (5, 13));
    let risk = "[[environment]]\nname = \"prod\"\ntier = \"production\"\npolicy = { max_risk = \"severe\" }\n";
    let (message, place) = error_at(risk);
    assert!(message.contains("max_risk"), "{message}");
    assert_eq!(place, (4, 12), "the key: {message}");
    let window = "[[environment]]\nname = \"prod\"\ntier = \"production\"\nwindows = [\n  { rrule = \"FREQ=DAILY\", duration = \"8h\" },\n  { rrule = \"FREQ=WEEKLY;BYDAY=XX\", duration = \"8h\" },\n]\n";
    let (message, place) = error_at(window);
    assert!(message.contains("window 2"), "{message}");
    assert_eq!(place, (6, 3), "{message}");
}

#[test]
fn nul_in_any_text_is_refused_at_its_key() {
    let source = "[lifecycle.default]\nphases = [[\"dev\"]]\n[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[service]]\nname = \"api\"\nrepo = \"git@host:a\\u0000b\"\n";
    let (message, place) = error_at(source);
    assert!(message.contains("repo holds a NUL"), "{message}");
    assert_eq!(place.0, 8, "{message}");
}

#[test]
fn a_window_that_never_opens_is_refused() {
    let never = "[[environment]]\nname = \"prod\"\ntier = \"production\"\nwindows = [{ rrule = \"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30\", duration = \"8h\" }]\n";
    let (message, _) = error_at(never);
    assert!(message.contains("matches no date"), "{message}");
    let over = "[[environment]]\nname = \"prod\"\ntier = \"production\"\nwindows = [{ rrule = \"FREQ=DAILY;UNTIL=20200101T000000Z\", duration = \"8h\" }]\n";
    let (message, _) = error_at(over);
    assert!(message.contains("never opens"), "{message}");
}

#[test]
fn an_invalid_path_glob_or_an_overlong_description_is_refused_at_its_key() {
    let glob = "[lifecycle.default]\nphases = [[\"dev\"]]\n[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[service]]\nname = \"api\"\npaths = [\"services/api/**\", \"services/[web\"]\n";
    let (message, place) = error_at(glob);
    assert!(message.contains("not closed"), "{message}");
    assert_eq!(place.0, 8, "{message}");
    let long = format!(
        "[[environment]]\nname = \"dev\"\ntier = \"development\"\ndescription = \"{}\"\n",
        "x".repeat(2_001)
    );
    let (message, place) = error_at(&long);
    assert!(message.contains("at most 2000"), "{message}");
    assert_eq!(place.0, 4, "{message}");
}

#[test]
fn a_bad_deploy_value_points_at_its_key() {
    let source = "[lifecycle.default]\nphases = [[\"dev\"]]\n[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[service]]\nname = \"api\"\ndeploy.steps = [{ name = \"install\", run = \"./install.sh\" }]\ndeploy.health = { http = \"localhost:8080\" }\n";
    let (message, place) = error_at(source);
    assert!(message.contains("deploy.health.http"), "{message}");
    assert_eq!(place, (9, 19), "the key: {message}");
    let rendered = parse(source).unwrap_err().render("ferry.toml", source);
    assert!(rendered.starts_with("ferry.toml:9:19: "), "{rendered}");
    assert!(
        rendered.ends_with(&format!("| {}^", " ".repeat(18))),
        "the caret under `http`: {rendered}"
    );
    assert!(
        rendered.contains("deploy.health = { http = \"localhost:8080\" }"),
        "{rendered}"
    );
    let step = "[lifecycle.default]\nphases = [[\"dev\"]]\n[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[service]]\nname = \"api\"\n[service.deploy]\nsteps = [\n  { name = \"a\", run = \"true\" },\n  { name = \"b\", run = \"true\", timeout = \"soon\" },\n]\n";
    let (message, place) = error_at(step);
    assert!(message.contains("deploy.steps[1].timeout"), "{message}");
    assert_eq!(place, (11, 31), "the key: {message}");
    let unknown = "[lifecycle.default]\nphases = [[\"dev\"]]\n[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[service]]\nname = \"api\"\ndeploy.strategy = { kind = \"rolling\", bach = 2 }\n";
    let (message, place) = error_at(unknown);
    assert!(message.contains("\"bach\""), "{message}");
    assert_eq!(place, (8, 39), "the unknown key: {message}");
}

#[test]
fn a_bad_reference_points_at_the_reference() {
    let lifecycle = "[[environment]]\nname = \"dev\"\ntier = \"development\"\n[lifecycle.default]\nphases = [[\"dev\"]]\n[[service]]\nname = \"api\"\nlifecycle = \"fast\"\n";
    let (message, place) = error_at(lifecycle);
    assert!(message.contains("\"fast\""), "{message}");
    assert_eq!(place, (8, 1), "the key: {message}");
    let freeze = "[[environment]]\nname = \"dev\"\ntier = \"development\"\n[[freeze]]\nname = \"f\"\nstart = \"2026-12-20T00:00:00Z\"\nend = \"2027-01-04T00:00:00Z\"\nenvironments = [\"dev\", \"prod\"]\n";
    let (message, place) = error_at(freeze);
    assert!(message.contains("\"prod\""), "{message}");
    assert_eq!(place, (8, 24), "{message}");
}

#[test]
fn an_empty_file_is_an_empty_config() {
    assert_eq!(parse("").unwrap(), Config::default());
}

#[test]
fn variables_are_read_as_text() {
    let source = "[[environment]]\nname = \"dev\"\ntier = \"development\"\nvariables = { LOG_LEVEL = \"debug\", PORT = 8080, VERBOSE = true, _x = \"\" }\n";
    let config = parse(source).unwrap();
    let variables = &config.environments[0].variables;
    assert_eq!(variables["LOG_LEVEL"], "debug");
    assert_eq!(variables["PORT"], "8080");
    assert_eq!(variables["VERBOSE"], "true");
    assert_eq!(variables["_x"], "");
    assert_eq!(variables.len(), 4);
    let table = "[[environment]]\nname = \"dev\"\ntier = \"development\"\n[environment.variables]\nLOG_LEVEL = \"info\"\n";
    assert_eq!(
        parse(table).unwrap().environments[0].variables["LOG_LEVEL"],
        "info"
    );
    let none = parse("[[environment]]\nname = \"dev\"\ntier = \"development\"\n").unwrap();
    assert!(none.environments[0].variables.is_empty());
}

#[test]
fn a_bad_variable_name_points_at_the_name() {
    let source = "[[environment]]\nname = \"dev\"\ntier = \"development\"\nvariables = { LOG_LEVEL = \"debug\", \"LOG-FORMAT\" = \"json\" }\n";
    let (message, place) = error_at(source);
    assert!(
        message.contains("environment \"dev\"") && message.contains("\"LOG-FORMAT\""),
        "{message}"
    );
    assert_eq!(place, (4, 36), "the quoted name");
    let reserved = "[[environment]]\nname = \"dev\"\ntier = \"development\"\nvariables = { FERRY_VERSION = \"1\" }\n";
    let (message, place) = error_at(reserved);
    assert!(message.contains("FERRY_"), "{message}");
    assert_eq!(place, (4, 15));
    let digit = "[[environment]]\nname = \"dev\"\ntier = \"development\"\n[environment.variables]\n9LIVES = \"x\"\n";
    let (message, place) = error_at(digit);
    assert!(message.contains("not starting with a digit"), "{message}");
    assert_eq!(place, (5, 1));
}

#[test]
fn a_variable_that_is_not_text_says_what_is_expected() {
    let source = "[[environment]]\nname = \"dev\"\ntier = \"development\"\nvariables = { HOSTS = [\"a\", \"b\"] }\n";
    let (message, place) = error_at(source);
    assert!(
        message.contains("a string, an integer or a boolean"),
        "{message}"
    );
    assert_eq!(place.0, 4);
    let nul = "[[environment]]\nname = \"dev\"\ntier = \"development\"\nvariables = { A = \"x\\u0000y\" }\n";
    let (message, place) = error_at(nul);
    assert!(message.contains("NUL"), "{message}");
    assert_eq!(place, (4, 19));
}

#[test]
fn variables_sent_over_the_api_are_checked_too() {
    let mut config = parse("[[environment]]\nname = \"dev\"\ntier = \"development\"\n").unwrap();
    config.environments[0]
        .variables
        .insert("FERRY_TARGET".into(), "x".into());
    let invalid = config.validate().unwrap_err();
    assert_eq!(invalid.place, Place::Environment(0));
    assert!(invalid.message.contains("FERRY_"), "{}", invalid.message);
}
