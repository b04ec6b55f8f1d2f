/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The client id of this app, registered on the Kryptos Connect server with this page's origin. */
  readonly VITE_KRYPTOS_CLIENT_ID: string;
  /** The Kryptos Connect server (default: the server the SDK package was downloaded from). */
  readonly VITE_KRYPTOS_BASE_URL?: string;
  /** A WalletConnect Cloud project id (optional here). */
  readonly VITE_WALLETCONNECT_PROJECT_ID?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
