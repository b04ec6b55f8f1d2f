import { describe, expect, it } from "vitest";
import { readableInk } from "../src/react/button";

describe("the button label on a page-chosen --kc-primary", () => {
  it("is dark ink on the light brand mint", () => {
    expect(readableInk("rgb(0, 198, 147)")).toBe("#03261c");
  });
  it("is white on a dark indigo or the docs' violet", () => {
    expect(readableInk("rgb(67, 56, 202)")).toBe("#ffffff");
    expect(readableInk("rgb(124, 58, 237)")).toBe("#ffffff");
  });
  it("is dark ink on a pale yellow", () => {
    expect(readableInk("rgba(253, 230, 138, 1)")).toBe("#03261c");
  });
  it("leaves transparent or unparsable backgrounds alone", () => {
    expect(readableInk("rgba(0, 0, 0, 0)")).toBeNull();
    expect(readableInk("linear-gradient(red, blue)")).toBeNull();
    expect(readableInk("")).toBeNull();
  });
});
