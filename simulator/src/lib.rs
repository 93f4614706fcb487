//! Faithful fakes of the platform APIs shopwatch polls, for `shopwatch demo`,
//! `shopwatch simulate` and the end-to-end tests.
//!
//! One axum router serves, on one address:
//! - the Taobao Open Platform router `/router/rest`: `taobao.traderates.get` ([`top`]) and
//!   `taobao.items.onsale.get`, `taobao.items.inventory.get`, `taobao.item.seller.get`,
//!   `taobao.logistics.trace.search` ([`top_commerce`]), `taobao.tmc.messages.consume` /
//!   `.confirm` ([`tmc`]), `taobao.top.auth.token.create` / `.refresh`; app key, md5 / hmac / hmac-sha256 signatures, GMT+8 timestamps, sessions,
//!   TOP error codes and the per-app throttle with its "This ban will last for N more
//!   seconds" ban; plus oauth.taobao.com-style `POST /token` ([`oauth`]);
//! - the multi-platform review-search aggregator `POST /tool/erps/traderates` with a bearer
//!   token, its `{"code","msg","msec","time","data"}` envelope and error codes
//!   ([`aggregator`]);
//! - the Pinduoduo router `/api/router` ([`pdd`]): `pdd.goods.list.get`,
//!   `pdd.goods.detail.get`, `pdd.logistics.ordertrace.get`, `pdd.pop.auth.token.create` /
//!   `.refresh`;
//! - the JD router `/routerjson` ([`jd`]): `jingdong.ware.read.searchWare4Valid`,
//!   `jingdong.pop.PopCommentJsfService.getVenderCommentsForJos` (or just
//!   `getVenderCommentsForJos`), `jingdong.ldop.receive.trace.get`;
//! - Kuaidi100 `POST /poll/query.do` and `POST /poll`, with signed callbacks to subscribers
//!   ([`kuaidi100`]);
//! - ground truth, fault injection and OAuth helpers under `/_sim/` ([`admin`]).
//!
//! Reviews are generated continuously for many shops from real labelled review texts, with
//! ratings that fit the text. Both review APIs filter, order newest first, page, and never
//! yield more than 1,500 records for one time window ([`query`]). Beside the reviews lives a
//! commerce world ([`commerce`]): every shop's items with SKUs (price in fen, stock), orders,
//! and parcels moving through carrier states (collected, in transit, out for delivery,
//! delivered; delivery exceptions, returns, refusals, and parcels that stop moving), and
//! listings delisted, deleted, relisted, repriced, sold out and restocked — at a configured
//! pace, from a seed.
//!
//! # Layout
//! - [`config`] — `SimulatorConfig` (shops, pace, history, credentials, limits, commerce,
//!   OAuth) and `Api`.
//! - [`server`] — `Simulator` (the handle), the router, `serve`, the review generator and
//!   the commerce clock; `routes` — the HTTP handlers and fault rendering.
//! - [`world`] — shops, items and reviews (`SimReview` is the ground-truth shape).
//! - [`commerce`] — listings, orders and parcels (`SimItem`, `SimParcel` ground truth).
//! - `vocab` — nicks, shop names, item titles and prices, seller replies.
//! - `corpus` — the built-in review texts (`data/reviews-sample.jsonl`, see `data/NOTICE`).
//! - [`query`] — the review search both review APIs share (filters, order, 1,500 cap,
//!   paging, `fields`).
//! - [`top`] — the TOP router and TOP OAuth; [`top_commerce`] — TOP listing and logistics
//!   methods; [`sign`] — TOP (and PDD/JD md5) signatures.
//! - [`aggregator`] — the review-search aggregator.
//! - [`tmc`] — TOP's message service (HTTP pull) fed by review and commerce changes.
//! - [`pdd`], [`jd`], [`kuaidi100`] — the other platforms; [`oauth`] — codes and tokens.
//! - `form` — query-string, urlencoded and multipart parameters.
//! - `throttle` — token buckets and bans; [`faults`] — the fault queue per [`Endpoint`].
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
//! | PDD `/api/router` | `client_id=1`, client_secret `testSecret`, `access_token=asd78172s8ds9a921j9qqwda12312w1w21211` | `123` (pinduoduo: goods and parcels; its reviews come from the aggregator) |
//! | JD `/routerjson` | `app_key=yourappkey`, app secret `yourappSecret`, `access_token=yourtoken` | `jd-5001` (jd, a router-only shop of `commerce.extra_shops`) |
//! | Kuaidi100 `/poll/query.do`, `/poll` | `customer=TESTCUSTOMER`, key `testkey` (a local example, not official) | every parcel |
//! | TOP `POST /token`, PDD `pdd.pop.auth.token.*` | a code from `POST /_sim/oauth/code` | the code's shop |
//!
//! Each default shop starts with 20 reviews from the past 60 minutes and gets 12 more per
//! minute. TOP allows 20 calls/s per app (burst 20, then a 1 s ban); the aggregator allows 10
//! requests/s per account and answers code 202 beyond that (the vendor does not document its
//! throttle code; 202 "system busy" is our choice, see `aggregator.throttle_code`). PDD
//! enforces the §6 limiter table (`pdd.goods.list.get` 600/min per shop, `goods.detail.get`
//! 3,000/min per shop and 3,000/s in all, `ordertrace.get` 4,800/20 s per app: 70031 per
//! shop/app, 52101 API-wide); JD allows 50 calls/s per app (burst 50; JD publishes no QPS,
//! code 2 beyond). The commerce world plays, per shop, 2 orders, 6 parcel scans and 1
//! listing change per minute after 60 start-up events per shop over the history window.
//!
//! # Ground truth and test hooks (`/_sim/`)
//! `GET /_sim/reviews` (review-API shops), `GET /_sim/items`, `GET /_sim/parcels`,
//! `GET /_sim/tmc`, `GET /_sim/stats`, `POST /_sim/faults` (`api`: `top`, `aggregator`, `pdd`, `jd`,
//! `kuaidi100`), `POST /_sim/commerce/advance` (`{"events":N}`), `POST /_sim/oauth/code`,
//! `POST /_sim/oauth/expire`. In Rust: [`Simulator::reviews`], [`Simulator::router_reviews`]
//! (the JD shop's reviews), [`Simulator::items`], [`Simulator::parcels`],
//! [`Simulator::tmc_messages`], [`Simulator::advance_commerce`], [`Simulator::inject_at`], [`Simulator::oauth_code`],
//! [`Simulator::expire_token`].
//!
//! # Simplifications and choices where the documentation is silent
//! - TOP answers JSON only: `format` other than `json` (including the TOP default, xml) gets
//!   code 23 with a sub_msg saying so. A missing `sign_method` means md5. PDD answers
//!   `data_type=JSON` only.
//! - Ids (`tid`, `oid`, `num_iid`) are JSON numbers in both review APIs (digit strings in the
//!   ground truth); `item_price` is a yuan string; `created` is GMT+8; `reply` is absent
//!   when the seller has not replied; TOP's standard format omits an empty `trade_rates`.
//! - The 1,500 cap: `total_results` reports every match; `has_next` is false once the cap is
//!   reached, so a `use_has_next` client sees the cap only as a full 1,500 haul.
//! - Uncertain facts (platform-apis.md §8) and our choice for each are listed in the module
//!   docs of [`top_commerce`], [`tmc`], [`pdd`], [`jd`], [`kuaidi100`] and [`oauth`]: error codes
//!   the platforms do not document, trace `action` values (the TMC node codes everywhere),
//!   the JD comment fields, Kuaidi100 return codes, token lifetimes, TMC redelivery.
//! - Not simulated: XML answers, TMC over WebSocket, PDD PMC WebSocket, Kuaidi100 `abort`
//!   pushes, `taobao.logistics.trace.get`, orders APIs (`trades.sold.increment.get`,
//!   `pdd.order.*`), JD OAuth.

