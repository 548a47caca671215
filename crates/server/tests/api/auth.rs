//! Accounts, sessions, API keys and their limits, over HTTP.

use crate::common::{PASSWORD, Server, send};
use serde_json::json;

#[test]
fn the_first_admin_can_sign_up_once_and_then_the_server_is_initialized() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let (_, config) = send(s.get("/api/server/config"));
    assert_eq!(config["isInitialized"], false);
    s.admin();
    let (_, config) = send(s.get("/api/server/config"));
    assert_eq!(config["isInitialized"], true);
    let (status, body) = send(
        s.post("/api/auth/admin-sign-up")
            .json(&json!({"email": "x@example.com", "name": "X", "password": PASSWORD})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("already has an admin"));
    assert_eq!(body["statusCode"], 400);
}

#[test]
fn short_passwords_and_bad_emails_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let (status, body) = send(
        s.post("/api/auth/admin-sign-up")
            .json(&json!({"email": "a@example.com", "name": "A", "password": "short"})),
    );
    assert_eq!(
        (status, body["message"].as_str().unwrap().contains("8 characters")),
        (400, true),
        "{body}"
    );
    let (status, _) = send(
        s.post("/api/auth/admin-sign-up")
            .json(&json!({"email": "not-an-email", "name": "A", "password": PASSWORD})),
    );
    assert_eq!(status, 400);
}

#[test]
fn wrong_passwords_are_refused_and_logout_revokes_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let (status, _) = s.try_login("admin@example.com", "wrong password");
    assert_eq!(status, 401);
    let (status, _) = s.try_login("nobody@example.com", PASSWORD);
    assert_eq!(status, 401);
    assert_eq!(send(s.get("/api/users/me").bearer_auth(&token)).0, 200);
    assert_eq!(send(s.post("/api/auth/validateToken").bearer_auth(&token)).1["authStatus"], true);
    assert_eq!(send(s.post("/api/auth/logout").bearer_auth(&token)).0, 200);
    assert_eq!(send(s.get("/api/users/me").bearer_auth(&token)).0, 401);
    assert_eq!(send(s.get("/api/users/me")).0, 401, "anonymous");
}

#[test]
fn the_session_cookie_works_like_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    s.admin();
    let r = s
        .post("/api/auth/login")
        .json(&json!({"email": "admin@example.com", "password": PASSWORD}))
        .send()
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("immich_access_token="));
    let (status, me) = send(s.get("/api/users/me").header("cookie", cookie));
    assert_eq!((status, me["email"].as_str()), (200, Some("admin@example.com")));
}

#[test]
fn login_attempts_are_rate_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    s.admin();
    let statuses: Vec<u16> = (0..15).map(|_| s.try_login("admin@example.com", "guess").0).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    let (status, body) = s.try_login("admin@example.com", PASSWORD);
    assert_eq!(status, 429, "even the right password waits once limited: {body}");
    assert!(body["message"].as_str().unwrap().contains("wait"));
}

#[test]
fn api_keys_authenticate_are_listed_per_user_and_can_be_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = s.admin();
    let (status, created) = send(
        s.post("/api/api-keys")
            .bearer_auth(&admin)
            .json(&json!({"name": "cli", "permissions": ["all"]})),
    );
    assert_eq!(status, 201);
    let secret = created["secret"].as_str().unwrap();
    let id = created["apiKey"]["id"].as_str().unwrap();
    let (status, me) = send(s.get("/api/api-keys/me").header("x-api-key", secret));
    assert_eq!((status, me["id"].as_str()), (200, Some(id)));
    assert_eq!(
        send(s.get("/api/users/me").header("x-api-key", secret)).1["email"],
        "admin@example.com"
    );

    let other = s.user(&admin, "other@example.com");
    assert_eq!(send(s.get("/api/api-keys").bearer_auth(&other)).1.as_array().unwrap().len(), 0);
    assert_eq!(
        send(s.get(&format!("/api/api-keys/{id}")).bearer_auth(&other)).0,
        400,
        "another user's key is invisible"
    );
    assert_eq!(send(s.delete(&format!("/api/api-keys/{id}")).bearer_auth(&other)).0, 400);
    assert_eq!(
        send(s.get("/api/users/me").header("x-api-key", secret)).0,
        200,
        "still valid after the refused delete"
    );

    assert_eq!(send(s.delete(&format!("/api/api-keys/{id}")).bearer_auth(&admin)).0, 204);
    assert_eq!(send(s.get("/api/users/me").header("x-api-key", secret)).0, 401);
}

