//! axe-core on every screen of the widget and on the demo site, light and dark.

use crate::axe::assert_accessible;
use crate::browser::{Browser, Viewport};
use crate::design::*;
use crate::flows::*;
use crate::server::DemoServer;

const AXE: Checks = Checks { axe: true, fits: false, french: false };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_widget_screen_passes_axe_core_in_the_light_theme() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let b = Browser::start("axe_widget_light", Viewport::Desktop).await;
    walk_every_step(&b, &server, "theme=light", AXE).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_widget_screen_passes_axe_core_in_the_dark_theme() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(true).await;
    let b = Browser::start("axe_widget_dark", Viewport::Desktop).await;
    walk_every_step(&b, &server, "theme=dark", AXE).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_site_passes_axe_core_light_and_dark_before_and_after_connecting() {
    let _serial = crate::serial().await;
    let server = DemoServer::start(false).await;
    let b = Browser::start("axe_demo", Viewport::Desktop).await;
    for scheme in ["light", "dark"] {
        b.goto(&server.url("/demo")).await;
        emulate_color_scheme(&b, scheme).await;
        b.visible("demo-connect").await;
        b.text_until("demo-session", "a settled session box", |t| !t.contains("Checking")).await;
        b.shot(&format!("demo-{scheme}")).await;
        assert_accessible(&b, &format!("/demo ({scheme}, not connected)")).await;
    }
    // Connected: grant, session and holdings filled in (dark still emulated).
    connect_new_guest(&b, &server).await;
    b.text_until("demo-holdings", "settled holdings", |t| !t.contains("Loading")).await;
    for scheme in ["dark", "light"] {
        emulate_color_scheme(&b, scheme).await;
        b.js("document.querySelector('details.options').open = true; return true;", vec![]).await;
        b.shot(&format!("demo-connected-{scheme}")).await;
        assert_accessible(&b, &format!("/demo ({scheme}, connected)")).await;
    }
    b.assert_clean_console().await;
    b.close().await;
}
