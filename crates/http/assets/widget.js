/*
 * Kryptos Connect widget — the state machine behind GET /connect.
 *
 *   loading → AUTH (email code | guest) → WORKSPACE (only if several)
 *           → CONSENT → INTEGRATION (add one or more) → STATUS → DONE
 *   any fatal failure → ERROR
 *
 * Inputs  : URL fragment  #link_token=…&origin=…&theme=…&lang=…&mode=…
 *                          &redirect_uri=…&css=<JSON>&auth=email,anonymous
 *                          &integration=<provider id>&prefill=<JSON>
 *           or a postMessage {source:"kryptos-connect-sdk", type:"init", …}
 *           from the declared parent origin.
 * Outputs : postMessage {source:"kryptos-connect", version:1, type:"ready"|"step"|
 *           "success"|"error"|"close", …} to the parent origin (only when the
 *           session lists it in allowed_origins), ReactNativeWebView.postMessage,
 *           or a redirect to redirect_uri in page mode.
 *
 * Everything runs under a strict CSP: no inline code, no innerHTML with data,
 * theme variables set through CSSOM.
 */
(function () {
  "use strict";

  /**
   * The path prefix this server is reached under ("" at the root, "/kryptos" when a host app
   * mounts it there): the server fills in <meta name="kc-base">. Every request path starts with it.
   */
  const BASE = (function () {
    const meta = document.querySelector('meta[name="kc-base"]');
    const v = meta ? meta.getAttribute("content") || "" : "";
    return /^(\/[A-Za-z0-9._~%-]+)*$/.test(v) ? v : "";
  })();

  // ===================================================================
  // i18n — every user-visible string goes through t(key, vars).
  // ===================================================================
  const MESSAGES = {
    en: {
      "header.via": "via Kryptos Connect",
      "header.viaClient": "via {client}",
      "header.sandbox": "Sandbox",
      "footer.secured": "Secured by Kryptos Connect",
      "stepper.label": "Progress",
      "stepper.auth": "Sign in",
      "stepper.consent": "Approve",
      "stepper.integration": "Connect",
      "stepper.status": "Finish",
      "common.loading": "Loading…",
      "common.close": "Close",
      "common.back": "Back",
      "common.retry": "Try again",
      "common.optional": "(optional)",
      "common.theApp": "the app",

      "auth.title": "Connect your crypto",
      "auth.lead": "{app} uses Kryptos to securely access your crypto portfolio.",
      "auth.email": "Continue with email",
      "auth.anonymous": "Continue as guest",
      "auth.anonymousNote": "A guest account needs no email. You can add one later.",
      "auth.emailTitle": "Sign in with email",
      "auth.emailLead": "We’ll email you a 6-digit code. No password needed.",
      "auth.emailLabel": "Email address",
      "auth.sendCode": "Send code",
      "auth.codeTitle": "Check your inbox",
      "auth.codeLead": "Enter the 6-digit code we sent to {email}.",
      "auth.codeLabel": "Verification code",
      "auth.codeHint": "The code is valid for 10 minutes.",
      "auth.verify": "Verify",
      "auth.resend": "Resend code",
      "auth.resendIn": "Resend code in {s}s",
      "auth.resent": "New code sent to {email}. The previous code no longer works.",
      "auth.wrongCode": "That code isn’t right. {n} attempts left.",
      "auth.wrongCodeOne": "That code isn’t right. 1 attempt left.",
      "auth.codeExpired": "This code has expired. Ask for a new one with Resend code.",
      "auth.lockedIn": "Too many wrong codes. You can ask for a new code in {s} s (Resend code, below).",
      "auth.lockedNow": "Too many wrong codes. Ask for a new code with Resend code, below.",
      "auth.tooManyCodes": "Too many codes were requested for this address. Try again later.",
      "auth.justSentIn": "A code was just sent. You can ask for another {when}.",
      "auth.tooManyCodesIn": "Too many codes were requested for this address. Try again {when}.",
      "auth.inSeconds": "in {s} s",
      "auth.inMinutes": "in {m} min",
      "auth.changeEmail": "Use a different email",
      "auth.invalidEmail": "Please enter a valid email address.",
      "auth.invalidCode": "The code has 6 digits.",

      "workspace.title": "Choose a workspace",
      "workspace.lead": "Which workspace do you want to share with {app}?",
      "workspace.role.owner": "Owner",
      "workspace.role.admin": "Admin",
      "workspace.role.member": "Member",
      "workspace.role.viewer": "Viewer",

      "consent.title": "{app} wants to access your Kryptos account",
      "consent.subtitle": "This will allow {app} to",
      "consent.subtitleMore": "{app} is already connected and now also asks to",
      "consent.asEmail": "Signed in as {email}",
      "consent.asGuest": "Signed in with a guest account",
      "consent.workspace": "Workspace: {name}",
      "consent.fineprint": "You can revoke access at any time. {app} never sees your exchange keys or passwords.",
      "consent.allow": "Allow",
      "consent.deny": "Deny",
      "consent.writeBadge": "Can make changes",
      "consent.details": "Technical details",
      "consent.detailsLead": "Permissions (OAuth scopes) requested:",
      "consent.guestTitle": "{app} wants to see your crypto portfolio",
      "consent.g.identity": "Know who you are: your Kryptos account and profile",
      "consent.g.identityGuest": "Recognise your anonymous guest account",
      "consent.g.email": "See your email address",
      "consent.g.portfolio": "See your holdings, balances and connected wallets",
      "consent.g.transactions": "See your transaction history",
      "consent.g.defi": "See your DeFi positions and NFTs",
      "consent.g.finance": "See your tax calculations, accounting and reports",
      "consent.g.workspace": "See your workspace settings",
      "consent.g.offline": "Keep this access until you revoke it",

      "scope.openid": "Confirm your identity",
      "scope.profile": "View your basic profile (name, language)",
      "scope.email": "View your email address",
      "scope.offline_access": "Keep access while you’re not using the app",
      "scope.portfolios:read": "View your portfolio holdings",
      "scope.portfolios:write": "Manage your portfolios",
      "scope.transactions:read": "View your transaction history",
      "scope.transactions:write": "Add and edit your transactions",
      "scope.balances:read": "View your account balances",
      "scope.balances:write": "Update your account balances",
      "scope.integrations:read": "View your connected wallets and exchanges",
      "scope.integrations:write": "Add and manage your wallets and exchanges",
      "scope.defi:read": "View your DeFi positions",
      "scope.defi:write": "Manage your DeFi positions",
      "scope.nft:read": "View your NFT collections",
      "scope.nft:write": "Manage your NFT collections",
      "scope.tax:read": "View your tax calculations",
      "scope.tax:write": "Run and update your tax calculations",
      "scope.accounting:read": "View your accounting ledger",
      "scope.accounting:write": "Edit your accounting ledger",
      "scope.reports:read": "View your generated reports",
      "scope.reports:write": "Generate and manage reports",
      "scope.workspace:read": "View your workspace settings",
      "scope.workspace:write": "Change your workspace settings",
      "scope.users:read": "View your user account details",
      "scope.users:write": "Update your user account details",

      "integration.title": "Connect a wallet or exchange",
      "integration.lead": "Choose where your crypto lives. Access is read-only.",
      "integration.connected": "Connected",
      "integration.searchLabel": "Search wallets and exchanges",
      "integration.searchPlaceholder": "Search wallets and exchanges",
      "integration.noResults": "No wallet or exchange matches “{q}”.",
      "integration.noProviders": "No wallets or exchanges are available.",
      "integration.allProviders": "All wallets and exchanges",
      "integration.wallet": "Wallet",
      "integration.exchange": "Exchange",
      "integration.evm": "EVM network",
      "integration.formTitle": "Connect {name}",
      "integration.formSubWallet": "Paste a public address. We never ask for your seed phrase.",
      "integration.formSubExchange": "Use a read-only API key from your {name} account.",
      "integration.submit": "Connect {name}",
      "integration.added": "{name} connected.",
      "integration.continue": "Continue",
      "integration.security": "Read-only access. Keys are encrypted and never shared with the app.",
      "integration.required": "This field is required.",
      "integration.badEvm": "An Ethereum-style address starts with 0x followed by 40 hexadecimal characters.",
      "integration.badSolana": "A Solana address is 32 to 44 base58 characters.",
      "integration.badBitcoin": "This doesn’t look like a Bitcoin address (bc1…, 1… or 3…).",
      "integration.remove": "Remove",
      "integration.removeLabel": "Remove {name}",
      "integration.removeConfirm": "Confirm",
      "integration.removeConfirmLabel": "Confirm removing {name}",
      "integration.removed": "{name} removed.",
      "csv.import": "Import CSV",
      "csv.importLabel": "Import CSV into {name}",
      "csv.importing": "Importing the file…",
      "csv.imported": "{name}: {n} transactions imported ({total} in the file).",
      "csv.rowErrors.one": "Nothing was imported: {n} row of the file could not be read.",
      "csv.rowErrors.other": "Nothing was imported: {n} rows of the file could not be read.",
      "csv.line": "Line {line}: {message}",
      "csv.tooLarge": "The file is larger than 10 MB.",
      "csv.failed": "The file could not be imported: {message}",
      // Row errors by the server's `code` ({column}: the file's header, {value}: the cell).
      "csv.row.unreadable": "unreadable CSV row",
      "csv.row.missing": "missing {column}",
      "csv.row.invalid_date": "invalid date “{value}” (expected YYYY-MM-DD HH:MM:SS in UTC, or RFC 3339)",
      "csv.row.invalid_number": "invalid number “{value}” in {column}",
      "csv.row.zero": "{column} is zero",
      "csv.row.negative": "{column} is negative",
      "csv.row.convert_notes": "a Convert row needs notes like “Converted 0.1 ETH to 300 USDC” (found “{value}”)",
      "csv.row.unknown_type": "unknown transaction type “{value}”",
      "csv.row.no_amount": "no sent or received amount",
      "integration.verified": "Verified",
      "integration.verifiedLabel": "Ownership verified by signature",
      "wallet.detected": "Connect your browser wallet",
      "wallet.or": "Or paste an address, or connect an exchange:",
      "wallet.evm": "EVM networks · verified by signature",
      "wallet.solana": "Solana · verified by signature",
      "wallet.browser": "Browser wallet",
      "wallet.title": "Connect {wallet}",
      "wallet.sub": "Your wallet will ask you to connect, then to sign a message.",
      "wallet.connectWait": "Approve the connection request in {wallet}.",
      "wallet.signWait": "Sign the message in {wallet} to prove that you own {address}. It costs nothing and cannot move funds.",
      "wallet.verifying": "Checking the signature…",
      "wallet.pickTitle": "Choose an account",
      "wallet.pickLead": "{wallet} shares several accounts. Which one do you want to connect?",
      "wallet.account": "Account {n}",
      "wallet.connected": "{name} connected and verified.",
      "wallet.rejected": "You declined the request in {wallet}. Nothing was connected.",
      "wallet.failed": "{wallet} could not complete the request. Try again, or paste the address instead.",
      "wallet.noAccount": "{wallet} did not share any account.",
      "wallet.fine": "Signing proves that you own the wallet. It is free and gives no access to your funds.",

      "field.address": "Wallet address",
      "field.apiKey": "API key",
      "field.secretKey": "Secret key",
      "field.password": "Passphrase",
      "field.accountName": "Account name",
      "field.alias": "Nickname",
      // The exchange's own words where they differ (Coinbase CDP keys, Kraken private keys).
      "field.apiKey.coinbase": "API key name",
      "field.apiKey.coinbase.hint": "organizations/…/apiKeys/…",
      "field.secretKey.coinbase": "Private key",
      "field.secretKey.coinbase.hint": "-----BEGIN EC PRIVATE KEY-----…",
      "field.secretKey.kraken": "Private key",

      "sandbox.title": "Sandbox mode",
      "sandbox.text": "This app is in sandbox mode: only Ethereum and Solana test addresses can be connected.",
      "sandbox.textOne": "This app is in sandbox mode: only the {chain} test address below can be connected.",
      "sandbox.useTest": "Use test address",
      "sandbox.ethereum": "Ethereum",
      "sandbox.solana": "Solana",

      "status.title": "Syncing your accounts",
      "status.lead": "We’re importing your balances. This continues in the background — you can finish now.",
      "status.titleDone": "Your accounts are connected",
      "status.leadDone": "Your balances are imported. Finish to share them with {app}.",
      "status.queued": "Queued",
      "status.syncing": "Syncing",
      "status.synced": "Synced",
      "status.failed": "Failed",
      "status.addAnother": "Add another",
      "status.done": "Done",
      "status.empty": "No wallets or exchanges connected yet.",

      "done.title": "You’re all set",
      "done.lead": "{app} can now access the data you approved.",
      "done.leadPage": "{app} can now access the data you approved. You can close this window.",
      "done.redirecting": "Taking you back to {app}…",

      "error.title": "We couldn’t continue",
      "error.closedTitle": "Connection cancelled",
      "error.closedLead": "You can close this window.",

      "errors.TOKEN_EXPIRED": "This link has expired. Please close this window and start again from {app}.",
      "errors.TOKEN_ALREADY_USED": "This link has already been used. Please start again from {app}.",
      "errors.INVALID_TOKEN": "This link is not valid. Please start again from {app}.",
      "errors.INVALID_CLIENT": "This app is not set up correctly for Kryptos Connect.",
      "errors.INVALID_SCOPE": "This app asked for permissions it is not allowed to request.",
      "errors.INVALID_GRANT": "This authorization is no longer valid. Please start again.",
      "errors.SANDBOX_ADDRESS_NOT_ALLOWED": "This address can’t be connected in sandbox mode. Use the test address shown below.",
      "errors.SANDBOX_PROVIDER_NOT_ALLOWED": "In sandbox mode only Ethereum and Solana wallets can be connected.",
      "errors.WORKSPACE_NOT_FOUND": "That workspace could not be found, or you are not a member of it.",
      "errors.INSUFFICIENT_PERMISSIONS": "You need to be an owner or admin of this workspace to share it.",
      "errors.RATE_LIMITED": "Too many attempts. Please wait a minute and try again.",
      "errors.RATE_LIMITED_IN": "Too many attempts. Try again {when}.",
      "errors.SERVICE_UNAVAILABLE": "Kryptos is temporarily unavailable. Please try again shortly.",
      "errors.INTERNAL_ERROR": "Something went wrong on our side. Please try again.",
      "errors.NETWORK_ERROR": "We couldn’t reach Kryptos. Check your connection and try again.",
      "errors.MISSING_LINK_TOKEN": "This page was opened without a link token. Please start again from {app}.",
      "errors.ORIGIN_NOT_ALLOWED": "This website is not allowed to open Kryptos Connect for {app}.",
      "errors.ACCESS_DENIED": "You declined to share your data with {app}.",
      "errors.USER_CLOSED": "The connection was cancelled.",
      "errors.INVALID_SIGNATURE": "The signature does not match this account. Try again from your wallet.",
      "errors.INVALID_SIGN_IN_MESSAGE": "Your wallet signed a message we can’t accept (another site, network or time). Try again.",
      "errors.CONTRACT_WALLET_NOT_SUPPORTED": "Smart-contract wallets can’t prove ownership here yet. Paste the address instead.",
      "errors.INVALID_NONCE": "This sign-in request does not belong to this session. Try again.",
      "errors.NONCE_EXPIRED": "The sign-in request expired after 5 minutes. Try again.",
      "errors.NONCE_ALREADY_USED": "This sign-in request was already used. Try again.",
      "errors.UNKNOWN": "Something went wrong. Please try again."
    },

    fr: {
      "header.via": "via Kryptos Connect",
      "header.viaClient": "via {client}",
      "header.sandbox": "Bac à sable",
      "footer.secured": "Sécurisé par Kryptos Connect",
      "stepper.label": "Progression",
      "stepper.auth": "Connexion",
      "stepper.consent": "Accord",
      "stepper.integration": "Comptes",
      "stepper.status": "Fin",
      "common.loading": "Chargement…",
      "common.close": "Fermer",
      "common.back": "Retour",
      "common.retry": "Réessayer",
      "common.optional": "(facultatif)",
      "common.theApp": "l’application",

      "auth.title": "Connectez vos cryptos",
      "auth.lead": "{app} utilise Kryptos pour accéder en toute sécurité à votre portefeuille crypto.",
      "auth.email": "Continuer avec un e-mail",
      "auth.anonymous": "Continuer en invité",
      "auth.anonymousNote": "Un compte invité ne demande pas d’e-mail. Vous pourrez en ajouter un plus tard.",
      "auth.emailTitle": "Connexion par e-mail",
      "auth.emailLead": "Nous vous envoyons un code à 6 chiffres. Aucun mot de passe.",
      "auth.emailLabel": "Adresse e-mail",
      "auth.sendCode": "Envoyer le code",
      "auth.codeTitle": "Consultez votre boîte mail",
      "auth.codeLead": "Saisissez le code à 6 chiffres envoyé à {email}.",
      "auth.codeLabel": "Code de vérification",
      "auth.codeHint": "Le code est valable 10 minutes.",
      "auth.verify": "Vérifier",
      "auth.resend": "Renvoyer le code",
      "auth.resendIn": "Renvoyer le code dans {s} s",
      "auth.resent": "Nouveau code envoyé à {email}. Le code précédent ne fonctionne plus.",
      "auth.wrongCode": "Ce code n’est pas le bon. Encore {n} essais.",
      "auth.wrongCodeOne": "Ce code n’est pas le bon. Dernier essai.",
      "auth.codeExpired": "Ce code a expiré. Demandez-en un nouveau avec « Renvoyer le code ».",
      "auth.lockedIn": "Trop de codes erronés. Vous pourrez demander un nouveau code dans {s} s (« Renvoyer le code », ci-dessous).",
      "auth.lockedNow": "Trop de codes erronés. Demandez un nouveau code avec « Renvoyer le code », ci-dessous.",
      "auth.tooManyCodes": "Trop de codes demandés pour cette adresse. Réessayez plus tard.",
      "auth.justSentIn": "Un code vient d’être envoyé. Vous pourrez en demander un autre {when}.",
      "auth.tooManyCodesIn": "Trop de codes demandés pour cette adresse. Réessayez {when}.",
      "auth.inSeconds": "dans {s} s",
      "auth.inMinutes": "dans {m} min",
      "auth.changeEmail": "Utiliser une autre adresse",
      "auth.invalidEmail": "Veuillez saisir une adresse e-mail valide.",
      "auth.invalidCode": "Le code comporte 6 chiffres.",

      "workspace.title": "Choisissez un espace de travail",
      "workspace.lead": "Quel espace de travail voulez-vous partager avec {app} ?",
      "workspace.role.owner": "Propriétaire",
      "workspace.role.admin": "Administrateur",
      "workspace.role.member": "Membre",
      "workspace.role.viewer": "Lecteur",

      "consent.title": "{app} souhaite accéder à votre compte Kryptos",
      "consent.subtitle": "Cela permettra à {app} de",
      "consent.subtitleMore": "{app} est déjà connectée et demande aussi à",
      "consent.asEmail": "Connecté en tant que {email}",
      "consent.asGuest": "Connecté avec un compte invité",
      "consent.workspace": "Espace de travail : {name}",
      "consent.fineprint": "Vous pouvez révoquer l’accès à tout moment. {app} ne voit jamais vos clés d’API ni vos mots de passe.",
      "consent.allow": "Autoriser",
      "consent.deny": "Refuser",
      "consent.writeBadge": "Peut modifier",
      "consent.details": "Détails techniques",
      "consent.detailsLead": "Autorisations (scopes OAuth) demandées :",
      "consent.guestTitle": "{app} souhaite voir votre portefeuille crypto",
      "consent.g.identity": "Savoir qui vous êtes : votre compte Kryptos et votre profil",
      "consent.g.identityGuest": "Reconnaître votre compte invité anonyme",
      "consent.g.email": "Voir votre adresse e-mail",
      "consent.g.portfolio": "Voir vos actifs, vos soldes et vos portefeuilles connectés",
      "consent.g.transactions": "Voir l’historique de vos transactions",
      "consent.g.defi": "Voir vos positions DeFi et vos NFT",
      "consent.g.finance": "Voir vos calculs fiscaux, votre comptabilité et vos rapports",
      "consent.g.workspace": "Voir les paramètres de votre espace de travail",
      "consent.g.offline": "Conserver cet accès jusqu’à ce que vous le révoquiez",

      "scope.openid": "Confirmer votre identité",
      "scope.profile": "Voir votre profil de base (nom, langue)",
      "scope.email": "Voir votre adresse e-mail",
      "scope.offline_access": "Conserver l’accès lorsque vous n’utilisez pas l’application",
      "scope.portfolios:read": "Voir les actifs de votre portefeuille",
      "scope.portfolios:write": "Gérer vos portefeuilles",
      "scope.transactions:read": "Voir l’historique de vos transactions",
      "scope.transactions:write": "Ajouter et modifier vos transactions",
      "scope.balances:read": "Voir les soldes de vos comptes",
      "scope.balances:write": "Mettre à jour les soldes de vos comptes",
      "scope.integrations:read": "Voir vos portefeuilles et plateformes connectés",
      "scope.integrations:write": "Ajouter et gérer vos portefeuilles et plateformes",
      "scope.defi:read": "Voir vos positions DeFi",
      "scope.defi:write": "Gérer vos positions DeFi",
      "scope.nft:read": "Voir vos collections de NFT",
      "scope.nft:write": "Gérer vos collections de NFT",
      "scope.tax:read": "Voir vos calculs fiscaux",
      "scope.tax:write": "Lancer et mettre à jour vos calculs fiscaux",
      "scope.accounting:read": "Voir votre grand livre comptable",
      "scope.accounting:write": "Modifier votre grand livre comptable",
      "scope.reports:read": "Voir vos rapports générés",
      "scope.reports:write": "Générer et gérer des rapports",
      "scope.workspace:read": "Voir les paramètres de votre espace de travail",
      "scope.workspace:write": "Modifier les paramètres de votre espace de travail",
      "scope.users:read": "Voir les informations de votre compte",
      "scope.users:write": "Mettre à jour les informations de votre compte",

      "integration.title": "Connectez un portefeuille ou une plateforme",
      "integration.lead": "Choisissez où se trouvent vos cryptos. L’accès est en lecture seule.",
      "integration.connected": "Connectés",
      "integration.searchLabel": "Rechercher un portefeuille ou une plateforme",
      "integration.searchPlaceholder": "Rechercher",
      "integration.noResults": "Aucun résultat pour « {q} ».",
      "integration.noProviders": "Aucun portefeuille ni aucune plateforme disponible.",
      "integration.allProviders": "Tous les portefeuilles et plateformes",
      "integration.wallet": "Portefeuille",
      "integration.exchange": "Plateforme",
      "integration.evm": "réseau EVM",
      "integration.formTitle": "Connecter {name}",
      "integration.formSubWallet": "Collez une adresse publique. Nous ne demandons jamais votre phrase secrète.",
      "integration.formSubExchange": "Utilisez une clé d’API en lecture seule de votre compte {name}.",
      "integration.submit": "Connecter {name}",
      "integration.added": "{name} est connecté.",
      "integration.continue": "Continuer",
      "integration.security": "Accès en lecture seule. Les clés sont chiffrées et jamais transmises à l’application.",
      "integration.required": "Ce champ est obligatoire.",
      "integration.badEvm": "Une adresse de type Ethereum commence par 0x suivi de 40 caractères hexadécimaux.",
      "integration.badSolana": "Une adresse Solana compte de 32 à 44 caractères base58.",
      "integration.badBitcoin": "Cela ne ressemble pas à une adresse Bitcoin (bc1…, 1… ou 3…).",
      "integration.remove": "Retirer",
      "integration.removeLabel": "Retirer {name}",
      "integration.removeConfirm": "Confirmer",
      "integration.removeConfirmLabel": "Confirmer le retrait de {name}",
      "integration.removed": "{name} a été retiré.",
      "csv.import": "Importer un CSV",
      "csv.importLabel": "Importer un CSV dans {name}",
      "csv.importing": "Import du fichier…",
      "csv.imported": "{name} : {n} transactions importées ({total} dans le fichier).",
      "csv.rowErrors.one": "Rien n’a été importé : {n} ligne du fichier est illisible.",
      "csv.rowErrors.other": "Rien n’a été importé : {n} lignes du fichier sont illisibles.",
      "csv.line": "Ligne {line} : {message}",
      "csv.tooLarge": "Le fichier dépasse 10 Mo.",
      "csv.failed": "Le fichier n’a pas pu être importé : {message}",
      "csv.row.unreadable": "ligne CSV illisible",
      "csv.row.missing": "la colonne {column} est vide",
      "csv.row.invalid_date": "date invalide « {value} » (format attendu : AAAA-MM-JJ HH:MM:SS en UTC, ou RFC 3339)",
      "csv.row.invalid_number": "nombre invalide « {value} » dans la colonne {column}",
      "csv.row.zero": "la colonne {column} vaut zéro",
      "csv.row.negative": "la colonne {column} est négative",
      "csv.row.convert_notes": "une ligne Convert doit avoir des notes du type « Converted 0.1 ETH to 300 USDC » (trouvé : « {value} »)",
      "csv.row.unknown_type": "type de transaction inconnu « {value} »",
      "csv.row.no_amount": "aucun montant envoyé ni reçu",
      "integration.verified": "Vérifié",
      "integration.verifiedLabel": "Propriété vérifiée par signature",
      "wallet.detected": "Connectez le portefeuille de votre navigateur",
      "wallet.or": "Ou collez une adresse, ou connectez une plateforme :",
      "wallet.evm": "Réseaux EVM · vérifié par signature",
      "wallet.solana": "Solana · vérifié par signature",
      "wallet.browser": "Portefeuille du navigateur",
      "wallet.title": "Connecter {wallet}",
      "wallet.sub": "Votre portefeuille vous demandera de vous connecter, puis de signer un message.",
      "wallet.connectWait": "Approuvez la demande de connexion dans {wallet}.",
      "wallet.signWait": "Signez le message dans {wallet} pour prouver que {address} vous appartient. Cela ne coûte rien et ne peut déplacer aucun fonds.",
      "wallet.verifying": "Vérification de la signature…",
      "wallet.pickTitle": "Choisissez un compte",
      "wallet.pickLead": "{wallet} partage plusieurs comptes. Lequel voulez-vous connecter ?",
      "wallet.account": "Compte {n}",
      "wallet.connected": "{name} est connecté et vérifié.",
      "wallet.rejected": "Vous avez refusé la demande dans {wallet}. Rien n’a été connecté.",
      "wallet.failed": "{wallet} n’a pas pu traiter la demande. Réessayez, ou collez plutôt l’adresse.",
      "wallet.noAccount": "{wallet} n’a partagé aucun compte.",
      "wallet.fine": "La signature prouve que le portefeuille vous appartient. Elle est gratuite et ne donne aucun accès à vos fonds.",

      "field.address": "Adresse du portefeuille",
      "field.apiKey": "Clé d’API",
      "field.secretKey": "Clé secrète",
      "field.password": "Phrase de passe",
      "field.accountName": "Nom du compte",
      "field.alias": "Surnom",
      "field.apiKey.coinbase": "Nom de la clé d’API",
      "field.apiKey.coinbase.hint": "organizations/…/apiKeys/…",
      "field.secretKey.coinbase": "Clé privée",
      "field.secretKey.coinbase.hint": "-----BEGIN EC PRIVATE KEY-----…",
      "field.secretKey.kraken": "Clé privée",

      "sandbox.title": "Mode bac à sable",
      "sandbox.text": "Cette application est en mode bac à sable : seules les adresses de test Ethereum et Solana peuvent être connectées.",
      "sandbox.textOne": "Cette application est en mode bac à sable : seule l’adresse de test {chain} ci-dessous peut être connectée.",
      "sandbox.useTest": "Utiliser l’adresse de test",
      "sandbox.ethereum": "Ethereum",
      "sandbox.solana": "Solana",

      "status.title": "Synchronisation de vos comptes",
      "status.lead": "Nous importons vos soldes. Cela continue en arrière-plan — vous pouvez terminer maintenant.",
      "status.titleDone": "Vos comptes sont connectés",
      "status.leadDone": "Vos soldes sont importés. Terminez pour les partager avec {app}.",
      "status.queued": "En attente",
      "status.syncing": "En cours",
      "status.synced": "Synchronisé",
      "status.failed": "Échec",
      "status.addAnother": "Ajouter un autre",
      "status.done": "Terminer",
      "status.empty": "Aucun portefeuille ni aucune plateforme connecté pour l’instant.",

      "done.title": "Tout est prêt",
      "done.lead": "{app} peut maintenant accéder aux données que vous avez autorisées.",
      "done.leadPage": "{app} peut maintenant accéder aux données que vous avez autorisées. Vous pouvez fermer cette fenêtre.",
      "done.redirecting": "Retour vers {app}…",

      "error.title": "Impossible de continuer",
      "error.closedTitle": "Connexion annulée",
      "error.closedLead": "Vous pouvez fermer cette fenêtre.",

      "errors.TOKEN_EXPIRED": "Ce lien a expiré. Fermez cette fenêtre et recommencez depuis {app}.",
      "errors.TOKEN_ALREADY_USED": "Ce lien a déjà été utilisé. Recommencez depuis {app}.",
      "errors.INVALID_TOKEN": "Ce lien n’est pas valide. Recommencez depuis {app}.",
      "errors.INVALID_CLIENT": "Cette application n’est pas correctement configurée pour Kryptos Connect.",
      "errors.INVALID_SCOPE": "Cette application demande des autorisations qui ne lui sont pas permises.",
      "errors.INVALID_GRANT": "Cette autorisation n’est plus valide. Recommencez.",
      "errors.SANDBOX_ADDRESS_NOT_ALLOWED": "Cette adresse ne peut pas être connectée en mode bac à sable. Utilisez l’adresse de test ci-dessous.",
      "errors.SANDBOX_PROVIDER_NOT_ALLOWED": "En mode bac à sable, seuls les portefeuilles Ethereum et Solana peuvent être connectés.",
      "errors.WORKSPACE_NOT_FOUND": "Cet espace de travail est introuvable, ou vous n’en êtes pas membre.",
      "errors.INSUFFICIENT_PERMISSIONS": "Vous devez être propriétaire ou administrateur de cet espace de travail pour le partager.",
      "errors.RATE_LIMITED": "Trop de tentatives. Patientez une minute puis réessayez.",
      "errors.RATE_LIMITED_IN": "Trop de tentatives. Réessayez {when}.",
      "errors.SERVICE_UNAVAILABLE": "Kryptos est momentanément indisponible. Réessayez dans un instant.",
      "errors.INTERNAL_ERROR": "Un problème est survenu de notre côté. Veuillez réessayer.",
      "errors.NETWORK_ERROR": "Impossible de joindre Kryptos. Vérifiez votre connexion puis réessayez.",
      "errors.MISSING_LINK_TOKEN": "Cette page a été ouverte sans jeton de liaison. Recommencez depuis {app}.",
      "errors.ORIGIN_NOT_ALLOWED": "Ce site n’est pas autorisé à ouvrir Kryptos Connect pour {app}.",
      "errors.ACCESS_DENIED": "Vous avez refusé de partager vos données avec {app}.",
      "errors.USER_CLOSED": "La connexion a été annulée.",
      "errors.INVALID_SIGNATURE": "La signature ne correspond pas à ce compte. Réessayez depuis votre portefeuille.",
      "errors.INVALID_SIGN_IN_MESSAGE": "Votre portefeuille a signé un message que nous ne pouvons pas accepter (autre site, réseau ou heure). Réessayez.",
      "errors.CONTRACT_WALLET_NOT_SUPPORTED": "Les portefeuilles à contrat intelligent ne peuvent pas encore prouver leur propriété ici. Collez plutôt l’adresse.",
      "errors.INVALID_NONCE": "Cette demande de connexion n’appartient pas à cette session. Réessayez.",
      "errors.NONCE_EXPIRED": "La demande de connexion a expiré au bout de 5 minutes. Réessayez.",
      "errors.NONCE_ALREADY_USED": "Cette demande de connexion a déjà été utilisée. Réessayez.",
      "errors.UNKNOWN": "Un problème est survenu. Veuillez réessayer."
    }
  };

  // ===================================================================
  // Constants
  // ===================================================================
  const SDK_SOURCE = "kryptos-connect-sdk"; // messages from the parent page
  const WIDGET_SOURCE = "kryptos-connect";  // messages we send
  // Version of the host message format (docs/webview-protocol.md); bumped only on a breaking change.
  const PROTOCOL_VERSION = 1;
  const TEST_ADDRESSES = {
    ethereum: "0x47c2e31e9ce22437bcf6313d2b9e98245a7bfcfa",
    solana: "2r8Hm938GzCQ2gXTP2deDarkn52ezYf1UUaEzMpkwrk1"
  };
  // Stepper position of each step (workspace belongs to "Sign in").
  const STEP_INDEX = { auth: 0, workspace: 0, consent: 1, integration: 2, status: 3, done: 4 };
  const POLL_INTERVAL_MS = 1500;     // sync status polling: first interval…
  const POLL_MAX_INTERVAL_MS = 6000; // …growing to this while syncs stay pending
  const RESEND_COOLDOWN_S = 30;
  const INIT_WAIT_MS = 10000;
  const SUCCESS_DELAY_MS = 1200; // long enough to read "You’re all set"
  // Errors after which the link token is unusable: show the error step.
  const FATAL_CODES = ["TOKEN_EXPIRED", "TOKEN_ALREADY_USED", "INVALID_TOKEN", "INVALID_CLIENT", "INVALID_SCOPE", "INVALID_GRANT"];
  // Session-load errors worth a "Try again" button.
  const RETRYABLE_CODES = ["NETWORK_ERROR", "SERVICE_UNAVAILABLE", "INTERNAL_ERROR", "RATE_LIMITED"];
  const ADDRESS_RULES = {
    evm: { re: /^0x[0-9a-fA-F]{40}$/, msg: "integration.badEvm" },
    solana: { re: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/, msg: "integration.badSolana" },
    bitcoin: { re: /^(?:(?:bc1|tb1)[02-9ac-hj-np-z]{6,87}|(?:BC1|TB1)[02-9AC-HJ-NP-Z]{6,87}|[13mn2][1-9A-HJ-NP-Za-km-z]{25,34})$/, msg: "integration.badBitcoin" }
  };
  const EVM_NAMES = /(^|[^a-z])(ethereum|eth|evm|polygon|matic|bsc|bnb-?chain|arbitrum|optimism|base|avalanche|avax|fantom|gnosis|linea|zksync|scroll|blast|mantle|celo|cronos|metamask|rabby)([^a-z]|$)/;
  const FIELD_ORDER = ["address", "accountName", "apiKey", "secretKey", "password", "alias"];

  // ===================================================================
  // State
  // ===================================================================
  const state = {
    linkToken: null,
    parentOrigin: null,      // declared origin of the embedding page
    mode: "page",            // iframe | page | webview
    theme: "light",
    lang: "en",
    redirectUri: null,
    authFilter: null,        // auth methods requested by the SDK (intersected with the session's)
    integrationHint: null,   // provider id requested by the SDK
    prefillHint: null,       // prefill requested by the SDK
    pageAppName: null,       // appName of the embedding page (shown beside the registered name)
    pageAppLogo: null,       // appLogo of the embedding page (https: or data:image/ only)
    session: null,
    step: "loading",
    email: "",
    providers: [],
    integrations: [],        // the workspace's integrations (server list)
    added: [],               // integrations added during this session
    provider: null,          // provider whose form is open
    hintConsumed: false,
    fatal: null,             // {code, message} of the error step
    pendingSuccess: null,    // success result waiting for the "done" animation
    finished: false,         // a terminal result has been delivered
    pollTimer: null,
    resendTimer: null,
    wallets: [],             // browser wallets found: {id, kind: evm|solana, name, icon, provider|wallet}
    walletFlow: 0,           // id of the wallet flow on screen (a stale one's results are dropped)
    walletConnectProjectId: null, // reserved: forwarded by the SDKs, no WalletConnect path yet
    resendLeft: 0,           // seconds until Resend is available
    codeLocked: false,       // too many wrong codes: Verify waits for a new code
    initTimer: null
  };

  // ===================================================================
  // Small DOM helpers
  // ===================================================================
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";

  /** Create an element; `props` may hold className, text, attrs {}, dataset {}. */
  function h(tag, props, children) {
    const el = document.createElement(tag);
    props = props || {};
    if (props.className) el.className = props.className;
    if (props.text != null) el.textContent = props.text;
    if (props.attrs) for (const k in props.attrs) if (props.attrs[k] != null) el.setAttribute(k, props.attrs[k]);
    (children || []).forEach((c) => c && el.appendChild(typeof c === "string" ? document.createTextNode(c) : c));
    return el;
  }

  /** An <svg><use href="#i-name"></svg> icon from the sprite in widget.html. */
  function icon(name, extra) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "kc-icon" + (extra ? " " + extra : ""));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(SVG_NS, "use");
    use.setAttribute("href", "#i-" + name);
    svg.appendChild(use);
    return svg;
  }

  /** Fill a .kc-logo box with an image, or initials / an icon when absent or broken. */
  function fillLogo(box, src, name, fallbackIcon) {
    box.textContent = "";
    const fallback = () => {
      box.textContent = "";
      if (fallbackIcon) box.appendChild(icon(fallbackIcon));
      else box.textContent = initials(name);
    };
    // https:, data:image/, a path, or this server's own URL (its provider logos).
    if (src && (/^(https:|data:image\/|\/[^/])/i.test(src) || src.indexOf(window.location.origin + "/") === 0)) {
      const img = h("img", { attrs: { src: src, alt: "", loading: "lazy", referrerpolicy: "no-referrer" } });
      img.addEventListener("error", fallback, { once: true });
      box.appendChild(img);
    } else {
      fallback();
    }
  }

  function initials(name) {
    const words = String(name || "?").trim().split(/\s+/);
    return ((words[0] || "?")[0] + (words[1] ? words[1][0] : "")).toUpperCase();
  }

  function shortAddress(a) {
    return a && a.length > 16 ? a.slice(0, 8) + "…" + a.slice(-6) : a || "";
  }

  // ===================================================================
  // i18n
  // ===================================================================
  function t(key, vars) {
    const table = MESSAGES[state.lang] || MESSAGES.en;
    let s = table[key];
    if (s == null) s = MESSAGES.en[key];
    if (s == null) return key;
    const all = Object.assign({ app: appName() }, vars);
    return s.replace(/\{(\w+)\}/g, (m, k) => (all[k] != null ? String(all[k]) : m));
  }

  /** `t` of `key.<plural category of n>` (Intl.PluralRules of the language; "other" if missing). */
  function tn(key, n, vars) {
    const category = new Intl.PluralRules(state.lang).select(n);
    const table = MESSAGES[state.lang] || MESSAGES.en;
    const chosen = table[key + "." + category] != null ? key + "." + category : key + ".other";
    return t(chosen, Object.assign({ n: n }, vars));
  }

  function pickLang(raw) {
    const l = String(raw || "").toLowerCase().slice(0, 2);
    return MESSAGES[l] ? l : "en";
  }

  /** Translate the static markup (data-i18n, data-i18n-placeholder, data-i18n-aria-label). */
  function translateStatic() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.getAttribute("data-i18n")); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      el.setAttribute("placeholder", t(el.getAttribute("data-i18n-placeholder")));
    });
    document.querySelectorAll("[data-i18n-aria-label]").forEach((el) => {
      el.setAttribute("aria-label", t(el.getAttribute("data-i18n-aria-label")));
    });
  }

  function appName() {
    const c = state.session && state.session.client;
    if (c && c.name) return c.name;
    return (MESSAGES[state.lang] || MESSAGES.en)["common.theApp"];
  }

  // ===================================================================
  // Theming
  // ===================================================================
  function applyTheme(theme) {
    state.theme = ["light", "dark", "auto"].indexOf(theme) >= 0 ? theme : "light";
    document.documentElement.setAttribute("data-kc-theme", state.theme);
  }

  /** Apply {"--kc-…": value} overrides through CSSOM (CSP-safe). */
  function applyCssVars(vars) {
    if (!vars || typeof vars !== "object") return;
    const root = document.documentElement.style;
    Object.keys(vars).forEach((name) => {
      const value = vars[name];
      if (!/^--kc-[a-z0-9-]+$/.test(name) || typeof value !== "string") return;
      // Plain values only: no url() (no outbound requests), no declaration breakers.
      if (value.length > 200 || /url\(|[;{}<>]|expression/i.test(value)) return;
      root.setProperty(name, value);
    });
    // Tints use --kc-primary-rgb: derive it when only a hex --kc-primary was given.
    const hex = /^#([0-9a-f]{6})$/i.exec(String(vars["--kc-primary"] || "").trim());
    if (hex && !vars["--kc-primary-rgb"]) {
      const n = parseInt(hex[1], 16);
      root.setProperty("--kc-primary-rgb", [(n >> 16) & 255, (n >> 8) & 255, n & 255].join(", "));
    }
    // A client colour must stay readable (WCAG AA): text on the primary fill, and the
    // primary used as text (links) on the card, unless the client set those too.
    if (hex) {
      const primary = "#" + hex[1];
      if (!vars["--kc-primary-text"]) {
        root.setProperty("--kc-primary-text", contrast(primary, "#ffffff") >= contrast(primary, "#03261c") ? "#ffffff" : "#03261c");
      }
      if (!vars["--kc-link"]) root.setProperty("--kc-link", readableOn(primary, isDark() ? "#0a0a0a" : "#ffffff"));
    }
  }

  function isDark() {
    return state.theme === "dark" ||
      (state.theme === "auto" && !!window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  }

  function rgbOf(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }

  /** WCAG relative luminance of #rrggbb. */
  function luminance(hex) {
    const c = rgbOf(hex).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    const x = luminance(a), y = luminance(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }

  /** `hex`, darkened (on light) or lightened (on dark) until it reads at 4.5:1 on `bg`. */
  function readableOn(hex, bg) {
    const towardWhite = luminance(bg) < 0.2;
    let rgb = rgbOf(hex);
    for (let i = 0; i < 20; i++) {
      const cur = "#" + rgb.map((v) => v.toString(16).padStart(2, "0")).join("");
      if (contrast(cur, bg) >= 4.6) return cur;
      rgb = rgb.map((v) => Math.round(towardWhite ? v + (255 - v) * 0.15 : v * 0.85));
    }
    return towardWhite ? "#ffffff" : "#000000";
  }

  function parseJson(raw) {
    if (!raw) return null;
    try { return JSON.parse(raw); } catch (_) { return null; }
  }

  function originOf(url) {
    try { return new URL(url).origin; } catch (_) { return null; }
  }

  // ===================================================================
  // Host messaging
  // ===================================================================
  function inFrame() {
    try { return window.parent && window.parent !== window; } catch (_) { return true; }
  }

  /** Is the declared parent origin one of the client's allowed origins? */
  function parentOriginAllowed() {
    const s = state.session;
    if (!s || !Array.isArray(s.allowed_origins) || !state.parentOrigin) return false;
    return s.allowed_origins.some((o) => originOf(o) === state.parentOrigin);
  }

  /**
   * Send a message to whoever hosts the widget.
   * - React Native WebView: always (it is the native host itself).
   * - iframe: never "*"; only to the declared parent origin, and only when
   *   the session lists it in allowed_origins. Exception: before any session
   *   could be loaded, bare error/close notices (no token material) may go to
   *   the declared origin so the host can tear the overlay down. postMessage
   *   with an explicit targetOrigin only delivers if the parent really is
   *   that origin, and the server's frame-ancestors already limits embedders.
   */
  function postToHost(msg) {
    const payload = Object.assign({ source: WIDGET_SOURCE, version: PROTOCOL_VERSION }, msg);
    const rn = window.ReactNativeWebView;
    if (rn && typeof rn.postMessage === "function") {
      try { rn.postMessage(JSON.stringify(payload)); } catch (_) { /* ignore */ }
    }
    if (!inFrame() || !state.parentOrigin) return;
    const preSessionNotice = !state.session && (msg.type === "error" || msg.type === "close");
    if (parentOriginAllowed() || preSessionNotice) {
      window.parent.postMessage(payload, state.parentOrigin);
    }
  }

  /**
   * Deliver the terminal result exactly once:
   * {type:"success", public_token|null} | {type:"error", code, message} | {type:"close"}.
   */
  function finish(result) {
    if (state.finished) return;
    state.finished = true;
    stopPolling();
    postToHost(result);

    if (state.mode === "page" && state.redirectUri) {
      const url = safeRedirect(state.redirectUri);
      if (url) {
        if (result.type === "success") {
          if (result.public_token) url.searchParams.set("public_token", result.public_token);
          else url.searchParams.set("status", "success");
        } else {
          url.searchParams.set("error", result.type === "close" ? "USER_CLOSED" : result.code);
        }
        window.location.assign(url.toString());
        return;
      }
    }
    // Standalone page without redirect: nobody receives the result, so say
    // what happened on screen (and try to close a popup window).
    if (state.mode === "page" && !inFrame() && result.type !== "success") {
      if (result.type === "close") showClosed(t("error.closedTitle"), t("error.closedLead"));
      else showClosed(t("error.title"), result.message);
      try { window.close(); } catch (_) { /* ignore */ }
    }
  }

  /**
   * The redirect target, only if it is exactly one of the client's registered redirect URIs
   * (never an arbitrary URL: that would hand the public token to whoever built the link).
   */
  function safeRedirect(raw) {
    const registered = (state.session && state.session.redirect_uris) || [];
    if (registered.indexOf(raw) < 0) return null;
    try {
      const u = new URL(raw);
      return u.protocol === "https:" || u.protocol === "http:" ? u : null;
    } catch (_) { return null; }
  }

  /** Close button / Escape: report a pending fatal error, else a plain close. */
  function requestClose() {
    if (state.finished) return;
    // The flow already completed: closing must not lose the public token.
    if (state.pendingSuccess) finish(state.pendingSuccess);
    else if (state.fatal) finish({ type: "error", code: state.fatal.code, message: state.fatal.message });
    else finish({ type: "close" });
  }

  // ===================================================================
  // API client
  // ===================================================================
  class ApiError extends Error {
    constructor(code, message, status) {
      super(message || code);
      this.code = code || "UNKNOWN";
      this.status = status || 0;
    }
  }

  const STATUS_CODES = { 400: "INVALID_REQUEST", 401: "INVALID_TOKEN", 403: "INSUFFICIENT_PERMISSIONS", 404: "WORKSPACE_NOT_FOUND", 429: "RATE_LIMITED", 503: "SERVICE_UNAVAILABLE" };

  /** Call a widget endpoint with X-LINK-TOKEN; unwrap {success, data} or throw ApiError. */
  async function api(method, path, body) {
    const headers = { "Accept": "application/json", "X-LINK-TOKEN": state.linkToken };
    const init = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(BASE + path, init);
    } catch (_) {
      throw new ApiError("NETWORK_ERROR", "", 0);
    }
    let json = null;
    try { json = await res.json(); } catch (_) { /* 202 / 204 may have no body */ }
    const fail = (e) => {
      // Retry-After: seconds (or an HTTP date) before asking again.
      const ra = res.headers.get("Retry-After");
      const secs = ra == null ? NaN : /^\d+$/.test(ra.trim()) ? Number(ra) : (Date.parse(ra) - Date.now()) / 1000;
      if (isFinite(secs) && secs > 0) e.retryAfter = secs;
      return e;
    };
    if (json && json.success === false) throw fail(new ApiError(json.code || "UNKNOWN", json.error, res.status));
    if (!res.ok) throw fail(new ApiError(STATUS_CODES[res.status] || "INTERNAL_ERROR", "", res.status));
    return json && Object.prototype.hasOwnProperty.call(json, "data") ? json.data : json;
  }

  /** The message to show for an error: catalog text by code, server text as fallback. */
  function friendly(err) {
    const code = (err && err.code) || "UNKNOWN";
    const serverMsg = (err && err.message && err.message !== code) ? err.message : "";
    if (code === "INVALID_REQUEST") return serverMsg || t("errors.UNKNOWN");
    if (code === "RATE_LIMITED" && err.retryAfter) return waitText("errors.RATE_LIMITED_IN", err.retryAfter);
    const key = "errors." + code;
    if (MESSAGES.en[key]) return t(key, { eth: TEST_ADDRESSES.ethereum, sol: TEST_ADDRESSES.solana });
    return serverMsg || t("errors.UNKNOWN");
  }

  // ===================================================================
  // Feedback: error region, polite status, busy buttons
  // ===================================================================
  function showError(msg, code) {
    const box = $("kc-error");
    box.textContent = msg || "";
    if (code) box.setAttribute("data-code", code); else box.removeAttribute("data-code");
    if (msg && box.scrollIntoView) box.scrollIntoView({ block: "nearest" });
  }
  const clearError = () => showError("");

  function announce(msg) {
    const box = $("kc-status");
    box.textContent = "";
    // A fresh text node after a tick makes screen readers re-announce.
    setTimeout(() => { box.textContent = msg; }, 30);
  }

  /** Run an async action with `button` marked busy; route errors to `onError` or the default handler. */
  async function busy(button, action, onError) {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    clearError();
    try {
      await action();
    } catch (err) {
      (onError || handleError)(err);
    } finally {
      button.disabled = button.hasAttribute("data-locked"); // a lockout or a countdown holds it
      button.removeAttribute("aria-busy");
    }
  }

  /** Default error handling: fatal codes end the flow, the rest is shown inline. */
  function handleError(err) {
    if (!(err instanceof ApiError)) {
      console.error(err); // programming error: keep it visible to developers
      err = new ApiError("UNKNOWN", "");
    }
    if (FATAL_CODES.indexOf(err.code) >= 0) return fatal(err);
    showError(friendly(err), err.code);
  }

  // ===================================================================
  // Step switching
  // ===================================================================
  const STEPS = ["loading", "auth", "workspace", "consent", "integration", "status", "done", "error"];

  function showStep(step, focusTarget) {
    if (step !== "status" && step !== "integration") stopPolling();
    state.step = step;
    clearError();
    STEPS.forEach((s) => { $("step-" + s).hidden = s !== step; });
    $("kc-card").setAttribute("data-step", step);
    updateStepper(step);
    focusHeading(focusTarget || $("step-" + step));
    if (step !== "loading" && !state.finished) postToHost({ type: "step", step: step });
  }

  function updateStepper(step) {
    const list = $("kc-stepper");
    const idx = STEP_INDEX[step];
    list.hidden = idx == null;
    if (idx == null) return;
    Array.prototype.forEach.call(list.children, (li, i) => {
      // A returning user skips sign-in, and consent too when the grant already covers the scopes.
      const s = state.session;
      const skipped = !!(s && s.is_authorized) && (i === 0 || (i === 1 && !s.consent_required));
      li.classList.toggle("is-done", i < idx || skipped);
      li.classList.toggle("is-current", i === idx);
      if (i === idx) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    });
  }

  /** Move focus to the first visible heading inside `container`. */
  function focusHeading(container) {
    const heading = Array.prototype.find.call(
      container.querySelectorAll("h1"),
      (el) => !el.closest("[hidden]")
    );
    if (heading) requestAnimationFrame(() => heading.focus({ preventScroll: false }));
  }

  /** Show a sub-view of a step (e.g. the email form inside AUTH). */
  function showView(step, viewId) {
    const section = $("step-" + step);
    Array.prototype.forEach.call(section.children, (el) => {
      if (el.classList.contains("kc-view")) el.hidden = el.id !== viewId;
    });
    focusHeading($(viewId));
  }

  // ===================================================================
  // Boot
  // ===================================================================
  function boot() {
    readFragment();
    document.documentElement.setAttribute("data-kc-mode", state.mode);
    translateStatic();
    bindEvents();
    window.addEventListener("message", onParentMessage);
    discoverWallets();

    if (state.linkToken) {
      loadSession();
    } else {
      // Wait for the SDK's init message; give up after a while.
      state.initTimer = setTimeout(() => {
        if (!state.linkToken) fatal(new ApiError("MISSING_LINK_TOKEN", ""));
      }, INIT_WAIT_MS);
    }
  }

  /** Read the fragment, then remove it from the address bar and history at once. */
  function readFragment() {
    const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    if (window.location.hash) {
      history.replaceState(history.state, "", window.location.pathname + window.location.search);
    }
    state.linkToken = params.get("link_token") || null;
    state.parentOrigin = originOf(params.get("origin")) || (inFrame() ? originOf(document.referrer) : null);
    state.lang = pickLang(params.get("lang") || params.get("language") || navigator.language);
    state.redirectUri = params.get("redirect_uri") || null;
    state.integrationHint = params.get("integration") || null;
    state.prefillHint = parseJson(params.get("prefill"));
    state.walletConnectProjectId = params.get("walletconnect_project_id") || null;
    setPageBrand(params.get("app_name"), params.get("app_logo"));
    const auth = params.get("auth");
    state.authFilter = auth ? auth.split(/[\s,]+/).filter(Boolean) : null;

    const mode = params.get("mode");
    if (["iframe", "page", "webview"].indexOf(mode) >= 0) state.mode = mode;
    else state.mode = window.ReactNativeWebView ? "webview" : inFrame() ? "iframe" : "page";

    applyTheme(params.get("theme") || "light");
    applyCssVars(parseJson(params.get("css")));
  }

  /** Token delivery by postMessage from the SDK (origin-checked, first one wins). */
  function onParentMessage(event) {
    if (state.linkToken || state.finished) return;
    if (!state.parentOrigin || event.origin !== state.parentOrigin || event.source !== window.parent) return;
    const d = event.data;
    if (!d || typeof d !== "object" || d.source !== SDK_SOURCE || d.type !== "init") return;
    if (typeof d.link_token !== "string" || !d.link_token) return;

    clearTimeout(state.initTimer);
    state.linkToken = d.link_token;
    if (d.theme) applyTheme(d.theme);
    if (d.language) { state.lang = pickLang(d.language); translateStatic(); }
    applyCssVars(d.cssVars);
    if (d.integrationName) state.integrationHint = String(d.integrationName);
    if (d.prefill && typeof d.prefill === "object") state.prefillHint = d.prefill;
    if (d.appName || d.appLogo) setPageBrand(d.appName, d.appLogo);
    if (Array.isArray(d.authMethods)) state.authFilter = d.authMethods;
    if (typeof d.walletConnectProjectId === "string") state.walletConnectProjectId = d.walletConnectProjectId;
    loadSession();
  }

  function bindEvents() {
    $("kc-close").addEventListener("click", requestClose);
    $("error-close").addEventListener("click", requestClose);
    $("error-retry").addEventListener("click", () => { state.fatal = null; loadSession(); });
    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      // Let Escape clear a non-empty search box first, as browsers do natively.
      if (e.target && e.target.id === "provider-search" && e.target.value) return;
      e.preventDefault();
      requestClose();
    });

    // AUTH
    $("auth-email-btn").addEventListener("click", () => showView("auth", "auth-email-form"));
    $("auth-anon-btn").addEventListener("click", (e) => busy(e.currentTarget, signInAnonymously));
    $("auth-email-back").addEventListener("click", () => { clearError(); showView("auth", "auth-choose"); });
    $("auth-email-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("email-submit"), startEmail); });
    $("auth-code-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("code-submit"), verifyCode); });
    $("auth-code-back").addEventListener("click", () => { clearError(); setCodeLocked(false); showView("auth", "auth-email-form"); });
    $("code-resend").addEventListener("click", (e) => busy(e.currentTarget, resendCode));
    $("code-input").addEventListener("input", (e) => {
      const digits = e.target.value.replace(/\D/g, "").slice(0, 6);
      if (digits !== e.target.value) e.target.value = digits;
      e.target.removeAttribute("aria-invalid");
    });

    // CONSENT
    $("consent-allow").addEventListener("click", (e) => busy(e.currentTarget, () => consent(true)));
    $("consent-deny").addEventListener("click", (e) => busy(e.currentTarget, () => consent(false)));

    // INTEGRATION
    $("provider-search").addEventListener("input", renderProviders);
    $("provider-search").addEventListener("keydown", (e) => {
      // Enter on the search box opens the single / first match.
      if (e.key !== "Enter") return;
      e.preventDefault();
      const first = filteredProviders()[0];
      if (first) openProviderForm(first);
    });
    $("integration-back").addEventListener("click", backToProviders);
    $("wallet-back").addEventListener("click", () => { state.walletFlow += 1; backToProviders(); });
    $("integration-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("integration-submit"), submitIntegration); });
    $("integration-continue").addEventListener("click", enterStatus);
    $("use-test-address").addEventListener("click", useTestAddress);

    // STATUS
    $("status-add").addEventListener("click", () => enterIntegration());
    $("status-done").addEventListener("click", (e) => busy(e.currentTarget, complete));
  }

  // ===================================================================
  // Session
  // ===================================================================
  async function loadSession() {
    showStep("loading");
    let s;
    try {
      s = await api("GET", "/widget/session");
    } catch (err) {
      return fatal(err instanceof ApiError ? err : new ApiError("UNKNOWN", ""), { retry: true });
    }
    state.session = s || {};
    renderHeader();
    translateStatic(); // strings that mention the app name

    // In an iframe we must know who embeds us before saying anything.
    if (state.mode === "iframe" && inFrame() && !parentOriginAllowed()) {
      return fatal(new ApiError("ORIGIN_NOT_ALLOWED", ""));
    }
    postToHost({ type: "ready" });
    resume();
  }

  /**
   * Pick the first step still to do. A reloaded widget (e.g. a WebView
   * reload mid-flow) resumes where the link session stands.
   */
  function resume() {
    const s = state.session;
    if (s.consent === false) return fatal(new ApiError("ACCESS_DENIED", ""));
    // A returning user (link token made with an access token): INIT → INTEGRATION → STATUS,
    // with a consent step only for scopes the grant does not hold yet.
    if (s.is_authorized) return s.consent_required ? enterConsent() : enterIntegration();
    if (s.consent === true) return enterIntegration();
    if (s.user && s.workspace) return enterConsent();
    enterAuth();
  }

  /**
   * The page's own branding (SDK `appName` / `appLogo`): plain text of at most 60
   * characters, a logo only from https: or a data:image/ URL. It is shown beside the
   * registered client name, never instead of it, so a page can brand the flow but cannot
   * pass itself off as another client.
   */
  function setPageBrand(name, logo) {
    const clean = String(name || "").replace(/[\u0000-\u001f\u007f]/g, " ").replace(/\s+/g, " ").trim().slice(0, 60);
    state.pageAppName = clean || null;
    const src = typeof logo === "string" ? logo.trim() : "";
    state.pageAppLogo = /^(https:\/\/|data:image\/(png|jpeg|gif|webp|svg\+xml)[;,])/i.test(src) && src.length <= 100000 ? src : null;
  }

  /** The name in the header: the page's appName when it differs from the registered name. */
  function brandName() {
    const page = state.pageAppName;
    return page && page.toLowerCase() !== appName().toLowerCase() ? page : null;
  }

  function renderHeader() {
    const c = state.session.client || {};
    const page = brandName();
    $("kc-app-name").textContent = page || appName();
    $("kc-app-name").setAttribute("data-testid", "brand-name");
    $("kc-app-logo").classList.remove("kc-logo--kryptos");
    const sub = $("kc-brand-sub");
    sub.hidden = false;
    sub.setAttribute("data-testid", "brand-via");
    sub.textContent = page ? t("header.viaClient", { client: appName() }) : t("header.via");
    sub.removeAttribute("data-i18n"); // set here, not by translateStatic
    fillLogo($("kc-app-logo"), state.pageAppLogo || c.logo, page || appName());
    $("kc-sandbox-badge").hidden = c.mode !== "sandbox";
  }

  function isSandbox() {
    return !!(state.session && state.session.client && state.session.client.mode === "sandbox");
  }

  /** Merged prefill: the SDK's hint, overridden by what the server stored on the link token. */
  function prefill() {
    return Object.assign({}, state.prefillHint || {}, (state.session && state.session.prefill) || {});
  }

  // ===================================================================
  // AUTH
  // ===================================================================
  function authMethods() {
    let methods = (state.session.auth_methods || ["email", "anonymous"]).filter((m) => m === "email" || m === "anonymous");
    if (state.authFilter) {
      const narrowed = methods.filter((m) => state.authFilter.indexOf(m) >= 0);
      if (narrowed.length) methods = narrowed;
    }
    return methods;
  }

  function enterAuth() {
    const methods = authMethods();
    const email = methods.indexOf("email") >= 0;
    const anon = methods.indexOf("anonymous") >= 0;
    $("auth-title").textContent = t("auth.title");
    $("auth-lead").textContent = t("auth.lead");
    $("auth-email-btn").hidden = !email;
    $("auth-anon-btn").hidden = !anon;
    $("auth-anon-note").hidden = !anon;
    $("auth-email-back").hidden = !anon; // nothing to go back to with email only

    const p = prefill();
    if (p.email && !$("email-input").value) $("email-input").value = String(p.email);

    showStep("auth");
    // Email only: go straight to the form.
    showView("auth", email && !anon ? "auth-email-form" : "auth-choose");
  }

  async function signInAnonymously() {
    const data = await api("POST", "/widget/auth/anonymous");
    state.session.user = Object.assign({ anonymous: true }, state.session.user, { user_id: data && data.user_id });
    if (data && data.workspace_id) state.session.workspace = { workspace_id: data.workspace_id };
    enterConsent();
  }

  async function startEmail() {
    const input = $("email-input");
    const email = input.value.trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
      throw new ApiError("CLIENT_VALIDATION", t("auth.invalidEmail"));
    }
    input.removeAttribute("aria-invalid");
    const sent = await api("POST", "/widget/auth/email/start", { email: email }).catch(emailThrottle);
    state.email = email;
    $("code-lead").textContent = t("auth.codeLead", { email: email });
    $("code-input").value = "";
    setCodeNote("");
    setCodeLocked(false);
    startResendCooldown(sent && sent.resend_after);
    showView("auth", "auth-code-form");
  }

  /** Resend: a new code replaces the old one; the field is emptied and the screen says so. */
  async function resendCode() {
    const sent = await api("POST", "/widget/auth/email/start", { email: state.email }).catch(emailThrottle);
    const input = $("code-input");
    input.value = "";
    input.removeAttribute("aria-invalid");
    setCodeLocked(false);
    setCodeNote(t("auth.resent", { email: state.email }));
    startResendCooldown(sent && sent.resend_after);
    input.focus();
  }

  /** A visible note under the code field (also announced). */
  function setCodeNote(text) {
    const note = $("code-note");
    note.textContent = text;
    note.hidden = !text;
    if (text) announce(text);
  }

  /**
   * A 429 on sending a code: say when a new one can be asked for (Retry-After when the
   * server sends it) and keep Resend disabled until then.
   */
  function emailThrottle(err) {
    if (!(err instanceof ApiError) || err.code !== "RATE_LIMITED") throw err;
    const justSent = /just sent/i.test(err.message);
    const wait = err.retryAfter || (justSent ? RESEND_COOLDOWN_S : 0);
    const text = wait ? waitText(justSent ? "auth.justSentIn" : "auth.tooManyCodesIn", wait) : t("auth.tooManyCodes");
    if ($("auth-code-form").hidden) throw new ApiError("RATE_LIMITED_EMAIL", text);
    if (wait) startResendCooldown(wait);
    // Locked out: the lockout message, now with the server's wait, says it all.
    throw new ApiError("RATE_LIMITED_EMAIL", state.codeLocked ? lockoutText() : text);
  }

  /** "in 25 s" / "in 3 min" for `seconds`, through the message `key` ({when}). */
  function waitText(key, seconds) {
    const s = Math.max(1, Math.ceil(seconds));
    return t(key, { when: s < 90 ? t("auth.inSeconds", { s: s }) : t("auth.inMinutes", { m: Math.ceil(s / 60) }) });
  }

  /** Verify is disabled after too many wrong codes, until a new code is sent. */
  function setCodeLocked(locked) {
    const btn = $("code-submit");
    state.codeLocked = locked;
    if (locked) { btn.setAttribute("data-locked", "true"); btn.disabled = true; }
    else { btn.removeAttribute("data-locked"); btn.disabled = false; }
    $("code-input").readOnly = locked;
    if (locked) showLockout();
  }

  /** The lockout message, with when Resend becomes available (kept current by the countdown). */
  function showLockout() {
    showError(lockoutText(), "CODE_LOCKED");
  }

  function lockoutText() {
    const left = state.resendLeft || 0;
    return left > 0 ? t("auth.lockedIn", { s: left }) : t("auth.lockedNow");
  }

  function startResendCooldown(seconds) {
    const btn = $("code-resend");
    let left = Math.max(1, Math.ceil(Number(seconds) || RESEND_COOLDOWN_S));
    clearInterval(state.resendTimer);
    const tick = () => {
      state.resendLeft = left;
      if (state.codeLocked) showLockout();
      if (left <= 0) {
        clearInterval(state.resendTimer);
        btn.removeAttribute("data-locked");
        btn.disabled = false;
        btn.textContent = t("auth.resend");
        return;
      }
      btn.setAttribute("data-locked", "true");
      btn.disabled = true;
      btn.textContent = t("auth.resendIn", { s: left });
      left -= 1;
    };
    tick();
    state.resendTimer = setInterval(tick, 1000);
  }

  /** The server's answer to a wrong code, in the user's language. */
  function codeError(err) {
    if (!(err instanceof ApiError) || err.code !== "INVALID_REQUEST") return err;
    const m = String(err.message || "");
    const left = /(\d+) attempt/.exec(m);
    if (left) return new ApiError("CODE_WRONG", t(Number(left[1]) === 1 ? "auth.wrongCodeOne" : "auth.wrongCode", { n: left[1] }));
    if (/expired/i.test(m)) return new ApiError("CODE_EXPIRED", t("auth.codeExpired"));
    if (/request a new one/i.test(m)) return new ApiError("CODE_LOCKED", "");
    return err;
  }

  async function verifyCode() {
    if (state.codeLocked) return;
    const input = $("code-input");
    const code = input.value.trim();
    if (!/^\d{6}$/.test(code)) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
      throw new ApiError("CLIENT_VALIDATION", t("auth.invalidCode"));
    }
    setCodeNote("");
    let data;
    try {
      data = await api("POST", "/widget/auth/email/verify", { email: state.email, code: code });
    } catch (err) {
      input.setAttribute("aria-invalid", "true");
      const mapped = codeError(err);
      if (mapped.code === "CODE_LOCKED" || mapped.code === "CODE_EXPIRED") {
        // This code is spent: only a new one helps.
        setCodeLocked(true);
        if (mapped.code === "CODE_EXPIRED") showError(mapped.message, mapped.code);
        return;
      }
      input.select();
      throw mapped;
    }
    clearInterval(state.resendTimer);
    state.session.user = Object.assign({}, state.session.user, { user_id: data && data.user_id, email: state.email });
    const workspaces = (data && Array.isArray(data.workspaces)) ? data.workspaces : [];
    if (workspaces.length > 1) return enterWorkspace(workspaces);
    if (workspaces.length === 1) return selectWorkspace(workspaces[0], true);
    enterConsent();
  }

  // ===================================================================
  // WORKSPACE
  // ===================================================================
  function enterWorkspace(workspaces) {
    const list = $("workspace-list");
    list.textContent = "";
    $("workspace-lead").textContent = t("workspace.lead");
    workspaces.forEach((ws) => {
      const role = String(ws.role || "").toLowerCase();
      const roleText = MESSAGES.en["workspace.role." + role] ? t("workspace.role." + role) : ws.role;
      const btn = h("button", {
        className: "kc-row kc-choice",
        attrs: { type: "button", "data-testid": "workspace-" + ws.workspace_id }
      }, [
        h("span", { className: "kc-logo", attrs: { "aria-hidden": "true" }, text: initials(ws.name) }),
        h("span", { className: "kc-row-main" }, [
          h("span", { className: "kc-row-title", text: ws.name || ws.workspace_id }),
          roleText ? h("span", { className: "kc-row-sub", text: roleText }) : null
        ]),
        icon("chevron-right", "kc-chevron")
      ]);
      btn.addEventListener("click", () => busy(btn, () => selectWorkspace(ws, false)));
      list.appendChild(h("li", {}, [btn]));
    });
    showStep("workspace");
  }

  /** Select a workspace; `auto` when it was the only one (errors then show on the workspace step). */
  async function selectWorkspace(ws, auto) {
    try {
      await api("POST", "/widget/workspace", { workspace_id: ws.workspace_id });
    } catch (err) {
      if (auto && FATAL_CODES.indexOf(err.code) < 0) enterWorkspace([ws]);
      throw err;
    }
    state.session.workspace = { workspace_id: ws.workspace_id, name: ws.name };
    enterConsent();
  }

  // ===================================================================
  // CONSENT
  // ===================================================================
  function enterConsent() {
    const s = state.session;
    const c = s.client || {};
    fillLogo($("consent-app-logo"), state.pageAppLogo || c.logo, brandName() || appName());
    $("consent-title").textContent = t("consent.title");
    $("consent-subtitle").textContent = t(s.is_authorized ? "consent.subtitleMore" : "consent.subtitle");
    $("consent-fineprint").textContent = t("consent.fineprint");

    const who = [];
    const user = s.user || {};
    if (user.email) who.push(t("consent.asEmail", { email: user.email }));
    else if (user.anonymous || user.is_anonymous) who.push(t("consent.asGuest"));
    if (s.workspace && s.workspace.name) who.push(t("consent.workspace", { name: s.workspace.name }));
    const account = $("consent-account");
    account.textContent = "";
    who.forEach((text, i) => {
      if (i) account.appendChild(h("span", { className: "kc-sep", text: " · ", attrs: { "aria-hidden": "true" } }));
      account.appendChild(h("span", { className: "kc-nowrap", text: text }));
    });
    account.hidden = who.length === 0;

    // A returning user is asked only for the scopes the grant lacks.
    const scopes = String((s.is_authorized ? s.consent_scopes : s.requested_scopes) || "").split(/\s+/).filter(Boolean);
    const guest = !user.email && !!(user.anonymous || user.is_anonymous);
    if (guest) $("consent-title").textContent = t("consent.guestTitle");
    const list = $("consent-scopes");
    list.textContent = "";
    consentLines(scopes, guest).forEach((line) => {
      list.appendChild(h("li", { className: "kc-scope" + (line.write ? " kc-scope--write" : ""), attrs: { "data-scope": line.scopes.join(" ") } }, [
        h("span", { className: "kc-scope-icon", attrs: { "aria-hidden": "true" } }, [icon(line.write ? "pencil" : "eye")]),
        h("span", { className: "kc-scope-text" }, [
          h("span", { className: "kc-scope-name", text: line.text }),
          line.write ? h("span", { className: "kc-scope-note", text: t("consent.writeBadge") }) : null
        ])
      ]));
    });
    // The raw scope ids, for the curious, behind a toggle.
    const raw = $("consent-raw");
    raw.textContent = "";
    scopes.forEach((scope) => raw.appendChild(h("li", {}, [h("code", { text: scope })])));
    $("consent-details-box").open = false;
    showStep("consent");
  }

  /** Read scopes grouped under one plain sentence each, in this order. */
  const SCOPE_GROUPS = [
    ["identity", ["openid", "profile", "users:read"]],
    ["email", ["email"]],
    ["portfolio", ["portfolios:read", "balances:read", "integrations:read"]],
    ["transactions", ["transactions:read"]],
    ["defi", ["defi:read", "nft:read"]],
    ["finance", ["tax:read", "accounting:read", "reports:read"]],
    ["workspace", ["workspace:read"]],
    ["offline", ["offline_access"]]
  ];

  /**
   * What the user is asked, in words: one line per group of read scopes present, one per
   * write scope, the raw id for a scope we do not know. A guest has no email address, so
   * the email line is left out for guests (the raw id stays in the details).
   */
  function consentLines(scopes, guest) {
    const lines = [];
    const used = {};
    SCOPE_GROUPS.forEach((g) => {
      const present = g[1].filter((sc) => scopes.indexOf(sc) >= 0);
      if (!present.length) return;
      present.forEach((sc) => { used[sc] = true; });
      if (g[0] === "email" && guest) return;
      const key = g[0] === "identity" && guest ? "consent.g.identityGuest" : "consent.g." + g[0];
      lines.push({ text: t(key), scopes: present, write: false });
    });
    scopes.forEach((sc) => {
      if (used[sc]) return;
      const key = "scope." + sc;
      lines.push({ text: MESSAGES.en[key] ? t(key) : sc, scopes: [sc], write: /:write$/.test(sc) });
    });
    return lines;
  }

  async function consent(approve) {
    if (!approve) {
      // Record the refusal, but end the flow whatever the server says.
      try { await api("POST", "/widget/consent", { approve: false }); } catch (_) { /* ignore */ }
      return finish({ type: "error", code: "ACCESS_DENIED", message: t("errors.ACCESS_DENIED") });
    }
    await api("POST", "/widget/consent", { approve: true });
    enterIntegration();
  }

  // ===================================================================
  // INTEGRATION
  // ===================================================================
  async function enterIntegration() {
    showStep("integration");
    showView("integration", "integration-list-view");
    const list = $("provider-list");
    list.textContent = "";
    list.setAttribute("aria-busy", "true");
    $("provider-empty").hidden = true;
    renderContinue();
    try {
      const [prov, integ] = await Promise.all([
        api("GET", "/widget/providers"),
        api("GET", "/widget/integrations").catch(() => null) // the list is a nicety here
      ]);
      // Only what this server can sync: the others are listed with isWorking: false.
      state.providers = (Array.isArray(prov) ? prov : (prov && prov.providers) || []).filter((p) => p.isWorking !== false);
      if (integ) state.integrations = normalizeIntegrations(integ);
    } catch (err) {
      list.removeAttribute("aria-busy");
      return handleError(err);
    }
    list.removeAttribute("aria-busy");
    addFallbackWallets();
    renderWallets();
    renderProviders();
    renderAdded();
    renderContinue();
    watchSync(false);

    // Deep link: preselect the provider named by the link token / SDK, once.
    const hint = !state.hintConsumed && ((state.session && state.session.integration_name) || state.integrationHint);
    if (hint) {
      state.hintConsumed = true;
      const wanted = String(hint).toLowerCase();
      const match = state.providers.find((p) => String(p.id).toLowerCase() === wanted) ||
        state.providers.find((p) => String(p.name || "").toLowerCase() === wanted);
      if (match) openProviderForm(match, true);
    }
  }

  function providerName(p) {
    return p.publicName || p.name || p.id;
  }

  function filteredProviders() {
    const q = $("provider-search").value.trim().toLowerCase();
    if (!q) return state.providers;
    return state.providers.filter((p) =>
      [p.id, p.name, p.publicName, p.chain, p.type].some((v) => v && String(v).toLowerCase().indexOf(q) >= 0));
  }

  function renderProviders() {
    const list = $("provider-list");
    const items = filteredProviders();
    list.textContent = "";
    items.forEach((p) => {
      const typeText = p.type === "exchange" ? t("integration.exchange") : t("integration.wallet");
      const logo = h("span", { className: "kc-logo", attrs: { "aria-hidden": "true" } });
      fillLogo(logo, p.logo, providerName(p));
      const btn = h("button", {
        className: "kc-row kc-choice",
        attrs: { type: "button", "data-testid": "provider-" + p.id }
      }, [
        logo,
        h("span", { className: "kc-row-main" }, [
          h("span", { className: "kc-row-title", text: providerName(p) }),
          h("span", { className: "kc-row-sub", text: p.chain === "evm" && p.type !== "exchange" ? typeText + " · " + t("integration.evm") : typeText })
        ]),
        icon("chevron-right", "kc-chevron")
      ]);
      btn.addEventListener("click", () => openProviderForm(p));
      list.appendChild(h("li", {}, [btn]));
    });
    const empty = $("provider-empty");
    const q = $("provider-search").value.trim();
    empty.hidden = items.length > 0;
    empty.textContent = q ? t("integration.noResults", { q: q }) : t("integration.noProviders");
  }

  /**
   * The workspace's integrations (those added in this session and, for a returning
   * user, those already there), listed above the providers.
   */
  function renderAdded() {
    const box = $("integration-added");
    const list = $("added-list");
    list.textContent = "";
    const known = state.integrations.slice();
    state.added.forEach((a) => { if (!known.some((i) => i.id && i.id === a.id)) known.push(a); });
    known.forEach((i) => {
      const row = integrationRow(i, "added-");
      if (i.id) {
        const pill = row.querySelector(".kc-pill");
        const end = h("span", { className: "kc-row-end" });
        row.replaceChild(end, pill);
        end.appendChild(pill);
        end.appendChild(csvCapable(i) ? h("span", { className: "kc-row-actions" }, [csvButton(i), removeButton(i)]) : removeButton(i));
      }
      list.appendChild(row);
    });
    box.hidden = known.length === 0;
  }

  /** Name shown for an integration in rows and announcements. */
  function integrationName(i) {
    const provider = state.providers.find((p) => p.id === i.provider) || {};
    return i.alias || i.publicName || providerName(provider) || i.provider;
  }

  /** "Remove" for one connected integration: a first click asks to confirm, a second removes it. */
  function removeButton(i) {
    const name = integrationName(i);
    const btn = h("button", {
      className: "kc-link kc-row-remove",
      text: t("integration.remove"),
      attrs: { type: "button", "data-testid": "integration-remove-" + i.id, "aria-label": t("integration.removeLabel", { name: name }) }
    });
    let revert = null;
    btn.addEventListener("click", () => {
      if (btn.getAttribute("data-confirm") !== "true") {
        btn.setAttribute("data-confirm", "true");
        btn.textContent = t("integration.removeConfirm");
        btn.setAttribute("aria-label", t("integration.removeConfirmLabel", { name: name }));
        revert = setTimeout(() => {
          btn.removeAttribute("data-confirm");
          btn.textContent = t("integration.remove");
          btn.setAttribute("aria-label", t("integration.removeLabel", { name: name }));
        }, 5000);
        return;
      }
      clearTimeout(revert);
      busy(btn, () => removeIntegration(i, name));
    });
    return btn;
  }

  /** Whether an integration accepts a CSV export (an exchange whose provider says `isCSV`). */
  function csvCapable(i) {
    const provider = state.providers.find((p) => p.id === i.provider) || {};
    return provider.type === "exchange" && provider.isCSV === true;
  }

  const CSV_MAX_BYTES = 10 * 1024 * 1024;

  /** "Import CSV" for an exchange account: the chosen file is sent as is (`text/csv`). */
  function csvButton(i) {
    const name = integrationName(i);
    const input = h("input", {
      attrs: { type: "file", accept: ".csv,text/csv", hidden: "", tabindex: "-1", "data-testid": "csv-input-" + i.id }
    });
    const btn = h("button", {
      className: "kc-link kc-row-remove",
      text: t("csv.import"),
      attrs: { type: "button", "data-testid": "csv-import-" + i.id, "aria-label": t("csv.importLabel", { name: name }) }
    });
    btn.addEventListener("click", () => input.click());
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      input.value = "";
      if (file) busy(btn, () => importCsv(i, name, file), csvError);
    });
    return h("span", { className: "kc-csv" }, [btn, input]);
  }

  async function importCsv(i, name, file) {
    if (file.size > CSV_MAX_BYTES) throw new ApiError("CSV_TOO_LARGE", t("csv.tooLarge"), 413);
    announce(t("csv.importing"));
    const old = $("csv-done");
    if (old) old.remove();
    let res;
    try {
      res = await fetch(BASE + "/widget/integrations/" + encodeURIComponent(i.id) + "/csv", {
        method: "POST",
        headers: { "Accept": "application/json", "Content-Type": "text/csv", "X-LINK-TOKEN": state.linkToken },
        body: file,
        credentials: "same-origin",
        cache: "no-store"
      });
    } catch (_) {
      throw new ApiError("NETWORK_ERROR", "", 0);
    }
    let json = null;
    try { json = await res.json(); } catch (_) { /* no body */ }
    if (!res.ok || !json || json.success !== true) {
      const err = new ApiError((json && json.code) || STATUS_CODES[res.status] || "INTERNAL_ERROR", (json && json.error) || "", res.status);
      err.rowErrors = json && Array.isArray(json.rowErrors) ? json.rowErrors : null;
      throw err;
    }
    const done = t("csv.imported", { name: name, n: json.data.imported, total: json.data.transactions });
    $("integration-added").appendChild(h("p", { className: "kc-csv-done", text: done, attrs: { id: "csv-done", "data-testid": "csv-done" } }));
    announce(done);
  }

  /** A row error in the widget's language (by its `code`), else the server's English text. */
  function rowMessage(r) {
    const key = "csv.row." + String(r.code || "");
    if (!r.code || !MESSAGES.en[key]) return r.message;
    return t(key, { column: r.column != null ? r.column : "", value: r.value != null ? r.value : "" });
  }

  /** A refused file: the rows at fault, one per line, or why the file was refused. */
  function csvError(err) {
    if (!(err instanceof ApiError)) return handleError(err);
    if (FATAL_CODES.indexOf(err.code) >= 0) return fatal(err);
    if (err.rowErrors && err.rowErrors.length) {
      const box = $("kc-error");
      box.textContent = "";
      box.setAttribute("data-code", err.code);
      box.appendChild(h("div", { className: "kc-csv-errors", attrs: { "data-testid": "csv-errors" } }, [
        h("p", { text: tn("csv.rowErrors", err.rowErrors.length) }),
        h("ul", {}, err.rowErrors.slice(0, 20).map((r) => h("li", { text: t("csv.line", { line: r.line, message: rowMessage(r) }) })))
      ]));
      if (box.scrollIntoView) box.scrollIntoView({ block: "nearest" });
      return;
    }
    if (err.status === 413) return showError(t("csv.tooLarge"), err.code);
    showError(t("csv.failed", { message: err.message || friendly(err) }), err.code);
  }

  async function removeIntegration(i, name) {
    try {
      await api("DELETE", "/widget/integrations/" + encodeURIComponent(i.id));
    } catch (err) {
      // Already gone (e.g. removed in another tab): drop it from the list all the same.
      if (!(err instanceof ApiError) || err.code !== "WORKSPACE_NOT_FOUND") throw err;
    }
    state.integrations = state.integrations.filter((x) => x.id !== i.id);
    state.added = state.added.filter((x) => x.id !== i.id);
    renderAdded();
    renderContinue();
    announce(t("integration.removed", { name: name }));
    $("provider-search").focus();
  }

  function renderContinue() {
    const btn = $("integration-continue");
    btn.hidden = !(state.added.length > 0 || state.integrations.length > 0);
    btn.textContent = t("integration.continue");
  }

  function backToProviders() {
    clearError();
    state.provider = null;
    renderAdded();
    renderContinue();
    showView("integration", "integration-list-view");
  }

  /** Default fields when the server sends none: an address for wallets, keys for exchanges. */
  function providerFields(p) {
    if (Array.isArray(p.fields) && p.fields.length) return p.fields;
    if (p.type === "exchange") {
      return [
        { name: "apiKey", required: true, secret: false },
        { name: "secretKey", required: true, secret: true },
        { name: "alias", required: false, secret: false }
      ];
    }
    return [{ name: "address", required: true, secret: false }, { name: "alias", required: false, secret: false }];
  }

  /** Which address syntax applies to this provider, if we know it. */
  function addressKind(p) {
    const key = (String(p.chain || "") + " " + String(p.id || "")).toLowerCase();
    if (/solana|(^|\s)sol(\s|$)/.test(key)) return "solana";
    if (/bitcoin|(^|\s)btc(\s|$)/.test(key)) return "bitcoin";
    if (p.isEVM === true || EVM_NAMES.test(key)) return "evm";
    return null;
  }

  function testAddressFor(p) {
    const kind = addressKind(p);
    if (kind === "evm") return TEST_ADDRESSES.ethereum;
    if (kind === "solana") return TEST_ADDRESSES.solana;
    return null;
  }

  function openProviderForm(p, fromHint) {
    clearError();
    state.provider = p;
    const name = providerName(p);
    fillLogo($("integration-form-logo"), p.logo, name, p.type === "exchange" ? "exchange" : "wallet");
    $("integration-form-title").textContent = t("integration.formTitle", { name: name });
    $("integration-form-sub").textContent = p.type === "exchange"
      ? t("integration.formSubExchange", { name: name })
      : t("integration.formSubWallet");
    $("integration-submit").textContent = t("integration.submit", { name: name });

    // Fields, in a stable order; prefill when the deep link named this provider (or none was named).
    const pre = (fromHint || !((state.session && state.session.integration_name) || state.integrationHint)) ? prefill() : {};
    const fields = providerFields(p).slice().sort((a, b) => FIELD_ORDER.indexOf(a.name) - FIELD_ORDER.indexOf(b.name));
    const box = $("integration-fields");
    box.textContent = "";
    fields.forEach((f) => box.appendChild(fieldRow(f, pre[f.name], p.id)));

    // Sandbox hint with the documented test addresses.
    const sandbox = isSandbox();
    $("sandbox-hint").hidden = !sandbox;
    if (sandbox) {
      const kind = addressKind(p);
      const own = kind === "evm" ? "sandbox.ethereum" : kind === "solana" ? "sandbox.solana" : null;
      $("sandbox-text").textContent = own ? t("sandbox.textOne", { chain: t(own) }) : t("sandbox.text");
      const addrList = $("sandbox-addresses");
      addrList.textContent = "";
      [["sandbox.ethereum", TEST_ADDRESSES.ethereum], ["sandbox.solana", TEST_ADDRESSES.solana]]
        .filter((pair) => !own || pair[0] === own)
        .forEach((pair) => {
          addrList.appendChild(h("li", { className: "kc-testaddr-item" }, [
            h("span", { className: "kc-testaddr-chain", text: t(pair[0]) }),
            h("code", { className: "kc-testaddr-value", attrs: { "data-testid": "sandbox-address" }, text: pair[1] })
          ]));
        });
      $("use-test-address").hidden = !(testAddressFor(p) && $("field-address"));
    }

    showView("integration", "integration-form");
  }

  function fieldRow(f, value, providerId) {
    const id = "field-" + f.name;
    // Our own words (translated) for the known fields, in the exchange's own terms where they
    // differ (`field.<name>.<provider>`); the catalogue's label otherwise.
    const own = "field." + f.name + "." + String(providerId || "");
    const key = MESSAGES.en[own] ? own : "field." + f.name;
    const label = MESSAGES.en[key] ? t(key) : f.label || f.name;
    const hint = MESSAGES.en[own + ".hint"] ? t(own + ".hint") : null;
    const input = h("input", {
      className: "kc-input" + (f.name === "address" ? " kc-input--mono" : ""),
      attrs: {
        id: id,
        name: f.name,
        type: f.secret ? "password" : "text",
        autocomplete: "off",
        autocapitalize: "off",
        spellcheck: "false",
        "data-testid": f.name + "-input",
        placeholder: hint,
        "aria-describedby": id + "-error",
        required: f.required ? "" : null
      }
    });
    if (value != null) input.value = String(value);
    input.addEventListener("input", () => setFieldError(input, ""));
    const labelEl = h("label", { className: "kc-label", attrs: { for: id } }, [label]);
    if (!f.required) labelEl.appendChild(h("span", { className: "kc-label-optional", text: " " + t("common.optional") }));
    return h("div", { className: "kc-field" }, [
      labelEl,
      input,
      h("p", { className: "kc-field-error", attrs: { id: id + "-error" } })
    ]);
  }

  function setFieldError(input, msg) {
    const err = $(input.id + "-error");
    if (err) err.textContent = msg;
    if (msg) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  }

  function useTestAddress() {
    const input = $("field-address");
    const addr = state.provider && testAddressFor(state.provider);
    if (!input || !addr) return;
    input.value = addr;
    setFieldError(input, "");
    input.focus();
  }

  /** Light client-side checks; the server stays the judge. Returns the body or null. */
  function collectIntegration() {
    const p = state.provider;
    const body = { provider: p.id };
    let firstBad = null;
    providerFields(p).forEach((f) => {
      const input = $("field-" + f.name);
      if (!input) return;
      const value = f.secret ? input.value : input.value.trim();
      let msg = "";
      if (!value && f.required) msg = t("integration.required");
      else if (value && f.name === "address") {
        const rule = ADDRESS_RULES[addressKind(p)];
        if (rule && !rule.re.test(value)) msg = t(rule.msg);
      }
      setFieldError(input, msg);
      if (msg && !firstBad) firstBad = input;
      if (value) body[f.name] = value;
    });
    if (firstBad) { firstBad.focus(); return null; }
    return body;
  }

  /** Maps the server's integration object (Data API shape) onto the fields the UI reads. */
  function normalizeIntegration(i) {
    if (!i || typeof i !== "object") return i;
    return Object.assign({}, i, {
      id: i.id || i.walletId,
      publicName: i.publicName || i.providerPublicName,
      address: i.address || i.publicAddress,
      lastError: i.lastError || i.message
    });
  }

  function normalizeIntegrations(data) {
    const list = Array.isArray(data) ? data : (data && data.integrations) || [];
    return list.map(normalizeIntegration);
  }

  async function submitIntegration() {
    const body = collectIntegration();
    if (!body) return;
    let created;
    try {
      created = normalizeIntegration(await api("POST", "/widget/integrations", body));
    } catch (err) {
      const input = $("field-address");
      if (input && err && err.code === "SANDBOX_ADDRESS_NOT_ALLOWED") {
        input.setAttribute("aria-invalid", "true");
        input.focus();
      }
      throw err;
    }
    const integ = Object.assign({ provider: body.provider, publicName: providerName(state.provider), address: body.address, alias: body.alias }, created);
    state.added.push(integ);
    state.integrations = state.integrations.filter((i) => i.id !== integ.id).concat([integ]);
    const name = integ.alias || integ.publicName;
    backToProviders();
    $("provider-search").value = "";
    renderProviders();
    // An exchange key that can also trade or withdraw is accepted with the server's warning.
    announce(t("integration.added", { name: name }) + (created && created.warning ? " " + created.warning : ""));
    $("integration-continue").focus();
    watchSync(false);
  }

  // ===================================================================
  // BROWSER WALLETS: EIP-6963 / EIP-1193 (EVM) and Wallet Standard (Solana), connected by
  // signing the server's sign-in message (EIP-4361 / Sign-In With Solana). The server
  // verifies the signature; the wallet's word is never taken for the address.
  // ===================================================================
  const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

  function base58(bytes) {
    const digits = [0];
    for (let i = 0; i < bytes.length; i++) {
      let carry = bytes[i];
      for (let j = 0; j < digits.length; j++) {
        carry += digits[j] << 8;
        digits[j] = carry % 58;
        carry = (carry / 58) | 0;
      }
      while (carry) { digits.push(carry % 58); carry = (carry / 58) | 0; }
    }
    let out = "";
    for (let k = 0; k < bytes.length - 1 && bytes[k] === 0; k++) out += "1";
    for (let q = digits.length - 1; q >= 0; q--) out += B58[digits[q]];
    return out;
  }

  function utf8Hex(text) {
    return "0x" + Array.prototype.map.call(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** Listen for wallets for the page's lifetime: they may announce themselves at any time. */
  function discoverWallets() {
    window.addEventListener("eip6963:announceProvider", (e) => {
      const d = e && e.detail;
      if (!d || !d.info || !d.provider || typeof d.provider.request !== "function") return;
      const id = "evm:" + String(d.info.uuid || d.info.rdns || d.info.name);
      if (state.wallets.some((w) => w.id === id)) return;
      // The same wallet, found earlier through window.ethereum, is replaced by its announcement.
      state.wallets = state.wallets.filter((w) => !(w.fallback && w.provider === d.provider));
      state.wallets.push({ id: id, kind: "evm", name: String(d.info.name || "").slice(0, 40), icon: d.info.icon, provider: d.provider });
      walletsChanged();
    });
    try { window.dispatchEvent(new Event("eip6963:requestProvider")); } catch (_) { /* old browser */ }
    // Wallet Standard: wallets register through either event, whichever side loads last.
    const register = function () {
      Array.prototype.forEach.call(arguments, addStandardWallet);
      return function () { /* unregistering is not needed for a short-lived page */ };
    };
    window.addEventListener("wallet-standard:register-wallet", (e) => {
      try { if (e && typeof e.detail === "function") e.detail({ register: register }); } catch (_) { /* a broken wallet */ }
    });
    try {
      window.dispatchEvent(new CustomEvent("wallet-standard:app-ready", { detail: { register: register } }));
    } catch (_) { /* old browser */ }
  }

  function addStandardWallet(w) {
    if (!w || !w.features || typeof w.name !== "string") return;
    const connect = w.features["standard:connect"];
    const sign = w.features["solana:signMessage"];
    const solana = Array.isArray(w.chains) && w.chains.some((c) => String(c).indexOf("solana:") === 0);
    if (!connect || !sign || !solana) return;
    const id = "sol:" + w.name;
    if (state.wallets.some((x) => x.id === id)) return;
    state.wallets.push({ id: id, kind: "solana", name: w.name.slice(0, 40), icon: w.icon, wallet: w });
    walletsChanged();
  }

  /** Wallets that only inject a global (no EIP-6963 / Wallet Standard). */
  function addFallbackWallets() {
    const eth = window.ethereum;
    if (eth && typeof eth.request === "function" && !state.wallets.some((w) => w.kind === "evm")) {
      state.wallets.push({ id: "evm:injected", kind: "evm", name: "", provider: eth, fallback: true });
    }
    const sol = window.solana || (window.phantom && window.phantom.solana);
    if (sol && typeof sol.connect === "function" && typeof sol.signMessage === "function" && !state.wallets.some((w) => w.kind === "solana")) {
      state.wallets.push({ id: "sol:injected", kind: "solana", name: "", legacy: sol, fallback: true });
    }
  }

  function walletsChanged() {
    if (state.step === "integration" && state.providers.length) renderWallets();
  }

  function walletName(w) {
    return w.name || t("wallet.browser");
  }

  /** The catalogue provider a wallet connects to: the wallet's EVM network when offered, else Ethereum. */
  function walletProvider(kind, chainId) {
    const offered = state.providers.filter((p) => p.type !== "exchange" && (kind === "solana" ? p.chain === "solana" : p.chain === "evm"));
    if (kind === "solana") return offered[0] || null;
    return offered.find((p) => chainId != null && Number(p.communityId) === chainId) ||
      offered.find((p) => p.id === "ethereum") || offered[0] || null;
  }

  function renderWallets() {
    const usable = state.wallets.filter((w) => walletProvider(w.kind, null));
    const list = $("wallet-list");
    list.textContent = "";
    usable.forEach((w) => {
      const logo = h("span", { className: "kc-logo", attrs: { "aria-hidden": "true" } });
      fillLogo(logo, w.icon, walletName(w), "wallet");
      const btn = h("button", {
        className: "kc-row kc-choice",
        attrs: { type: "button", "data-testid": "wallet-" + w.kind + "-" + walletName(w).toLowerCase().replace(/[^a-z0-9]+/g, "-") }
      }, [
        logo,
        h("span", { className: "kc-row-main" }, [
          h("span", { className: "kc-row-title", text: walletName(w) }),
          h("span", { className: "kc-row-sub", text: t(w.kind === "solana" ? "wallet.solana" : "wallet.evm") })
        ]),
        icon("chevron-right", "kc-chevron")
      ]);
      btn.addEventListener("click", () => connectWallet(w));
      list.appendChild(h("li", {}, [btn]));
    });
    $("wallet-section").hidden = usable.length === 0;
  }

  function setWalletWait(text) {
    $("wallet-accounts").hidden = true;
    $("wallet-wait").hidden = false;
    $("wallet-wait-text").textContent = text;
  }

  /** A wallet error: the user said no, or the wallet failed. */
  function walletError(w, err) {
    const code = err && err.code;
    const msg = String((err && err.message) || "");
    const rejected = code === 4001 || code === "ACTION_REJECTED" || /reject|denied|declin|cancel/i.test(msg);
    const e = new Error(msg);
    e.walletMessage = t(rejected ? "wallet.rejected" : "wallet.failed", { wallet: walletName(w) });
    e.walletCode = rejected ? "WALLET_REJECTED" : "WALLET_FAILED";
    return e;
  }

  /** Ask the wallet; a refusal or failure becomes a walletError. */
  async function fromWallet(w, promise) {
    try { return await promise; } catch (err) { throw walletError(w, err); }
  }

  /** Several accounts: the user picks one. Resolves with it, or never (Back starts over). */
  function pickAccount(w, accounts, addressOf) {
    return new Promise((resolve) => {
      $("wallet-title").textContent = t("wallet.pickTitle");
      $("wallet-sub").textContent = t("wallet.pickLead", { wallet: walletName(w) });
      $("wallet-wait").hidden = true;
      const list = $("wallet-accounts");
      list.textContent = "";
      accounts.forEach((a, n) => {
        const address = addressOf(a);
        const btn = h("button", {
          className: "kc-row kc-choice kc-account",
          attrs: { type: "button", "data-testid": "wallet-account-" + n, title: address }
        }, [
          h("span", { className: "kc-row-main" }, [
            h("span", { className: "kc-row-title", text: shortAddress(address) }),
            h("span", { className: "kc-row-sub", text: t("wallet.account", { n: n + 1 }) })
          ]),
          icon("chevron-right", "kc-chevron")
        ]);
        btn.addEventListener("click", () => resolve(a));
        list.appendChild(h("li", {}, [btn]));
      });
      list.hidden = false;
      focusHeading($("wallet-view"));
    });
  }

  async function connectWallet(w) {
    clearError();
    const flow = ++state.walletFlow;
    const live = () => flow === state.walletFlow && state.step === "integration";
    fillLogo($("wallet-logo"), w.icon, walletName(w), "wallet");
    $("wallet-title").textContent = t("wallet.title", { wallet: walletName(w) });
    $("wallet-sub").textContent = t("wallet.sub");
    setWalletWait(t("wallet.connectWait", { wallet: walletName(w) }));
    showView("integration", "wallet-view");
    try {
      const created = w.kind === "solana" ? await connectSolana(w, live) : await connectEvm(w, live);
      if (!created || !live()) return;
      const integ = normalizeIntegration(created);
      state.added.push(integ);
      state.integrations = state.integrations.filter((i) => i.id !== integ.id).concat([integ]);
      backToProviders();
      announce(t("wallet.connected", { name: integrationName(integ) }));
      $("integration-continue").focus();
      watchSync(false);
    } catch (err) {
      if (!live()) return;
      backToProviders();
      if (err && err.walletMessage) return showError(err.walletMessage, err.walletCode);
      handleError(err);
    }
  }

  async function connectEvm(w, live) {
    const req = (method, params) => fromWallet(w, w.provider.request(params ? { method: method, params: params } : { method: method }));
    const accounts = (await req("eth_requestAccounts")) || [];
    if (!live()) return null;
    const valid = accounts.filter((a) => typeof a === "string" && ADDRESS_RULES.evm.re.test(a));
    if (!valid.length) throw Object.assign(new Error("no account"), { walletMessage: t("wallet.noAccount", { wallet: walletName(w) }), walletCode: "WALLET_FAILED" });
    let chainId = null;
    try { chainId = parseInt(await w.provider.request({ method: "eth_chainId" }), 16); } catch (_) { /* Ethereum then */ }
    const provider = walletProvider("evm", isFinite(chainId) ? chainId : null);
    const address = valid.length > 1 ? await pickAccount(w, valid, (a) => a) : valid[0];
    if (!live()) return null;
    setWalletWait(t("wallet.signWait", { wallet: walletName(w), address: shortAddress(address) }));
    const challenge = await api("POST", "/widget/wallets/challenge", { provider: provider.id, address: address });
    if (!live()) return null;
    const signature = await req("personal_sign", [utf8Hex(challenge.message), challenge.address]);
    if (!live()) return null;
    setWalletWait(t("wallet.verifying"));
    return api("POST", "/widget/wallets/verify", { provider: provider.id, message: challenge.message, signature: String(signature) });
  }

  async function connectSolana(w, live) {
    const provider = walletProvider("solana", null);
    let accounts;
    if (w.wallet) {
      const out = await fromWallet(w, w.wallet.features["standard:connect"].connect());
      accounts = ((out && out.accounts) || w.wallet.accounts || []).filter((a) => a && typeof a.address === "string");
    } else {
      const out = await fromWallet(w, w.legacy.connect());
      const key = (out && out.publicKey) || w.legacy.publicKey;
      accounts = key ? [{ address: String(key) }] : [];
    }
    if (!live()) return null;
    if (!accounts.length) throw Object.assign(new Error("no account"), { walletMessage: t("wallet.noAccount", { wallet: walletName(w) }), walletCode: "WALLET_FAILED" });
    const account = accounts.length > 1 ? await pickAccount(w, accounts, (a) => a.address) : accounts[0];
    if (!live()) return null;
    setWalletWait(t("wallet.signWait", { wallet: walletName(w), address: shortAddress(account.address) }));
    const challenge = await api("POST", "/widget/wallets/challenge", { provider: provider.id, address: account.address });
    if (!live()) return null;
    const bytes = new TextEncoder().encode(challenge.message);
    let signature;
    if (w.wallet) {
      const out = await fromWallet(w, w.wallet.features["solana:signMessage"].signMessage({ account: account, message: bytes }));
      signature = (Array.isArray(out) ? out[0] : out).signature;
    } else {
      signature = (await fromWallet(w, w.legacy.signMessage(bytes, "utf8"))).signature;
    }
    if (!live()) return null;
    setWalletWait(t("wallet.verifying"));
    return api("POST", "/widget/wallets/verify", { provider: provider.id, message: challenge.message, signature: base58(new Uint8Array(signature)) });
  }

  // ===================================================================
  // STATUS
  // ===================================================================
  /** One integration with its sync pill; `testPrefix` keeps data-testids unique per list. */
  function integrationRow(i, testPrefix) {
    const status = ["queued", "syncing", "synced", "failed"].indexOf(i.syncStatus) >= 0 ? i.syncStatus : "queued";
    const provider = state.providers.find((p) => p.id === i.provider) || {};
    const name = i.alias || i.publicName || providerName(provider) || i.provider;
    const logo = h("span", { className: "kc-logo", attrs: { "aria-hidden": "true" } });
    fillLogo(logo, provider.logo, name);
    const pill = h("span", { className: "kc-pill kc-pill--" + status }, [
      status === "synced" ? icon("check") : status === "failed" ? icon("alert") : h("span", { className: "kc-spinner", attrs: { "aria-hidden": "true" } }),
      t("status." + status)
    ]);
    const sub = i.lastError && status === "failed"
      ? h("span", { className: "kc-row-sub kc-row-sub--error", text: i.lastError })
      : h("span", { className: "kc-row-sub kc-row-sub--mono", text: shortAddress(i.address) || i.accountName || "" });
    const title = h("span", { className: "kc-row-title", text: name });
    const head = i.isVerified
      ? h("span", { className: "kc-row-head" }, [title, h("span", {
        className: "kc-verified",
        attrs: { "data-testid": "verified-badge", title: t("integration.verifiedLabel") }
      }, [icon("check"), t("integration.verified")])])
      : title;
    return h("li", { className: "kc-row", attrs: { "data-testid": testPrefix + (i.id || i.provider), "data-status": status, "data-verified": i.isVerified ? "true" : null } }, [
      logo,
      h("span", { className: "kc-row-main" }, [head, sub]),
      pill
    ]);
  }

  function renderStatus() {
    const all = state.integrations;
    const synced = all.length > 0 && all.every((i) => i.syncStatus === "synced");
    $("status-title").textContent = t(synced ? "status.titleDone" : "status.title");
    $("status-lead").textContent = t(synced ? "status.leadDone" : "status.lead");
    const list = $("status-list");
    list.textContent = "";
    state.integrations.forEach((i) => list.appendChild(integrationRow(i, "integration-")));
    if (!state.integrations.length) list.appendChild(h("li", { className: "kc-empty", text: t("status.empty") }));
  }

  function enterStatus() {
    showStep("status");
    renderStatus();
    watchSync(true);
  }

  function pending(i) {
    return i.syncStatus !== "synced" && i.syncStatus !== "failed";
  }

  /**
   * Live sync statuses in every view that lists integrations (the connected list and the
   * status screen): poll while any is queued or syncing, until all settle. `now` polls at
   * once (the status screen fetches the list on entry).
   */
  function watchSync(now) {
    stopPolling();
    let interval = POLL_INTERVAL_MS;
    const poll = async () => {
      if (state.step !== "status" && state.step !== "integration") return;
      try {
        const list = normalizeIntegrations(await api("GET", "/widget/integrations"));
        if (state.step !== "status" && state.step !== "integration") return;
        state.integrations = list;
        state.added = state.added.map((a) => list.find((i) => i.id === a.id) || a);
        refreshSyncViews();
      } catch (err) {
        if (FATAL_CODES.indexOf(err.code) >= 0) return handleError(err);
        // transient: keep polling
      }
      if (state.integrations.some(pending) && (state.step === "status" || state.step === "integration")) {
        interval = Math.min(POLL_MAX_INTERVAL_MS, Math.round(interval * 1.3));
        state.pollTimer = setTimeout(poll, interval);
      }
    };
    if (now) poll();
    else if (state.integrations.some(pending)) state.pollTimer = setTimeout(poll, interval);
  }

  /** Re-render the statuses in place (rows keep their focus and their Remove buttons). */
  function refreshSyncViews() {
    if (state.step === "status") renderStatus();
    const list = $("added-list");
    state.integrations.forEach((i) => {
      const row = list.querySelector('[data-testid="added-' + (i.id || i.provider) + '"]');
      if (!row || row.getAttribute("data-status") === (i.syncStatus || "queued")) return;
      const fresh = integrationRow(i, "added-");
      row.setAttribute("data-status", fresh.getAttribute("data-status"));
      row.querySelector(".kc-row-main").replaceWith(fresh.querySelector(".kc-row-main"));
      row.querySelector(".kc-pill").replaceWith(fresh.querySelector(".kc-pill"));
      if (i.syncStatus === "synced" || i.syncStatus === "failed") {
        announce(integrationName(i) + " — " + t("status." + i.syncStatus));
      }
    });
  }

  function stopPolling() {
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
  }

  async function complete() {
    const data = await api("POST", "/widget/complete");
    const token = data && typeof data.public_token === "string" && data.public_token ? data.public_token : null;
    const redirecting = state.mode === "page" && !!state.redirectUri && !!safeRedirect(state.redirectUri);
    $("done-lead").textContent = redirecting ? t("done.redirecting")
      : state.mode === "page" && !inFrame() ? t("done.leadPage") : t("done.lead");
    state.pendingSuccess = { type: "success", public_token: token };
    showStep("done");
    setTimeout(() => finish(state.pendingSuccess), SUCCESS_DELAY_MS);
  }

  // ===================================================================
  // ERROR / CLOSED
  // ===================================================================
  /** Terminal error: show the error step; the host hears about it when the user closes. */
  function fatal(err, opts) {
    const code = (err && err.code) || "UNKNOWN";
    const message = friendly(err);
    state.fatal = { code: code, message: message };
    $("error-title").textContent = t("error.title");
    $("error-detail").textContent = message;
    $("error-code").textContent = code;
    $("error-retry").hidden = !(opts && opts.retry && RETRYABLE_CODES.indexOf(code) >= 0 && state.linkToken);
    $("error-close").hidden = false;
    showStep("error");
    showError(message, code); // announced by the live region (visually hidden on this step)
  }

  /** Final screen of a standalone page once the result is delivered (nothing left to do). */
  function showClosed(title, detail) {
    state.fatal = null;
    $("error-title").textContent = title;
    $("error-detail").textContent = detail;
    $("error-code").textContent = "";
    $("error-retry").hidden = true;
    $("error-close").hidden = true;
    showStep("error");
  }

  // -------------------------------------------------------------------
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