#[test]
fn a_key_without_upload_permission_cannot_upload() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = s.admin();
    let (_, created) = send(
        s.post("/api/api-keys")
            .bearer_auth(&admin)
            .json(&json!({"name": "read", "permissions": ["asset.read"]})),
    );
    let secret = created["secret"].as_str().unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .text("fileCreatedAt", "2020-01-01T00:00:00.000Z")
        .part(
            "assetData",
            reqwest::blocking::multipart::Part::bytes(crate::common::jpeg(8, 8, 1)).file_name("a.jpg"),
        );
    let (status, body) = send(s.post("/api/assets").header("x-api-key", secret).multipart(form));
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("asset.upload"));
}

#[test]
fn only_admins_manage_users_and_new_users_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = s.admin();
    let user = s.user(&admin, "user@example.com");
    assert_eq!(send(s.get("/api/admin/users").bearer_auth(&user)).0, 403);
    let (status, body) = send(
        s.post("/api/admin/users")
            .bearer_auth(&user)
            .json(&json!({"email": "x@example.com", "name": "X", "password": PASSWORD})),
    );
    assert_eq!(status, 403, "{body}");
    let (_, users) = send(s.get("/api/admin/users").bearer_auth(&admin));
    assert_eq!(users.as_array().unwrap().len(), 2);
    let (status, _) = send(
        s.post("/api/admin/users")
            .bearer_auth(&admin)
            .json(&json!({"email": "USER@example.com", "name": "dup", "password": PASSWORD})),
    );
    assert_eq!(status, 400, "emails are unique regardless of case");
}

#[test]
fn an_admin_password_reset_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = s.admin();
    s.user(&admin, "user@example.com");
    let (_, users) = send(s.get("/api/admin/users").bearer_auth(&admin));
    let id = users.as_array().unwrap().iter().find(|u| u["email"] == "user@example.com").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, updated) = send(
        s.put(&format!("/api/admin/users/{id}"))
            .bearer_auth(&admin)
            .json(&json!({"password": "a brand new one"})),
    );
    assert_eq!((status, updated["shouldChangePassword"].as_bool()), (200, Some(true)));
    assert_eq!(s.try_login("user@example.com", PASSWORD).0, 401);
    s.login("user@example.com", "a brand new one");
}

#[test]
fn server_info_routes_answer_in_immich_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    assert_eq!(send(s.get("/.well-known/immich")).1["api"]["endpoint"], "/api");
    assert_eq!(send(s.get("/api/server/ping")).1["res"], "pong");
    assert_eq!(send(s.get("/api/server/version")).1["major"], 3);
    let (_, types) = send(s.get("/api/server/media-types"));
    for ext in [".jpg", ".heic", ".dng", ".cr3"] {
        assert!(types["image"].as_array().unwrap().iter().any(|e| e == ext), "{ext}");
    }
    assert!(types["video"].as_array().unwrap().iter().any(|e| e == ".mp4"));
    assert_eq!(send(s.get("/api/server/features")).1["smartSearch"], false);
    let token = s.admin();
    let (status, storage) = send(s.get("/api/server/storage").bearer_auth(&token));
    assert_eq!(status, 200);
    assert!(storage["diskSizeRaw"].as_u64().unwrap() > 0);
}

#[test]
fn sigterm_shuts_the_server_down_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    assert!(s.stop().success());
}

