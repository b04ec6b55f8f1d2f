//! `kryptos-connect operators …`: operator API tokens for the admin API (`/admin/api`) and the
//! platform-operator role of console users.

use clap::Subcommand;
use kc_service::console::{parse_lifetime, NewOperatorToken};
use kc_service::Service;

/// Operator commands.
#[derive(Subcommand)]
pub(crate) enum OperatorsCommand {
    /// Manage operator API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Make the console user with this email a platform operator: sees every organisation,
    /// approves production, disables any app.
    Grant {
        /// The console user's email (created if they never signed in).
        #[arg(long, value_name = "EMAIL")]
        email: String,
    },
    /// Withdraw the platform-operator role.
    Withdraw {
        /// The console user's email.
        #[arg(long, value_name = "EMAIL")]
        email: String,
    },
}

/// Token commands.
#[derive(Subcommand)]
pub(crate) enum TokensCommand {
    /// Create a token. It is printed once and stored only as a digest.
    Create {
        /// A label, e.g. "deploy bot".
        #[arg(long, default_value = "operator token")]
        name: String,
        /// A scope (repeatable or space/comma-separated): clients:read, clients:write, webhooks:read,
        /// webhooks:write, grants:read, grants:write, audit:read, members:write, or * for all.
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
        /// Lifetime: 90d, 12h, 30m (at most 366d).
        #[arg(long, value_name = "DURATION", default_value = "90d")]
        expires: String,
        /// Limit the token to one organisation's apps (org_…).
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never the tokens themselves).
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token at once.
    Revoke {
        /// Token id (op_…).
        id: String,
    },
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Runs an operator command.
pub(crate) async fn run(service: &Service, cmd: OperatorsCommand) -> Result<(), Box<dyn std::error::Error>> {
    match cmd {
        OperatorsCommand::Tokens(TokensCommand::Create { name, scopes, expires, org, json }) => {
            let new = NewOperatorToken { name, scopes, expires_in: parse_lifetime(&expires)?, org };
            let (t, token) = service.create_operator_token(new).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"id": t.id, "token": token, "name": t.name, "scopes": t.scopes,
                        "org_id": t.org_id, "expires_at": rfc3339(t.expires_at)})
                );
            } else {
                println!("id:      {}", t.id);
                println!("token:   {token}");
                println!("scopes:  {}", t.scopes);
                println!("expires: {}", rfc3339(t.expires_at));
                println!("Store the token now: it is not shown again. Send it as Authorization: Bearer <token>.");
            }
        }
        OperatorsCommand::Tokens(TokensCommand::List { json }) => {
            for t in service.operator_tokens().await? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "live" };
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"id": t.id, "name": t.name, "scopes": t.scopes, "org_id": t.org_id,
                            "created_at": rfc3339(t.created_at), "expires_at": rfc3339(t.expires_at),
                            "revoked": t.revoked_at.is_some(), "last_used_at": t.last_used_at.map(rfc3339)})
                    );
                } else {
                    println!("{}  {state:<7} expires {}  {}  [{}]", t.id, rfc3339(t.expires_at), t.name, t.scopes);
                }
            }
        }
        OperatorsCommand::Tokens(TokensCommand::Revoke { id }) => {
            service.revoke_operator_token(&id).await?;
            println!("revoked {id}");
        }
        OperatorsCommand::Grant { email } => {
            service.set_console_operator(&email, true).await?;
            println!("{email} is a platform operator");
        }
        OperatorsCommand::Withdraw { email } => {
            service.set_console_operator(&email, false).await?;
            println!("{email} is no longer a platform operator");
        }
    }
    Ok(())
}
