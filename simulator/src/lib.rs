//! Faithful fakes of the review APIs shopwatch polls, for `shopwatch demo`,
//! `shopwatch simulate` and the end-to-end tests.
//!
//! One axum router serves, on one address:
//! - the Taobao Open Platform router `/router/rest` (method `taobao.traderates.get`): app key,
//!   md5 / hmac / hmac-sha256 signatures, GMT+8 timestamps, sessions, TOP error codes and the
//!   per-app throttle with its "This ban will last for N more seconds" ban ([`top`]);
//! - the multi-platform review-search aggregator `POST /tool/erps/traderates` with a bearer
//!   token, its `{"code","msg","msec","time","data"}` envelope and error codes
//!   ([`aggregator`]);
//! - ground truth and fault injection under `/_sim/` ([`admin`]).
//!
//! Reviews are generated continuously for many shops from real labelled review texts, with
//! ratings that fit the text. Both APIs filter, order newest first, page, and never yield more
//! than 1,500 records for one time window ([`query`]).
//!
//! # Layout
//! - [`config`] — `SimulatorConfig` (shops, pace, history, credentials, limits) and `Api`.
//! - [`server`] — `Simulator` (the handle), the router, `serve` and the review generator.
//! - [`world`] — shops, items and reviews (`SimReview` is the ground-truth shape).
//! - `vocab` — nicks, shop names, item titles and prices, seller replies.
//! - `corpus` — the built-in review texts (`data/reviews-sample.jsonl`, see `data/NOTICE`).
//! - [`query`] — the search both APIs share (filters, order, 1,500 cap, paging, `fields`).
//! - [`top`] — the TOP router; [`sign`] — TOP signatures.
//! - [`aggregator`] — the review-search aggregator.
//! - `form` — query-string, urlencoded and multipart parameters.
//! - `throttle` — token buckets and bans; [`faults`] — the fault queue.
//! - [`admin`] — `/_sim/` endpoints; [`stats`] — per-simulator counts; `metrics` — Prometheus.
//! - `timefmt` — the platforms' `yyyy-MM-dd HH:mm:ss` GMT+8 time strings.
//! - [`error`] — `SimulatorError`.
//!
//! # Default credentials
//! `SimulatorConfig::default()` uses the platforms' documentation-example credentials:
//!
//! | API | credential | reads shop |
//! |---|---|---|
//! | TOP `/router/rest` | `app_key=12345678`, app secret `helloworld`, `session=test` | `tb-10001` (taobao) |
//! | aggregator `POST /tool/erps/traderates` | `Authorization: Bearer 1798c6aadec33d1bc2f5b707f1049aefexxxx` | `123` (pinduoduo), `dy-3001` (douyin) |
//!
//! Each default shop starts with 20 reviews from the past 60 minutes and gets 12 more per
//! minute. TOP allows 20 calls/s per app (burst 20, then a 1 s ban); the aggregator allows 10
//! requests/s per account and answers code 202 beyond that (the vendor does not document its
//! throttle code; 202 "system busy" is our choice, see `aggregator.throttle_code`).
//!
//! # Simplifications
//! - TOP answers JSON only: `format` other than `json` (including the TOP default, xml) gets
//!   code 23 with a sub_msg saying so. A missing `sign_method` means md5.
//! - Ids (`tid`, `oid`, `num_iid`) are JSON numbers in both APIs (digit strings in the ground
//!   truth); `item_price` is a yuan string; `created` is GMT+8; `reply` is absent when the
//!   seller has not replied; TOP's standard format omits an empty `trade_rates`.
//! - The 1,500 cap: `total_results` reports every match; `has_next` is false once the cap is
//!   reached, so a `use_has_next` client sees the cap only as a full 1,500 haul.

pub mod admin;
pub mod aggregator;
pub mod config;
mod corpus;
pub mod error;
pub mod faults;
mod form;
mod metrics;
pub mod query;
pub mod server;
pub mod sign;
pub mod stats;
mod throttle;
mod timefmt;
pub mod top;
mod vocab;
pub mod world;

pub use config::{
    AggregatorConfig, AggregatorTokenConfig, Api, CredentialsConfig, ShopConfig, SimulatorConfig,
    TopAppConfig, TopConfig, TopSessionConfig, DEFAULT_AGGREGATOR_DOUYIN_SHOP_ID,
    DEFAULT_AGGREGATOR_PDD_SHOP_ID, DEFAULT_AGGREGATOR_TOKEN, DEFAULT_TOP_APP_KEY,
    DEFAULT_TOP_APP_SECRET, DEFAULT_TOP_SESSION, DEFAULT_TOP_SHOP_ID,
};
pub use corpus::Label;
pub use error::SimulatorError;
pub use faults::{Fault, FaultRequest};
pub use server::Simulator;
pub use stats::{ApiStats, SimStats};
pub use tokio_util::sync::CancellationToken;
pub use world::SimReview;
