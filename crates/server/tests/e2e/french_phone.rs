//! Every widget screen in French on a 360×740 phone, light and dark: no English label left,
//! nothing cut off or sticking out (a screenshot per screen under `target/e2e/`).

use crate::browser::{Browser, Viewport};
use crate::design::*;
use crate::server::DemoServer;

const PHONE: Viewport = Viewport::Phone { width: 360, height: 740 };
const FRENCH_PHONE: Checks = Checks { axe: false, fits: true, french: true };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_is_french_and_fits_a_360_px_phone_in_the_light_theme() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let b = Browser::start("fr_phone_light", PHONE).await;
    walk_every_step(&b, &server, "theme=light&lang=fr", FRENCH_PHONE).await;
    b.assert_clean_console().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_is_french_and_fits_a_360_px_phone_in_the_dark_theme() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let b = Browser::start("fr_phone_dark", PHONE).await;
    walk_every_step(&b, &server, "theme=dark&lang=fr", FRENCH_PHONE).await;
    b.assert_clean_console().await;
    b.close().await;
}
