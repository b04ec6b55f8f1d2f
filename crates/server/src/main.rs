//! `kryptos-connect`: serve the Connect platform and administer it.
// Doc comments below double as `--help` text, where bare URLs read better than links.
#![allow(rustdoc::bare_urls)]

use clap::{Args, Parser, Subcommand, ValueEnum};
use kc_server::{app, telemetry, Application};
use kc_service::config::Settings;
use kc_service::{ClientUpdate, NewClient, Service};
use std::path::PathBuf;
use std::process::ExitCode;

mod operators;

/// mimalloc instead of the system allocator: the hot paths allocate many small, short-lived
/// buffers, and glibc's `malloc`/`free` were the largest user-space frames in their profiles
/// (`docs/benchmarks.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Kryptos Connect: a self-hostable portfolio-sharing authorization server.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML), layered over the defaults and under KRYPTOS__… variables.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL (overrides configuration): sqlite://path?mode=rwc or postgres://…
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Register and manage client applications.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Operator API tokens (for /admin/api) and platform operators of the console.
    #[command(subcommand)]
    Operators(operators::OperatorsCommand),
    /// The OpenID Connect provider's signing keys.
    #[command(subcommand)]
    Oidc(OidcCommand),
    /// List audit events.
    Audit {
        /// Only this client's events.
        #[arg(long, value_name = "ID")]
        client: Option<String>,
        /// Only events at or after this RFC 3339 time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 200)]
        limit: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum OidcCommand {
    /// Generate a new RS256 (ID tokens) and a new EdDSA (access tokens) signing key now; they sign
    /// from now on. The previous keys stay in the JWKS, and valid, for the overlap (2 days, longer
    /// than any token they signed lives), then retire. Running servers pick the new keys up within
    /// 5 minutes, and at once for a token signed with a key they do not know yet.
    RotateKeys {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the signing keys: the one signing now per algorithm, those still published for the
    /// overlap (and until when), and the retired ones. Private keys are never shown.
    Keys {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Sandbox,
    Production,
}

#[derive(Subcommand)]
enum ClientsCommand {
    /// Register a client. Its secret is printed once and never again.
    Create(CreateArgs),
    /// List clients.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show one client.
    Show {
        /// Client id.
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Change a client's name, logo, allowed scopes, origins or redirect URIs. Every node serves
    /// the change from its next request.
    Update(UpdateArgs),
    /// Issue a new secret; the old one stops working at once.
    RotateSecret {
        /// Client id.
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Disable a client: its credentials and link tokens stop working.
    Disable {
        /// Client id.
        id: String,
    },
    /// Manage a client's webhook endpoints.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// Add an endpoint. Its signing secret is printed once and never again.
    Add {
        /// Client id.
        #[arg(long, value_name = "ID")]
        client: String,
        /// Where deliveries are POSTed: https:// (sandbox clients may use http://127.0.0.1 or localhost).
        #[arg(long, value_name = "URL")]
        url: String,
        /// Subscribe to this event only (repeatable): grant.created, grant.updated, grant.revoked,
        /// integration.created, integration.updated, integration.deleted, integration.failed.
        /// Default: every event.
        #[arg(long = "event", value_name = "EVENT")]
        events: Vec<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List a client's endpoints (secrets are never shown again).
    List {
        /// Client id.
        #[arg(long, value_name = "ID")]
        client: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint; its undelivered deliveries are cancelled.
    Remove {
        /// Client id.
        #[arg(long, value_name = "ID")]
        client: String,
        /// Endpoint id (wh_…).
        #[arg(long, value_name = "WH")]
        id: String,
    },
    /// Issue a new signing secret; deliveries are signed with it from now on.
    RotateSecret {
        /// Client id.
        #[arg(long, value_name = "ID")]
        client: String,
        /// Endpoint id (wh_…).
        #[arg(long, value_name = "WH")]
        id: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Recent deliveries of a client, newest first, with their status.
    Deliveries {
        /// Client id.
        #[arg(long, value_name = "ID")]
        client: String,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct CreateArgs {
    /// Display name shown in the widget.
    #[arg(long)]
    name: String,
    /// Sandbox (test chains and addresses only) or production.
    #[arg(long, value_enum, default_value_t = Mode::Sandbox)]
    mode: Mode,
    /// Allowed scope (repeatable, or space-separated); default: the default client scopes.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Origin allowed to embed the widget, e.g. https://app.example.com (repeatable).
    #[arg(long = "origin", value_name = "URL")]
    origins: Vec<String>,
    /// Redirect URI for the full-page widget (repeatable).
    #[arg(long = "redirect-uri", value_name = "URL")]
    redirect_uris: Vec<String>,
    /// Logo URL shown in the widget.
    #[arg(long, value_name = "URL")]
    logo: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct UpdateArgs {
    /// Client id.
    id: String,
    /// New display name shown in the widget.
    #[arg(long)]
    name: Option<String>,
    /// New logo URL shown in the widget.
    #[arg(long, value_name = "URL", conflicts_with = "remove_logo")]
    logo: Option<String>,
    /// Remove the logo.
    #[arg(long)]
    remove_logo: bool,
    /// Replace the allowed scopes (repeatable, or space-separated). Existing grants keep theirs.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Allow another origin to embed the widget, e.g. https://app.example.com (repeatable).
    #[arg(long = "add-origin", value_name = "URL")]
    add_origins: Vec<String>,
    /// Stop allowing a registered origin (repeatable).
    #[arg(long = "remove-origin", value_name = "URL")]
    remove_origins: Vec<String>,
    /// Allow another redirect URI for the full-page widget (repeatable).
    #[arg(long = "add-redirect-uri", value_name = "URL")]
    add_redirect_uris: Vec<String>,
    /// Stop allowing a registered redirect URI (repeatable).
    #[arg(long = "remove-redirect-uri", value_name = "URL")]
    remove_redirect_uris: Vec<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(url) = cli.database_url {
        settings.set_database_url(url);
    }
    let command = cli.command.unwrap_or(Command::Serve { listen: None });
    let serving = matches!(command, Command::Serve { .. });
    telemetry::init(&settings.log.format, if serving { &settings.log.filter } else { "warn" });
    kc_server::guards::warn_unknown_keys(&settings);
    let result = run(command, settings).await;
    telemetry::shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error>;

async fn run(command: Command, mut settings: Settings) -> Result<(), AnyError> {
    match command {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                settings.server.listen = l;
            }
            serve(settings).await
        }
        Command::Migrate => {
            app::connect_store(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Clients(cmd) => {
            if matches!(
                cmd,
                ClientsCommand::Webhooks(WebhooksCommand::Add { .. } | WebhooksCommand::RotateSecret { .. })
            ) && !kc_server::secrets::credentials_key_available(
                &settings.security.credentials_keys,
                &settings.data_dir.join("credentials.key"),
            ) {
                return Err(format!(
                    "no credentials key (security.credentials_keys, or {}): webhook secrets are sealed with the \
                     key the servers use; pass the same --config or data_dir",
                    settings.data_dir.join("credentials.key").display()
                )
                .into());
            }
            let service = app::build_admin_service(&settings).await?;
            clients(&service, cmd).await
        }
        Command::Operators(cmd) => {
            let service = app::build_admin_service(&settings).await?;
            operators::run(&service, cmd).await
        }
        Command::Oidc(cmd) => {
            if !kc_server::secrets::credentials_key_available(
                &settings.security.credentials_keys,
                &settings.data_dir.join("credentials.key"),
            ) {
                return Err(format!(
                    "no credentials key (security.credentials_keys, or {}): signing keys are sealed with the key \
                     the servers use; pass the same --config or data_dir",
                    settings.data_dir.join("credentials.key").display()
                )
                .into());
            }
            let service = app::build_admin_service(&settings).await?;
            oidc(&service, cmd).await
        }
        Command::Audit { client, since, limit, json } => {
            let service = app::build_admin_service(&settings).await?;
            let since = since
                .map(|s| time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339))
                .transpose()
                .map_err(|e| format!("--since must be an RFC 3339 time: {e}"))?;
            let events = service.audit_events(client, since, limit).await?;
            for e in events {
                let at = e.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"at": at, "kind": e.kind, "outcome": e.outcome, "client_id": e.client_id,
                            "grant_id": e.grant_id, "user_id": e.user_id, "ip": e.ip, "request_id": e.request_id, "detail": e.detail})
                    );
                } else {
                    println!(
                        "{at}  {:<22} {:<8} client={} grant={} user={} ip={} {}",
                        e.kind,
                        e.outcome,
                        e.client_id.as_deref().unwrap_or("-"),
                        e.grant_id.as_deref().unwrap_or("-"),
                        e.user_id.as_deref().unwrap_or("-"),
                        e.ip.as_deref().unwrap_or("-"),
                        e.detail.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
    }
}

async fn oidc(service: &Service, cmd: OidcCommand) -> Result<(), AnyError> {
    let json = match cmd {
        OidcCommand::RotateKeys { json } => {
            service.rotate_oidc_keys().await.map_err(|e| e.description)?;
            json
        }
        OidcCommand::Keys { json } => json,
    };
    let keys = service.oidc_signing_keys().await.map_err(|e| e.description)?;
    let rfc3339 =
        |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    for k in keys {
        if json {
            println!(
                "{}",
                serde_json::json!({"kid": k.kid, "alg": k.alg, "generation": k.generation,
                    "created_at": rfc3339(k.created_at), "state": k.state.as_str(),
                    "published_until": k.published_until.map(rfc3339)})
            );
        } else {
            println!(
                "{:<6} gen {:<3} {:<10} created {}  {}  kid={}",
                k.alg,
                k.generation,
                k.state.as_str(),
                rfc3339(k.created_at),
                k.published_until.map(|t| format!("published until {}", rfc3339(t))).unwrap_or_default(),
                k.kid
            );
        }
    }
    Ok(())
}

async fn serve(settings: Settings) -> Result<(), AnyError> {
    let app = Application::build(&settings).await?;
    let host = settings.server.listen.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h).replace("0.0.0.0", "127.0.0.1");
    let base = format!("http://{host}:{}", app.port());
    tracing::info!(listen = %settings.server.listen, database = %redact_url(&settings.database_url()), "Kryptos Connect listening");
    println!("Kryptos Connect is listening on {base}");
    if let Some(port) = app.metrics_port() {
        let host = settings.server.metrics_listen.rsplit_once(':').map_or("127.0.0.1", |(h, _)| h);
        println!("Prometheus metrics on http://{}:{port}/metrics", host.replace("0.0.0.0", "127.0.0.1"));
    }
    if let Some(demo) = app.demo() {
        println!("Demo sandbox client (development only; disable with KRYPTOS__DEMO__ENABLED=false):");
        println!("  client_id:     {}", demo.client_id);
        if demo.created_now {
            println!("  client_secret: {}", demo.client_secret);
            println!("  (saved to {}, readable by you only)", demo.file.display());
        } else {
            println!("  client_secret: stored in {}", demo.file.display());
        }
        println!("Open the demo:   {base}/demo   (API reference: {base}/docs)");
    }
    app.run_until_stopped().await?;
    Ok(())
}

/// The URL without its password, for logs.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..s + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn client_json(c: &kc_domain::ClientRecord) -> serde_json::Value {
    serde_json::json!({
        "client_id": c.id.to_string(),
        "name": c.name,
        "mode": c.mode.as_str(),
        "scopes": c.allowed_scopes.to_string(),
        "origins": c.allowed_origins,
        "redirect_uris": c.redirect_uris,
        "logo_url": c.logo_url,
        "disabled": c.disabled,
    })
}

fn print_client(c: &kc_domain::ClientRecord) {
    println!("client_id:     {}", c.id);
    println!("name:          {}", c.name);
    println!("mode:          {}", c.mode.as_str());
    println!("scopes:        {}", c.allowed_scopes);
    println!("origins:       {}", c.allowed_origins.join(", "));
    println!("redirect_uris: {}", c.redirect_uris.join(", "));
    println!("logo_url:      {}", c.logo_url.as_deref().unwrap_or("-"));
    println!("status:        {}", if c.disabled { "disabled" } else { "active" });
}

async fn clients(service: &Service, cmd: ClientsCommand) -> Result<(), AnyError> {
    match cmd {
        ClientsCommand::Create(a) => {
            let scopes = (!a.scopes.is_empty()).then(|| a.scopes.join(" "));
            let new = NewClient {
                name: a.name,
                mode: match a.mode {
                    Mode::Sandbox => kc_domain::ClientMode::Sandbox,
                    Mode::Production => kc_domain::ClientMode::Production,
                },
                scopes,
                origins: a.origins,
                redirect_uris: a.redirect_uris,
                logo_url: a.logo,
            };
            let (client, secret) = service.register_client(new).await?;
            if a.json {
                let mut v = client_json(&client);
                v["client_secret"] = secret.expose().into();
                println!("{v}");
            } else {
                print_client(&client);
                println!("client_secret: {}", secret.expose());
                println!("\nStore the secret now: it is shown only once.");
            }
        }
        ClientsCommand::List { json } => {
            let list = service.list_clients().await?;
            if json {
                println!("{}", serde_json::Value::from(list.iter().map(client_json).collect::<Vec<_>>()));
            } else {
                for c in list {
                    println!(
                        "{}  {:<10} {:<8} {}",
                        c.id,
                        c.mode.as_str(),
                        if c.disabled { "disabled" } else { "active" },
                        c.name
                    );
                }
            }
        }
        ClientsCommand::Show { id, json } => {
            let c = service.client(&id).await?;
            if json {
                println!("{}", client_json(&c));
            } else {
                print_client(&c);
            }
        }
        ClientsCommand::Update(a) => {
            let update = ClientUpdate {
                name: a.name,
                scopes: (!a.scopes.is_empty()).then(|| a.scopes.join(" ")),
                add_origins: a.add_origins,
                remove_origins: a.remove_origins,
                add_redirect_uris: a.add_redirect_uris,
                remove_redirect_uris: a.remove_redirect_uris,
                logo_url: if a.remove_logo { Some(None) } else { a.logo.map(Some) },
            };
            let c = service.update_client(&a.id, update).await?;
            if a.json {
                println!("{}", client_json(&c));
            } else {
                print_client(&c);
            }
        }
        ClientsCommand::RotateSecret { id, json } => {
            let secret = service.rotate_client_secret(&id).await?;
            if json {
                println!("{}", serde_json::json!({"client_id": id, "client_secret": secret.expose()}));
            } else {
                println!(
                    "client_secret: {}\n\nThe previous secret no longer works. Store this one now.",
                    secret.expose()
                );
            }
        }
        ClientsCommand::Disable { id } => {
            service.disable_client(&id).await?;
            println!("client {id} disabled");
        }
        ClientsCommand::Webhooks(cmd) => webhooks(service, cmd).await?,
    }
    Ok(())
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn webhook_json(w: &kc_store::WebhookEndpointRecord) -> serde_json::Value {
    serde_json::json!({
        "id": w.id,
        "client_id": w.client_id.to_string(),
        "url": w.url,
        "events": w.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "all_events": w.events.is_empty(),
        "created_at": rfc3339(w.created_at),
        "updated_at": rfc3339(w.updated_at),
    })
}

fn webhook_events_text(w: &kc_store::WebhookEndpointRecord) -> String {
    if w.events.is_empty() {
        "all".to_owned()
    } else {
        w.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
    }
}

async fn webhooks(service: &Service, cmd: WebhooksCommand) -> Result<(), AnyError> {
    match cmd {
        WebhooksCommand::Add { client, url, events, json } => {
            let (w, secret) = service.add_webhook(&client, &url, &events).await?;
            if json {
                let mut v = webhook_json(&w);
                v["secret"] = secret.expose().into();
                println!("{v}");
            } else {
                println!("webhook_id: {}", w.id);
                println!("url:        {}", w.url);
                println!("events:     {}", webhook_events_text(&w));
                println!("secret:     {}", secret.expose());
                println!("\nStore the secret now: it is shown only once. Verify every delivery's");
                println!("X-Webhook-Signature with it (see the README).");
            }
        }
        WebhooksCommand::List { client, json } => {
            let list = service.list_webhooks(&client).await?;
            if json {
                println!("{}", serde_json::Value::from(list.iter().map(webhook_json).collect::<Vec<_>>()));
            } else {
                for w in list {
                    println!("{}  {}  events: {}", w.id, w.url, webhook_events_text(&w));
                }
            }
        }
        WebhooksCommand::Remove { client, id } => {
            service.remove_webhook(&client, &id).await?;
            println!("webhook {id} removed");
        }
        WebhooksCommand::RotateSecret { client, id, json } => {
            let secret = service.rotate_webhook_secret(&client, &id).await?;
            if json {
                println!("{}", serde_json::json!({"id": id, "client_id": client, "secret": secret.expose()}));
            } else {
                println!(
                    "secret: {}\n\nDeliveries are signed with this secret from now on. Store it now.",
                    secret.expose()
                );
            }
        }
        WebhooksCommand::Deliveries { client, limit, json } => {
            let list = service.webhook_deliveries(&client, limit).await?;
            if json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|d| {
                        serde_json::json!({
                            "id": d.id, "endpoint_id": d.endpoint_id, "event": d.event, "grant_id": d.grant_id,
                            "status": d.status, "attempts": d.attempts, "occurred_at": rfc3339(d.occurred_at),
                            "next_attempt_at": rfc3339(d.next_attempt_at), "last_status": d.last_status,
                            "last_error": d.last_error, "completed_at": d.completed_at.map(rfc3339),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::from(rows));
            } else {
                for d in list {
                    println!(
                        "{}  {}  {:<20} {:<9} attempts={} {}",
                        rfc3339(d.occurred_at),
                        d.id,
                        d.event,
                        d.status,
                        d.attempts,
                        d.last_error.as_deref().unwrap_or("")
                    );
                }
            }
        }
    }
    Ok(())
}
