// react-native-webview is a native view: in Jest it is a plain host view that keeps its
// props, so tests can read `source` and fire `onMessage`, `onLoad`, `onError`, …
jest.mock("react-native-webview", () => {
  const React = require("react");
  const { View } = require("react-native");
  function WebView(props) {
    return React.createElement(View, props);
  }
  return { __esModule: true, WebView, default: WebView };
});