#[test]
fn devices_are_listed_and_can_be_signed_out_one_by_one_or_all_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let phone = s.admin();
    let laptop = s.login("admin@example.com", PASSWORD);
    let tablet = s.login("admin@example.com", PASSWORD);
    let (status, sessions) = send(s.get("/api/sessions").bearer_auth(&laptop));
    crate::common::schema::check("get", "/sessions", status, &sessions);
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|x| x["current"] == true).count(), 1);

    let other = s.user(&phone, "other@example.com");
    let phone_id = {
        let (_, list) = send(s.get("/api/sessions").bearer_auth(&phone));
        list.as_array().unwrap().iter().find(|x| x["current"] == true).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        send(s.delete(&format!("/api/sessions/{phone_id}")).bearer_auth(&other)).0,
        400,
        "not another user's device"
    );
    assert_eq!(send(s.delete(&format!("/api/sessions/{phone_id}")).bearer_auth(&laptop)).0, 204);
    assert_eq!(send(s.get("/api/users/me").bearer_auth(&phone)).0, 401);

    assert_eq!(send(s.delete("/api/sessions").bearer_auth(&laptop)).0, 204);
    assert_eq!(send(s.get("/api/users/me").bearer_auth(&tablet)).0, 401);
    assert_eq!(
        send(s.get("/api/users/me").bearer_auth(&laptop)).0,
        200,
        "the asking device stays signed in"
    );
}

#[test]
fn changing_the_password_needs_the_old_one_and_can_sign_out_other_devices() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let first = s.admin();
    let second = s.login("admin@example.com", PASSWORD);
    let (status, body) = send(
        s.post("/api/auth/change-password")
            .bearer_auth(&first)
            .json(&json!({"password": "not it", "newPassword": "a new long password"})),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(
        s.post("/api/auth/change-password")
            .bearer_auth(&first)
            .json(&json!({"password": PASSWORD, "newPassword": "a new long password", "invalidateSessions": true})),
    );
    crate::common::schema::check("post", "/auth/change-password", status, &body);
    assert_eq!(send(s.get("/api/users/me").bearer_auth(&second)).0, 401);
    assert_eq!(send(s.get("/api/users/me").bearer_auth(&first)).0, 200);
    assert_eq!(s.try_login("admin@example.com", PASSWORD).0, 401);
    s.login("admin@example.com", "a new long password");
}

#[test]
fn a_malformed_body_is_a_json_400_that_names_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let (status, body) = send(s.post("/api/auth/login").json(&json!({ "email": "a@b.c" })));
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("password"), "{body}");
    let (status, body) = send(
        s.post("/api/auth/login")
            .header("content-type", "application/json")
            .body("{not json"),
    );
    assert_eq!((status, body["statusCode"].as_u64()), (400, Some(400)), "{body}");
}

#[test]
fn onboarding_is_remembered_per_user_and_login_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = s.admin();
    let other = s.user(&admin, "other@example.com");
    let onboarding = |token: &str| {
        let (status, body) = send(s.get("/api/users/me/onboarding").bearer_auth(token));
        crate::common::schema::check("get", "/users/me/onboarding", status, &body);
        body["isOnboarded"].as_bool().unwrap()
    };
    assert!(!onboarding(&admin), "a new account has not been through onboarding");
    let (status, body) = send(
        s.put("/api/users/me/onboarding")
            .bearer_auth(&admin)
            .json(&json!({ "isOnboarded": true })),
    );
    crate::common::schema::check("put", "/users/me/onboarding", status, &body);
    assert_eq!(body, json!({ "isOnboarded": true }));
    assert!(onboarding(&admin));
    assert_eq!(s.try_login("admin@example.com", PASSWORD).1["isOnboarded"], true);
    assert!(!onboarding(&other), "each user's own");
    let (_, login) = s.try_login("other@example.com", PASSWORD);
    assert_eq!(login["isOnboarded"], false);
    let (status, body) = send(
        s.put("/api/users/me/onboarding")
            .bearer_auth(&admin)
            .json(&json!({ "isOnboarded": "yes" })),
    );
    assert_eq!(status, 400, "{body}");

    assert_eq!(send(s.delete("/api/users/me/onboarding").bearer_auth(&admin)).0, 204);
    assert!(!onboarding(&admin));
}
