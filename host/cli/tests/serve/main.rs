//! `cafe-report serve` as a client sees it: the real binary on loopback ports, called over
//! HTTP, killed and restarted, sending mail to a real SMTP server and showing its report
//! in a real browser.

mod api;
mod auth;
mod browser;
#[path = "../common/mod.rs"]
mod common;
mod crash;
mod hotswap;
mod jwt;
mod mail;
mod restart;
mod server;
mod sfn;
mod viewer;
