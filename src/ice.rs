//! `GET /config.json`: the page's ICE servers, with relay credentials minted per answer.
//!
//! Thin glue around `signal_core::ice`, which decides everything: this file reads the vars and
//! secrets, the clock and random bytes, asks the rate limiter, makes the one call to Cloudflare,
//! logs, and sends what the core returns.
//!
//! ## Why the rate limiter is the platform's binding
//! Minted credentials are limited per client address with the Workers rate-limiting binding
//! (`[[ratelimits]]` `TURN_LIMITER` in `wrangler.toml`): a counter kept by the platform in each
//! Cloudflare location, no Durable Object to address (and bill) on every answer, no storage.
//! `wrangler dev` runs a local copy of it (a fixed window in memory), so the tests exercise the
//! same code path. Its counts are per location and approximate, which is what this needs: a
//! crawler must not harvest relay credentials faster than people open calls, not an exact
//! quota. Only answers that mint credentials are counted; the STUN-only answer costs nothing
//! and is never limited.
//!
//! ## Failure is not an outage
//! Most calls connect without a relay, so a TURN provider that is down, slow, refuses the token
//! or answers garbage must not take the page down with it: the answer is then the STUN-only one
//! (HTTP 200) and one JSON log line says why, in fixed words (never a secret, never what the
//! provider sent). The Cloudflare call is bounded by `PROVIDER_TIMEOUT_MS` for headers and body
//! together, then aborted.

use signal_core::ice::{self, Credentials, Failure, Provider, Secret};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys::{Object, Promise, Reflect};
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys;
use worker::*;

use crate::config;

// The platform's `fetch`, `AbortSignal.timeout` and the rate limiter's `limit`, bound directly:
// workers-rs's `Fetch`, `Delay` and `RateLimiter` do the same through serde and generic futures
// at about 14 KB of gzip upload, for three calls.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(url: &str, init: &Object) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout)]
    fn abort_signal_timeout(ms: u32) -> JsValue;
    /// A `[[ratelimits]]` binding.
    type RateLimit;
    #[wasm_bindgen(method, catch)]
    fn limit(this: &RateLimit, options: &Object) -> std::result::Result<Promise, JsValue>;
}

/// The rate-limiting binding in `wrangler.toml`.
const LIMITER_BINDING: &str = "TURN_LIMITER";

/// The answer to `GET /config.json`.
pub async fn config_json(req: &Request, env: &Env) -> Result<Response> {
    let stun = config::ice_servers(env);
    let provider = match ice::provider(|name| env.var(name).ok().map(|v| v.to_string())) {
        Ok(provider) => provider,
        Err(err) => {
            console_error!("{}", err.log_line());
            return respond(200, ice::answer_stun_only(&stun));
        }
    };
    if provider == Provider::StunOnly {
        return respond(200, ice::answer_stun_only(&stun));
    }
    // Counted before anything is minted or Cloudflare is called.
    if !within_limit(req, env).await {
        let mut res = respond(429, ice::answer_rate_limited(&stun))?;
        res.headers_mut()
            .set("Retry-After", &ice::RETRY_AFTER_SECS.to_string())?;
        return Ok(res);
    }
    match provider {
        Provider::StunOnly => respond(200, ice::answer_stun_only(&stun)),
        Provider::Coturn { urls, secret, ttl } => {
            let mut random = [0u8; ice::RANDOM_ID_BYTES];
            if getrandom::fill(&mut random).is_err() {
                console_error!("{}", Failure::NoRandom.log_line("coturn"));
                return respond(200, ice::answer_stun_only(&stun));
            }
            let now = Date::now().as_millis() / 1000;
            let creds = ice::coturn_credentials(&urls, &secret, ttl, now, &random);
            respond(200, ice::answer_coturn(&stun, &creds))
        }
        Provider::Cloudflare {
            key_id,
            token,
            origin,
            ttl,
        } => match cloudflare(&origin, &key_id, &token, ttl).await {
            Ok(creds) => respond(200, ice::answer_cloudflare(&creds)),
            Err(failure) => {
                console_error!("{}", failure.log_line("cloudflare"));
                respond(200, ice::answer_stun_only(&stun))
            }
        },
    }
}

/// A JSON answer that no cache keeps (each one carries fresh credentials).
fn respond(status: u16, body: String) -> Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

/// Whether this client address may have another minted answer. A limiter that is missing or
/// fails lets the answer through (and says so): relay for people is worth more than a crawler
/// being slowed during a platform fault.
async fn within_limit(req: &Request, env: &Env) -> bool {
    let addr = req.headers().get("CF-Connecting-IP").ok().flatten();
    let key = ice::client_key(addr.as_deref());
    let outcome = async {
        let limiter: RateLimit = Reflect::get(env, &LIMITER_BINDING.into())?
            .dyn_into::<Object>()?
            .unchecked_into();
        let options = Object::new();
        Reflect::set(&options, &"key".into(), &key.into())?;
        let outcome = JsFuture::from(limiter.limit(&options)?).await?;
        Reflect::get(&outcome, &"success".into())
    };
    match outcome.await.map(|v| v.as_bool()) {
        Ok(Some(success)) => success,
        _ => {
            console_error!(r#"{{"event":"rate_limiter_failed","binding":"{LIMITER_BINDING}"}}"#);
            true
        }
    }
}

/// Cloudflare Realtime TURN's `generate-ice-servers`, within `PROVIDER_TIMEOUT_MS`: the
/// request carries `AbortSignal.timeout`, which aborts the fetch and the body read alike.
async fn cloudflare(
    origin: &str,
    key_id: &str,
    token: &Secret,
    ttl: u32,
) -> std::result::Result<Credentials, Failure> {
    let call = ice::cloudflare_call(origin, key_id, ttl);
    let bearer = format!("Bearer {}", token.expose());
    let set = |o: &Object, k: &str, v: &JsValue| Reflect::set(o, &k.into(), v).map(|_| ());
    let init = Object::new();
    let headers = Object::new();
    set(&headers, "Authorization", &bearer.into())
        .and_then(|_| set(&headers, "Content-Type", &"application/json".into()))
        .and_then(|_| set(&init, "method", &"POST".into()))
        .and_then(|_| set(&init, "headers", &headers))
        .and_then(|_| set(&init, "body", &call.body.into()))
        .and_then(|_| {
            set(
                &init,
                "signal",
                &abort_signal_timeout(ice::PROVIDER_TIMEOUT_MS),
            )
        })
        .map_err(|_| Failure::Network)?;
    let exchange = async {
        let res: web_sys::Response = JsFuture::from(global_fetch(&call.url, &init)?)
            .await?
            .dyn_into()?;
        let body = JsFuture::from(res.text()?).await?;
        Ok::<_, JsValue>((res.status(), body.as_string().unwrap_or_default()))
    };
    match exchange.await {
        Ok((status, body)) => ice::parse_cloudflare(status, &body, ttl),
        Err(err) => {
            let name = Reflect::get(&err, &"name".into())
                .ok()
                .and_then(|n| n.as_string());
            Err(if name.as_deref() == Some("TimeoutError") {
                Failure::Timeout
            } else {
                Failure::Network
            })
        }
    }
}
