//! The kinds of audit event and their outcomes.

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// A client backend failed to authenticate.
    ClientAuth,
    /// A link token was created.
    LinkTokenCreate,
    /// A public token was exchanged (or the attempt refused).
    TokenExchange,
    /// A grant was revoked.
    GrantRevoke,
    /// A guest signed in through the widget.
    WidgetAuthAnonymous,
    /// Email sign-in: a code sent, verified or refused.
    WidgetAuthEmail,
    /// A user selected the workspace to share.
    WidgetWorkspace,
    /// A user connected a wallet or exchange.
    IntegrationCreate,
    /// A user removed a wallet or exchange.
    IntegrationDelete,
    /// A user approved or denied the scopes.
    WidgetConsent,
    /// The widget completed and issued a public token (or resumed a session).
    WidgetComplete,
    /// A client was created, rotated or disabled by an operator.
    ClientAdmin,
    /// Console sign-in: a code sent, a sign-in, a refusal, a sign-out.
    ConsoleAuth,
    /// Console organisations: created, members invited, roles changed.
    ConsoleOrg,
    /// A wallet sign-in proof refused (a verified connection is an `IntegrationCreate`).
    WalletProof,
}

impl AuditKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientAuth => "client.auth",
            Self::LinkTokenCreate => "link_token.create",
            Self::TokenExchange => "token.exchange",
            Self::GrantRevoke => "grant.revoke",
            Self::WidgetAuthAnonymous => "widget.auth.anonymous",
            Self::WidgetAuthEmail => "widget.auth.email",
            Self::WidgetWorkspace => "widget.workspace",
            Self::IntegrationCreate => "integration.create",
            Self::IntegrationDelete => "integration.delete",
            Self::WidgetConsent => "widget.consent",
            Self::WidgetComplete => "widget.complete",
            Self::ClientAdmin => "client.admin",
            Self::ConsoleAuth => "console.auth",
            Self::ConsoleOrg => "console.org",
            Self::WalletProof => "wallet.proof",
        }
    }
}

/// How it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// As asked.
    Success,
    /// Refused for an ordinary reason.
    Failure,
    /// Refused in a way that suggests an attack (e.g. a replayed public token).
    Security,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Security => "security",
        }
    }
}
