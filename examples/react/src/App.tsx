// The seed's Quick Start (kryptos-connect.md, "Web SDK"), as written, with two additions
// marked "example:": the page around the button, and what happens once the backend holds
// an access token (the user's holdings). Step 2, the provider, is in main.tsx, as in the
// seed's Vite recipe, so the client id comes from VITE_KRYPTOS_CLIENT_ID.

// 1. Import styles (required)
import "@kryptos_connect/web-sdk/dist/styles/index.css";

import { KryptosConnectButton } from "@kryptos_connect/web-sdk";
import { useState } from "react";
import { Portfolio, type Connection } from "./Portfolio";

// example: the page: the connect button, then the portfolio the backend reads.
export default function App() {
  const [connection, setConnection] = useState<Connection>({ kind: "unknown" });
  return (
    <div className="page">
      <header className="bar">
        <img src="/logo.svg" alt="" width={28} height={28} />
        <span>My React App</span>
      </header>
      <main className="content">
        <section className="card">
          <h1>Your crypto portfolio</h1>
          <p className="lead">
            Connect your wallets and exchanges through Kryptos Connect, and this app shows your
            holdings. You can revoke access at any time.
          </p>
          <ConnectButton onConnected={setConnection} />
        </section>
        <Portfolio connection={connection} onChange={setConnection} />
      </main>
    </div>
  );
}

// 3. Use the connect button
function ConnectButton({ onConnected }: { onConnected: (c: Connection) => void }) {
  return (
    <KryptosConnectButton
      generateLinkToken={async () => {
        // Call your backend to create a link token
        const response = await fetch("/api/kryptos/create-link-token", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
        });
        const data = await response.json();
        return {
          link_token: data.link_token,
          isAuthorized: data.isAuthorized,
        };
      }}
      onSuccess={async (userConsent) => {
        if (userConsent?.public_token) {
          // New user - exchange public token for access token
          const exchanged = await fetch("/api/kryptos/exchange-token", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ public_token: userConsent.public_token }),
          });
          // example: the backend now holds an access token: show the holdings.
          onConnected(exchanged.ok ? { kind: "new" } : { kind: "failed", message: "The token exchange failed." });
          return;
        }
        // If userConsent is null, user was already authenticated
        onConnected({ kind: "returning" }); // example
      }}
      onError={(error) => {
        console.error("Connection failed:", error);
      }}
    >
      Connect to Kryptos
    </KryptosConnectButton>
  );
}
