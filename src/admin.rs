//! `runway admin`: set-up and API tokens from scripts, without the browser.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use runway_store::ApiTokenId;

use crate::config::{StoreArgs, exit_code};
use crate::secrets::read_secret;

/// Administer an installation from scripts.
#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a tenant (an MSP) and its owner.
    Init(InitArgs),
    /// Create or revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Args)]
struct InitArgs {
    /// The MSP's name.
    #[arg(long)]
    tenant: String,
    /// Its IANA time zone, e.g. America/New_York: reminders and days left count its calendar
    /// days.
    #[arg(long, default_value = "UTC")]
    zone: String,
    /// The owner's email address (their sign-in).
    #[arg(long)]
    email: String,
    /// A file holding the owner's password.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// An environment variable holding the owner's password.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token for a user; it is printed once and stored only as a hash.
    Create {
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// What the token is for, e.g. "monitoring".
        #[arg(long)]
        name: String,
    },
    /// List a user's tenant's tokens.
    List {
        /// A user of the tenant.
        #[arg(long)]
        email: String,
    },
    /// Revoke a token.
    Revoke {
        /// A user of the token's tenant.
        #[arg(long)]
        email: String,
        /// The token's id (see `list`).
        #[arg(long)]
        id: i64,
    },
}

pub(crate) async fn run(args: AdminArgs) -> ExitCode {
    exit_code(admin(args).await)
}

async fn admin(args: AdminArgs) -> anyhow::Result<()> {
    let store = args.store.open().await?;
    let result = match args.command {
        AdminCommand::Init(init) => {
            let Some(password) = read_secret(
                "password",
                init.password_file.as_deref(),
                init.password_env.as_deref(),
            )?
            else {
                bail!("give the owner's password with --password-file or --password-env");
            };
            runway_web::init_tenant(
                &store,
                &init.tenant,
                &init.zone,
                &init.email,
                password.expose(),
            )
            .await
            .map(|(tenant, user)| {
                println!(
                    "created tenant {:?} (id {}) with owner {}",
                    tenant.settings.name, tenant.id.0, user.email
                );
            })
            .map_err(anyhow::Error::from)
        }
        AdminCommand::Token(command) => token(&store, command).await,
    };
    store.close().await;
    result
}

async fn token(
    store: &std::sync::Arc<dyn runway_store::Store>,
    command: TokenCommand,
) -> anyhow::Result<()> {
    let email = match &command {
        TokenCommand::Create { email, .. }
        | TokenCommand::List { email }
        | TokenCommand::Revoke { email, .. } => email,
    };
    let user = store
        .user_by_email(email)
        .await?
        .with_context(|| format!("no user has the email address {email:?}"))?;
    let now = jiff::Timestamp::now();
    match command {
        TokenCommand::Create { name, .. } => {
            let (secret, token) =
                runway_web::create_api_token(store, user.tenant_id, user.id, &name, now).await?;
            audit(store, &user, "token_created", &token, now).await;
            eprintln!(
                "created token {} ({:?}); it is shown only now:",
                token.id.0, token.name
            );
            println!("{}", secret.expose());
        }
        TokenCommand::List { .. } => {
            for token in store.api_tokens(user.tenant_id).await? {
                let state = if token.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!("{:>6}  {:<8} {}", token.id.0, state, token.name);
            }
        }
        TokenCommand::Revoke { id, .. } => {
            let token =
                runway_web::revoke_api_token(store, user.tenant_id, ApiTokenId(id), now).await?;
            audit(store, &user, "token_revoked", &token, now).await;
            println!("revoked token {} ({:?})", token.id.0, token.name);
        }
    }
    Ok(())
}

/// Records a token command in the tenant's audit log, as done on the server by `runway admin`.
async fn audit(
    store: &std::sync::Arc<dyn runway_store::Store>,
    user: &runway_store::User,
    action: &str,
    token: &runway_store::ApiToken,
    now: jiff::Timestamp,
) {
    let entry = runway_store::NewAuditEntry {
        at: now,
        actor: user.email.clone(),
        user_id: Some(user.id),
        via: runway_store::AuditVia::Command,
        address: String::new(),
        action: action.to_owned(),
        target: format!("token {} ({:?})", token.id.0, token.name),
        detail: "with runway admin".to_owned(),
    };
    if let Err(err) = store.record_audit(user.tenant_id, &entry).await {
        eprintln!("warning: the audit log could not be written: {err}");
    }
}