pub mod admin;
pub mod aggregator;
pub mod commerce;
pub mod config;
mod corpus;
pub mod error;
pub mod faults;
mod form;
pub mod jd;
pub mod kuaidi100;
mod metrics;
pub mod oauth;
pub mod pdd;
pub mod query;
mod routes;
pub mod server;
pub mod sign;
pub mod stats;
mod throttle;
mod timefmt;
pub mod tmc;
pub mod top;
pub mod top_commerce;
mod vocab;
pub mod world;

pub use commerce::{ListingStatus, ParcelFate, SimItem, SimParcel, SimSku, SimTraceStep};
pub use config::{
    AggregatorConfig, AggregatorTokenConfig, Api, CommerceConfig, CommerceShopConfig,
    CredentialsConfig, JdConfig, Kuaidi100AccountConfig, Kuaidi100Config, OAuthConfig, PddConfig,
    RouterAppConfig, RouterTokenConfig, ShopConfig, SimulatorConfig, TmcConfig, TopAppConfig,
    TopConfig, TopSessionConfig, DEFAULT_AGGREGATOR_DOUYIN_SHOP_ID, DEFAULT_AGGREGATOR_PDD_SHOP_ID,
    DEFAULT_AGGREGATOR_TOKEN, DEFAULT_JD_ACCESS_TOKEN, DEFAULT_JD_APP_KEY, DEFAULT_JD_APP_SECRET,
    DEFAULT_JD_SHOP_ID, DEFAULT_KUAIDI100_CUSTOMER, DEFAULT_KUAIDI100_KEY,
    DEFAULT_PDD_ACCESS_TOKEN, DEFAULT_PDD_CLIENT_ID, DEFAULT_PDD_CLIENT_SECRET,
    DEFAULT_TOP_APP_KEY, DEFAULT_TOP_APP_SECRET, DEFAULT_TOP_SESSION, DEFAULT_TOP_SHOP_ID,
};
pub use corpus::Label;
pub use error::SimulatorError;
pub use faults::{Endpoint, Fault, FaultRequest};
pub use oauth::OAuthPlatform;
pub use server::Simulator;
pub use stats::{ApiStats, SimStats};
pub use tmc::SimTmcMessage;
pub use tokio_util::sync::CancellationToken;
pub use world::SimReview;
