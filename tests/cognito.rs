//! `cruddur cognito list-users` and `cruddur db update-cognito-user-ids` against moto's Cognito.

use aws_sdk_cognitoidentityprovider::types::AttributeType;
use aws_sdk_cognitoidentityprovider::Client;
use serde::Deserialize;

use crate::harness::{cruddur, moto_config, runtime, TestDb};
use crate::reports::LinkReport;

/// A pool with `users` (username, optional handle); returns its id and each username's sub.
pub(crate) fn pool(users: &[(&str, Option<&str>)]) -> (String, Vec<(String, String)>) {
    let rt = runtime();
    let client = Client::new(&moto_config());
    rt.block_on(async {
        let pool = client
            .create_user_pool()
            .pool_name(format!("cruddur-test-{}", std::process::id()))
            .send()
            .await
            .unwrap();
        let id = pool.user_pool().unwrap().id().unwrap().to_string();
        let mut subs = Vec::new();
        for (username, handle) in users {
            let mut create = client
                .admin_create_user()
                .user_pool_id(&id)
                .username(*username)
                .user_attributes(
                    AttributeType::builder()
                        .name("email")
                        .value(format!("{username}@example.com"))
                        .build()
                        .unwrap(),
                );
            if let Some(handle) = handle {
                create = create.user_attributes(
                    AttributeType::builder()
                        .name("preferred_username")
                        .value(*handle)
                        .build()
                        .unwrap(),
                );
            }
            let user = create.send().await.unwrap();
            let sub = user
                .user()
                .unwrap()
                .attributes()
                .iter()
                .find(|a| a.name() == "sub")
                .and_then(|a| a.value())
                .unwrap()
                .to_string();
            subs.push((username.to_string(), sub));
        }
        (id, subs)
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolUser {
    username: String,
    handle: Option<String>,
    sub: Option<String>,
    email: Option<String>,
    status: Option<String>,
    enabled: bool,
}

#[test]
fn list_users_returns_every_user_across_pages_including_those_without_a_handle() {
    let mut users: Vec<(String, Option<String>)> = (0..64)
        .map(|i| (format!("user{i:02}"), Some(format!("handle-{i:02}"))))
        .collect();
    users.push(("nohandle".into(), None));
    let borrowed: Vec<(&str, Option<&str>)> = users
        .iter()
        .map(|(u, h)| (u.as_str(), h.as_deref()))
        .collect();
    let (pool_id, subs) = pool(&borrowed);

    let listed: Vec<PoolUser> =
        cruddur(&["cognito", "list-users", "--pool-id", &pool_id, "--json"])
            .aws()
            .stderr_is("")
            .run()
            .json();
    assert_eq!(listed.len(), 65, "more than Cognito's 60 a page");
    let nohandle = listed.iter().find(|u| u.username == "nohandle").unwrap();
    assert_eq!(nohandle.handle, None);
    let first = listed.iter().find(|u| u.username == "user00").unwrap();
    assert_eq!(first.handle.as_deref(), Some("handle-00"));
    assert_eq!(first.sub.as_deref(), Some(subs[0].1.as_str()));
    assert_eq!(first.email.as_deref(), Some("user00@example.com"));
    assert!(first.enabled && first.status.is_some());

    cruddur(&["cognito", "list-users"])
        .aws()
        .env("AWS_COGNITO_USER_POOL_ID", &pool_id)
        .stdout_has("handle-63")
        .stderr_is("(65 rows)\n")
        .run();
}

#[test]
fn list_users_errors_name_what_to_set() {
    cruddur(&["cognito", "list-users"])
        .aws()
        .code(1)
        .stdout_is("")
        .stderr_is(
            "error: no Cognito user pool: set AWS_COGNITO_USER_POOL_ID or pass --pool-id \
            (e.g. us-east-1_bnfXCOI56)\n",
        )
        .run();
    cruddur(&["cognito", "list-users", "--pool-id", "us-east-1_nothere"])
        .aws()
        .code(1)
        .stdout_is("")
        .stderr_is("error: user pool us-east-1_nothere does not exist in us-east-1: check AWS_COGNITO_USER_POOL_ID \
        (or --pool-id) and the region\n")
        .run();
}

#[test]
fn update_cognito_user_ids_links_matching_handles_in_one_go() {
    let db = TestDb::set_up("link");
    let (pool_id, subs) = pool(&[
        ("timmy", Some("timmy-cde")),
        ("londo-m", Some("londo")),
        ("ghost", Some("ghost")),
        ("anonymous", None),
        ("tim-a", Some("tim-suarez")),
        ("tim-b", Some("tim-suarez")),
    ]);
    let report: LinkReport = cruddur(&[
        "db",
        "update-cognito-user-ids",
        "--pool-id",
        &pool_id,
        "--json",
        "-v",
    ])
    .aws()
    .db(&db)
    .stderr_has("anonymous")
    .run()
    .json();
    assert_eq!(report.pool_id, pool_id);
    assert_eq!(report.updated, ["timmy-cde", "londo"]);
    assert_eq!(report.missing, ["ghost"]);
    assert_eq!(report.ambiguous, ["tim-suarez"]);
    assert_eq!(report.without_handle, ["anonymous"]);

    let ids = |handle: &str| -> String {
        db.client()
            .query_one(
                "SELECT cognito_user_id FROM users WHERE handle = $1",
                &[&handle],
            )
            .unwrap()
            .get(0)
    };
    assert_eq!(ids("timmy-cde"), subs[0].1);
    assert_eq!(ids("londo"), subs[1].1);
    assert_eq!(
        ids("tim-suarez"),
        "MOCK",
        "an ambiguous handle is left alone"
    );
}

#[test]
fn db_setup_links_cognito_users_when_a_pool_is_configured() {
    let db = TestDb::new("setup_link");
    let (pool_id, subs) = pool(&[("timmy", Some("timmy-cde"))]);
    let done = cruddur(&["db", "setup"])
        .aws()
        .db(&db)
        .env("AWS_COGNITO_USER_POOL_ID", &pool_id)
        .stdout_is(&format!(
            "database `{dbname}` is set up (⟪n⟫ ms)\n",
            dbname = db.name
        ))
        .run();
    let line = done
        .stderr
        .lines()
        .find(|l| l.starts_with("update-cognito-user-ids"))
        .unwrap()
        .to_string();
    assert!(
        line.contains(" ok ") && line.contains("linked 1 user (timmy-cde)"),
        "{done}"
    );
    let id: String = db
        .client()
        .query_one(
            "SELECT cognito_user_id FROM users WHERE handle = 'timmy-cde'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(id, subs[0].1);
}
