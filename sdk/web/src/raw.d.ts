/** `import text from "./file.css?raw"`: the file's content as a string (Vite and the tsup build). */
declare module "*?raw" {
  const content: string;
  export default content;
}
