//! `/config.json`'s pure part (`signal_core::ice`): HMAC-SHA1 and TURN REST API credentials with
//! test vectors, provider choice, Cloudflare's answers and failures, rate-limit keys and log lines.

use signal_core::ice::*;
use std::collections::HashMap;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// RFC 2202 §3: the seven HMAC-SHA1 test cases.
#[test]
fn hmac_sha1_rfc2202_vectors() {
    let cases: [(&[u8], &[u8], &str); 7] = [
        (
            &[0x0b; 20],
            b"Hi There",
            "b617318655057264e28bc0b6fb378c8ef146be00",
        ),
        (
            b"Jefe",
            b"what do ya want for nothing?",
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        ),
        (
            &[0xaa; 20],
            &[0xdd; 50],
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
        ),
        (
            &[
                0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
                0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
            ],
            &[0xcd; 50],
            "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
        ),
        (
            &[0x0c; 20],
            b"Test With Truncation",
            "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
        ),
        (
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
            "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        ),
        (
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
        ),
    ];
    for (key, data, want) in cases {
        assert_eq!(hex(&hmac_sha1(key, data)), want);
    }
}

// Cross-checked with Python: base64(hmac.new(secret, username, sha1).digest()).
#[test]
fn turn_rest_credential_matches_an_independent_computation() {
    assert_eq!(
        credential("north", "1735689600:AAAAAAAAAAAAAAAA"),
        "wRZNaFUR83MgWIDDf66FC2d4Fig="
    );
    let long_key = "k".repeat(100);
    assert_eq!(
        credential(&long_key, "1735689600:AAECAwQFBgcICQoL"),
        "hhUVo4EJSY8nyzqhvsbyBK+lvYU="
    );
}

#[test]
fn username_is_expiry_colon_random_id() {
    let random: [u8; RANDOM_ID_BYTES] = std::array::from_fn(|i| i as u8);
    assert_eq!(username(1735689600, &random), "1735689600:AAECAwQFBgcICQoL");
    // URL-safe base64: never a ':' inside the id (coturn splits on the first one).
    assert_eq!(username(7, &[0xff; RANDOM_ID_BYTES]), "7:________________");
}

#[test]
fn coturn_credentials_expire_ttl_after_now() {
    let urls = vec!["turn:127.0.0.1:3478?transport=udp".to_string()];
    let random: [u8; RANDOM_ID_BYTES] = std::array::from_fn(|i| i as u8);
    let creds = coturn_credentials(&urls, &Secret::new("north"), 600, 1735689000, &random);
    assert_eq!(
        creds,
        Credentials {
            servers: vec![IceServer {
                urls: urls.clone(),
                username: Some("1735689600:AAECAwQFBgcICQoL".into()),
                credential: Some(credential("north", "1735689600:AAECAwQFBgcICQoL")),
            }],
            ttl: 600,
        }
    );
    assert_eq!(
        answer_coturn(r#"[{"urls":"stun:stun.example:3478"}]"#, &creds),
        format!(
            r#"{{"iceServers":[{{"urls":"stun:stun.example:3478"}},{{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"1735689600:AAECAwQFBgcICQoL","credential":"{}"}}],"ttl":600}}"#,
            credential("north", "1735689600:AAECAwQFBgcICQoL")
        )
    );
    assert_eq!(
        answer_coturn("[]", &creds),
        format!(
            r#"{{"iceServers":[{{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"1735689600:AAECAwQFBgcICQoL","credential":"{}"}}],"ttl":600}}"#,
            credential("north", "1735689600:AAECAwQFBgcICQoL")
        )
    );
}

#[test]
fn stun_only_and_rate_limited_answers() {
    let stun = r#"[{"urls":"stun:stun.l.google.com:19302"}]"#;
    assert_eq!(
        answer_stun_only(stun),
        r#"{"iceServers":[{"urls":"stun:stun.l.google.com:19302"}]}"#
    );
    assert_eq!(answer_stun_only("[]"), r#"{"iceServers":[]}"#);
    assert_eq!(
        answer_rate_limited(stun),
        r#"{"iceServers":[{"urls":"stun:stun.l.google.com:19302"}],"error":"Too many requests"}"#
    );
    assert_eq!(
        answer_rate_limited("[]"),
        r#"{"iceServers":[],"error":"Too many requests"}"#
    );
}

#[test]
fn provider_from_vars() {
    assert_eq!(provider(vars(&[])), Ok(Provider::StunOnly));
    assert_eq!(
        provider(vars(&[("TURN_URLS", " "), ("TURN_SECRET", "")])),
        Ok(Provider::StunOnly)
    );
    assert_eq!(
        provider(vars(&[
            (
                "TURN_URLS",
                "turn:turn.example:3478?transport=udp, turns:turn.example:5349"
            ),
            ("TURN_SECRET", "s3cret"),
        ])),
        Ok(Provider::Coturn {
            urls: vec![
                "turn:turn.example:3478?transport=udp".into(),
                "turns:turn.example:5349".into()
            ],
            secret: Secret::new("s3cret"),
            ttl: DEFAULT_TTL,
        })
    );
    assert_eq!(
        provider(vars(&[
            ("TURN_URLS", "turn:t:3478"),
            ("TURN_SECRET", "s"),
            ("TURN_TTL", "60")
        ])),
        Ok(Provider::Coturn {
            urls: vec!["turn:t:3478".into()],
            secret: Secret::new("s"),
            ttl: 60
        })
    );
    // A TTL that is not a positive number is the default.
    for bad in ["0", "-5", "soon", "99999999999"] {
        assert_eq!(
            provider(vars(&[
                ("TURN_URLS", "turn:t"),
                ("TURN_SECRET", "s"),
                ("TURN_TTL", bad)
            ])),
            Ok(Provider::Coturn {
                urls: vec!["turn:t".into()],
                secret: Secret::new("s"),
                ttl: DEFAULT_TTL
            })
        );
    }
    assert_eq!(
        provider(vars(&[
            ("TURN_KEY_ID", "abc123"),
            ("TURN_KEY_API_TOKEN", "tok")
        ])),
        Ok(Provider::Cloudflare {
            key_id: "abc123".into(),
            token: Secret::new("tok"),
            origin: CLOUDFLARE_ORIGIN.into(),
            ttl: DEFAULT_TTL,
        })
    );
    // Cloudflare caps credentials at 48 hours.
    assert_eq!(
        provider(vars(&[
            ("TURN_KEY_ID", "k"),
            ("TURN_KEY_API_TOKEN", "t"),
            ("TURN_TTL", "604800")
        ])),
        Ok(Provider::Cloudflare {
            key_id: "k".into(),
            token: Secret::new("t"),
            origin: CLOUDFLARE_ORIGIN.into(),
            ttl: 172_800
        })
    );
    // Both complete: Cloudflare's wins.
    assert!(matches!(
        provider(vars(&[
            ("TURN_KEY_ID", "k"),
            ("TURN_KEY_API_TOKEN", "t"),
            ("TURN_URLS", "turn:t"),
            ("TURN_SECRET", "s"),
        ])),
        Ok(Provider::Cloudflare { .. })
    ));
    assert_eq!(
        provider(vars(&[
            ("TURN_KEY_ID", "k"),
            ("TURN_KEY_API_TOKEN", "t"),
            ("TURN_API_ORIGIN", "http://127.0.0.1:8123/")
        ])),
        Ok(Provider::Cloudflare {
            key_id: "k".into(),
            token: Secret::new("t"),
            origin: "http://127.0.0.1:8123".into(),
            ttl: DEFAULT_TTL
        })
    );
}

#[test]
fn half_or_malformed_configurations_are_errors() {
    let cases: &[(&[(&str, &str)], ConfigError)] = &[
        (&[("TURN_URLS", "turn:t")], ConfigError::UrlsWithoutSecret),
        (&[("TURN_SECRET", "s")], ConfigError::SecretWithoutUrls),
        (&[("TURN_KEY_ID", "k")], ConfigError::KeyIdWithoutToken),
        (
            &[("TURN_KEY_API_TOKEN", "t")],
            ConfigError::TokenWithoutKeyId,
        ),
        (
            &[("TURN_URLS", "stun:t:3478"), ("TURN_SECRET", "s")],
            ConfigError::BadTurnUrl,
        ),
        (
            &[("TURN_URLS", "turn:a,,turn:b"), ("TURN_SECRET", "s")],
            ConfigError::BadTurnUrl,
        ),
        (
            &[("TURN_URLS", "turn:"), ("TURN_SECRET", "s")],
            ConfigError::BadTurnUrl,
        ),
        (
            &[("TURN_URLS", "turn:a b"), ("TURN_SECRET", "s")],
            ConfigError::BadTurnUrl,
        ),
        (
            &[("TURN_URLS", "https://t"), ("TURN_SECRET", "s")],
            ConfigError::BadTurnUrl,
        ),
        (
            &[("TURN_KEY_ID", "../x"), ("TURN_KEY_API_TOKEN", "t")],
            ConfigError::BadKeyId,
        ),
        (
            &[
                ("TURN_KEY_ID", "k"),
                ("TURN_KEY_API_TOKEN", "t"),
                ("TURN_API_ORIGIN", "https://evil.example"),
            ],
            ConfigError::ApiOriginNotLoopback,
        ),
    ];
    for (pairs, want) in cases {
        assert_eq!(provider(vars(pairs)), Err(*want), "{pairs:?}");
    }
    assert_eq!(
        ConfigError::UrlsWithoutSecret.log_line(),
        r#"{"event":"turn_config_invalid","reason":"TURN_URLS is set but TURN_SECRET is not"}"#
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let p = provider(vars(&[
        ("TURN_URLS", "turn:t"),
        ("TURN_SECRET", "hunter2-secret"),
    ]))
    .unwrap();
    let shown = format!("{p:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("Secret(<redacted>)"), "{shown}");
}

#[test]
fn api_origin_override_only_on_loopback() {
    for ok in [
        "http://127.0.0.1:1234",
        "http://localhost:1",
        "https://[::1]:65535",
        "http://127.0.0.1",
    ] {
        assert_eq!(loopback_origin(ok).as_deref(), Some(ok), "{ok}");
    }
    assert_eq!(
        loopback_origin("http://localhost:8/").as_deref(),
        Some("http://localhost:8")
    );
    for bad in [
        "http://127.0.0.1.evil.example",
        "http://localhost@evil.example",
        "http://localhost:80@evil.example",
        "http://127.0.0.1:1234/path",
        "http://127.0.0.1:",
        "http://127.0.0.1:x",
        "ftp://127.0.0.1",
        "127.0.0.1:80",
        "https://rtc.live.cloudflare.com",
        "http://[::1]x",
        "http://127.0.0.1:1234?q",
    ] {
        assert_eq!(loopback_origin(bad), None, "{bad}");
    }
}

#[test]
fn cloudflare_call_is_the_documented_request() {
    assert_eq!(
        cloudflare_call(CLOUDFLARE_ORIGIN, "key42", 14400),
        CloudflareCall {
            url: "https://rtc.live.cloudflare.com/v1/turn/keys/key42/credentials/generate-ice-servers".into(),
            body: r#"{"ttl":14400}"#.into(),
        }
    );
}

#[test]
fn url_ports() {
    assert_eq!(
        url_port("turn:turn.cloudflare.com:53?transport=udp"),
        Some(53)
    );
    assert_eq!(
        url_port("turn:turn.cloudflare.com:3478?transport=tcp"),
        Some(3478)
    );
    assert_eq!(url_port("stun:stun.cloudflare.com:53"), Some(53));
    assert_eq!(
        url_port("turns:turn.cloudflare.com:443?transport=tcp"),
        Some(443)
    );
    assert_eq!(url_port("turn:turn.example"), Some(3478));
    assert_eq!(url_port("turns:turn.example?transport=tcp"), Some(5349));
    assert_eq!(url_port("STUN:stun.example"), Some(3478));
    assert_eq!(url_port("turn:[2001:db8::1]:53"), Some(53));
    assert_eq!(url_port("turn:[2001:db8::1]"), Some(3478));
    assert_eq!(url_port("turn://host:53"), Some(53));
    assert_eq!(url_port("turn:host:x"), None);
    assert_eq!(url_port("https://host:53"), None);
    assert_eq!(url_port("nonsense"), None);
    assert_eq!(url_port(""), None);
}

const CLOUDFLARE_ANSWER: &str = r#"{"iceServers":[{"urls":["stun:stun.cloudflare.com:3478","stun:stun.cloudflare.com:53"]},{"urls":["turn:turn.cloudflare.com:3478?transport=udp","turn:turn.cloudflare.com:53?transport=udp","turn:turn.cloudflare.com:3478?transport=tcp","turns:turn.cloudflare.com:5349?transport=tcp","turns:turn.cloudflare.com:443?transport=tcp"],"username":"u1","credential":"c1"}]}"#;

#[test]
fn cloudflare_answer_passes_through_without_port_53() {
    let creds = parse_cloudflare(201, CLOUDFLARE_ANSWER, 600).unwrap();
    assert_eq!(
        answer_cloudflare(&creds),
        r#"{"iceServers":[{"urls":["stun:stun.cloudflare.com:3478"]},{"urls":["turn:turn.cloudflare.com:3478?transport=udp","turn:turn.cloudflare.com:3478?transport=tcp","turns:turn.cloudflare.com:5349?transport=tcp","turns:turn.cloudflare.com:443?transport=tcp"],"username":"u1","credential":"c1"}],"ttl":600}"#
    );
    // The older shape: one object, `urls` a string; unknown fields dropped; 200 accepted.
    let one = r#"{"iceServers":{"urls":"turn:turn.cloudflare.com:3478","username":"u","credential":"c","extra":1}}"#;
    assert_eq!(
        answer_cloudflare(&parse_cloudflare(200, one, 60).unwrap()),
        r#"{"iceServers":[{"urls":["turn:turn.cloudflare.com:3478"],"username":"u","credential":"c"}],"ttl":60}"#
    );
    // An entry left with only port-53 URLs goes.
    let only53 = r#"{"iceServers":[{"urls":["stun:s:53"]},{"urls":["turn:t:443"],"username":"u","credential":"c"}]}"#;
    assert_eq!(
        answer_cloudflare(&parse_cloudflare(201, only53, 60).unwrap()),
        r#"{"iceServers":[{"urls":["turn:t:443"],"username":"u","credential":"c"}],"ttl":60}"#
    );
}

#[test]
fn cloudflare_failures() {
    assert_eq!(
        parse_cloudflare(401, CLOUDFLARE_ANSWER, 60),
        Err(Failure::Unauthorized(401))
    );
    assert_eq!(
        parse_cloudflare(403, "", 60),
        Err(Failure::Unauthorized(403))
    );
    assert_eq!(
        parse_cloudflare(500, CLOUDFLARE_ANSWER, 60),
        Err(Failure::Status(500))
    );
    assert_eq!(parse_cloudflare(204, "", 60), Err(Failure::Status(204)));
    assert_eq!(
        parse_cloudflare(201, "<html>oops</html>", 60),
        Err(Failure::NotJson)
    );
    assert_eq!(parse_cloudflare(201, "", 60), Err(Failure::NotJson));
    assert_eq!(
        parse_cloudflare(201, &" ".repeat(MAX_PROVIDER_BODY + 1), 60),
        Err(Failure::TooLarge)
    );
    for shape in [
        "{}",
        "[]",
        "null",
        r#"{"iceServers":5}"#,
        r#"{"iceServers":"turn:t"}"#,
        r#"{"iceServers":[5]}"#,
        r#"{"iceServers":[{"url":"turn:t"}]}"#,
        r#"{"iceServers":[{"urls":[1]}]}"#,
        r#"{"iceServers":[{"urls":"turn:t","username":1,"credential":"c"}]}"#,
    ] {
        assert_eq!(
            parse_cloudflare(201, shape, 60),
            Err(Failure::BadShape),
            "{shape}"
        );
    }
    for no_relay in [
        r#"{"iceServers":[]}"#,
        r#"{"iceServers":[{"urls":["stun:s:3478"]}]}"#,
        r#"{"iceServers":[{"urls":["turn:t:3478"]}]}"#,
        r#"{"iceServers":[{"urls":["turn:t:53"],"username":"u","credential":"c"}]}"#,
        r#"{"iceServers":[{"urls":["https://t"],"username":"u","credential":"c"}]}"#,
    ] {
        assert_eq!(
            parse_cloudflare(201, no_relay, 60),
            Err(Failure::NoRelay),
            "{no_relay}"
        );
    }
}

#[test]
fn failure_log_lines() {
    assert_eq!(
        Failure::Timeout.log_line("cloudflare"),
        r#"{"event":"turn_provider_failed","provider":"cloudflare","reason":"timeout"}"#
    );
    assert_eq!(
        Failure::Unauthorized(401).log_line("cloudflare"),
        r#"{"event":"turn_provider_failed","provider":"cloudflare","reason":"unauthorized","status":401}"#
    );
    assert_eq!(
        Failure::Status(500).log_line("cloudflare"),
        r#"{"event":"turn_provider_failed","provider":"cloudflare","reason":"http_status","status":500}"#
    );
    assert_eq!(
        Failure::NotJson.log_line("cloudflare"),
        r#"{"event":"turn_provider_failed","provider":"cloudflare","reason":"not_json"}"#
    );
}

#[test]
fn client_keys() {
    assert_eq!(client_key(Some("203.0.113.7")), "203.0.113.7");
    assert_eq!(client_key(Some(" 203.0.113.7 ")), "203.0.113.7");
    assert_eq!(
        client_key(Some("2001:db8:aa:bb:1:2:3:4")),
        "2001:db8:aa:bb::/64"
    );
    assert_eq!(client_key(Some("2001:db8:aa:bb::9")), "2001:db8:aa:bb::/64");
    assert_eq!(client_key(Some("2001:DB8::1")), "2001:db8:0:0::/64");
    assert_eq!(client_key(Some("::ffff:198.51.100.1")), "198.51.100.1");
    assert_eq!(client_key(Some("::")), "0:0:0:0::/64");
    assert_eq!(client_key(Some("fe80::")), "fe80:0:0:0::/64");
    assert_eq!(client_key(Some("1:2:3:4:5:6:7:8")), "1:2:3:4::/64");
    assert_eq!(client_key(Some("1:2:3:4:5:6:1.2.3.4")), "1:2:3:4::/64");
    assert_eq!(client_key(Some("::ffff:c633:6401")), "198.51.100.1");
    for bad in [
        "not an address",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "1..2.3",
        "1.2.3.4 x",
        "+1.2.3.4",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8:9",
        "1::2::3",
        "1:2:3:4:5:6:7::8",
        "12345::",
        "g::",
        ":1:2:3:4:5:6:7",
        "1.2.3.4::",
        "[::1]",
    ] {
        assert_eq!(client_key(Some(bad)), "unknown", "{bad}");
    }
    assert_eq!(client_key(Some("")), "unknown");
    assert_eq!(client_key(None), "unknown");
}
