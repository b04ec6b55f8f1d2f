import { KryptosConnectProvider, KryptosConnectButton } from "@kryptos_connect/mobile-sdk";

// 1. Wrap your app with the provider
export default function App() {
  return (
    <KryptosConnectProvider
      config={{
        appName: "My Mobile App",
        appLogo: "https://yourapp.com/logo.png",
        clientId: "your-kryptos-client-id",
        theme: "light",
        walletConnectProjectId: "your-walletconnect-project-id",
      }}
    >
      <ConnectScreen />
    </KryptosConnectProvider>
  );
}

// 2. Use the connect button
function ConnectScreen() {
  const generateLinkToken = async () => {
    const response = await fetch("https://your-api.com/api/kryptos/create-link-token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
    });
    const data = await response.json();
    return data.link_token;
  };

  const handleSuccess = (userConsent) => {
    if (userConsent?.public_token) {
      // Exchange public token for access token
      fetch("https://your-api.com/api/kryptos/exchange-token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ public_token: userConsent.public_token }),
      });
    }
  };

  return (
    <KryptosConnectButton
      generateLinkToken={generateLinkToken}
      onSuccess={handleSuccess}
      onError={() => console.log("Connection failed")}
    >
      Connect to Kryptos
    </KryptosConnectButton>
  );
}
