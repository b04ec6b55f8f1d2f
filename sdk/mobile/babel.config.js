// Babel is used by Jest only; the published build is made by tsup.
module.exports = {
  presets: ["module:@react-native/babel-preset"],
};
