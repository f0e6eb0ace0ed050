//! The CLI's reading of an error answer: [`ferry_client::error_from_answer`].

use ferry_client::Error;

/// The URL the answers are said to come from.
const URL: &str = "http://127.0.0.1:8740/api/v1/services/api/releases";

/// Statuses each body is read with: common ones, one without a reason
/// phrase, and ones no server should send.
const STATUSES: [u16; 6] = [400, 404, 502, 599, 0, u16::MAX];

/// The most characters of a body that is not problem details quoted in the
/// message (besides an ellipsis).
const EXCERPT_CHARS: usize = 300;

/// Reads `data` as the body of an error answer, with several statuses.
///
/// Promises checked: the body is the server's problem details exactly when
/// it reads as one, and the message is then its `detail`; otherwise the
/// message names the URL and the status and quotes at most the start of the
/// body, or says something when the body is blank.
pub fn problem(data: &[u8]) {
    let is_problem = serde_json::from_slice::<ferry_api::Problem>(data).is_ok();
    for status in STATUSES {
        let error = ferry_client::error_from_answer(status, URL, data);
        let message = error.to_string();
        match &error {
            Error::Api(problem) => {
                assert!(is_problem, "{message}");
                assert_eq!(message, problem.detail);
                let _ = problem.slug();
            }
            Error::UnexpectedStatus {
                url,
                status: said,
                body,
            } => {
                assert!(!is_problem, "problem details read as {message}");
                assert_eq!((url.as_str(), *said), (URL, status));
                assert!(!body.is_empty(), "{message}");
                assert!(
                    body.chars().count() <= EXCERPT_CHARS + 1,
                    "{} characters quoted",
                    body.chars().count()
                );
                assert!(message.contains(URL) && message.contains(&status.to_string()));
            }
            other => panic!("an answer read as {other:?}"),
        }
    }
}
